import { Logger } from '@nestjs/common';
import type { EventBus } from '@nestjs/cqrs';
import { Client } from 'pg';
import { AppConfig } from '../src/config';
import { MetricsService } from '../src/metrics/metrics.service';
import type { Payment } from '../src/payments/payment';
import { PaymentStore } from '../src/payments/store/payment.store';
import { copyOut } from '../src/persistence/copy-out';
import { migrate } from '../src/persistence/migrations';
import { PAYMENT_COPY_COLUMNS, PaymentCopyDecoder, paymentOf } from '../src/persistence/payment-copy';
import { PAYMENT_COLUMNS, paymentFromRow, PaymentRow } from '../src/persistence/payment-rows';
import { createClient, createPool } from '../src/persistence/postgres';
import { PostgresPrimaryRepository } from '../src/persistence/postgres-primary.repository';
import { WatchdogClock } from '../src/persistence/stall-watchdog';
import { eventually, TcpProxy } from './pg-helpers';
import { createTestDatabase, TestDatabase } from './test-app';

/**
 * The load at start reads the table with COPY in PostgreSQL's binary format and decodes it
 * itself (src/persistence/payment-copy.ts). Every payment it gives must be the one the text
 * path gives (SELECT, pg's parsers, paymentFromRow: what the change feed and /admin/sync read),
 * field for field, for rows no API call writes too: times with microseconds, far years, ids in
 * other scripts, the same paymentId in two organizations, large metadata, NULLs everywhere
 * the table allows them.
 */
describe('the load at start: COPY in binary format, decoded', () => {
  let db: TestDatabase;
  let sql: Client;
  const config = () => new AppConfig({ databaseUrl: db.url, logLevel: 'silent' });

  beforeAll(async () => {
    db = await createTestDatabase();
    const pool = createPool(config());
    await migrate(pool);
    await pool.end();
    sql = new Client({ connectionString: db.url });
    await sql.connect();
    const big = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`key-${i}`, `välue ${'x'.repeat(i * 7)} ✓`]));
    const rows: unknown[][] = [
      ['plain-1', 'org-a', 'user-1', 1, 'EUR', 'pending', null, {}, 0, null, '2026-03-01T12:00:00.000Z', '2026-03-01T12:00:00.000Z', null, null, null, 1],
      ['plain-1', 'org-b', 'user-2', 2, 'USD', 'completed', 'same id, other organization', {}, 0, null, '2026-03-01T12:00:00.001Z', '2026-03-01T12:00:01Z', '2026-03-01T12:00:01Z', null, null, 2],
      ['refunded', 'org-a', 'user-1', 2 ** 53 - 1, 'JPY', 'refunded', 'ünïcødé ✓ "quotes" \\ backslash', big, 2 ** 53 - 2, null, '1969-12-31T23:59:59.999Z', '2026-03-02T00:00:00.999Z', '2026-03-01T12:00:00.123Z', null, '2026-03-02T00:00:00.999Z', 3],
      ['failed', 'org-a', 'user-3', 500, 'CHF', 'failed', null, { émoji: '💶', empty: '' }, 0, 'card declined: «do not honour»', '0001-01-01 00:00:00Z BC', '9999-12-31T23:59:59.999Z', null, '9999-12-31T23:59:59.999Z', null, 2_000_000_000],
      // microseconds: rounded half up to the millisecond, as extract(epoch) * 1000 and Math.round do
      ['micros', 'org-c', 'user-4', 7, 'GBP', 'completed', '', {}, 0, null, '2026-03-01T12:00:00.0005Z', '2026-03-01T12:00:00.000499Z', '2026-03-01T12:00:00.9995Z', null, null, 2],
      ['negative-micros', 'org-c', 'user-4', 8, 'GBP', 'pending', null, {}, 0, null, '1960-01-01T00:00:00.0005Z', '1960-01-01T00:00:00.0015Z', null, null, null, 1],
      // outside the years 0000-9999: not canonical, written as toISOString writes it
      ['far', 'org-c', 'user-5', 9, 'EUR', 'pending', null, {}, 0, null, '12026-03-01T12:00:00Z', '12026-03-01T12:00:00Z', null, null, null, 1],
      ['ancient', 'org-c', 'user-5', 10, 'EUR', 'pending', null, {}, 0, null, '0100-03-01T12:00:00Z BC', '0001-03-01T12:00:00Z', null, null, null, 1],
      ['пла тёж-€', 'org-ü', 'usér-6', 11, 'EUR', 'pending', null, {}, 0, null, '2026-03-01T12:00:00Z', '2026-03-01T12:00:00Z', null, null, null, 1],
    ];
    for (let i = 0; i < 2000; i++) {
      // enough rows to cross many socket chunks and CopyData boundaries
      rows.push([`bulk-${i}`, `org-${i % 7}`, `user-${i % 13}`, 1 + i, ['EUR', 'USD'][i % 2], 'pending', i % 3 === 0 ? `d${i}` : null, i % 5 === 0 ? { i: String(i) } : {}, 0, null, new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString(), new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString(), null, null, null, 1]);
    }
    for (const r of rows) {
      await sql.query(
        `INSERT INTO payments (payment_id, organization_id, user_id, amount, currency, status, description, metadata, refunded_amount, error,
           created_at, updated_at, completed_at, failed_at, refunded_at, version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`,
        [...r.slice(0, 7), JSON.stringify(r[7]), ...r.slice(8)],
      );
    }
  });

  afterAll(async () => {
    await sql?.end();
    await db?.drop();
  });

  async function byText(): Promise<Map<string, Payment>> {
    const client = createClient(config());
    await client.connect();
    try {
      const { rows } = await client.query<PaymentRow>(`SELECT ${PAYMENT_COLUMNS} FROM payments`);
      return new Map(rows.map((r) => [`${r.organization_id}/${r.payment_id}`, paymentFromRow(r)]));
    } finally {
      await client.end();
    }
  }

  async function byCopy(chunk?: number): Promise<Map<string, Payment>> {
    const client = createClient(config());
    await client.connect();
    const out = new Map<string, Payment>();
    try {
      const decoder = new PaymentCopyDecoder((p) => out.set(`${p.organizationId}/${p.paymentId}`, paymentOf(p)));
      const copied = await copyOut(client, `COPY (SELECT ${PAYMENT_COPY_COLUMNS} FROM payments) TO STDOUT (FORMAT binary)`, (bytes, start, end) => {
        // fed in small pieces too: a row split anywhere must decode the same
        const step = chunk ?? end - start;
        for (let s = start; s < end; s += step) decoder.write(bytes, s, Math.min(end, s + step));
      });
      decoder.end();
      expect(decoder.rows).toBe(copied);
      // the connection is usable after the COPY: the socket was given back to pg
      expect((await client.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
      return out;
    } finally {
      await client.end();
    }
  }

  it('gives every payment, field for field, as the text path does', async () => {
    const want = await byText();
    const got = await byCopy();
    expect(got.size).toBe(want.size);
    for (const [key, payment] of want) expect([key, got.get(key)]).toEqual([key, payment]);
    expect(got.get('org-c/micros')).toMatchObject({ createdAt: '2026-03-01T12:00:00.001Z', updatedAt: '2026-03-01T12:00:00.000Z', completedAt: '2026-03-01T12:00:01.000Z' });
    expect(got.get('org-c/far')?.createdAt).toBe('+012026-03-01T12:00:00.000Z');
  });

  it('decodes the same when the stream is cut into pieces of any size', async () => {
    const want = await byText();
    for (const chunk of [1, 7, 50]) expect(await byCopy(chunk)).toEqual(want);
  });

  it('fails a COPY that PostgreSQL refuses, and the connection still serves', async () => {
    const client = createClient(config());
    await client.connect();
    try {
      await expect(copyOut(client, 'COPY (SELECT 1 / 0) TO STDOUT (FORMAT binary)', () => undefined)).rejects.toThrow(/division by zero/);
      expect((await client.query('SELECT 2 AS two')).rows).toEqual([{ two: 2 }]);
    } finally {
      await client.end();
    }
  });

  it('loads a store that holds what applying each row would hold, indexes and estimates included', async () => {
    const rows = [...(await byText()).values()];
    const bulk = new PaymentStore(config());
    bulk.beginBulkLoad(rows.length);
    const decoder = new PaymentCopyDecoder((p) => bulk.appendLoaded(p));
    const client = createClient(config());
    await client.connect();
    try {
      await copyOut(client, `COPY (SELECT ${PAYMENT_COPY_COLUMNS} FROM payments) TO STDOUT (FORMAT binary)`, (b, s, e) => decoder.write(b, s, e));
    } finally {
      await client.end();
    }
    bulk.endBulkLoad();
    const applied = new PaymentStore(config());
    for (const p of rows) applied.applyCommitted(p);
    const key = (p: Payment) => `${p.organizationId}/${p.paymentId}`;
    expect(new Map([...bulk.payments()].map((p) => [key(p), p]))).toEqual(new Map([...applied.payments()].map((p) => [key(p), p])));
    expect(bulk.capacity.bytes).toBe(applied.capacity.bytes);
    expect(bulk.describeIndexes()).toEqual(applied.describeIndexes());
    const order = (s: PaymentStore, index: 'amount' | 'createdAt') => {
      const out: string[] = [];
      s.indexes[index].walk(false, undefined, (row) => out.push(key(s.row(row))) > 0);
      return out;
    };
    expect(order(bulk, 'amount')).toEqual(order(applied, 'amount'));
    expect(order(bulk, 'createdAt')).toEqual(order(applied, 'createdAt'));
  });

  it('ends a load whose connection goes silent in the middle of the COPY once its clock has run past databaseTimeoutMs, and loads on a later attempt', async () => {
    const target = new URL(db.url);
    const proxy = await TcpProxy.start(Number(target.port || 5432), target.hostname);
    // the COPY is sent and lost, and nothing comes back: without its watchdog the load would wait forever
    proxy.partitionOn('COPY (SELECT');
    const silent = new AppConfig({ databaseUrl: proxy.urlFor(db.url), databaseTimeoutMs: 1000, logLevel: 'silent' });
    // The watchdog's time is this test's: tick() is its timer firing (the last load's watchdog).
    let now = 0;
    let tick = (): void => undefined;
    const clock: WatchdogClock = { now: () => now, every: (_ms, watch) => ((tick = watch), () => undefined) };
    // no other instance writes here: the change feed brings nothing to publish
    const events = { publish: () => undefined } as unknown as EventBus;
    // the retries' warnings, which no app's logger silences here
    Logger.overrideLogger(false);
    const primary = new PostgresPrimaryRepository(new PaymentStore(silent), createPool(silent), silent, new MetricsService(), events, clock);
    primary.onApplicationBootstrap();
    try {
      await eventually(() => expect(proxy.mode).toBe('partition'), 30_000);
      const accepted = proxy.accepted;
      // a look that sees the progress made up to the COPY, then none for longer than databaseTimeoutMs
      tick();
      now += 1001;
      tick();
      // the next attempt opens connections again: the stalled one was ended
      await eventually(() => expect(proxy.accepted).toBeGreaterThan(accepted), 30_000);
      proxy.restore();
      await primary.whenLoaded();
      expect(primary.lastLoad?.rows).toBe((await byText()).size);
      expect(primary.store.size).toBe(primary.lastLoad?.rows);
    } finally {
      // the proxy first: a load still stalled ends with its connection, and then the repository can stop
      await proxy.close();
      await primary.onApplicationShutdown();
    }
  }, 90_000);
});
