import request, { Response } from 'supertest';
import {
  applyEvent,
  Body,
  createPayment,
  expectInvalidFields,
  expectProblem,
  expectStatus,
  importPayments,
  moveTo,
  PaymentStatus,
  uniqueId,
} from './e2e-helpers';
import { startTestApp, TestApp } from './test-app';

let t: TestApp;

beforeAll(async () => {
  t = await startTestApp({ cacheTtlSeconds: 300 });
});

afterAll(async () => {
  await t.close();
});

type Query = Record<string, string | number>;

function stats(query: Query): Promise<Response> {
  return request(t.url).get('/payments/stats').query(query);
}

async function statsOk(query: Query): Promise<Record<string, unknown>> {
  const res = await stats(query);
  expectStatus(res, 200);
  return res.body;
}

const NO_STATUS = { pending: 0, completed: 0, failed: 0, refunded: 0 };
const MAX_AMOUNT = 99_999_999_999;

describe('GET /payments/stats', () => {
  let organizationId: string;
  let user: Record<string, string>;

  /**
   * Six payments in three currencies and all four statuses:
   *   s1 u1 EUR 10000 2025-02-01T00:00      pending
   *   s2 u1 EUR 30000 2025-02-01T10:30      completed
   *   s3 u2 USD 20000 2025-02-01T11:00      refunded 5000 of it
   *   s4 u2 EUR  5000 2025-02-03T00:00      refunded in full
   *   s5 u3 JPY   700 2025-02-03T23:59:59.999 failed
   *   s6 u1 USD     1 2025-02-04T00:00      pending
   */
  beforeAll(async () => {
    organizationId = uniqueId('org');
    const prefix = uniqueId('st');
    user = { u1: `${prefix}-u1`, u2: `${prefix}-u2`, u3: `${prefix}-u3` };
    const rows: [string, string, string, number, string, PaymentStatus][] = [
      ['s1', 'u1', 'EUR', 10_000, '2025-02-01T00:00:00.000Z', 'pending'],
      ['s2', 'u1', 'EUR', 30_000, '2025-02-01T10:30:00.000Z', 'completed'],
      ['s3', 'u2', 'USD', 20_000, '2025-02-01T11:00:00.000Z', 'completed'],
      ['s4', 'u2', 'EUR', 5_000, '2025-02-03T00:00:00.000Z', 'completed'],
      ['s5', 'u3', 'JPY', 700, '2025-02-03T23:59:59.999Z', 'failed'],
      ['s6', 'u1', 'USD', 1, '2025-02-04T00:00:00.000Z', 'pending'],
    ];
    await importPayments(
      t.url,
      rows.map(([key, u, currency, amount, createdAt]) => ({
        paymentId: `${prefix}-${key}`,
        organizationId,
        userId: user[u],
        amount,
        currency,
        createdAt,
      })),
    );
    for (const [key, , , , , status] of rows) await moveTo(t.url, `${prefix}-${key}`, status);
    await applyEvent(t.url, `${prefix}-s3`, { type: 'PaymentRefunded', data: { refundAmount: 5_000 } });
    await applyEvent(t.url, `${prefix}-s4`, { type: 'PaymentRefunded' });
  });

  it('counts and sums per status and per currency, never across currencies', async () => {
    const res = await stats({ organizationId });

    expectStatus(res, 200);
    expect(res.headers['content-type']).toMatch(/^application\/json\b/);
    expect(res.body).toEqual({
      total: 6,
      byStatus: { pending: 2, completed: 1, failed: 1, refunded: 2 },
      byCurrency: { EUR: 3, USD: 2, JPY: 1 },
      amountByCurrency: { EUR: 45_000, USD: 20_001, JPY: 700 },
      refundedAmountByCurrency: { EUR: 5_000, USD: 5_000, JPY: 0 },
    });
  });

  it('lists all four statuses and no currency when nothing matches', async () => {
    const body = await statsOk({ organizationId: uniqueId('org') });

    expect(body).toEqual({ total: 0, byStatus: NO_STATUS, byCurrency: {}, amountByCurrency: {}, refundedAmountByCurrency: {} });
  });

  it.each<[string, () => Query, Record<string, unknown>]>([
    [
      'one status',
      () => ({ status: 'refunded' }),
      {
        total: 2,
        byStatus: { ...NO_STATUS, refunded: 2 },
        byCurrency: { EUR: 1, USD: 1 },
        amountByCurrency: { EUR: 5_000, USD: 20_000 },
        refundedAmountByCurrency: { EUR: 5_000, USD: 5_000 },
      },
    ],
    [
      'a list of statuses',
      () => ({ status: 'pending,failed' }),
      {
        total: 3,
        byStatus: { ...NO_STATUS, pending: 2, failed: 1 },
        byCurrency: { EUR: 1, USD: 1, JPY: 1 },
        amountByCurrency: { EUR: 10_000, USD: 1, JPY: 700 },
        refundedAmountByCurrency: { EUR: 0, USD: 0, JPY: 0 },
      },
    ],
    [
      'a list of currencies',
      () => ({ currency: 'EUR,JPY' }),
      {
        total: 4,
        byStatus: { pending: 1, completed: 1, failed: 1, refunded: 1 },
        byCurrency: { EUR: 3, JPY: 1 },
        amountByCurrency: { EUR: 45_000, JPY: 700 },
        refundedAmountByCurrency: { EUR: 5_000, JPY: 0 },
      },
    ],
    [
      'userId',
      () => ({ userId: user.u1 }),
      {
        total: 3,
        byStatus: { ...NO_STATUS, pending: 2, completed: 1 },
        byCurrency: { EUR: 2, USD: 1 },
        amountByCurrency: { EUR: 40_000, USD: 1 },
        refundedAmountByCurrency: { EUR: 0, USD: 0 },
      },
    ],
    [
      'inclusive minAmount and maxAmount',
      () => ({ minAmount: 5_000, maxAmount: 20_000 }),
      {
        total: 3,
        byStatus: { ...NO_STATUS, pending: 1, refunded: 2 },
        byCurrency: { EUR: 2, USD: 1 },
        amountByCurrency: { EUR: 15_000, USD: 20_000 },
        refundedAmountByCurrency: { EUR: 5_000, USD: 5_000 },
      },
    ],
    [
      'half-open from/to',
      () => ({ from: '2025-02-01T10:30:00.000Z', to: '2025-02-03T23:59:59.999Z' }),
      {
        total: 3,
        byStatus: { ...NO_STATUS, completed: 1, refunded: 2 },
        byCurrency: { EUR: 2, USD: 1 },
        amountByCurrency: { EUR: 35_000, USD: 20_000 },
        refundedAmountByCurrency: { EUR: 5_000, USD: 5_000 },
      },
    ],
  ])('filters by %s', async (_case, query, expected) => {
    const body = await statsOk({ organizationId, ...query() });

    expect(body).toEqual(expected);
  });

  it('adds a series of one bucket per UTC day in [from, to), empty days included', async () => {
    const body = await statsOk({ organizationId, interval: 'day', from: '2025-02-01T00:00:00.000Z', to: '2025-02-04T00:00:00.000Z' });

    expect(body.total).toBe(5);
    expect(body.series).toEqual([
      { start: '2025-02-01T00:00:00.000Z', total: 3, amountByCurrency: { EUR: 40_000, USD: 20_000 } },
      { start: '2025-02-02T00:00:00.000Z', total: 0, amountByCurrency: {} },
      { start: '2025-02-03T00:00:00.000Z', total: 2, amountByCurrency: { EUR: 5_000, JPY: 700 } },
    ]);
  });

  it('adds a series of one bucket per UTC hour in [from, to), empty hours included', async () => {
    const body = await statsOk({ organizationId, interval: 'hour', from: '2025-02-01T09:00:00.000Z', to: '2025-02-01T12:00:00.000Z' });

    expect(body.total).toBe(2);
    expect(body.series).toEqual([
      { start: '2025-02-01T09:00:00.000Z', total: 0, amountByCurrency: {} },
      { start: '2025-02-01T10:00:00.000Z', total: 1, amountByCurrency: { EUR: 30_000 } },
      { start: '2025-02-01T11:00:00.000Z', total: 1, amountByCurrency: { USD: 20_000 } },
    ]);
  });

  it('applies the other filters to the series too', async () => {
    const body = await statsOk({
      organizationId,
      currency: 'EUR',
      interval: 'day',
      from: '2025-02-01T00:00:00.000Z',
      to: '2025-02-04T00:00:00.000Z',
    });

    expect(body.series).toEqual([
      { start: '2025-02-01T00:00:00.000Z', total: 2, amountByCurrency: { EUR: 40_000 } },
      { start: '2025-02-02T00:00:00.000Z', total: 0, amountByCurrency: {} },
      { start: '2025-02-03T00:00:00.000Z', total: 1, amountByCurrency: { EUR: 5_000 } },
    ]);
  });

  it('has no series without interval', async () => {
    const body = await statsOk({ organizationId, from: '2025-02-01T00:00:00.000Z', to: '2025-02-04T00:00:00.000Z' });

    expect(body).not.toHaveProperty('series');
  });

  it('allows exactly 1000 buckets', async () => {
    const hours = await statsOk({ organizationId, interval: 'hour', from: '2025-01-01T00:00:00.000Z', to: '2025-02-11T16:00:00.000Z' });
    const days = await statsOk({ organizationId, interval: 'day', from: '2020-01-01T00:00:00.000Z', to: '2022-09-27T00:00:00.000Z' });

    expect(hours.series).toHaveLength(1000);
    expect(days.series).toHaveLength(1000);
  });

  it.each<[string, Query]>([
    ['1001 hours', { interval: 'hour', from: '2025-01-01T00:00:00.000Z', to: '2025-02-11T17:00:00.000Z' }],
    ['1001 days', { interval: 'day', from: '2020-01-01T00:00:00.000Z', to: '2022-09-28T00:00:00.000Z' }],
    ['ten years of hours', { interval: 'hour', from: '2015-01-01T00:00:00.000Z', to: '2025-01-01T00:00:00.000Z' }],
  ])('answers 400 for more than 1000 buckets: %s', async (_case, query) => {
    const res = await stats({ organizationId, ...query });

    expectProblem(res, 400);
    expect((res.body.errors as unknown[]).length).toBeGreaterThan(0);
  });

  it.each<[string, Query]>([
    ['neither from nor to', { interval: 'day' }],
    ['only from', { interval: 'day', from: '2025-02-01T00:00:00.000Z' }],
    ['only to', { interval: 'hour', to: '2025-02-01T00:00:00.000Z' }],
  ])('answers 400 for interval with %s', async (_case, query) => {
    const res = await stats({ organizationId, ...query });

    expectProblem(res, 400);
    expect((res.body.errors as unknown[]).length).toBeGreaterThan(0);
  });

  it.each<[string, Query, string]>([
    ['an unknown interval', { interval: 'week', from: '2025-02-01T00:00:00.000Z', to: '2025-02-04T00:00:00.000Z' }, 'interval'],
    ['an unknown parameter', { colour: 'red' }, 'colour'],
    ['size, which only search takes', { size: 10 }, 'size'],
    ['sort, which only search takes', { sort: 'amount' }, 'sort'],
    ['an unknown status', { status: 'settled' }, 'status'],
    ['a malformed currency', { currency: 'eur' }, 'currency'],
    ['a fractional minAmount', { minAmount: '0.5' }, 'minAmount'],
    ['a from that is not a date', { from: 'last week' }, 'from'],
  ])('answers 400 naming the parameter for %s', async (_case, query, field) => {
    expectInvalidFields(await stats(query), [field]);
  });
});

describe('GET /payments/stats sums money exactly', () => {
  it('sums 90 payments of 99,999,999,999 to exactly 8,999,999,999,910', async () => {
    // 9,007,199,254,740,991 (2^53 - 1) would need about 90,072 such payments: the string form of
    // sums past it is pinned by the unit tests of the stats accumulator, not over HTTP.
    const organizationId = uniqueId('org');
    const bodies: Body[] = Array.from({ length: 90 }, () => ({
      paymentId: uniqueId('big'),
      organizationId,
      userId: 'u',
      amount: MAX_AMOUNT,
      currency: 'CHF',
      createdAt: '2025-03-01T12:00:00.000Z',
    }));
    await importPayments(t.url, bodies);
    for (const b of bodies.slice(0, 3)) {
      await moveTo(t.url, b.paymentId as string, 'completed');
      await applyEvent(t.url, b.paymentId as string, { type: 'PaymentRefunded' });
    }

    const body = await statsOk({ organizationId, interval: 'day', from: '2025-03-01T00:00:00.000Z', to: '2025-03-02T00:00:00.000Z' });

    expect(body.amountByCurrency).toEqual({ CHF: 8_999_999_999_910 });
    expect(body.refundedAmountByCurrency).toEqual({ CHF: 299_999_999_997 });
    expect(body.series).toEqual([{ start: '2025-03-01T00:00:00.000Z', total: 90, amountByCurrency: { CHF: 8_999_999_999_910 } }]);
  });

  it('keeps large sums in two currencies apart', async () => {
    const organizationId = uniqueId('org');
    const bodies: Body[] = ['EUR', 'USD', 'EUR', 'USD', 'EUR'].map((currency, i) => ({
      paymentId: uniqueId('big'),
      organizationId,
      userId: 'u',
      amount: MAX_AMOUNT - i,
      currency,
    }));
    await importPayments(t.url, bodies);

    const body = await statsOk({ organizationId });

    expect(body.byCurrency).toEqual({ EUR: 3, USD: 2 });
    expect(body.amountByCurrency).toEqual({ EUR: 3 * MAX_AMOUNT - 6, USD: 2 * MAX_AMOUNT - 4 });
  });
});

describe('GET /payments/stats reads its own writes', () => {
  it('counts a payment and each of its changes as soon as they are acknowledged', async () => {
    const organizationId = uniqueId('org');
    const before = await statsOk({ organizationId });

    const { paymentId } = await createPayment(t.url, { organizationId, amount: 1_000, currency: 'EUR' });
    const created = await statsOk({ organizationId });
    await applyEvent(t.url, paymentId, { type: 'PaymentProcessed' });
    const processed = await statsOk({ organizationId });
    await applyEvent(t.url, paymentId, { type: 'PaymentRefunded', data: { refundAmount: 400 } });
    const refunded = await statsOk({ organizationId });

    expect(before.total).toBe(0);
    expect(created).toMatchObject({ total: 1, byStatus: { ...NO_STATUS, pending: 1 }, amountByCurrency: { EUR: 1_000 } });
    expect(processed).toMatchObject({ total: 1, byStatus: { ...NO_STATUS, completed: 1 }, refundedAmountByCurrency: { EUR: 0 } });
    expect(refunded).toMatchObject({ total: 1, byStatus: { ...NO_STATUS, refunded: 1 }, refundedAmountByCurrency: { EUR: 400 } });
  });

  it('counts a new payment in stats without organizationId at once', async () => {
    const userId = uniqueId('user');
    const total = (await statsOk({})).total as number;
    const byUser = await statsOk({ userId });

    await createPayment(t.url, { userId });

    expect(byUser.total).toBe(0);
    expect((await statsOk({ userId })).total).toBe(1);
    expect((await statsOk({})).total).toBe(total + 1);
  });
});
