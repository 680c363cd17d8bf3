import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'pg';
import request, { Response } from 'supertest';
import { expectStatus, Payment } from './e2e-helpers';

/** Helpers shared by the PostgreSQL-only suites (*.pg-spec.ts): SQL access, polling, a TCP proxy. */

/** A connected pg client on a test database URL (its search_path names the test's schema). */
export async function connectSql(url: string): Promise<Client> {
  const client = new Client({ connectionString: url });
  await client.connect();
  return client;
}

export function countBy(responses: { status: number }[]): Record<number, number> {
  const counts: Record<number, number> = {};
  for (const r of responses) counts[r.status] = (counts[r.status] ?? 0) + 1;
  return counts;
}

/**
 * Retries `check` (an assertion: it throws while not yet true) until it passes or `timeoutMs`
 * has passed; then the last failure is thrown, so the test shows what never converged. The
 * deadline only guards against what never happens: generous, as a loaded machine is slow.
 */
export async function eventually<T>(check: () => Promise<T> | T, timeoutMs = 20_000, intervalMs = 25): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (e) {
      if (Date.now() >= deadline) throw e;
    }
    await sleep(intervalMs);
  }
}

/** Runs `fn` over `items` with at most `limit` in flight; results in item order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

export type Query = Record<string, string | number>;

/** Every item of a search, walking nextCursor from the first page (asserting 200 and a stable total). */
export async function searchAll(url: string, query: Query): Promise<{ total: number; items: Payment[] }> {
  const first = await request(url).get('/payments/search').query(query);
  expectStatus(first, 200);
  const items: Payment[] = [...first.body.items];
  const total = first.body.total as number;
  let cursor = first.body.nextCursor as string | null;
  for (let pages = 0; cursor !== null; pages++) {
    if (pages > 10_000) throw new Error('search cursor never ended');
    const res = await request(url)
      .get('/payments/search')
      .query({ ...query, cursor });
    expectStatus(res, 200);
    items.push(...res.body.items);
    cursor = res.body.nextCursor;
  }
  return { total, items };
}

/** The stats body of an instance (asserting 200). */
export async function statsOf(url: string, query: Query = {}): Promise<Record<string, unknown>> {
  const res = await request(url).get('/payments/stats').query(query);
  expectStatus(res, 200);
  return res.body;
}

export interface SqlStats {
  total: number;
  byStatus: Record<string, number>;
  byCurrency: Record<string, number>;
  amountByCurrency: Record<string, number>;
  refundedAmountByCurrency: Record<string, number>;
}

/**
 * The truth of /payments/stats computed by PostgreSQL over the rows matching `where` (SQL over
 * the `payments` table with $1.. params): what every instance must answer once converged.
 */
export async function sqlStats(sql: Client, where: string, params: unknown[]): Promise<SqlStats> {
  const byStatus: Record<string, number> = { pending: 0, completed: 0, failed: 0, refunded: 0 };
  for (const r of (await sql.query(`SELECT status, count(*)::int AS n FROM payments WHERE ${where} GROUP BY status`, params)).rows) {
    byStatus[r.status] = r.n;
  }
  const byCurrency: Record<string, number> = {};
  const amountByCurrency: Record<string, number> = {};
  const refundedAmountByCurrency: Record<string, number> = {};
  const { rows } = await sql.query(
    `SELECT currency, count(*)::int AS n, sum(amount)::text AS amount, sum(refunded_amount)::text AS refunded
       FROM payments WHERE ${where} GROUP BY currency`,
    params,
  );
  for (const r of rows) {
    byCurrency[r.currency] = r.n;
    amountByCurrency[r.currency] = Number(r.amount);
    refundedAmountByCurrency[r.currency] = Number(r.refunded);
  }
  const total = Object.values(byStatus).reduce((s, n) => s + n, 0);
  return { total, byStatus, byCurrency, amountByCurrency, refundedAmountByCurrency };
}

/** The stats fields that sqlStats() computes, from an instance's answer. */
export function comparableStats(body: Record<string, unknown>): SqlStats {
  const { total, byStatus, byCurrency, amountByCurrency, refundedAmountByCurrency } = body as unknown as SqlStats;
  return { total, byStatus, byCurrency, amountByCurrency, refundedAmountByCurrency };
}

/** Value of one sample line of a Prometheus text exposition (labels as written, e.g. `{le="1"}`), or undefined. */
export function metricValue(text: string, sample: string): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    if (space > 0 && line.slice(0, space) === sample) return Number(line.slice(space + 1));
  }
  return undefined;
}

export async function metricsText(url: string): Promise<string> {
  const res = await request(url).get('/metrics');
  expectStatus(res, 200);
  expect(res.headers['content-type']).toMatch(/^text\/plain/);
  return res.text;
}

/** The 503 a write gets while PostgreSQL cannot be reached (problem+json with Retry-After). */
export function expectDatabaseUnavailable(res: Response): void {
  expect({ status: res.status, body: res.body as unknown }).toMatchObject({
    status: 503,
    body: { type: '/problems/database-unavailable', status: 503, code: 'DATABASE_UNAVAILABLE' },
  });
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json\b/);
  expect(res.headers['retry-after']).toMatch(/^\d+$/);
  expect(res.body.detail).toMatch(/\S/);
  expect(res.body.title).toMatch(/\S/);
}

/** The 503 an API route gets while the store has not loaded yet. */
export function expectStoreLoading(res: Response): void {
  expect({ status: res.status, body: res.body as unknown }).toMatchObject({
    status: 503,
    body: { type: '/problems/store-loading', status: 503, code: 'STORE_LOADING' },
  });
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json\b/);
  expect(res.headers['retry-after']).toMatch(/^\d+$/);
}

/**
 * A TCP proxy in front of PostgreSQL, to make the database unreachable for one app only.
 * - open: bytes are forwarded both ways;
 * - cut: every open connection is destroyed and new ones are accepted and destroyed at once
 *   (the client sees "connection terminated", as when the server goes away);
 * - partition: nothing is forwarded any more and nothing is closed on the other side: the
 *   client's queries time out, and PostgreSQL never learns that the client is gone (as in a
 *   network partition, where no FIN or RST crosses). restore() then resets the connections
 *   that were open across the partition, as the peers do when packets flow again.
 * partitionOn(text) enters the partition when a client sends a message containing `text`
 * (that message is lost too), e.g. 'COMMIT': the transaction stays open on the server.
 */
export class TcpProxy {
  readonly #sockets = new Set<net.Socket>();
  #mode: 'open' | 'cut' | 'partition' = 'open';
  #trigger: Buffer | undefined;
  /** Connections accepted since start (forwarded or refused). */
  accepted = 0;

  private constructor(
    private readonly server: net.Server,
    readonly port: number,
  ) {}

  static async start(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
    const server = net.createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const proxy = new TcpProxy(server, (server.address() as net.AddressInfo).port);
    server.on('connection', (client) => proxy.#accept(client, targetPort, targetHost));
    return proxy;
  }

  get mode(): 'open' | 'cut' | 'partition' {
    return this.#mode;
  }

  #accept(client: net.Socket, targetPort: number, targetHost: string): void {
    this.accepted += 1;
    client.on('error', () => undefined);
    if (this.#mode === 'cut') {
      client.destroy();
      return;
    }
    this.#sockets.add(client);
    client.on('close', () => this.#sockets.delete(client));
    if (this.#mode === 'partition') return; // held open, never answered
    const upstream = net.connect(targetPort, targetHost);
    upstream.on('error', () => undefined);
    this.#sockets.add(upstream);
    upstream.on('close', () => this.#sockets.delete(upstream));
    for (const s of [client, upstream]) s.setNoDelay(true);
    client.on('data', (chunk: Buffer) => {
      if (this.#mode === 'open' && this.#trigger !== undefined && chunk.includes(this.#trigger)) this.partition();
      if (this.#mode === 'open') upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (this.#mode === 'open') client.write(chunk);
    });
    // a close crosses only while the network is up
    client.on('close', () => {
      if (this.#mode !== 'partition') upstream.destroy();
    });
    upstream.on('close', () => {
      if (this.#mode !== 'partition') client.destroy();
    });
  }

  /** The database becomes unreachable: open connections die, new ones are refused. */
  cut(): void {
    this.#mode = 'cut';
    this.#trigger = undefined;
    for (const s of this.#sockets) s.destroy();
  }

  /** Packets stop flowing both ways; nobody is told. */
  partition(): void {
    this.#mode = 'partition';
    this.#trigger = undefined;
  }

  /** Partition as soon as a client sends a message containing `text`. */
  partitionOn(text: string): void {
    this.#trigger = Buffer.from(text);
  }

  /** Back to forwarding; connections that lived through a partition are reset. */
  restore(): void {
    const wasPartitioned = this.#mode === 'partition';
    this.#mode = 'open';
    this.#trigger = undefined;
    if (wasPartitioned) for (const s of this.#sockets) s.destroy();
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** `databaseUrl` rewritten to go through this proxy. */
  urlFor(databaseUrl: string): string {
    const url = new URL(databaseUrl);
    url.hostname = '127.0.0.1';
    url.port = String(this.port);
    return url.toString();
  }
}
