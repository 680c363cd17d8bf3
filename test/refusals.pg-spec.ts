import { randomBytes } from 'node:crypto';
import type { Client } from 'pg';
import request, { Response } from 'supertest';
import { PrimaryRepository } from '../src/payments/primary.repository';
import { COMMIT_LOCK } from '../src/persistence/postgres';
import { PostgresPrimaryRepository } from '../src/persistence/postgres-primary.repository';
import { Body, expectStatus, paymentBody, paymentPath } from './e2e-helpers';
import { connectSql, countBy, eventually, expectDatabaseUnavailable } from './pg-helpers';
import { maintenance, TEST_PG_URL } from './postgres-run';
import { startTestApp, TestApp } from './test-app';

/**
 * PostgreSQL up, but refusing to serve the service for a while: each case is made for real on
 * a database and a role of this file's own (unique per run, dropped at the end; the shared
 * databases are never altered) and observed through the HTTP API. Every write then gets a 503
 * DATABASE_UNAVAILABLE with Retry-After, never a 500; nothing is stored; and once the database
 * serves again the same request succeeds.
 */

const suffix = `${process.pid}_${randomBytes(3).toString('hex')}`;
const database = `payments_refusals_${suffix}`;
const role = `payments_refusals_app_${suffix}`;

/** The app's connections: its own role on its own database (role limits skip superusers). */
const appUrl = urlFor(role, database);
/** A superuser on the test's database, connected before any refusal and never terminated. */
let sql: Client;
/** A superuser on the server's maintenance database: a database's own sessions cannot disallow connections to it. */
let admin: Client;
let t: TestApp;

function urlFor(user: string, db: string): string {
  const url = new URL(TEST_PG_URL);
  url.username = user;
  url.pathname = `/${db}`;
  url.search = '';
  return url.toString();
}

beforeAll(async () => {
  await maintenance(TEST_PG_URL, `CREATE ROLE ${role} LOGIN`);
  await maintenance(TEST_PG_URL, `CREATE DATABASE ${database} OWNER ${role}`);
  sql = await connectSql(urlFor(new URL(TEST_PG_URL).username || 'postgres', database));
  admin = await connectSql(TEST_PG_URL);
  t = await startTestApp({ databaseUrl: appUrl });
});

afterEach(async () => {
  await sql.query('SELECT pg_advisory_unlock_all()');
  await admin.query(`ALTER DATABASE ${database} ALLOW_CONNECTIONS true`);
  await sql.query(`ALTER DATABASE ${database} RESET ALL`);
  await sql.query(`ALTER ROLE ${role} LOGIN CONNECTION LIMIT -1`);
  await sql.query(`ALTER ROLE ${role} RESET ALL`);
  await endAppSessions(); // the next test starts from sessions made without this one's settings
});

afterAll(async () => {
  try {
    await t?.close();
    await sql?.end();
    await admin?.end();
  } finally {
    // the database goes even while it refuses connections, and the role only once it owns nothing
    await maintenance(TEST_PG_URL, `DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await maintenance(TEST_PG_URL, `DROP ROLE IF EXISTS ${role}`);
  }
});

const pool = () => (t.app.get(PrimaryRepository) as PostgresPrimaryRepository).pool;

/**
 * Ends every session of the app (pool and LISTEN; `except` spared) and waits until the pool has
 * let go of them all: the next write opens a session, with the settings of now. Connections to
 * the database are refused meanwhile, so that no session opens halfway; `reopen: false` leaves
 * them refused.
 */
async function endAppSessions({ except = [] as number[], reopen = true } = {}): Promise<void> {
  await admin.query(`ALTER DATABASE ${database} ALLOW_CONNECTIONS false`);
  await sql.query(
    'SELECT pg_terminate_backend(pid, 60000) FROM pg_stat_activity WHERE usename = $1 AND datname = $2 AND NOT pid = ANY($3::int[])',
    [role, database, except],
  );
  await eventually(() => expect(pool().idleCount).toBe(0));
  if (reopen) await admin.query(`ALTER DATABASE ${database} ALLOW_CONNECTIONS true`);
}

async function stored(bodies: Body[]): Promise<number> {
  const { rowCount } = await sql.query('SELECT 1 FROM payments WHERE payment_id = ANY($1::text[])', [bodies.map((b) => b.paymentId)]);
  return rowCount ?? 0;
}

const post = (body: Body) => request(t.url).post('/payments').send(body);

/** Every answer a 503 DATABASE_UNAVAILABLE with Retry-After naming `sqlstate`, and nothing stored. */
async function expectRefused(answers: Response[], bodies: Body[], sqlstate: string): Promise<void> {
  expect(countBy(answers)).toEqual({ 503: answers.length });
  for (const res of answers) {
    expectDatabaseUnavailable(res);
    expect(res.body.detail).toContain(sqlstate);
  }
  expect(await stored(bodies)).toBe(0);
  for (const b of bodies) expectStatus(await request(t.url).get(paymentPath(b.paymentId as string)), 404);
}

/** The same creates again, once the database serves: each is created now. */
async function expectRetriesCreate(bodies: Body[]): Promise<void> {
  const retried = await Promise.all(bodies.map(post));
  expect(countBy(retried)).toEqual({ 201: bodies.length });
  expect(await stored(bodies)).toBe(bodies.length);
}

describe('PostgreSQL refusing new connections, then serving again', () => {
  it('55000: the database is not accepting connections (ALLOW_CONNECTIONS false, sessions ended)', async () => {
    const bodies = Array.from({ length: 20 }, () => paymentBody());
    await endAppSessions({ reopen: false });

    await expectRefused(await Promise.all(bodies.map(post)), bodies, '55000');
    // readiness says so too
    expectStatus(await request(t.url).get('/health/ready'), 503);

    await admin.query(`ALTER DATABASE ${database} ALLOW_CONNECTIONS true`);
    await expectRetriesCreate(bodies);
  });

  it('53300: the role\'s CONNECTION LIMIT is reached', async () => {
    const bodies = Array.from({ length: 5 }, () => paymentBody());
    const holder = await connectSql(appUrl); // the one connection the limit allows
    try {
      const holderPid = (await holder.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0].pid;
      await sql.query(`ALTER ROLE ${role} CONNECTION LIMIT 1`);
      await endAppSessions({ except: [holderPid] });

      await expectRefused(await Promise.all(bodies.map(post)), bodies, '53300');
    } finally {
      await holder.end();
    }
    await sql.query(`ALTER ROLE ${role} CONNECTION LIMIT -1`);
    await expectRetriesCreate(bodies);
  });

  it('28000: the role may not log in (NOLOGIN, as while credentials are rotated)', async () => {
    const bodies = Array.from({ length: 5 }, () => paymentBody());
    await sql.query(`ALTER ROLE ${role} NOLOGIN`);
    await endAppSessions();

    await expectRefused(await Promise.all(bodies.map(post)), bodies, '28000');

    await sql.query(`ALTER ROLE ${role} LOGIN`);
    await expectRetriesCreate(bodies);
  });
});

describe('PostgreSQL connected but not serving writes now', () => {
  it('25006: the sessions are read-only (as on a standby after a failover)', async () => {
    const bodies = Array.from({ length: 5 }, () => paymentBody());
    await sql.query(`ALTER DATABASE ${database} SET default_transaction_read_only = on`);
    await endAppSessions();

    await expectRefused(await Promise.all(bodies.map(post)), bodies, '25006');

    await sql.query(`ALTER DATABASE ${database} RESET default_transaction_read_only`);
    await endAppSessions(); // the pool's read-only sessions, as a failover ends them
    await expectRetriesCreate(bodies);
  });

  it('55P03: a lock is not available within lock_timeout', async () => {
    const bodies = [paymentBody()];
    await sql.query(`ALTER ROLE ${role} SET lock_timeout = '50ms'`);
    await endAppSessions(); // new sessions take the role's setting
    // another session holds the lock every writing transaction takes before it inserts
    await sql.query('SELECT pg_advisory_lock($1)', [COMMIT_LOCK]);

    await expectRefused(await Promise.all(bodies.map(post)), bodies, '55P03');

    await sql.query('SELECT pg_advisory_unlock($1)', [COMMIT_LOCK]);
    await expectRetriesCreate(bodies);
  });

  it('57P01: the session is terminated while the write waits in it', async () => {
    const bodies = [paymentBody()];
    await sql.query('SELECT pg_advisory_lock($1)', [COMMIT_LOCK]);
    const answer = post(bodies[0]).then((res) => res);
    // the app's transaction is now waiting for the lock: end its session
    const waiting = await eventually(async () => {
      const { rows } = await sql.query<{ pid: number }>(
        `SELECT a.pid FROM pg_locks l JOIN pg_stat_activity a USING (pid)
          WHERE l.locktype = 'advisory' AND NOT l.granted AND a.usename = $1`,
        [role],
      );
      expect(rows).toHaveLength(1);
      return rows[0].pid;
    });
    await sql.query('SELECT pg_terminate_backend($1, 60000)', [waiting]);

    const res = await answer;
    expectDatabaseUnavailable(res);
    expect(await stored(bodies)).toBe(0);

    await sql.query('SELECT pg_advisory_unlock($1)', [COMMIT_LOCK]);
    await expectRetriesCreate(bodies);
  });
});
