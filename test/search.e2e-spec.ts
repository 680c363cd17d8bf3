import request, { Response } from 'supertest';
import {
  applyEvent,
  Body,
  createPayment,
  expectInvalidFields,
  expectProblem,
  expectStatus,
  getPayment,
  ids,
  importPayments,
  moveTo,
  Payment,
  PaymentStatus,
  uniqueId,
} from './e2e-helpers';
import { startTestApp, TestApp } from './test-app';

let t: TestApp;

beforeAll(async () => {
  // A long TTL: any stale answer after a write would be the cache's, not an expiry artefact.
  t = await startTestApp({ cacheTtlSeconds: 300 });
});

afterAll(async () => {
  await t.close();
});

type Query = Record<string, string | number>;

function search(query: Query): Promise<Response> {
  return request(t.url).get('/payments/search').query(query);
}

async function searchOk(query: Query): Promise<{ items: Payment[]; total: number; page: number; size: number; nextCursor: string | null }> {
  const res = await search(query);
  expectStatus(res, 200);
  return res.body;
}

interface SeedRow {
  key: string;
  user: string;
  amount: number;
  currency: string;
  createdAt: string;
  status: PaymentStatus;
}

/**
 * Eight payments of one organization. Two tie on createdAt (p05, p06) and two pairs tie on
 * amount (p01/p04, p02/p06), so the paymentId tie-break is visible in every sort.
 */
const ROWS: SeedRow[] = [
  { key: 'p01', user: 'u1', amount: 1000, currency: 'EUR', createdAt: '2025-01-10T00:00:00.000Z', status: 'pending' },
  { key: 'p02', user: 'u1', amount: 2000, currency: 'EUR', createdAt: '2025-01-10T01:00:00.000Z', status: 'completed' },
  { key: 'p03', user: 'u2', amount: 3000, currency: 'USD', createdAt: '2025-01-10T02:00:00.000Z', status: 'failed' },
  { key: 'p04', user: 'u2', amount: 1000, currency: 'USD', createdAt: '2025-01-10T03:00:00.000Z', status: 'refunded' },
  { key: 'p05', user: 'u3', amount: 5000, currency: 'GBP', createdAt: '2025-01-10T04:00:00.000Z', status: 'completed' },
  { key: 'p06', user: 'u1', amount: 2000, currency: 'EUR', createdAt: '2025-01-10T04:00:00.000Z', status: 'pending' },
  { key: 'p07', user: 'u3', amount: 7000, currency: 'EUR', createdAt: '2025-01-11T00:00:00.000Z', status: 'refunded' },
  { key: 'p08', user: 'u2', amount: 500, currency: 'JPY', createdAt: '2025-01-11T01:00:00.000Z', status: 'pending' },
];

interface Dataset {
  organizationId: string;
  /** paymentId of each row key. */
  id: Record<string, string>;
  /** userId of each row user. */
  user: Record<string, string>;
  idsOf(...keys: string[]): string[];
}

/** Stores ROWS for a new organization, inserted in an order unlike paymentId order. */
async function seed(): Promise<Dataset> {
  const organizationId = uniqueId('org');
  const prefix = uniqueId('s');
  const id = Object.fromEntries(ROWS.map((r) => [r.key, `${prefix}-${r.key}`]));
  const user = Object.fromEntries(['u1', 'u2', 'u3'].map((u) => [u, `${prefix}-${u}`]));
  const insertionOrder = [5, 2, 7, 0, 3, 6, 1, 4].map((i) => ROWS[i]);
  await importPayments(
    t.url,
    insertionOrder.map((r) => ({
      paymentId: id[r.key],
      organizationId,
      userId: user[r.user],
      amount: r.amount,
      currency: r.currency,
      createdAt: r.createdAt,
    })),
  );
  for (const r of insertionOrder) await moveTo(t.url, id[r.key], r.status);
  return { organizationId, id, user, idsOf: (...keys) => keys.map((k) => id[k]) };
}

describe('GET /payments/search filters', () => {
  let d: Dataset;

  beforeAll(async () => {
    d = await seed();
  });

  /** Searches with `query` (and a page large enough for everything) and returns the items of this dataset. */
  async function seededMatches(query: Query): Promise<{ items: Payment[]; mine: string[]; total: number }> {
    const body = await searchOk({ size: 100, ...query });
    expect(body.total).toBe(body.items.length);
    const own = new Set(Object.values(d.id));
    return { items: body.items, mine: ids(body.items).filter((i) => own.has(i)).sort(), total: body.total };
  }

  it('answers 200 with items, total, page, size and nextCursor', async () => {
    const res = await search({ organizationId: d.organizationId });

    expectStatus(res, 200);
    expect(res.headers['content-type']).toMatch(/^application\/json\b/);
    expect(Object.keys(res.body).sort()).toEqual(['items', 'nextCursor', 'page', 'size', 'total']);
    expect(res.body).toMatchObject({ total: 8, page: 0, size: 20, nextCursor: null });
  });

  it('serves each item as the whole payment resource', async () => {
    const body = await searchOk({ organizationId: d.organizationId, size: 1, sort: 'amount' });

    expect(body.items).toEqual([await getPayment(t.url, d.id.p08)]);
  });

  it('filters by organizationId alone: every payment of that organization and no other', async () => {
    const other = await createPayment(t.url, { userId: d.user.u1 });

    const body = await searchOk({ organizationId: d.organizationId });

    expect(ids(body.items).sort()).toEqual(d.idsOf('p01', 'p02', 'p03', 'p04', 'p05', 'p06', 'p07', 'p08').sort());
    expect(ids(body.items)).not.toContain(other.paymentId);
  });

  it('filters by userId alone', async () => {
    const { items, mine } = await seededMatches({ userId: d.user.u1 });

    expect(mine).toEqual(d.idsOf('p01', 'p02', 'p06').sort());
    expect(items.every((p) => p.userId === d.user.u1)).toBe(true);
  });

  it('filters by one status alone', async () => {
    const { items, mine } = await seededMatches({ status: 'completed' });

    expect(mine).toEqual(d.idsOf('p02', 'p05').sort());
    expect(items.every((p) => p.status === 'completed')).toBe(true);
  });

  it('filters by a comma-separated list of statuses, matching any of them', async () => {
    const { items, mine } = await seededMatches({ status: 'failed,refunded' });

    expect(mine).toEqual(d.idsOf('p03', 'p04', 'p07').sort());
    expect(items.every((p) => p.status === 'failed' || p.status === 'refunded')).toBe(true);
  });

  it('filters by one currency alone', async () => {
    const { items, mine } = await seededMatches({ currency: 'GBP' });

    expect(mine).toEqual(d.idsOf('p05'));
    expect(items.every((p) => p.currency === 'GBP')).toBe(true);
  });

  it('filters by a comma-separated list of currencies', async () => {
    const { items, mine } = await seededMatches({ currency: 'USD,JPY' });

    expect(mine).toEqual(d.idsOf('p03', 'p04', 'p08').sort());
    expect(items.every((p) => p.currency === 'USD' || p.currency === 'JPY')).toBe(true);
  });

  it('treats minAmount as an inclusive lower bound', async () => {
    const body = await searchOk({ organizationId: d.organizationId, minAmount: 2000 });

    expect(ids(body.items).sort()).toEqual(d.idsOf('p02', 'p03', 'p05', 'p06', 'p07').sort());
  });

  it('treats maxAmount as an inclusive upper bound', async () => {
    const body = await searchOk({ organizationId: d.organizationId, maxAmount: 1000 });

    expect(ids(body.items).sort()).toEqual(d.idsOf('p01', 'p04', 'p08').sort());
  });

  it('filters by amount alone, both bounds equal', async () => {
    const { items } = await seededMatches({ minAmount: 7000, maxAmount: 7000 });

    expect(items.map((p) => p.amount)).toEqual(items.map(() => 7000));
    expect(ids(items)).toContain(d.id.p07);
  });

  it('treats from/to as half-open [from, to) on createdAt', async () => {
    const { items, mine } = await seededMatches({ from: '2025-01-10T01:00:00.000Z', to: '2025-01-10T04:00:00.000Z' });

    expect(mine).toEqual(d.idsOf('p02', 'p03', 'p04').sort());
    expect(items.every((p) => p.createdAt >= '2025-01-10T01:00:00.000Z' && p.createdAt < '2025-01-10T04:00:00.000Z')).toBe(true);
  });

  it('accepts from and to with an offset, meaning the same instants', async () => {
    const { mine } = await seededMatches({ from: '2025-01-10T02:00:00+01:00', to: '2025-01-10T05:00:00+01:00' });

    expect(mine).toEqual(d.idsOf('p02', 'p03', 'p04').sort());
  });

  it('filters by from alone and to alone', async () => {
    const after = await seededMatches({ organizationId: d.organizationId, from: '2025-01-11T00:00:00.000Z' });
    const before = await seededMatches({ organizationId: d.organizationId, to: '2025-01-10T01:00:00.000Z' });

    expect(after.mine).toEqual(d.idsOf('p07', 'p08').sort());
    expect(before.mine).toEqual(d.idsOf('p01'));
  });

  it('combines every filter with AND', async () => {
    const body = await searchOk({
      organizationId: d.organizationId,
      userId: d.user.u1,
      status: 'pending,completed',
      currency: 'EUR',
      minAmount: 1500,
      maxAmount: 2000,
      from: '2025-01-10T00:30:00.000Z',
      to: '2025-01-11T00:00:00.000Z',
    });

    expect(ids(body.items).sort()).toEqual(d.idsOf('p02', 'p06').sort());
    expect(body.total).toBe(2);
  });

  it('answers an empty page when nothing matches', async () => {
    const body = await searchOk({ organizationId: d.organizationId, currency: 'CHF' });

    expect(body).toEqual({ items: [], total: 0, page: 0, size: 20, nextCursor: null });
  });
});

describe('GET /payments/search sorting', () => {
  let d: Dataset;

  beforeAll(async () => {
    d = await seed();
  });

  it.each<[string, Query, string[]]>([
    ['-createdAt when no sort is given', {}, ['p08', 'p07', 'p05', 'p06', 'p04', 'p03', 'p02', 'p01']],
    ['-createdAt (newest first)', { sort: '-createdAt' }, ['p08', 'p07', 'p05', 'p06', 'p04', 'p03', 'p02', 'p01']],
    ['createdAt (oldest first)', { sort: 'createdAt' }, ['p01', 'p02', 'p03', 'p04', 'p05', 'p06', 'p07', 'p08']],
    ['amount (smallest first)', { sort: 'amount' }, ['p08', 'p01', 'p04', 'p02', 'p06', 'p03', 'p05', 'p07']],
    ['-amount (largest first)', { sort: '-amount' }, ['p07', 'p05', 'p03', 'p02', 'p06', 'p01', 'p04', 'p08']],
  ])('orders by %s, ties broken by paymentId ascending', async (_case, sort, expected) => {
    const body = await searchOk({ organizationId: d.organizationId, ...sort });

    expect(ids(body.items)).toEqual(d.idsOf(...expected));
  });

  it('answers 400 naming sort for an unknown sort', async () => {
    expectInvalidFields(await search({ organizationId: d.organizationId, sort: 'paymentId' }), ['sort']);
  });
});

describe('GET /payments/search paging with page and size', () => {
  let organizationId: string;
  let all: string[];

  beforeAll(async () => {
    organizationId = uniqueId('org');
    const bodies: Body[] = Array.from({ length: 25 }, (_, i) => ({
      paymentId: `${organizationId}-${String(i).padStart(2, '0')}`,
      organizationId,
      userId: 'u',
      amount: 100 + i,
      currency: 'EUR',
      createdAt: new Date(Date.UTC(2025, 0, 1, 0, i)).toISOString(),
    }));
    await importPayments(t.url, bodies);
    all = bodies.map((b) => b.paymentId as string).reverse(); // -createdAt
  });

  it('defaults to page 0 of size 20 and counts every match in total', async () => {
    const body = await searchOk({ organizationId });

    expect({ page: body.page, size: body.size, total: body.total }).toEqual({ page: 0, size: 20, total: 25 });
    expect(ids(body.items)).toEqual(all.slice(0, 20));
  });

  it('serves the rest on page 1', async () => {
    const body = await searchOk({ organizationId, page: 1 });

    expect(body).toMatchObject({ page: 1, size: 20, total: 25, nextCursor: null });
    expect(ids(body.items)).toEqual(all.slice(20));
  });

  it('serves page n of size s as items n*s to n*s+s-1', async () => {
    const body = await searchOk({ organizationId, page: 2, size: 7 });

    expect(ids(body.items)).toEqual(all.slice(14, 21));
    expect(body.total).toBe(25);
  });

  it('answers an empty page past the last one, total unchanged', async () => {
    const body = await searchOk({ organizationId, page: 5, size: 10 });

    expect(body).toMatchObject({ items: [], total: 25, page: 5, size: 10, nextCursor: null });
  });

  it.each([[1], [100]])('accepts size %i', async (size) => {
    const body = await searchOk({ organizationId, size });

    expect(body.items).toHaveLength(Math.min(size, 25));
    expect(body.size).toBe(size);
  });

  it.each<[string, Query, string]>([
    ['size 0', { size: 0 }, 'size'],
    ['size 101', { size: 101 }, 'size'],
    ['size -1', { size: -1 }, 'size'],
    ['size 1.5', { size: '1.5' }, 'size'],
    ['size abc', { size: 'abc' }, 'size'],
    ['an empty size', { size: '' }, 'size'],
    ['page -1', { page: -1 }, 'page'],
    ['page 1.5', { page: '1.5' }, 'page'],
    ['page abc', { page: 'abc' }, 'page'],
  ])('answers 400 naming the parameter for %s', async (_case, query, field) => {
    expectInvalidFields(await search({ organizationId, ...query }), [field]);
  });

  it('allows page * size of exactly 10,000', async () => {
    const body = await searchOk({ organizationId, page: 100, size: 100 });

    expect(body).toMatchObject({ items: [], total: 25, page: 100, size: 100 });
  });

  it.each<[Query]>([[{ page: 101, size: 100 }], [{ page: 10_001, size: 1 }], [{ page: 501 }]])(
    'answers 400 when page * size passes 10,000 (%j)',
    async (query) => {
      const res = await search({ organizationId, ...query });

      expectProblem(res, 400);
      expect((res.body.errors as unknown[]).length).toBeGreaterThan(0);
    },
  );
});

describe('GET /payments/search rejects bad query parameters', () => {
  it.each<[string, Query, string]>([
    ['an unknown parameter', { colour: 'red' }, 'colour'],
    ['a misspelt parameter', { organisationId: 'org-1' }, 'organisationId'],
    ['an unknown status', { status: 'settled' }, 'status'],
    ['a list holding an unknown status', { status: 'completed,settled' }, 'status'],
    ['a lower-case currency', { currency: 'eur' }, 'currency'],
    ['a four-letter currency', { currency: 'EURO' }, 'currency'],
    ['a list holding a malformed currency', { currency: 'EUR,U$D' }, 'currency'],
    ['a fractional minAmount', { minAmount: '1.5' }, 'minAmount'],
    ['a non-numeric maxAmount', { maxAmount: 'lots' }, 'maxAmount'],
    ['a from that is not a date', { from: 'yesterday' }, 'from'],
    ['a to that is not a date', { to: '2026-02-30T00:00:00Z' }, 'to'],
    ['an organizationId of 65 chars', { organizationId: 'o'.repeat(65) }, 'organizationId'],
  ])('answers 400 naming the parameter for %s', async (_case, query, field) => {
    expectInvalidFields(await search(query), [field]);
  });

  it('names every bad parameter at once', async () => {
    const res = await search({ status: 'settled', currency: 'eur', size: 0, colour: 'red' });

    expectInvalidFields(res, ['colour', 'currency', 'size', 'status']);
  });
});

describe('GET /payments/search with nextCursor', () => {
  /** Walks every page from the first one with nextCursor; returns the ids seen and the page sizes. */
  async function walk(query: Query): Promise<{ seen: string[]; pages: number[] }> {
    const seen: string[] = [];
    const pages: number[] = [];
    let body = await searchOk(query);
    for (;;) {
      seen.push(...ids(body.items));
      pages.push(body.items.length);
      if (body.nextCursor === null) return { seen, pages };
      expect(typeof body.nextCursor).toBe('string');
      expect(pages.length).toBeLessThan(50);
      body = await searchOk({ ...query, cursor: body.nextCursor });
    }
  }

  let organizationId: string;
  let bodies: Body[];

  beforeAll(async () => {
    organizationId = uniqueId('org');
    // 23 payments, three per createdAt and per amount value, so pages end inside ties.
    bodies = Array.from({ length: 23 }, (_, i) => ({
      paymentId: `${organizationId}-${String((i * 7) % 23).padStart(2, '0')}`,
      organizationId,
      userId: 'u',
      amount: 100 * (1 + (i % 8)),
      currency: i % 2 === 0 ? 'EUR' : 'USD',
      createdAt: new Date(Date.UTC(2025, 1, 1, Math.floor(i / 3))).toISOString(),
    }));
    await importPayments(t.url, bodies);
  });

  it.each([['createdAt'], ['-createdAt'], ['amount'], ['-amount']])(
    'visits every match exactly once, in order, sorted by %s',
    async (sort) => {
      const full = await searchOk({ organizationId, sort, size: 100 });

      const { seen, pages } = await walk({ organizationId, sort, size: 5 });

      expect(full.items).toHaveLength(23);
      expect(seen).toEqual(ids(full.items));
      expect(pages).toEqual([5, 5, 5, 5, 3]);
    },
  );

  it('walks a filtered search the same way', async () => {
    const query = { organizationId, currency: 'EUR', minAmount: 200, sort: 'amount' };
    const full = await searchOk({ ...query, size: 100 });

    const { seen } = await walk({ ...query, size: 2 });

    expect(full.total).toBeGreaterThan(4);
    expect(seen).toEqual(ids(full.items));
  });

  it('answers nextCursor null on a last page that is exactly full', async () => {
    const { pages } = await walk({ organizationId, size: 23 });
    const byPages = await searchOk({ organizationId, size: 23 });

    expect(pages).toEqual([23]);
    expect(byPages.nextCursor).toBeNull();
  });

  it('answers a nextCursor on every page but the last', async () => {
    const first = await searchOk({ organizationId, size: 20 });
    const last = await searchOk({ organizationId, size: 20, page: 1 });

    expect(typeof first.nextCursor).toBe('string');
    expect(last.nextCursor).toBeNull();
  });

  it('continues from a page read with page=n', async () => {
    const full = await searchOk({ organizationId, sort: 'amount', size: 100 });
    const second = await searchOk({ organizationId, sort: 'amount', size: 5, page: 1 });

    const third = await searchOk({ organizationId, sort: 'amount', size: 5, cursor: second.nextCursor as string });

    expect(ids(third.items)).toEqual(ids(full.items).slice(10, 15));
  });

  it('answers 400 naming cursor for a cursor together with page', async () => {
    const first = await searchOk({ organizationId, size: 5 });

    const res = await search({ organizationId, size: 5, page: 1, cursor: first.nextCursor as string });

    expectProblem(res, 400);
    expect((res.body.errors as { field: string }[]).map((e) => e.field)).toContain('cursor');
  });

  it.each<[string, string]>([
    ['garbage', 'not-a-cursor'],
    ['base64 of something else', Buffer.from('{"hello":"world"}').toString('base64url')],
    ['base64 of a JSON array', Buffer.from('[1,2,3]').toString('base64url')],
  ])('answers 400 naming cursor for a cursor that is %s', async (_case, cursor) => {
    expectInvalidFields(await search({ organizationId, cursor }), ['cursor']);
  });

  it('answers 400 naming cursor for a cursor used with other filters', async () => {
    const first = await searchOk({ organizationId, size: 5 });
    const cursor = first.nextCursor as string;

    const otherOrganization = await search({ organizationId: uniqueId('org'), size: 5, cursor });
    const extraFilter = await search({ organizationId, status: 'pending', size: 5, cursor });
    const noFilter = await search({ size: 5, cursor });

    expectInvalidFields(otherOrganization, ['cursor']);
    expectInvalidFields(extraFilter, ['cursor']);
    expectInvalidFields(noFilter, ['cursor']);
  });

  it.each([['-createdAt'], ['createdAt']])(
    'neither skips nor repeats a payment that existed before the first page, while others are written meanwhile (%s)',
    async (sort) => {
      const org = uniqueId('org');
      const existing = Array.from({ length: 12 }, (_, i) => ({
        paymentId: `${org}-${String(i).padStart(2, '0')}`,
        organizationId: org,
        userId: 'u',
        amount: 100,
        currency: 'EUR',
        createdAt: new Date(Date.UTC(2025, 2, 1, i)).toISOString(),
      }));
      await importPayments(t.url, existing);
      const full = ids((await searchOk({ organizationId: org, sort, size: 100 })).items);

      const seen: string[] = [];
      let body = await searchOk({ organizationId: org, sort, size: 4 });
      let round = 0;
      for (;;) {
        seen.push(...ids(body.items));
        if (body.nextCursor === null || round > 20) break;
        round += 1;
        // New payments before, between and after the ones already read.
        await importPayments(t.url, [
          { paymentId: `${org}-new-a${round}`, organizationId: org, userId: 'u', amount: 100, currency: 'EUR', createdAt: '2025-01-01T00:00:00.000Z' },
          { paymentId: `${org}-new-b${round}`, organizationId: org, userId: 'u', amount: 100, currency: 'EUR', createdAt: new Date(Date.UTC(2025, 2, 1, 5, 30)).toISOString() },
          { paymentId: `${org}-new-c${round}`, organizationId: org, userId: 'u', amount: 100, currency: 'EUR' },
        ]);
        body = await searchOk({ organizationId: org, sort, size: 4, cursor: body.nextCursor });
      }

      expect(new Set(seen).size).toBe(seen.length);
      expect(seen.filter((id) => full.includes(id))).toEqual(full);
    },
  );
});

describe('GET /payments/search reads its own writes', () => {
  it('sees a payment created right after a search of the same organization', async () => {
    const organizationId = uniqueId('org');
    const empty = await searchOk({ organizationId });

    const created = await createPayment(t.url, { organizationId });
    const after = await searchOk({ organizationId });

    expect(empty.total).toBe(0);
    expect(after.items).toEqual([created]);
  });

  it('sees a payment created right after a search without organizationId', async () => {
    const userId = uniqueId('user');
    const empty = await searchOk({ userId });

    const created = await createPayment(t.url, { userId });
    const after = await searchOk({ userId });

    expect(empty.total).toBe(0);
    expect(after.items).toEqual([created]);
  });

  it('sees every status change at once, by status, in the same organization and across organizations', async () => {
    const organizationId = uniqueId('org');
    const userId = uniqueId('user');
    const { paymentId } = await createPayment(t.url, { organizationId, userId, amount: 1000 });
    const statusOf = async (query: Query) =>
      Object.fromEntries(
        await Promise.all(
          (['pending', 'completed', 'refunded'] as const).map(async (status) => [status, ids((await searchOk({ ...query, status })).items)]),
        ),
      );
    const byOrg = { organizationId };
    const byUser = { userId };

    expect(await statusOf(byOrg)).toEqual({ pending: [paymentId], completed: [], refunded: [] });
    expect(await statusOf(byUser)).toEqual({ pending: [paymentId], completed: [], refunded: [] });

    await applyEvent(t.url, paymentId, { type: 'PaymentProcessed' });
    expect(await statusOf(byOrg)).toEqual({ pending: [], completed: [paymentId], refunded: [] });
    expect(await statusOf(byUser)).toEqual({ pending: [], completed: [paymentId], refunded: [] });

    const refunded = await applyEvent(t.url, paymentId, { type: 'PaymentRefunded', data: { refundAmount: 250 } });
    expect(await statusOf(byOrg)).toEqual({ pending: [], completed: [], refunded: [paymentId] });
    expect(await statusOf(byUser)).toEqual({ pending: [], completed: [], refunded: [paymentId] });
    expect((await searchOk(byOrg)).items).toEqual([refunded]);
  });

  it('serves the refunded amount of a payment in search right after a second refund', async () => {
    const organizationId = uniqueId('org');
    const { paymentId } = await createPayment(t.url, { organizationId, amount: 1000 });
    await moveTo(t.url, paymentId, 'completed');
    await applyEvent(t.url, paymentId, { type: 'PaymentRefunded', data: { refundAmount: 100 } });
    const first = await searchOk({ organizationId, status: 'refunded' });

    await applyEvent(t.url, paymentId, { type: 'PaymentRefunded', data: { refundAmount: 100 } });
    const second = await searchOk({ organizationId, status: 'refunded' });

    expect(first.items[0].refundedAmount).toBe(100);
    expect(second.items[0]).toMatchObject({ refundedAmount: 200, version: 4 });
  });
});
