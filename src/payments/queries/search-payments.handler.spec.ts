import { type Cache, createCache } from 'cache-manager';
import { createKeyv } from 'cacheable';
import { AppConfig } from '../../config';
import { AppError, RequestValidationError } from '../../errors';
import { MetricsService } from '../../metrics/metrics.service';
import { createPayment, Payment, PAYMENT_STATUSES, PaymentEvent, PaymentStatus, transition } from '../payment';
import { SEARCH_SORTS, SearchSort } from '../payment-query';
import { PaymentStore } from '../store/payment.store';
import { PaymentFilter } from '../payment-filter';
import { Interval, PaymentStats } from '../payment-query';
import { GetPaymentStatsHandler } from './get-payment-stats.handler';
import { GetPaymentStatsQuery, StatsRequest } from './get-payment-stats.query';
import { QueryCache } from './query-cache';
import { ReadPacer } from './read-pacer';
import { SearchCalculator } from './search-calculator';
import { SearchPaymentsHandler } from './search-payments.handler';
import { SearchPaymentsQuery, SearchRequest, SearchResult } from './search-payments.query';
import { StatsCalculator } from './stats-calculator';

/** A small seeded generator, so a failure can be replayed. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const ORGS = ['org-a', 'org-b', 'org-c'];
const USERS = ['u1', 'u2', 'u3', 'u4'];
const CURRENCIES = ['EUR', 'USD', 'JPY'];
const AMOUNTS = [100, 250, 999, 1_000, 5_000, 99_999_999_999];
const HOUR = 3_600_000;
const BASE = Date.UTC(2026, 2, 1);
const NOW = '2026-03-05T00:00:00.000Z';

/** The search and stats handlers over one query cache, as PaymentsModule wires them. */
function handlersOver(store: PaymentStore, cache: Cache, metrics: MetricsService, config: AppConfig, pacer?: ReadPacer) {
  const queryCache = new QueryCache(store, cache, metrics, config, pacer);
  const stats = new StatsCalculator(store);
  const searchHandler = new SearchPaymentsHandler(queryCache, new SearchCalculator(store, stats));
  const statsHandler = new GetPaymentStatsHandler(queryCache, stats);
  return {
    search: (request: SearchRequest) => searchHandler.execute(new SearchPaymentsQuery(request)),
    stats: (request: StatsRequest) => statsHandler.execute(new GetPaymentStatsQuery(request)),
  };
}
type Handlers = ReturnType<typeof handlersOver>;

/** The handlers against a real store, a real in-memory cache and a real metrics registry. */
function setup(config = new AppConfig()) {
  const store = new PaymentStore(config);
  // As in AppModule: values by reference, bounded LRU, no timers.
  const cache = createCache({ stores: [createKeyv({ ttl: 300_000, lruSize: 10_000, useClone: false, checkInterval: 0 })] });
  const metrics = new MetricsService();
  const handlers = handlersOver(store, cache, metrics, config);
  const counter = async (which: 'cacheHits' | 'cacheMisses', query: 'search' | 'stats') =>
    (await metrics[which].get()).values.find((v) => v.labels.query === query)?.value ?? 0;
  return { store, handlers, metrics, counter };
}

/** Random writes through the store (the only writer), with a plain map of what it should hold. */
class World {
  readonly payments = new Map<string, Payment>();
  #n = 0;

  constructor(
    readonly store: PaymentStore,
    readonly rand: () => number,
  ) {}

  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.rand() * xs.length)];
  }

  create(overrides: Partial<{ organizationId: string; createdAt: string; amount: number }> = {}): Payment {
    const id = `pay_${Math.floor(this.rand() * 36 ** 4).toString(36)}_${this.#n++}`;
    const createdAt =
      overrides.createdAt ??
      new Date(BASE + Math.floor(this.rand() * 72) * HOUR + Math.floor(this.rand() * 4) * 15 * 60_000).toISOString();
    const p = createPayment(
      {
        organizationId: overrides.organizationId ?? this.pick(ORGS),
        userId: this.pick(USERS),
        amount: overrides.amount ?? this.pick(AMOUNTS),
        currency: this.pick(CURRENCIES),
        createdAt,
      },
      id,
      NOW,
    );
    const { created } = this.store.insertIfAbsent(p);
    expect(created).toBe(true);
    this.payments.set(id, p);
    return p;
  }

  /** A random lifecycle event on a random payment; refused events change nothing. */
  event(): void {
    const id = this.pick([...this.payments.keys()]);
    const current = this.payments.get(id)!;
    const event: PaymentEvent = this.pick<PaymentEvent>([
      { type: 'PaymentProcessed', occurredAt: NOW },
      { type: 'PaymentFailed', occurredAt: NOW, error: 'declined' },
      { type: 'PaymentRefunded', occurredAt: NOW },
      { type: 'PaymentRefunded', occurredAt: NOW, refundAmount: 1 + Math.floor(this.rand() * current.amount) },
    ]);
    this.apply(id, event);
  }

  apply(id: string, event: PaymentEvent, eventId?: string): Payment | undefined {
    try {
      const result = this.store.update(ownerOf(this.store, id), id, eventId, (p) => transition(p, event, NOW));
      this.payments.set(id, result!.payment);
      return result!.payment;
    } catch (e) {
      expect(e).toBeInstanceOf(AppError);
      return undefined;
    }
  }

  write(): void {
    if (this.payments.size < 5 || this.rand() < 0.5) this.create();
    else this.event();
  }

  all(): Payment[] {
    return [...this.payments.values()];
  }
}

/** What a filter means, written out independently of matchesFilter. */
function refMatches(p: Payment, f: PaymentFilter): boolean {
  const t = Date.parse(p.createdAt);
  return (
    (f.organizationId === undefined || p.organizationId === f.organizationId) &&
    (f.userId === undefined || p.userId === f.userId) &&
    (f.statuses === undefined || f.statuses.includes(p.status)) &&
    (f.currencies === undefined || f.currencies.includes(p.currency)) &&
    (f.minAmount === undefined || p.amount >= f.minAmount) &&
    (f.maxAmount === undefined || p.amount <= f.maxAmount) &&
    (f.from === undefined || t >= Date.parse(f.from)) &&
    (f.to === undefined || t < Date.parse(f.to))
  );
}

function refSorted(all: Payment[], filter: PaymentFilter, sort: SearchSort): Payment[] {
  const field = sort.replace('-', '') as 'amount' | 'createdAt';
  const sign = sort.startsWith('-') ? -1 : 1;
  const key = (p: Payment) => (field === 'amount' ? p.amount : Date.parse(p.createdAt));
  return all
    .filter((p) => refMatches(p, filter))
    .sort((a, b) => sign * (key(a) - key(b)) || (a.paymentId < b.paymentId ? -1 : a.paymentId > b.paymentId ? 1 : 0));
}

const exact = (sum: bigint): number | string => (sum <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(sum) : sum.toString());

function refStats(all: Payment[], filter: PaymentFilter, interval?: Interval): PaymentStats {
  const matching = all.filter((p) => refMatches(p, filter));
  const byStatus = Object.fromEntries(PAYMENT_STATUSES.map((s) => [s, 0])) as Record<PaymentStatus, number>;
  const count: Record<string, number> = {};
  const amount: Record<string, bigint> = {};
  const refunded: Record<string, bigint> = {};
  for (const p of matching) {
    byStatus[p.status]++;
    count[p.currency] = (count[p.currency] ?? 0) + 1;
    amount[p.currency] = (amount[p.currency] ?? 0n) + BigInt(p.amount);
    refunded[p.currency] = (refunded[p.currency] ?? 0n) + BigInt(p.refundedAmount);
  }
  const stats: PaymentStats = {
    total: matching.length,
    byStatus,
    byCurrency: count,
    amountByCurrency: Object.fromEntries(Object.entries(amount).map(([c, s]) => [c, exact(s)])),
    refundedAmountByCurrency: Object.fromEntries(Object.entries(refunded).map(([c, s]) => [c, exact(s)])),
  };
  if (interval && filter.from && filter.to) {
    const step = interval === 'hour' ? HOUR : 24 * HOUR;
    const from = Date.parse(filter.from);
    const to = Date.parse(filter.to);
    stats.series = [];
    for (let start = from - (((from % step) + step) % step); start < to; start += step) {
      const inBucket = matching.filter((p) => Date.parse(p.createdAt) >= start && Date.parse(p.createdAt) < start + step);
      const sums: Record<string, bigint> = {};
      for (const p of inBucket) sums[p.currency] = (sums[p.currency] ?? 0n) + BigInt(p.amount);
      stats.series.push({
        start: new Date(start).toISOString(),
        total: inBucket.length,
        amountByCurrency: Object.fromEntries(Object.entries(sums).map(([c, s]) => [c, exact(s)])),
      });
    }
  }
  return stats;
}

function randomFilter(rand: () => number): PaymentFilter {
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)];
  const f: PaymentFilter = {};
  if (rand() < 0.4) f.organizationId = pick([...ORGS, 'org-none']);
  if (rand() < 0.25) f.userId = pick(USERS);
  if (rand() < 0.3) f.statuses = PAYMENT_STATUSES.filter(() => rand() < 0.5);
  if (rand() < 0.25) f.currencies = CURRENCIES.filter(() => rand() < 0.5);
  if (rand() < 0.25) f.minAmount = pick(AMOUNTS) - (rand() < 0.5 ? 1 : 0);
  if (rand() < 0.25) f.maxAmount = pick(AMOUNTS) + (rand() < 0.5 ? 1 : 0);
  if (rand() < 0.3) {
    const a = BASE + Math.floor(rand() * 76 * 4) * 15 * 60_000 - 2 * HOUR;
    const b = a + 1 + Math.floor(rand() * 30 * HOUR);
    if (rand() < 0.7) f.from = new Date(a).toISOString();
    if (rand() < 0.7) f.to = new Date(b).toISOString();
  }
  return f;
}

function expectPage(result: SearchResult, all: Payment[], req: SearchRequest): void {
  const expected = refSorted(all, req.filter, req.sort);
  const page = req.page ?? 0;
  const start = page * req.size;
  expect(result.total).toBe(expected.length);
  expect(result.page).toBe(page);
  expect(result.size).toBe(req.size);
  // toEqual on whole payments: a stale payment (older status or refund) would show here.
  expect(result.items).toEqual(expected.slice(start, start + req.size));
  expect(result.nextCursor === null).toBe(start + req.size >= expected.length);
}

/** Follows nextCursor from the first page to the last, returning every page. */
async function walk(handlers: Handlers, filter: PaymentFilter, sort: SearchSort, size: number, between?: () => void) {
  const pages: SearchResult[] = [];
  let cursor: string | undefined;
  for (let guard = 0; guard < 10_000; guard++) {
    const page = await handlers.search({ filter, sort, size, cursor });
    pages.push(page);
    if (page.nextCursor === null) return pages;
    cursor = page.nextCursor;
    between?.();
  }
  throw new Error('the cursor walk did not end');
}

describe('SearchPaymentsHandler and GetPaymentStatsHandler', () => {
  describe('compared with a plain array filter and sort after random writes', () => {
    it.each([1, 2, 3])('answers search and stats like the reference, seed %i', async (seed) => {
      const { store, handlers, counter } = setup();
      const rand = lcg(seed * 7919);
      const world = new World(store, rand);
      for (let i = 0; i < 60; i++) world.write();

      const sizes = [1, 3, 7, 20, 100];
      const searches: SearchRequest[] = Array.from({ length: 30 }, () => ({
        filter: randomFilter(rand),
        sort: SEARCH_SORTS[Math.floor(rand() * SEARCH_SORTS.length)],
        size: sizes[Math.floor(rand() * sizes.length)],
        page: rand() < 0.3 ? undefined : Math.floor(rand() * 4),
      }));
      const stats = Array.from({ length: 15 }, () => {
        const filter = randomFilter(rand);
        const interval: Interval | undefined = filter.from && filter.to && rand() < 0.6 ? (rand() < 0.7 ? 'hour' : 'day') : undefined;
        return { filter, interval };
      });

      for (let round = 0; round < 20; round++) {
        // Some rounds write nothing, so the same queries come again on an unchanged store.
        const writes = rand() < 0.3 ? 0 : Math.floor(rand() * 25);
        for (let i = 0; i < writes; i++) world.write();
        const all = world.all();
        for (const req of searches) expectPage(await handlers.search(req), all, req);
        for (const req of stats) expect(await handlers.stats(req)).toEqual(refStats(all, req.filter, req.interval));
      }

      expect(world.payments.size).toBeGreaterThan(100);
      expect(new Set(world.all().map((p) => p.status)).size).toBe(4);
      expect(await counter('cacheHits', 'search')).toBeGreaterThan(0);
      expect(await counter('cacheHits', 'stats')).toBeGreaterThan(0);
    });

    it.each(SEARCH_SORTS)('walks every match exactly once, in order, following nextCursor (sort %s)', async (sort) => {
      const { store, handlers } = setup();
      const rand = lcg(sort.length * 31 + (sort.startsWith('-') ? 1 : 0));
      const world = new World(store, rand);
      for (let i = 0; i < 300; i++) world.write();
      for (let q = 0; q < 12; q++) {
        const filter = q === 0 ? {} : randomFilter(rand);
        const size = [1, 4, 25][q % 3];
        const expected = refSorted(world.all(), filter, sort);
        const pages = await walk(handlers, filter, sort, size);
        expect(pages.flatMap((p) => p.items)).toEqual(expected);
        expect(pages.map((p) => p.page)).toEqual(pages.map((_, i) => i));
        for (const p of pages) {
          expect(p.total).toBe(expected.length);
          expect(p.size).toBe(size);
        }
        expect(pages.slice(0, -1).every((p) => p.items.length === size)).toBe(true);
      }
    });
  });

  describe('search', () => {
    it('breaks ties by paymentId ascending, whatever the direction of the sort', async () => {
      const { store, handlers } = setup();
      const world = new World(store, lcg(4));
      const at = new Date(BASE).toISOString();
      const ids = ['c', 'a', 'b'].map(() => world.create({ createdAt: at, amount: 500, organizationId: 'org-t' }).paymentId);
      const sortedIds = [...ids].sort();
      for (const sort of SEARCH_SORTS) {
        const result = await handlers.search({ filter: { organizationId: 'org-t' }, sort, size: 10 });
        expect(result.items.map((p) => p.paymentId)).toEqual(sortedIds);
      }
    });

    it('answers a page past the end with no items, the full total and no cursor', async () => {
      const { store, handlers } = setup();
      const world = new World(store, lcg(5));
      for (let i = 0; i < 5; i++) world.create();
      expect(await handlers.search({ filter: {}, sort: 'amount', size: 10, page: 3 })).toEqual({
        items: [],
        total: 5,
        page: 3,
        size: 10,
        nextCursor: null,
      });
    });

    it('answers an empty store with nothing and no cursor', async () => {
      const { handlers } = setup();
      expect(await handlers.search({ filter: {}, sort: '-createdAt', size: 20 })).toEqual({
        items: [],
        total: 0,
        page: 0,
        size: 20,
        nextCursor: null,
      });
    });

    it('gives no cursor on a last page that is exactly full', async () => {
      const { store, handlers } = setup();
      const world = new World(store, lcg(6));
      for (let i = 0; i < 6; i++) world.create();
      expect((await handlers.search({ filter: {}, sort: 'amount', size: 3, page: 1 })).nextCursor).toBeNull();
      expect((await handlers.search({ filter: {}, sort: 'amount', size: 3, page: 0 })).nextCursor).not.toBeNull();
    });

    it('continues from a page-based nextCursor with the next page', async () => {
      const { store, handlers } = setup();
      const world = new World(store, lcg(7));
      for (let i = 0; i < 20; i++) world.create();
      const page1 = await handlers.search({ filter: {}, sort: 'amount', size: 5, page: 1 });
      const page2 = await handlers.search({ filter: {}, sort: 'amount', size: 5, cursor: page1.nextCursor! });
      const expected = refSorted(world.all(), {}, 'amount');
      expect(page2.page).toBe(2);
      expect(page2.items).toEqual(expected.slice(10, 15));
    });

    it('neither skips nor repeats a payment that existed before the first page while others are written', async () => {
      for (const sort of SEARCH_SORTS) {
        const { store, handlers } = setup();
        const rand = lcg(sort.length * 13 + (sort.startsWith('-') ? 3 : 0));
        const world = new World(store, rand);
        for (let i = 0; i < 200; i++) world.create({ organizationId: 'org-a' });
        const filter = { organizationId: 'org-a' };
        const before = refSorted(world.all(), filter, sort).map((p) => p.paymentId);

        const pages = await walk(handlers, filter, sort, 9, () => {
          // New payments sort anywhere (before and after the cursor); events change other payments.
          for (let i = 0; i < 4; i++) world.create({ organizationId: 'org-a' });
          world.event();
        });

        const seen = pages.flatMap((p) => p.items.map((i) => i.paymentId));
        expect(new Set(seen).size).toBe(seen.length);
        const seenSet = new Set(seen);
        expect(before.filter((id) => !seenSet.has(id))).toEqual([]);
      }
    });

    it('reads a cursor page by walking the sort index from the cursor: rows read do not grow with depth', async () => {
      for (const [sort, filter] of [
        ['-createdAt', { organizationId: 'org-a', statuses: ['pending' as const] }],
        ['createdAt', { organizationId: 'org-a' }],
        ['-amount', { currencies: ['EUR', 'USD'] }],
        ['amount', {}],
        // bounds on amount or createdAt: counted over the cells, the page walked from the bound
        ['-createdAt', { organizationId: 'org-a', minAmount: 250, maxAmount: 5_000 }],
        ['-createdAt', { organizationId: 'org-a', from: new Date(BASE + 10 * HOUR).toISOString(), to: new Date(BASE + 50 * HOUR).toISOString(), minAmount: 999 }],
        ['createdAt', { organizationId: 'org-a', statuses: ['pending' as const], from: new Date(BASE + 10 * HOUR).toISOString(), to: new Date(BASE + 50 * HOUR).toISOString() }],
        ['-amount', { currencies: ['EUR', 'USD'], minAmount: 100, maxAmount: 5_000 }],
      ] as const) {
        const { store, handlers } = setup();
        const world = new World(store, lcg(sort.length + 77));
        // large enough that a walk (a hundred times the cost of a scanned entry per row) beats a scan
        for (let i = 0; i < 20_000; i++) world.create({ organizationId: i % 3 === 0 ? 'org-b' : 'org-a' });
        // count every row the search reads out of any sorted index, and every candidate a scan reads
        // (a bounded filter's count reads the candidates' columns too, the same at every depth)
        const ix = store.indexes;
        const org = store.dictionaries.organization.find('org-a');
        let read = 0;
        for (const index of [ix.amount, ix.createdAt, ix.createdAtIndexOf(org)!]) {
          const walkFn = index.walk.bind(index);
          jest.spyOn(index, 'walk').mockImplementation((d, from, visit) => walkFn(d, from, (row) => (read++, visit(row))));
          const rangeFn = index.forEachInRange.bind(index);
          jest.spyOn(index, 'forEachInRange').mockImplementation((lo, hi, visit, descending) => rangeFn(lo, hi, (row) => (read++, visit(row)), descending));
        }
        const scanFn = store.cells.scanPage.bind(store.cells);
        jest.spyOn(store.cells, 'scanPage').mockImplementation((runs, ...rest) => {
          read += runs.reduce((n, r) => n + r.end - r.start, 0);
          return scanFn(runs, ...rest);
        });
        const expected = refSorted(world.all(), filter, sort);
        const perPage: number[] = [];
        let cursor: string | undefined;
        const seen: string[] = [];
        do {
          read = 0;
          const page = await handlers.search({ filter, sort, size: 25, cursor });
          expect(page.total).toBe(expected.length);
          seen.push(...page.items.map((p) => p.paymentId));
          perPage.push(read);
          cursor = page.nextCursor ?? undefined;
        } while (cursor !== undefined);
        expect(seen).toEqual(expected.map((p) => p.paymentId));
        expect(perPage.length).toBeGreaterThan(20);
        // about (size + 1) / selectivity rows per page (selectivity ~1/3 at worst here), plus a run of
        // equal keys buffered before it is read forwards (RUN_BUFFER), never a scan
        expect(Math.max(...perPage)).toBeLessThan(26 * 4 + 2 * 33);
      }
    });

    it('counts a search narrowed by time alone with the createdAt index: no pass over the cells', async () => {
      const { store, handlers } = setup();
      const world = new World(store, lcg(91));
      for (let i = 0; i < 20_000; i++) world.create({ organizationId: i % 3 === 0 ? 'org-b' : 'org-a' });
      for (let i = 0; i < 300; i++) world.event();
      const count = jest.spyOn(store.cells, 'count');
      const scanPage = jest.spyOn(store.cells, 'scanPage');
      const window = { from: new Date(BASE + 10 * HOUR).toISOString(), to: new Date(BASE + 12 * HOUR).toISOString() };
      for (const [sort, filter] of [
        ['-createdAt', { organizationId: 'org-a', ...window }],
        ['createdAt', { organizationId: 'org-b', ...window }],
        ['-createdAt', { ...window }],
        ['-createdAt', { organizationId: 'org-a', from: window.from }],
      ] as const) {
        const expected = refSorted(world.all(), filter, sort);
        expect(expected.length).toBeGreaterThan(25);
        const first = await handlers.search({ filter, sort, size: 25 });
        expect(first.total).toBe(expected.length);
        expect(first.items.map((p) => p.paymentId)).toEqual(expected.slice(0, 25).map((p) => p.paymentId));
        const second = await handlers.search({ filter, sort, size: 25, cursor: first.nextCursor! });
        expect(second.total).toBe(expected.length);
        expect(second.items.map((p) => p.paymentId)).toEqual(expected.slice(25, 50).map((p) => p.paymentId));
      }
      expect(count).not.toHaveBeenCalled();
      expect(scanPage).not.toHaveBeenCalled();
      // a status narrows it further: the index cannot count that, the cells do
      const pending = { organizationId: 'org-a', statuses: ['pending' as const], ...window };
      const page = await handlers.search({ filter: pending, sort: '-createdAt', size: 25 });
      expect(page.total).toBe(refSorted(world.all(), pending, '-createdAt').length);
      expect(count.mock.calls.length + scanPage.mock.calls.length).toBeGreaterThan(0);
    });

    it('counts a large organization by time and status through the daily aggregates: no pass over its cells', async () => {
      const { store, handlers } = setup();
      const world = new World(store, lcg(92));
      const DAY_MS = 24 * HOUR;
      // 100 payments a day over 400 days: a month's window holds ~3,000 of the organization's 40,000
      for (let i = 0; i < 40_000; i++) {
        world.create({ organizationId: 'org-a', createdAt: new Date(BASE + Math.floor(world.rand() * 400 * DAY_MS)).toISOString() });
      }
      for (let i = 0; i < 2_000; i++) world.event();
      const count = jest.spyOn(store.cells, 'count');
      const scanPage = jest.spyOn(store.cells, 'scanPage');
      // ragged ends on both sides of the window
      const window = { from: new Date(BASE + 100 * DAY_MS + 5 * HOUR).toISOString(), to: new Date(BASE + 130 * DAY_MS + 17 * HOUR).toISOString() };
      for (const filter of [
        { organizationId: 'org-a', statuses: ['pending' as const], ...window },
        { organizationId: 'org-a', statuses: ['pending' as const, 'completed' as const], currencies: ['EUR', 'USD', 'JPY'], ...window },
      ]) {
        const expected = refSorted(world.all(), filter, '-createdAt');
        expect(expected.length).toBeGreaterThan(50);
        const first = await handlers.search({ filter, sort: '-createdAt', size: 25 });
        expect(first.total).toBe(expected.length);
        expect(first.items.map((p) => p.paymentId)).toEqual(expected.slice(0, 25).map((p) => p.paymentId));
        const second = await handlers.search({ filter, sort: '-createdAt', size: 25, cursor: first.nextCursor! });
        expect(second.total).toBe(expected.length);
        expect(second.items.map((p) => p.paymentId)).toEqual(expected.slice(25, 50).map((p) => p.paymentId));
      }
      expect(count).not.toHaveBeenCalled();
      expect(scanPage).not.toHaveBeenCalled();
      // random windows, statuses and currencies, whichever way each is counted
      const rand = lcg(93);
      for (let round = 0; round < 30; round++) {
        const fromMs = BASE + Math.floor(rand() * 380 * DAY_MS);
        const filter = {
          organizationId: 'org-a',
          statuses: PAYMENT_STATUSES.filter(() => rand() < 0.6),
          currencies: rand() < 0.5 ? undefined : CURRENCIES.filter(() => rand() < 0.7),
          from: new Date(fromMs).toISOString(),
          to: new Date(fromMs + Math.floor(rand() * 40 * DAY_MS)).toISOString(),
        };
        const expected = refSorted(world.all(), filter, '-createdAt');
        const page = await handlers.search({ filter, sort: '-createdAt', size: 10 });
        expect({ round, total: page.total }).toEqual({ round, total: expected.length });
        expect(page.items.map((p) => p.paymentId)).toEqual(expected.slice(0, 10).map((p) => p.paymentId));
      }
    });

    it('refuses a cursor of other filters or another sort, naming the cursor', async () => {
      const { store, handlers } = setup();
      const world = new World(store, lcg(8));
      for (let i = 0; i < 10; i++) world.create({ organizationId: 'org-a' });
      const first = await handlers.search({ filter: { organizationId: 'org-a' }, sort: 'amount', size: 2 });
      const cursor = first.nextCursor!;
      for (const req of [
        { filter: { organizationId: 'org-b' }, sort: 'amount' as const },
        { filter: { organizationId: 'org-a' }, sort: '-amount' as const },
        { filter: { organizationId: 'org-a', minAmount: 1 }, sort: 'amount' as const },
      ]) {
        const attempt = handlers.search({ ...req, size: 2, cursor });
        await expect(attempt).rejects.toBeInstanceOf(RequestValidationError);
        await expect(attempt).rejects.toMatchObject({ errors: [expect.objectContaining({ field: 'cursor' })] });
      }
    });

    it.each(['not-a-cursor', '', Buffer.from('{"v":2}').toString('base64url'), Buffer.from('[]').toString('base64url')])(
      'refuses a cursor it never issued (%j)',
      async (cursor) => {
        const { handlers } = setup();
        await expect(handlers.search({ filter: {}, sort: 'amount', size: 2, cursor })).rejects.toBeInstanceOf(RequestValidationError);
      },
    );

  });

  describe('cache', () => {
    async function seeded() {
      const ctx = setup();
      const world = new World(ctx.store, lcg(12));
      for (let i = 0; i < 40; i++) world.write();
      return { ...ctx, world };
    }

    it('serves a repeated search without writes from the cache', async () => {
      const { handlers, counter, world } = await seeded();
      const req: SearchRequest = { filter: { currencies: ['EUR'] }, sort: 'amount', size: 5 };
      const first = await handlers.search(req);
      const [hits, misses] = [await counter('cacheHits', 'search'), await counter('cacheMisses', 'search')];
      const second = await handlers.search(req);
      expect(await counter('cacheHits', 'search')).toBe(hits + 1);
      expect(await counter('cacheMisses', 'search')).toBe(misses);
      expect(second).toEqual(first);
      expectPage(second, world.all(), req);
    });

    it('serves a repeated stats query without writes from the cache', async () => {
      const { handlers, counter } = await seeded();
      const req = { filter: { organizationId: 'org-a' }, interval: undefined };
      const first = await handlers.stats(req);
      const hits = await counter('cacheHits', 'stats');
      expect(await handlers.stats(req)).toEqual(first);
      expect(await counter('cacheHits', 'stats')).toBe(hits + 1);
    });

    it('counts a first query as a miss', async () => {
      const { handlers, counter } = await seeded();
      await handlers.search({ filter: { userId: 'u1' }, sort: 'amount', size: 5 });
      expect(await counter('cacheMisses', 'search')).toBe(1);
      expect(await counter('cacheHits', 'search')).toBe(0);
    });

    it('exposes cache hits in the Prometheus text', async () => {
      const { handlers, metrics } = await seeded();
      const req: SearchRequest = { filter: {}, sort: 'amount', size: 5 };
      await handlers.search(req);
      await handlers.search(req);
      expect(await metrics.registry.getSingleMetricAsString('payments_query_cache_hits_total')).toContain(
        'payments_query_cache_hits_total{query="search"} 1',
      );
    });

    it.each([
      ['a search of the organization', { organizationId: 'org-a' }],
      ['a search of every organization', {}],
    ])('never serves a cached answer after a create that changes it (%s)', async (_name, filter: PaymentFilter) => {
      const { handlers, world } = await seeded();
      const req: SearchRequest = { filter, sort: '-createdAt', size: 100 };
      const before = await handlers.search(req);
      await handlers.search(req);
      const p = world.create({ organizationId: 'org-a' });
      const after = await handlers.search(req);
      expect(after.total).toBe(before.total + 1);
      expect(after.items.map((i) => i.paymentId)).toContain(p.paymentId);
      expectPage(after, world.all(), req);
    });

    it('never serves a cached search after an event that changes a status', async () => {
      const { handlers, world } = await seeded();
      const pending = world.create({ organizationId: 'org-a' });
      const req: SearchRequest = { filter: { organizationId: 'org-a', statuses: ['completed'] }, sort: 'amount', size: 100 };
      const before = await handlers.search(req);
      expect(before.items.map((i) => i.paymentId)).not.toContain(pending.paymentId);
      world.apply(pending.paymentId, { type: 'PaymentProcessed', occurredAt: NOW });
      const after = await handlers.search(req);
      expect(after.total).toBe(before.total + 1);
      expect(after.items.map((i) => i.paymentId)).toContain(pending.paymentId);
    });

    it('never serves a cached payment in its old state after a refund', async () => {
      const { handlers, world } = await seeded();
      const p = world.create({ organizationId: 'org-c', amount: 5_000 });
      world.apply(p.paymentId, { type: 'PaymentProcessed', occurredAt: NOW });
      const req: SearchRequest = { filter: {}, sort: 'amount', size: 100 };
      await handlers.search(req);
      const statsBefore = await handlers.stats({ filter: { organizationId: 'org-c' } });
      world.apply(p.paymentId, { type: 'PaymentRefunded', occurredAt: NOW, refundAmount: 1_234 });
      const after = await handlers.search(req);
      expect(after.items.find((i) => i.paymentId === p.paymentId)?.refundedAmount).toBe(1_234);
      expectPage(after, world.all(), req);
      const statsAfter = await handlers.stats({ filter: { organizationId: 'org-c' } });
      expect(statsAfter).toEqual(refStats(world.all(), { organizationId: 'org-c' }));
      expect(statsAfter.byStatus.refunded).toBe(statsBefore.byStatus.refunded + 1);
    });

    it('never serves cached stats after a create, with or without an organization', async () => {
      const { handlers, world } = await seeded();
      for (const filter of [{}, { organizationId: 'org-b' }, { organizationId: 'org-b', currencies: ['EUR', 'USD', 'JPY'] }]) {
        const before = await handlers.stats({ filter });
        world.create({ organizationId: 'org-b' });
        const after = await handlers.stats({ filter });
        expect(after.total).toBe(before.total + 1);
        expect(after).toEqual(refStats(world.all(), filter));
      }
    });

    it('keeps an organization\'s cached answer through writes in another organization', async () => {
      const { handlers, world, counter } = await seeded();
      const req: SearchRequest = { filter: { organizationId: 'org-a' }, sort: 'amount', size: 10 };
      await handlers.search(req);
      const hits = await counter('cacheHits', 'search');
      world.create({ organizationId: 'org-b' });
      const again = await handlers.search(req);
      expect(await counter('cacheHits', 'search')).toBe(hits + 1);
      expectPage(again, world.all(), req);
    });

    it('keeps the cached answer through writes that change nothing (a redelivered or refused event)', async () => {
      const { handlers, world, counter } = await seeded();
      const p = world.create({ organizationId: 'org-a' });
      world.apply(p.paymentId, { type: 'PaymentProcessed', occurredAt: NOW }, 'evt-1');
      const req: SearchRequest = { filter: { organizationId: 'org-a' }, sort: 'amount', size: 10 };
      await handlers.search(req);
      const hits = await counter('cacheHits', 'search');
      world.apply(p.paymentId, { type: 'PaymentProcessed', occurredAt: NOW }, 'evt-1');
      world.apply(p.paymentId, { type: 'PaymentFailed', occurredAt: NOW, error: 'late' });
      await handlers.search(req);
      expect(await counter('cacheHits', 'search')).toBe(hits + 1);
    });

    it.each([
      ['a TTL of 0', { cacheTtlSeconds: 0 }],
      ['no entries', { cacheMaxEntries: 0 }],
    ])('answers every query afresh when the cache is turned off (%s)', async (_name, overrides) => {
      const { store, handlers, counter } = setup(new AppConfig(overrides));
      const world = new World(store, lcg(13));
      for (let i = 0; i < 30; i++) world.write();
      const req: SearchRequest = { filter: {}, sort: 'amount', size: 50 };
      await handlers.search(req);
      await handlers.search(req);
      await handlers.stats({ filter: {} });
      world.create();
      expectPage(await handlers.search(req), world.all(), req);
      expect(await handlers.stats({ filter: {} })).toEqual(refStats(world.all(), {}));
      expect(await counter('cacheHits', 'search')).toBe(0);
      expect(await counter('cacheHits', 'stats')).toBe(0);
    });

    it('caches pages and sorts apart', async () => {
      const { handlers, world } = await seeded();
      for (const sort of SEARCH_SORTS) {
        for (const page of [0, 1, 2]) {
          const req: SearchRequest = { filter: {}, sort, size: 4, page };
          expectPage(await handlers.search(req), world.all(), req);
        }
      }
    });
  });

  describe('paced reads', () => {
    /**
     * Handlers whose reads pause after every few entries or rows (a slice of 0 ms on a clock
     * that never moves: always due), `onPause` running at each pause as other requests would.
     */
    function pacedSetup(onPause: () => void | Promise<void>, restarts = 2) {
      const config = new AppConfig();
      const store = new PaymentStore(config);
      const cache = createCache({ stores: [createKeyv({ ttl: 300_000, lruSize: 10_000, useClone: false, checkInterval: 0 })] });
      let pauses = 0;
      const pacer = new ReadPacer({
        sliceMs: 0,
        restarts,
        stepEntries: 5,
        stepRows: 3,
        now: () => 0,
        pauseTurn: async () => {
          pauses++;
          await onPause();
        },
      });
      const handlers = handlersOver(store, cache, new MetricsService(), config, pacer);
      return { store, handlers, pacer, pauses: () => pauses };
    }

    it('answers as of one state of the store, never a mix, while writes land between the slices of its reads', async () => {
      const rand = lcg(2024);
      const { store, handlers, pacer, pauses } = pacedSetup(() => {
        // other requests' writes, in any organization, between two slices of a read
        if (rand() < 0.3) world.write();
      });
      const world = new World(store, rand);
      for (let i = 0; i < 400; i++) world.write();
      for (let round = 0; round < 120; round++) {
        const filter = randomFilter(rand);
        if (round % 2 === 0) {
          const interval: Interval | undefined = filter.from && filter.to && rand() < 0.6 ? (rand() < 0.5 ? 'hour' : 'day') : undefined;
          const stats = await handlers.stats({ filter, interval });
          // no write lands after a read's last attempt began: the store now is the state it read
          expect({ round, stats }).toEqual({ round, stats: refStats(world.all(), filter, interval) });
        } else {
          const req: SearchRequest = { filter, sort: SEARCH_SORTS[Math.floor(rand() * SEARCH_SORTS.length)], size: [1, 5, 20][round % 3], page: rand() < 0.3 ? 1 : 0 };
          expectPage(await handlers.search(req), world.all(), req);
        }
      }
      // the reads did pause, and writes during pauses made some start over
      expect(pauses()).toBeGreaterThan(500);
      expect(pacer.restarted).toBeGreaterThan(20);
    });

    it('starts a read over at most `restarts` times, then answers it in one go', async () => {
      const { store, handlers, pacer } = pacedSetup(() => void world.create({ organizationId: 'org-a' }), 3);
      const world = new World(store, lcg(5));
      for (let i = 0; i < 200; i++) world.create({ organizationId: 'org-a' });
      const filter = { organizationId: 'org-a', minAmount: 250 };
      const stats = await handlers.stats({ filter });
      expect(pacer.restarted).toBe(3);
      expect(stats).toEqual(refStats(world.all(), filter));
      expect(stats.total).toBeGreaterThan(0);
    });

    it('lets writes in another organization land without starting over a read of one organization', async () => {
      const { store, handlers, pacer, pauses } = pacedSetup(() => void world.create({ organizationId: 'org-b' }));
      const world = new World(store, lcg(6));
      for (let i = 0; i < 200; i++) world.create({ organizationId: 'org-a' });
      const filter = { organizationId: 'org-a', minAmount: 250 };
      expect(await handlers.stats({ filter })).toEqual(refStats(world.all(), filter));
      expect(pauses()).toBeGreaterThan(10);
      expect(pacer.restarted).toBe(0);
    });

    it('answers a read that began before a write, and one that began after it, both with the write', async () => {
      const held: (() => void)[] = [];
      const { store, handlers } = pacedSetup(() => new Promise<void>((resolve) => held.push(resolve)));
      const world = new World(store, lcg(7));
      for (let i = 0; i < 200; i++) world.create({ organizationId: 'org-a', amount: 1_000 });
      const filter = { organizationId: 'org-a', minAmount: 999 };
      const before = handlers.stats({ filter });
      // past the cache lookup, into its first pause
      for (let guard = 0; held.length === 0 && guard < 100; guard++) await new Promise((resolve) => setImmediate(resolve));
      expect(held.length).toBe(1);
      const written = world.create({ organizationId: 'org-a', amount: 5_000 });
      const after = handlers.stats({ filter });
      const page = handlers.search({ filter, sort: '-amount', size: 1 });
      let settled = false;
      void Promise.all([before, after, page]).then(() => (settled = true));
      for (let guard = 0; !settled && guard < 10_000; guard++) {
        held.shift()?.();
        await new Promise((resolve) => setImmediate(resolve));
      }
      const expected = refStats(world.all(), filter);
      expect(expected.total).toBe(201);
      expect(await before).toEqual(expected);
      expect(await after).toEqual(expected);
      expect((await page).items.map((p) => p.paymentId)).toEqual([written.paymentId]);
    });

    it('walks a page in pieces, going on after each pause from the last row it read, through runs of equal keys', async () => {
      const { store, handlers, pauses } = pacedSetup(() => undefined);
      const world = new World(store, lcg(8));
      // large enough that a walk beats a scan (see 'reads a cursor page by walking the sort index')
      for (let i = 0; i < 20_000; i++) world.create({ organizationId: i % 3 === 0 ? 'org-b' : 'org-a' });
      for (const [sort, filter] of [
        ['amount', {}], // six distinct amounts: every pause falls inside a run of equal keys
        ['-amount', { currencies: ['EUR', 'USD'] }],
        ['-createdAt', { organizationId: 'org-a', statuses: ['pending' as const] }],
      ] as const) {
        const expected = refSorted(world.all(), filter, sort).slice(0, 6 * 25);
        const before = pauses();
        const seen: Payment[] = [];
        let cursor: string | undefined;
        for (let page = 0; page < 6; page++) {
          const result = await handlers.search({ filter, sort, size: 25, cursor });
          seen.push(...result.items);
          cursor = result.nextCursor!;
        }
        expect(seen).toEqual(expected);
        expect(pauses() - before).toBeGreaterThan(6 * 5);
      }
    });

    it('sums exactly past Number.MAX_SAFE_INTEGER in a scan with a series, bucket by bucket', async () => {
      const { store, handlers } = pacedSetup(() => undefined);
      const day = '2026-03-02T10:00:00.000Z';
      // 91,000 * 99,999,999,999 > 2^53 - 1, all in one day's bucket, but half of them completed:
      // each status' sum stays below 2^53, only the bucket's passes it
      const n = 91_000;
      for (let i = 0; i < n; i++) {
        store.insertIfAbsent(createPayment({ organizationId: 'o', userId: 'u', amount: 99_999_999_999, currency: 'USD', createdAt: day }, `b${i}`, NOW));
        if (i % 2 === 0) store.update('o', `b${i}`, undefined, (p) => transition(p, { type: 'PaymentProcessed', occurredAt: NOW }, NOW));
      }
      store.insertIfAbsent(createPayment({ organizationId: 'o', userId: 'u', amount: 7, currency: 'EUR', createdAt: '2026-03-01T10:00:00.000Z' }, 'small', NOW));
      const filter = { organizationId: 'o', minAmount: 2, from: '2026-03-01T00:00:00.000Z', to: '2026-03-03T00:00:00.000Z' };
      const stats = await handlers.stats({ filter, interval: 'day' });
      const big = (BigInt(n) * 99_999_999_999n).toString();
      expect(stats.amountByCurrency).toEqual({ USD: big, EUR: 7 });
      expect(stats.series).toEqual([
        { start: '2026-03-01T00:00:00.000Z', total: 1, amountByCurrency: { EUR: 7 } },
        { start: '2026-03-02T00:00:00.000Z', total: n, amountByCurrency: { USD: big } },
      ]);
    });
  });
});

/** The organization of the only payment `paymentId` in `store` ('' when there is none). */
function ownerOf(store: PaymentStore, paymentId: string): string {
  return store.resolve(paymentId, undefined)?.organizationId ?? '';
}
