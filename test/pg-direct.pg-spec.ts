import { Client, Pool } from 'pg';
import { ANCHOR_MS, generatePayments } from '../bench/dataset';
import { DIRECT_INDEXES, PgDirectEngine, SHAPES } from '../bench/pg-direct';
import { ProjectEngine } from '../bench/project';
import { SearchAnswer, SearchQuery, searchChecksum, searchVariant, StatsAnswer, statsChecksum, StatsQuery } from '../bench/queries';
import { createPayment, Payment, transition } from '../src/payments/payment';
import { migrate } from '../src/persistence/migrations';
import { INSERT_PAYMENTS, insertParams } from '../src/persistence/payment-rows';
import { createTestDatabase, TestDatabase } from './test-app';

/**
 * The bench's "PostgreSQL queried directly" baseline (bench/pg-direct.ts) must answer what the
 * in-memory engine answers, or its figures compare two different questions. The bench checks
 * that on the generated data set, whose createdAt never ties; these rows add a tie, with ids
 * whose byte order and a linguistic collation's order differ, in a table whose payment_id
 * column sorts with that linguistic collation (as in a database created with en_US.UTF-8).
 */

let db: TestDatabase;
let pool: Pool;
let sql: Client;
let memory: ProjectEngine;

/** Completed, EUR, inside every searchVariant's amount window, newest of the largest organization. */
const TIED_IDS = ['a-1', 'B-2', 'b-3', 'A-4', '_5', 'Z-6', 'a1'];
const tiedAt = new Date(ANCHOR_MS + 60_000).toISOString();

function tied(paymentId: string): Payment {
  const created = createPayment({ organizationId: 'org-001', userId: 'user-00001', amount: 20_000, currency: 'EUR' }, paymentId, tiedAt);
  return transition(created, { type: 'PaymentProcessed', occurredAt: tiedAt }, tiedAt);
}

beforeAll(async () => {
  db = await createTestDatabase();
  pool = new Pool({ connectionString: db.url, max: 1 });
  await migrate(pool);
  const payments = [...generatePayments(5_000), ...TIED_IDS.map(tied)];
  await pool.query(INSERT_PAYMENTS, insertParams(payments));
  await pool.query('ALTER TABLE payment_events DROP CONSTRAINT payment_events_organization_id_payment_id_fkey');
  await pool.query(`ALTER TABLE payments ALTER COLUMN payment_id TYPE text COLLATE "en-x-icu"`);
  for (const index of DIRECT_INDEXES) await pool.query(index.sql);
  await pool.query('VACUUM (ANALYZE) payments');
  sql = new Client({ connectionString: db.url });
  await sql.connect();
  memory = new ProjectEngine(payments);
});

afterAll(async () => {
  await sql?.end();
  await pool?.end();
  await db?.drop();
});

it('orders tied payments by paymentId as the service does, whatever the column collation', async () => {
  const q: SearchQuery = { ...searchVariant('largest', 0), size: TIED_IDS.length };
  const byBytes = [...TIED_IDS].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const linguistic = (await sql.query<{ id: string }>('SELECT id FROM unnest($1::text[]) AS id ORDER BY id COLLATE "en-x-icu"', [TIED_IDS])).rows.map((r) => r.id);
  expect(linguistic).not.toEqual(byBytes); // the collation would order them otherwise

  const answer = await new PgDirectEngine(sql).search(q);
  expect(answer.ids).toEqual(byBytes);
  expect(answer).toEqual(await memory.search(q));
});

it.each(SHAPES.map((s) => [s.id, s] as const))('answers %s as the in-memory engine, variant for variant', async (_id, shape) => {
  const engine = new PgDirectEngine(sql);
  for (let i = 0; i < 12; i++) {
    const q = shape.query(i);
    if (shape.kind === 'search') {
      const [got, want] = [await engine.search(q as SearchQuery), await memory.search(q as SearchQuery)];
      expect(searchChecksum(got as SearchAnswer)).toBe(searchChecksum(want));
      expect(got).toEqual(want);
    } else {
      const [got, want] = [await engine.stats(q as StatsQuery), await memory.stats(q as StatsQuery)];
      expect(statsChecksum(got as StatsAnswer)).toBe(statsChecksum(want));
    }
  }
});

it('sums amounts per currency exactly, past what a double holds', async () => {
  // three payments of 2^52 + 1 minor units: 3 * (2^52 + 1) is not a double; the SQL sums in numeric
  const big = 2 ** 52 + 1;
  const at = new Date(ANCHOR_MS + 120_000).toISOString();
  const rows = ['big-1', 'big-2', 'big-3'].map((id) => createPayment({ organizationId: 'org-big', userId: 'user-00001', amount: big, currency: 'JPY' }, id, at));
  await pool.query(INSERT_PAYMENTS, insertParams(rows));
  const stats = await new PgDirectEngine(sql).stats({ organizationId: 'org-big', from: at, to: new Date(ANCHOR_MS + 180_000).toISOString() });
  expect(stats.total).toBe(3);
  expect(stats.byStatus).toEqual({ pending: 3, completed: 0, failed: 0, refunded: 0 });
  expect(String(stats.amountByCurrency.JPY)).toBe((3n * BigInt(big)).toString());
  expect(stats.refundedAmountByCurrency.JPY).toBe(0);
});
