import { randomBytes } from 'node:crypto';
import { Client } from 'pg';

/**
 * jest globalSetup/globalTeardown of the PostgreSQL projects: each test run creates its own
 * database on the test server (TEST_PG_URL) and drops it at the end. Inside it, every app
 * gets a schema of its own (cheap to create and drop, unlike a database).
 */
export const TEST_PG_URL = process.env.TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export async function maintenance(url: string, sql: string): Promise<void> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

export function runDatabaseUrl(name: string): string {
  const url = new URL(TEST_PG_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

export async function setup(): Promise<void> {
  if (process.env.TEST_PG_RUN_DATABASE) return; // already made by the other project of this run
  const name = `payments_test_${process.pid}_${randomBytes(3).toString('hex')}`;
  try {
    await maintenance(TEST_PG_URL, `CREATE DATABASE ${name}`);
  } catch (e) {
    throw new Error(
      `The PostgreSQL tests need a server at ${TEST_PG_URL} (set TEST_PG_URL, or start one: ` +
        `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start): ${String(e)}`,
    );
  }
  process.env.TEST_PG_RUN_DATABASE = name;
}

export async function teardown(): Promise<void> {
  const name = process.env.TEST_PG_RUN_DATABASE;
  if (!name) return;
  delete process.env.TEST_PG_RUN_DATABASE;
  await maintenance(TEST_PG_URL, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
}
