import request from 'supertest';
import { expectInvalidFields, expectStatus, ids, importPayments, moveTo, paymentBody, uniqueId } from './e2e-helpers';
import { openStream } from './sse-client';
import { startTestApp, TestApp } from './test-app';

/**
 * status and currency take lists in three spellings, all the same filter: repeated
 * (status=completed&status=refunded: OpenAPI's default form style, what generated clients
 * send), comma-separated (status=completed,refunded), or both at once.
 */
const SPELLINGS: [string, string][] = [
  ['repeated', 'status=completed&status=refunded&currency=EUR&currency=USD'],
  ['comma-separated', 'status=completed,refunded&currency=EUR,USD'],
  ['both', 'status=completed&status=refunded&currency=EUR,USD'],
  ['both, within one list', 'status=completed,refunded&currency=EUR&currency=USD'],
];

describe('list parameters (status, currency): repeated, comma-separated or both', () => {
  let t: TestApp;
  const organizationId = uniqueId('org-lists');
  const filter = (lists: string) => `organizationId=${organizationId}&${lists}`;
  /** The payments that match completed|refunded and EUR|USD, newest first. */
  let expected: string[];

  beforeAll(async () => {
    t = await startTestApp();
    const bodies = Array.from({ length: 24 }, (_, i) =>
      paymentBody({
        organizationId,
        currency: ['EUR', 'USD', 'JPY'][i % 3],
        amount: 1_000 + i,
        createdAt: new Date(Date.UTC(2026, 0, 1, 0, i)).toISOString(),
      }),
    );
    await importPayments(t.url, bodies);
    const statuses = ['pending', 'completed', 'failed', 'refunded'] as const;
    await Promise.all(bodies.map((b, i) => moveTo(t.url, b.paymentId as string, statuses[Math.floor(i / 3) % 4])));
    expected = bodies
      .filter((_, i) => ['EUR', 'USD'].includes(['EUR', 'USD', 'JPY'][i % 3]) && ['completed', 'refunded'].includes(statuses[Math.floor(i / 3) % 4]))
      .map((b) => b.paymentId as string)
      .reverse();
  });
  afterAll(async () => {
    await t.close();
  });

  it.each(SPELLINGS)('search finds both statuses and both currencies: %s', async (_, lists) => {
    const res = await request(t.url).get(`/payments/search?${filter(lists)}&size=100`);
    expectStatus(res, 200);
    expect(expected).toHaveLength(8);
    expect(ids(res.body.items)).toEqual(expected);
    expect(res.body.total).toBe(8);
  });

  it('continues a page read with repeated parameters by its cursor, with the lists in another spelling', async () => {
    const first = await request(t.url).get(`/payments/search?${filter(SPELLINGS[0][1])}&size=5`);
    expectStatus(first, 200);
    const cursor = encodeURIComponent(first.body.nextCursor as string);
    const next = await request(t.url).get(`/payments/search?${filter(SPELLINGS[1][1])}&size=5&cursor=${cursor}`);
    expectStatus(next, 200);
    expect([...ids(first.body.items), ...ids(next.body.items)]).toEqual(expected);
    expect(next.body.nextCursor).toBeNull();
  });

  it.each(SPELLINGS)('stats count both statuses and both currencies: %s', async (_, lists) => {
    const res = await request(t.url).get(`/payments/stats?${filter(lists)}`);
    expectStatus(res, 200);
    const comma = await request(t.url).get(`/payments/stats?${filter(SPELLINGS[1][1])}`);
    expect(res.body).toEqual(comma.body);
    expect(res.body.total).toBe(8);
    expect(Object.keys(res.body.amountByCurrency).sort()).toEqual(['EUR', 'USD']);
  });

  it('the stats stream takes repeated parameters and sends the stats of the whole list', async () => {
    const query = new URLSearchParams(filter(SPELLINGS[0][1]));
    const stream = await openStream(t.url, query);
    try {
      expect(stream.status).toBe(200);
      const [first] = await stream.waitFor(1);
      expect(first).toMatchObject({ total: 8 });
    } finally {
      stream.close();
    }
  });

  it('names a bad item of a repeated list (400) as it does in a comma-separated one', async () => {
    for (const lists of ['status=completed&status=done', 'status=completed,done', 'currency=EUR&currency=eur', 'status=completed&status=']) {
      const res = await request(t.url).get(`/payments/search?${filter(lists)}`);
      expectInvalidFields(res, [lists.startsWith('status') ? 'status' : 'currency']);
    }
  });

  it('still refuses any other parameter given twice, naming it', async () => {
    for (const [name, query] of [
      ['size', 'size=5&size=6'],
      ['organizationId', `organizationId=${organizationId}&organizationId=other`],
      ['interval', 'interval=day&interval=hour&from=2026-01-01T00:00:00Z&to=2026-01-02T00:00:00Z'],
    ]) {
      const res = await request(t.url).get(`/payments/${name === 'interval' ? 'stats' : 'search'}?${query}`);
      expectInvalidFields(res, [name]);
      expect(res.body.errors).toEqual([{ field: name, message: `${name} must be given at most once` }]);
    }
  });
});
