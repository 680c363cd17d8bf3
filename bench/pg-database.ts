/** The PostgreSQL section's database helpers: URLs of its databases and schemas, one-off connections, row counts. */
import { Client } from 'pg';

/** The server of BENCH_PG_URL's default: the local one the tests use. */
export const PG_DEFAULT_URL = 'postgres://postgres@127.0.0.1:5432/test';

/** `base` with another database name (and search_path set to `schema`, when given). */
export function urlOf(base: string, database: string, schema?: string): string {
  const url = new URL(base);
  url.pathname = `/${database}`;
  if (schema !== undefined) url.searchParams.set('options', `-c search_path=${schema}`);
  return url.toString();
}

export function redact(base: string): string {
  const url = new URL(base);
  if (url.password) url.password = '***';
  return url.toString();
}

export async function withClient<T>(url: string, f: (c: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    return await f(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

export async function countRows(url: string, schema: string): Promise<number> {
  return withClient(url, async (c) => Number((await c.query(`SELECT count(*)::int AS n FROM ${schema}.payments`)).rows[0].n));
}

/** Waits until a count stops moving (writes still in flight when a load generator stopped). */
export async function settled(read: () => Promise<number>): Promise<number> {
  let last = await read();
  for (let stable = 0; stable < 3; ) {
    await new Promise((r) => setTimeout(r, 150));
    const now = await read();
    stable = now === last ? stable + 1 : 0;
    last = now;
  }
  return last;
}
