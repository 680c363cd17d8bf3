/**
 * The fill of the PostgreSQL section (bench/postgres.ts): N payments of the data set written to
 * the table of schema `load` (untimed: rows first, keys and indexes after), and the in-memory
 * engine over the same payments, whose answers the cases check against.
 */
import { Pool } from 'pg';
import type { Payment } from '../src/payments/payment';
import { INSERT_PAYMENTS, insertParams } from '../src/persistence/payment-rows';
import { migrate } from '../src/persistence/migrations';
import { PaymentStore } from '../src/payments/store/payment.store';
import { generatePayments, loadStoreInBulk } from './dataset';
import { int } from './format';
import { gc } from './measure';
import { checkAnswers, paymentsDigest } from './pg-checks';
import { createSchema, Ctx } from './pg-context';
import { countRows, withClient } from './pg-database';
import type { PgFill } from './pg-results';
import { BENCH_CONFIG, ProjectEngine } from './project';

/** The fill's INSERT: the service's own, less ON CONFLICT (no unique index to check while it runs). */
const FILL_INSERT = INSERT_PAYMENTS.replace(/\s*ON CONFLICT \(organization_id, payment_id\) DO NOTHING\s*$/, '');
if (FILL_INSERT === INSERT_PAYMENTS) throw new Error('bench/pg-fill.ts: INSERT_PAYMENTS no longer ends in its ON CONFLICT clause; update FILL_INSERT');

/**
 * Drops the keys and indexes of the migrated `payments` table and returns what makes them again,
 * under the same names and definitions. paymentIds are random, so each row's index entries land
 * on random pages: once the indexes outgrow shared_buffers (a few million rows), every batch
 * writes pages all over them, and a full-page image of each to the WAL, and the fill slows down
 * as it grows. Built after the rows, each index is one sort. The primary key, built last, also
 * checks that no paymentId was written twice in an organization.
 */
async function dropKeysAndIndexes(pool: Pool): Promise<() => Promise<void>> {
  const { rows: constraints } = await pool.query<{ tbl: string; name: string; def: string; type: string }>(
    `SELECT conrelid::regclass::text AS tbl, conname AS name, pg_get_constraintdef(oid) AS def, contype AS type FROM pg_constraint
      WHERE (conrelid = 'payments'::regclass AND contype = 'p') OR (confrelid = 'payments'::regclass AND contype = 'f')`,
  );
  const { rows: indexes } = await pool.query<{ name: string; def: string }>(
    `SELECT indexname AS name, indexdef AS def FROM pg_indexes WHERE schemaname = current_schema() AND tablename = 'payments'
        AND indexname NOT IN (SELECT conname FROM pg_constraint WHERE conrelid = 'payments'::regclass)`,
  );
  const keys = constraints.filter((c) => c.type === 'p');
  const foreign = constraints.filter((c) => c.type === 'f');
  for (const c of [...foreign, ...keys]) await pool.query(`ALTER TABLE ${c.tbl} DROP CONSTRAINT ${c.name}`);
  for (const i of indexes) await pool.query(`DROP INDEX ${i.name}`);
  return async () => {
    const client = await pool.connect();
    try {
      // the sorts of the index builds in memory rather than in temporary files
      await client.query(`SET maintenance_work_mem = '1GB'`);
      for (const i of indexes) await client.query(i.def);
      for (const c of [...keys, ...foreign]) await client.query(`ALTER TABLE ${c.tbl} ADD CONSTRAINT ${c.name} ${c.def}`);
    } finally {
      client.release();
    }
  };
}

async function fill(ctx: Ctx, url: string, payments: readonly Payment[]): Promise<void> {
  const pool = new Pool({ connectionString: url, max: ctx.s.fillConnections });
  try {
    await migrate(pool);
    const rebuild = await dropKeysAndIndexes(pool);
    let next = 0;
    await Promise.all(
      Array.from({ length: ctx.s.fillConnections }, async () => {
        const client = await pool.connect();
        try {
          // the fill is not a figure: no need to wait for each batch's WAL flush
          await client.query('SET synchronous_commit = off');
          while (next < payments.length) {
            const from = next;
            next += ctx.s.fillBatch;
            await client.query(FILL_INSERT, insertParams(payments.slice(from, Math.min(payments.length, from + ctx.s.fillBatch))));
          }
        } finally {
          client.release();
        }
      }),
    );
    await rebuild();
    // as a table long in service is: visibility hints set, statistics known
    await pool.query('VACUUM (ANALYZE) payments');
  } finally {
    await pool.end();
  }
}

/** The data set written to the table of schema `load`, and the in-memory engine over the same payments. */
export interface Filled {
  url: string;
  fill: PgFill;
  reference: ProjectEngine;
  expectedAnswers: { query: string; checksum: string }[];
  expectedDigest: string;
}

export async function fillCase(ctx: Ctx): Promise<Filled> {
  const { n, log } = ctx;
  log(`PostgreSQL load: generating ${int(n)} payments`);
  let t = performance.now();
  let payments: Payment[] | undefined = generatePayments(n);
  const generateMs = performance.now() - t;

  log(`PostgreSQL load: writing them to the table (untimed for the figure)`);
  const url = await createSchema(ctx, 'load');
  t = performance.now();
  await fill(ctx, url, payments);
  const fillMs = performance.now() - t;
  const tableMB = await withClient(ctx.dbUrl, async (c) =>
    Number((await c.query(`SELECT pg_total_relation_size('load.payments') AS b`)).rows[0].b) / 2 ** 20,
  );
  if ((await countRows(ctx.dbUrl, 'load')) !== n) throw new Error(`the fill wrote ${await countRows(ctx.dbUrl, 'load')} rows, not ${n}`);
  log(`PostgreSQL load: ${int(n)} rows written in ${(fillMs / 1000).toFixed(1)} s (${tableMB.toFixed(0)} MB with indexes)`);

  log('PostgreSQL load: the in-memory engine on the same data (reference answers)');
  t = performance.now();
  // loaded as the load at start loads (the same state as write by write, in a minute at 10M)
  const store = new PaymentStore(BENCH_CONFIG);
  loadStoreInBulk(store, payments);
  const reference = new ProjectEngine(store);
  const referenceMs = performance.now() - t;
  const expectedAnswers = await checkAnswers(reference);
  const expectedDigest = paymentsDigest(payments);
  payments = undefined;
  gc();
  return { url, fill: { n, generateMs, fillMs, tableMB, referenceMs }, reference, expectedAnswers, expectedDigest };
}
