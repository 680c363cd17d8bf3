import type { Pool } from 'pg';
import { checkout, MIGRATION_LOCK } from './postgres';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/**
 * The schema, as versioned migrations applied in order at start. Never edit one that has
 * shipped: add the next. Money is bigint (minor units), metadata jsonb, times timestamptz.
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'payments and applied events',
    sql: `
      CREATE SEQUENCE payments_seq;
      CREATE TABLE payments (
        payment_id      text PRIMARY KEY,
        organization_id text NOT NULL,
        user_id         text NOT NULL,
        amount          bigint NOT NULL CHECK (amount > 0),
        currency        text NOT NULL,
        status          text NOT NULL CHECK (status IN ('pending', 'completed', 'failed', 'refunded')),
        description     text,
        metadata        jsonb NOT NULL DEFAULT '{}'::jsonb,
        refunded_amount bigint NOT NULL DEFAULT 0 CHECK (refunded_amount >= 0 AND refunded_amount <= amount),
        error           text,
        created_at      timestamptz NOT NULL,
        updated_at      timestamptz NOT NULL,
        completed_at    timestamptz,
        failed_at       timestamptz,
        refunded_at     timestamptz,
        version         integer NOT NULL CHECK (version >= 1),
        -- Change-feed position: a new value from payments_seq on every write (see COMMIT_LOCK).
        seq             bigint NOT NULL DEFAULT nextval('payments_seq')
      );
      CREATE UNIQUE INDEX payments_seq_idx ON payments (seq);
      CREATE INDEX payments_organization_idx ON payments (organization_id);
      -- Lifecycle event ids already applied: redelivery to any instance is a no-op.
      CREATE TABLE payment_events (
        payment_id text NOT NULL REFERENCES payments (payment_id),
        event_id   text NOT NULL,
        type       text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (payment_id, event_id)
      );
    `,
  },
  {
    version: 2,
    name: 'paymentIds unique per organization',
    // A client-chosen paymentId belongs to its organization (as idempotency keys belong to an
    // account): the key becomes (organization_id, payment_id). Until now ids were unique over
    // all organizations, so each applied event finds its payment's organization by its id.
    sql: `
      ALTER TABLE payment_events ADD COLUMN organization_id text;
      UPDATE payment_events e SET organization_id = p.organization_id FROM payments p WHERE p.payment_id = e.payment_id;
      ALTER TABLE payment_events ALTER COLUMN organization_id SET NOT NULL;
      ALTER TABLE payment_events DROP CONSTRAINT payment_events_payment_id_fkey;
      ALTER TABLE payment_events DROP CONSTRAINT payment_events_pkey;
      ALTER TABLE payments DROP CONSTRAINT payments_pkey;
      ALTER TABLE payments ADD PRIMARY KEY (organization_id, payment_id);
      DROP INDEX payments_organization_idx;
      -- a paymentId without its organization (open mode) is still found by an index
      CREATE INDEX payments_payment_id_idx ON payments (payment_id);
      ALTER TABLE payment_events ADD PRIMARY KEY (organization_id, payment_id, event_id);
      ALTER TABLE payment_events ADD FOREIGN KEY (organization_id, payment_id) REFERENCES payments (organization_id, payment_id);
    `,
  },
  {
    version: 3,
    name: 'transactional outbox',
    sql: `
      -- The events of committed changes, written in the change's transaction, until the broker
      -- confirms them (then deleted). seq is taken under COMMIT_LOCK: commit order.
      CREATE TABLE outbox (
        seq             bigserial PRIMARY KEY,
        event_id        text NOT NULL,
        type            text NOT NULL,
        organization_id text NOT NULL,
        payment_id      text NOT NULL,
        body            text NOT NULL,
        created_at      timestamptz NOT NULL DEFAULT clock_timestamp()
      );
    `,
  },
];

/**
 * Applies the pending migrations, each in its own transaction, recorded in
 * schema_migrations. A session advisory lock makes instances that start together take turns.
 * Returns the versions applied by this call.
 */
export async function migrate(pool: Pool, migrations: readonly Migration[] = MIGRATIONS): Promise<number[]> {
  const { client, release } = await checkout(pool);
  const applied: number[] = [];
  let failure: Error | undefined;
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    try {
      await client.query(`
        CREATE TABLE IF NOT EXISTS schema_migrations (
          version    integer PRIMARY KEY,
          name       text NOT NULL,
          applied_at timestamptz NOT NULL DEFAULT now()
        )`);
      const done = new Set(
        (await client.query<{ version: number }>('SELECT version FROM schema_migrations')).rows.map((r) => r.version),
      );
      const known = new Set(migrations.map((m) => m.version));
      const unknown = [...done].filter((v) => !known.has(v));
      if (unknown.length > 0) {
        throw new Error(`The database has migrations this version does not know (${unknown.join(', ')}): it is newer than the service`);
      }
      for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
        if (done.has(m.version)) continue;
        await client.query('BEGIN');
        try {
          await client.query(m.sql);
          await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
          await client.query('COMMIT');
        } catch (e) {
          await client.query('ROLLBACK');
          throw e;
        }
        applied.push(m.version);
      }
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]);
    }
  } catch (e) {
    failure = e as Error;
    throw e;
  } finally {
    release(failure);
  }
  return applied;
}
