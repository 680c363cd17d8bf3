import { Client, Pool } from 'pg';
import { migrate, MIGRATIONS } from '../src/persistence/migrations';
import { applyEvent, createPayment, getPayment, Payment } from './e2e-helpers';
import { createTestDatabase, startTestApp, TestApp, TestDatabase } from './test-app';

/**
 * What PostgreSQL holds is exactly what was answered: every field of every payment survives a
 * restart of the service bit for bit (times at millisecond precision in any year, money as
 * bigint, metadata, nulls), and the schema is what the migrations say.
 */
describe('PostgreSQL mode: what was answered is what a restarted service serves', () => {
  let db: TestDatabase;
  let t: TestApp | undefined;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await t?.close();
    await db.drop();
  });

  it('serves every field unchanged after a restart, for edge values of every type', async () => {
    t = await startTestApp({ databaseUrl: db.url });
    const answered: Payment[] = [];
    const edges = [
      { createdAt: '0000-01-01T00:00:00.000Z', amount: 1 },
      { createdAt: '0001-02-03T04:05:06.789Z', amount: 99_999_999_999 },
      { createdAt: '1969-12-31T23:59:59.999Z', amount: 2 ** 31 + 1 },
      { createdAt: '2026-03-01T12:00:00.001+02:00', amount: 1234 },
      { amount: 5, description: 'ünïcødé ✓ "quotes" \\ backslash', metadata: { 'k-1': 'v', émoji: '💶', empty: '' } },
      { amount: 6, description: null, metadata: {} },
    ];
    for (const [i, edge] of edges.entries()) {
      answered.push(await createPayment(t.url, { paymentId: `edge-${i}`, organizationId: 'org-d', userId: 'u', currency: 'EUR', ...edge }));
    }
    answered[1] = await applyEvent(t.url, 'edge-1', { type: 'PaymentProcessed', occurredAt: '2026-03-01T12:00:00.123Z' });
    answered[1] = await applyEvent(t.url, 'edge-1', { type: 'PaymentRefunded', occurredAt: '2026-03-02T00:00:00.999Z', data: { refundAmount: 99_999_999_998 } });
    answered[2] = await applyEvent(t.url, 'edge-2', { type: 'PaymentFailed', occurredAt: '2026-03-01T12:00:00Z', data: { error: 'card declined: «do not honour»' } });
    await t.close();

    t = await startTestApp({ databaseUrl: db.url });
    for (const want of answered) expect(await getPayment(t.url, want.paymentId)).toEqual(want);
  });

  it('stores money as bigint, metadata as jsonb and times as timestamptz, in versioned migrations', async () => {
    const client = new Client({ connectionString: db.url });
    await client.connect();
    try {
      const { rows } = await client.query<{ column_name: string; data_type: string }>(
        `SELECT column_name, data_type FROM information_schema.columns
          WHERE table_name = 'payments' AND table_schema = current_schema()`,
      );
      const types = Object.fromEntries(rows.map((r) => [r.column_name, r.data_type]));
      expect(types).toMatchObject({
        amount: 'bigint',
        refunded_amount: 'bigint',
        metadata: 'jsonb',
        created_at: 'timestamp with time zone',
        version: 'integer',
        seq: 'bigint',
      });
      const migrations = await client.query('SELECT version, name FROM schema_migrations ORDER BY version');
      expect(migrations.rows).toEqual([
        { version: 1, name: 'payments and applied events' },
        { version: 2, name: 'paymentIds unique per organization' },
        { version: 3, name: 'transactional outbox' },
      ]);
      const key = await client.query<{ column: string }>(
        `SELECT a.attname AS column FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
          WHERE i.indrelid = 'payments'::regclass AND i.indisprimary ORDER BY array_position(i.indkey, a.attnum)`,
      );
      expect(key.rows.map((r) => r.column)).toEqual(['organization_id', 'payment_id']);
      const amount = await client.query("SELECT amount FROM payments WHERE payment_id = 'edge-1'");
      expect(Number(amount.rows[0].amount)).toBe(99_999_999_999);
    } finally {
      await client.end();
    }
  });
});

describe('migration 2: paymentIds unique per organization', () => {
  let db: TestDatabase;
  let t: TestApp | undefined;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await t?.close();
    await db.drop();
  });

  it('moves a version-1 database over with its payments and applied event ids, which then still deduplicate', async () => {
    const pool = new Pool({ connectionString: db.url, max: 1 });
    try {
      await migrate(pool, MIGRATIONS.slice(0, 1));
      await pool.query(`INSERT INTO payments (payment_id, organization_id, user_id, amount, currency, status, version, created_at, updated_at, completed_at)
        VALUES ('old-1', 'org-old', 'u', 100, 'EUR', 'completed', 2, now(), now(), now())`);
      await pool.query(`INSERT INTO payment_events (payment_id, event_id, type) VALUES ('old-1', 'evt-old', 'PaymentProcessed')`);
    } finally {
      await pool.end();
    }

    t = await startTestApp({ databaseUrl: db.url });

    const replay = await applyEvent(t.url, 'old-1', { eventId: 'evt-old', type: 'PaymentFailed', data: { error: 'x' } });
    expect(replay).toMatchObject({ organizationId: 'org-old', status: 'completed', version: 2 });
    const other = await createPayment(t.url, { paymentId: 'old-1', organizationId: 'org-new', userId: 'u', amount: 100, currency: 'EUR' });
    expect(other).toMatchObject({ paymentId: 'old-1', organizationId: 'org-new', version: 1 });
    const client = new Client({ connectionString: db.url });
    await client.connect();
    try {
      const events = await client.query('SELECT organization_id, payment_id, event_id FROM payment_events');
      expect(events.rows).toEqual([{ organization_id: 'org-old', payment_id: 'old-1', event_id: 'evt-old' }]);
    } finally {
      await client.end();
    }
  });
});
