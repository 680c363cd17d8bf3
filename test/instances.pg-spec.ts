import type { Client } from 'pg';
import request from 'supertest';
import { Body, createPayment, expectStatus, getPayment, moveTo, Payment, paymentBody, paymentPath, sendEvent, uniqueId } from './e2e-helpers';
import {
  comparableStats,
  connectSql,
  countBy,
  eventually,
  mapLimit,
  percentile,
  Query,
  searchAll,
  sqlStats,
  statsOf,
} from './pg-helpers';
import { mulberry32 } from './seeded-random';
import { openStream } from './sse-client';
import { createTestDatabase, startTestApp, TestApp, TestDatabase } from './test-app';

/**
 * Several instances on one PostgreSQL database: writes are serialized through the database
 * (one winner per race, no lost refund, an event id applied once across instances), and every
 * instance converges to what the database holds, through the change feed.
 */

let db: TestDatabase;
let a: TestApp;
let b: TestApp;
let c: TestApp | undefined;
let aClosed = false;
let sql: Client;

beforeAll(async () => {
  db = await createTestDatabase();
  // started one after the other: the second finds the schema migrated by the first
  a = await startTestApp({ databaseUrl: db.url });
  b = await startTestApp({ databaseUrl: db.url });
  sql = await connectSql(db.url);
}, 60_000);

afterAll(async () => {
  await sql?.end();
  if (!aClosed) await a?.close();
  await b?.close();
  await c?.close();
  await db?.drop();
});

/** Instance i of a spread over A and B. */
const on = (i: number) => (i % 2 === 0 ? a.url : b.url);

async function sqlRow(paymentId: string): Promise<Record<string, unknown> | undefined> {
  const { rows } = await sql.query('SELECT status, refunded_amount::float8 AS refunded_amount, version, description FROM payments WHERE payment_id = $1', [paymentId]);
  return rows[0];
}

/** Waits until both instances answer GET with `expected` (fields compared with toMatchObject). */
async function expectBothEventually(paymentId: string, expected: Partial<Payment>): Promise<Payment[]> {
  return eventually(async () => {
    const both = await Promise.all([getPayment(a.url, paymentId), getPayment(b.url, paymentId)]);
    for (const p of both) expect(p).toMatchObject(expected);
    expect(both[0]).toEqual(both[1]);
    return both;
  });
}

describe('races across two instances', () => {
  it('creates a paymentId raced 20 times over A and B exactly once: one 201, nineteen 200 with the same payment, one row', async () => {
    const body = paymentBody({ description: 'raced', metadata: { k: 'v' } });

    const responses = await Promise.all(Array.from({ length: 20 }, (_, i) => request(on(i)).post('/payments').send(body)));

    expect(countBy(responses)).toEqual({ 201: 1, 200: 19 });
    const [fromA, fromB] = await expectBothEventually(body.paymentId as string, { version: 1 });
    expect(fromA).toEqual(fromB);
    // every answer, on either instance, is the one stored payment (to the millisecond)
    for (const r of responses) expect(r.body).toEqual(fromA);
    const { rows } = await sql.query('SELECT count(*)::int AS n FROM payments WHERE payment_id = $1', [body.paymentId]);
    expect(rows[0].n).toBe(1);
    const stats = await Promise.all([a.url, b.url].map((u) => statsOf(u, { organizationId: body.organizationId as string })));
    for (const s of stats) expect(s.total).toBe(1);
  });

  it('lets only one of two different bodies raced on one paymentId over A and B win; the others get 409', async () => {
    const first = paymentBody({ amount: 100 });
    const second = { ...first, amount: 200 };

    const responses = await Promise.all(
      Array.from({ length: 20 }, (_, i) => request(on(Math.floor(i / 2))).post('/payments').send(i % 2 === 0 ? first : second)),
    );

    const [stored] = await expectBothEventually(first.paymentId as string, { version: 1 });
    const wonWithFirst = stored.amount === 100;
    const winners = responses.filter((_, i) => (i % 2 === 0) === wonWithFirst);
    const losers = responses.filter((_, i) => (i % 2 === 0) !== wonWithFirst);
    expect(countBy(winners)).toEqual({ 201: 1, 200: 9 });
    expect(countBy(losers)).toEqual({ 409: 10 });
    expect((await sqlRow(first.paymentId as string))?.version).toBe(1);
  });

  it('accepts exactly 10 of 15 partial refunds of 10 raced over A and B on a completed 100; the rest are 422', async () => {
    const { paymentId } = await createPayment(a.url, { amount: 100 });
    await moveTo(a.url, paymentId, 'completed');

    const responses = await Promise.all(
      Array.from({ length: 15 }, (_, i) => sendEvent(on(i), paymentId, { type: 'PaymentRefunded', data: { refundAmount: 10 } })),
    );

    expect(countBy(responses)).toEqual({ 200: 10, 422: 5 });
    for (const r of responses.filter((x) => x.status === 422)) {
      expect(r.headers['content-type']).toMatch(/^application\/problem\+json\b/);
      expect(r.body.type).toBe('/problems/refund-exceeds-amount');
    }
    // each accepted refund saw the one before it: no two answers share a refundedAmount
    const refunded = responses.filter((r) => r.status === 200).map((r) => r.body.refundedAmount as number);
    expect(refunded.sort((x, y) => x - y)).toEqual([10, 20, 30, 40, 50, 60, 70, 80, 90, 100]);
    expect(await sqlRow(paymentId)).toEqual({ status: 'refunded', refunded_amount: 100, version: 12, description: null });
    await expectBothEventually(paymentId, { status: 'refunded', refundedAmount: 100, version: 12 });
  });

  it('applies an eventId delivered to A, then to B, then 10 times concurrently to both, exactly once', async () => {
    const { paymentId } = await createPayment(a.url, { amount: 1000 });
    await moveTo(a.url, paymentId, 'completed');
    const refund = { eventId: uniqueId('evt'), type: 'PaymentRefunded', data: { refundAmount: 100 } };

    const first = await sendEvent(a.url, paymentId, refund);
    const again = await sendEvent(b.url, paymentId, refund);

    expectStatus(first, 200);
    expect(first.body).toMatchObject({ refundedAmount: 100, version: 3, status: 'refunded' });
    expectStatus(again, 200);
    expect(again.body).toEqual(first.body);

    const second = { eventId: uniqueId('evt'), type: 'PaymentRefunded', data: { refundAmount: 100 } };
    const raced = await Promise.all(Array.from({ length: 10 }, (_, i) => sendEvent(on(i), paymentId, second)));

    expect(countBy(raced)).toEqual({ 200: 10 });
    for (const r of raced) expect(r.body).toMatchObject({ refundedAmount: 200, version: 4 });
    // the first event delivered once more, to B: still no change
    const late = await sendEvent(b.url, paymentId, refund);
    expectStatus(late, 200);
    expect(late.body).toMatchObject({ refundedAmount: 200, version: 4 });

    expect(await sqlRow(paymentId)).toMatchObject({ refunded_amount: 200, version: 4 });
    const events = await sql.query('SELECT event_id FROM payment_events WHERE payment_id = $1 ORDER BY applied_at', [paymentId]);
    expect(events.rows.map((r) => r.event_id).sort()).toEqual([refund.eventId, second.eventId].sort());
    await expectBothEventually(paymentId, { refundedAmount: 200, version: 4 });
  });
});

describe('replication between instances', () => {
  it('makes every write on A readable on B, as it was answered (100 writes: creates and PaymentProcessed)', async () => {
    const delays: number[] = [];
    const organizationId = uniqueId('org-delay');

    /**
     * Polls B (keep-alive fetch, no pause) until the payment reaches `version`; the ms since A
     * answered, to show (how fast is the machine's business; 20 s only guard against never).
     */
    const waitOnB = async (paymentId: string, version: number, since: number): Promise<number> => {
      for (;;) {
        const res = await fetch(`${b.url}${paymentPath(paymentId)}`);
        const body = (await res.json()) as Partial<Payment>;
        const elapsed = performance.now() - since;
        if (res.status === 200 && (body.version ?? 0) >= version) {
          expect(body.version).toBe(version);
          return elapsed;
        }
        expect([200, 404]).toContain(res.status);
        if (elapsed > 20_000) throw new Error(`payment ${paymentId} v${version} still not readable on B ${elapsed.toFixed(0)} ms after A answered`);
      }
    };

    for (let i = 0; i < 50; i++) {
      const body = paymentBody({ organizationId });
      const created = await request(a.url).post('/payments').send(body);
      let since = performance.now();
      expectStatus(created, 201);
      delays.push(await waitOnB(body.paymentId as string, 1, since));

      const processed = await sendEvent(a.url, body.paymentId as string, { type: 'PaymentProcessed' });
      since = performance.now();
      expectStatus(processed, 200);
      delays.push(await waitOnB(body.paymentId as string, 2, since));
    }

    delays.sort((x, y) => x - y);
    const [p50, p99, max] = [percentile(delays, 50), percentile(delays, 99), delays[delays.length - 1]];
    console.log(
      `replication A -> B over ${delays.length} writes: p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms, max ${max.toFixed(1)} ms`,
    );
    expect(delays).toHaveLength(100);
  });
});

describe('live stats across instances', () => {
  it('updates a stats stream open on B when the write is taken by A (PaymentSynced from the change feed)', async () => {
    const organizationId = uniqueId('org-live');
    const live = await openStream(b.url, { organizationId });
    try {
      await live.waitFor(1);
      const started = Date.now();
      await createPayment(a.url, { organizationId, amount: 4321, currency: 'EUR' });
      const [, second] = await live.waitFor(2);
      console.log(`live stats across instances: write on A -> event on B after ${Date.now() - started} ms`);
      expect(second).toMatchObject({ total: 1, amountByCurrency: { EUR: 4321 } });
    } finally {
      live.close();
    }
  });
});

describe('convergence after a burst of writes over both instances', () => {
  const seed = Number(process.env.BURST_SEED ?? Date.now() % 1_000_000);
  const organizationId = uniqueId('org-burst');
  const users = Array.from({ length: 4 }, () => uniqueId('user'));
  const currencies = ['EUR', 'USD', 'JPY'];
  // 40 distinct creation times, so that sort keys tie and the paymentId tie-break matters
  const baseMs = Date.parse('2026-02-01T00:00:00.000Z');
  const times = Array.from({ length: 40 }, (_, i) => new Date(baseMs + i * 3_600_000).toISOString());
  const created: string[] = [];
  const outcome: Record<string, number> = {};

  beforeAll(async () => {
    const random = mulberry32(seed);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)];
    const bodies: Body[] = Array.from({ length: 300 }, () =>
      paymentBody({
        organizationId,
        userId: pick(users),
        currency: pick(currencies),
        amount: 1 + Math.floor(random() * 100_000),
        createdAt: pick(times),
      }),
    );
    // each payment's lifecycle is a chain of writes, each step on a random instance
    const plans = bodies.map((body) => {
      const r = random();
      const steps: Body[] = [];
      if (r < 0.2) steps.push({ type: 'PaymentFailed', data: { error: 'declined' } });
      else if (r < 0.7) {
        steps.push({ type: 'PaymentProcessed' });
        if (random() < 0.5) steps.push({ type: 'PaymentRefunded', data: { refundAmount: 1 + Math.floor(random() * (body.amount as number)) } });
        if (random() < 0.3) steps.push({ type: 'PaymentRefunded' }); // all that remains (or 422 when nothing does)
        if (random() < 0.2) steps.push({ type: 'PaymentProcessed' }); // 409 from completed/refunded
      }
      return { body, steps, instances: [body, ...steps].map(() => (random() < 0.5 ? 'a' : 'b')) };
    });

    const started = performance.now();
    await mapLimit(plans, 24, async ({ body, steps, instances }) => {
      const url = (i: number) => (instances[i] === 'a' ? a.url : b.url);
      const res = await request(url(0)).post('/payments').send(body);
      outcome[res.status] = (outcome[res.status] ?? 0) + 1;
      if (res.status !== 201) return;
      created.push(body.paymentId as string);
      // a retry of the create on the other instance is a 200 replay
      if (random() < 0.1) {
        const replay = await request(url(0) === a.url ? b.url : a.url).post('/payments').send(body);
        outcome[`replay ${replay.status}`] = (outcome[`replay ${replay.status}`] ?? 0) + 1;
      }
      for (let i = 0; i < steps.length; i++) {
        const r = await sendEvent(url(i + 1), body.paymentId as string, steps[i]);
        outcome[r.status] = (outcome[r.status] ?? 0) + 1;
      }
    });
    const writes = Object.values(outcome).reduce((s, n) => s + n, 0);
    console.log(
      `burst (seed ${seed}): ${writes} writes over A and B in ${(performance.now() - started).toFixed(0)} ms; answers ${JSON.stringify(outcome)}`,
    );
  }, 120_000);

  it('wrote what it meant to: every create succeeded, and only 200/409/422 answers to events', () => {
    expect(created).toHaveLength(300);
    expect(Object.keys(outcome).sort()).toEqual(expect.arrayContaining(['200', '201']));
    for (const status of Object.keys(outcome)) expect(['200', '201', '409', '422', 'replay 200']).toContain(status);
  });

  it('converges: both instances answer stats equal to the truth computed by SQL, and every payment is in sync', async () => {
    const truth = await sqlStats(sql, 'organization_id = $1', [organizationId]);
    expect(truth.total).toBe(300);

    const started = performance.now();
    await eventually(async () => {
      for (const url of [a.url, b.url]) expect(comparableStats(await statsOf(url, { organizationId }))).toEqual(truth);
    }, 30_000);
    const convergedMs = performance.now() - started;

    const checks = await mapLimit(
      created.flatMap((id) => [a.url, b.url].map((url) => ({ id, url }))),
      20,
      async ({ id, url }) => (await request(url).get(`/admin/sync/${encodeURIComponent(id)}`)).body,
    );
    const outOfSync = checks.filter((x) => x.inSync !== true);
    expect(outOfSync).toEqual([]);
    console.log(`burst converged on both instances ${convergedMs.toFixed(0)} ms after the last answer`);
  });

  /** A filter over the burst as query parameters, and the same in SQL (with its order). */
  const cases: { name: string; query: Query; where: string; params: () => unknown[]; order: string }[] = [
    {
      name: 'the organization, newest first (default sort)',
      query: { organizationId, size: 50 },
      where: 'organization_id = $1',
      params: () => [organizationId],
      order: 'created_at DESC, payment_id COLLATE "C"',
    },
    {
      name: 'completed or refunded, by amount',
      query: { organizationId, status: 'completed,refunded', sort: 'amount', size: 33 },
      where: "organization_id = $1 AND status IN ('completed', 'refunded')",
      params: () => [organizationId],
      order: 'amount, payment_id COLLATE "C"',
    },
    {
      name: 'USD within an amount range, by amount descending',
      query: { organizationId, currency: 'USD', minAmount: 20_000, maxAmount: 80_000, sort: '-amount', size: 17 },
      where: "organization_id = $1 AND currency = 'USD' AND amount BETWEEN 20000 AND 80000",
      params: () => [organizationId],
      order: 'amount DESC, payment_id COLLATE "C"',
    },
    {
      name: 'one user, oldest first',
      query: { organizationId, userId: users[1], sort: 'createdAt', size: 25 },
      where: 'organization_id = $1 AND user_id = $2',
      params: () => [organizationId, users[1]],
      order: 'created_at, payment_id COLLATE "C"',
    },
    {
      name: 'pending or failed in [from, to)',
      query: { organizationId, status: 'pending,failed', from: times[5], to: times[25], size: 40 },
      where: "organization_id = $1 AND status IN ('pending', 'failed') AND created_at >= $2 AND created_at < $3",
      params: () => [organizationId, times[5], times[25]],
      order: 'created_at DESC, payment_id COLLATE "C"',
    },
    {
      name: 'every organization: JPY refunded',
      query: { currency: 'JPY', status: 'refunded', size: 100 },
      where: "currency = 'JPY' AND status = 'refunded'",
      params: () => [],
      order: 'created_at DESC, payment_id COLLATE "C"',
    },
  ];

  it.each(cases)('answers search ($name) identically on A and B, and as SQL does, walking nextCursor', async ({ query, where, params, order }) => {
    const { rows } = await sql.query(`SELECT payment_id FROM payments WHERE ${where} ORDER BY ${order}`, params());
    const expected = rows.map((r) => r.payment_id as string);
    expect(expected.length).toBeGreaterThan(0);

    const [fromA, fromB] = await Promise.all([searchAll(a.url, query), searchAll(b.url, query)]);

    expect(fromA.total).toBe(expected.length);
    expect(fromB.total).toBe(expected.length);
    expect(fromA.items.map((p) => p.paymentId)).toEqual(expected);
    expect(fromB.items).toEqual(fromA.items);
  });

  it.each(cases)('answers stats ($name) identically on A and B, and as SQL does', async ({ query, where, params }) => {
    const filter = Object.fromEntries(Object.entries(query).filter(([k]) => !['sort', 'size'].includes(k)));
    const truth = await sqlStats(sql, where, params());

    const [fromA, fromB] = await Promise.all([statsOf(a.url, filter), statsOf(b.url, filter)]);

    expect(fromB).toEqual(fromA);
    expect(comparableStats(fromA)).toEqual(truth);
  });
});

describe('a new instance', () => {
  it('loads everything on start: after A is closed, a new instance answers every payment as B does', async () => {
    await a.close();
    aClosed = true;
    const started = performance.now();
    c = await startTestApp({ databaseUrl: db.url });
    const loadMs = performance.now() - started;

    const { rows } = await sql.query('SELECT payment_id FROM payments ORDER BY payment_id');
    expect(rows.length).toBeGreaterThan(350); // the burst and the tests before it
    const mismatches = await mapLimit(rows, 32, async ({ payment_id: id }) => {
      const [fromC, fromB] = await Promise.all([request(c!.url).get(paymentPath(id)), request(b.url).get(paymentPath(id))]);
      return fromC.status === 200 && fromB.status === 200 && JSON.stringify(fromC.body) === JSON.stringify(fromB.body)
        ? null
        : { id, c: [fromC.status, fromC.body], b: [fromB.status, fromB.body] };
    });
    expect(mismatches.filter((m) => m !== null)).toEqual([]);
    const store = await request(c.url).get('/admin/store');
    expectStatus(store, 200);
    expect(store.body.payments).toBe(rows.length);
    const truth = await sqlStats(sql, 'true', []);
    expect(comparableStats(await statsOf(c.url))).toEqual(truth);
    expect(comparableStats(await statsOf(b.url))).toEqual(truth);
    console.log(`new instance loaded ${rows.length} payments and answered ready in ${loadMs.toFixed(0)} ms`);

    // and it follows the change feed both ways
    const fromC = await createPayment(c.url);
    const fromB = await createPayment(b.url);
    await eventually(async () => {
      expect(await getPayment(b.url, fromC.paymentId)).toEqual(fromC);
      expect(await getPayment(c!.url, fromB.paymentId)).toEqual(fromB);
    });
  });
});
