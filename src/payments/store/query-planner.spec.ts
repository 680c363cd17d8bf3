import { AppConfig } from '../../config';
import { createPayment, Payment, PAYMENT_STATUSES, PaymentEvent, transition } from '../payment';
import { PaymentStore } from './payment.store';
import { PaymentFilter } from '../payment-filter';
import { Driver, Plan, planSearch, ROW_COST, SCAN_ENTRY_COST } from './query-planner';

/** A small seeded generator, so a failure can be replayed. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const ORGS = ['org-a', 'org-b', 'org-c', 'org-rare'];
const USERS = ['u1', 'u2', 'u3', 'u4', 'u5', 'u6'];
const CURRENCIES = ['EUR', 'USD', 'JPY', 'GBP'];
const BASE = Date.UTC(2026, 2, 1);
const HOUR = 3_600_000;

/** The reference meaning of a filter, written out independently of matchesFilter. */
function matches(p: Payment, f: PaymentFilter): boolean {
  const t = Date.parse(p.createdAt);
  if (f.organizationId !== undefined && p.organizationId !== f.organizationId) return false;
  if (f.userId !== undefined && p.userId !== f.userId) return false;
  if (f.statuses !== undefined && !f.statuses.includes(p.status)) return false;
  if (f.currencies !== undefined && !f.currencies.includes(p.currency)) return false;
  if (f.minAmount !== undefined && p.amount < f.minAmount) return false;
  if (f.maxAmount !== undefined && p.amount > f.maxAmount) return false;
  if (f.from !== undefined && t < Date.parse(f.from)) return false;
  if (f.to !== undefined && t >= Date.parse(f.to)) return false;
  return true;
}

/** How many payments each usable driver would yield, counted by brute force. */
function candidateCounts(f: PaymentFilter, all: Payment[]): Partial<Record<Driver, number>> {
  const count = (pred: (p: Payment) => boolean) => all.filter(pred).length;
  // a value no payment holds: nothing to scan at all
  const unknown = (xs: readonly string[] | undefined, of: (p: Payment) => string) => xs !== undefined && !all.some((p) => xs.includes(of(p)));
  if (
    unknown(f.organizationId === undefined ? undefined : [f.organizationId], (p) => p.organizationId) ||
    unknown(f.userId === undefined ? undefined : [f.userId], (p) => p.userId) ||
    unknown(f.currencies, (p) => p.currency)
  ) {
    return { none: 0 };
  }
  const counts: Partial<Record<Driver, number>> = {
    cells: count((p) => matches(p, { organizationId: f.organizationId, statuses: f.statuses, currencies: f.currencies })),
  };
  if (f.userId !== undefined) counts.userId = count((p) => p.userId === f.userId);
  if (f.minAmount !== undefined || f.maxAmount !== undefined) {
    counts.amount = count((p) => p.amount >= (f.minAmount ?? -Infinity) && p.amount <= (f.maxAmount ?? Infinity));
  }
  if (f.from !== undefined || f.to !== undefined) {
    counts.createdAt = count((p) => matches(p, { from: f.from, to: f.to }));
    if (f.organizationId !== undefined) {
      counts.orgCreatedAt = count((p) => matches(p, { organizationId: f.organizationId, from: f.from, to: f.to }));
    }
  }
  return counts;
}

/** The candidate rows of a plan, in the order it yields them. */
function rowsOf(plan: Plan): number[] {
  const rows: number[] = [];
  plan.forEach((row) => rows.push(row));
  return rows;
}

function buildStore(seed: number, n: number): { store: PaymentStore; all: () => Payment[] } {
  const rand = lcg(seed);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)];
  const store = new PaymentStore(new AppConfig());
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    // org-rare holds about 2% of the payments, so it wins plans it appears in.
    const organizationId = rand() < 0.02 ? 'org-rare' : pick(ORGS.slice(0, 3));
    const id = `pay_${Math.floor(rand() * 1e8).toString(36)}_${i}`;
    const createdAt = new Date(BASE + Math.floor(rand() * 72) * HOUR + Math.floor(rand() * 60) * 60_000).toISOString();
    // u-rare holds about 0.5%: few enough that its posting list beats a scan of every cell
    const userId = rand() < 0.005 ? 'u-rare' : pick(USERS);
    const p = createPayment(
      { organizationId, userId, amount: 1 + Math.floor(rand() * 500) * 10, currency: pick(CURRENCIES), createdAt },
      id,
      createdAt,
    );
    store.insertIfAbsent(p);
    ids.push(id);
  }
  const events: PaymentEvent[] = [
    { type: 'PaymentProcessed', occurredAt: new Date(BASE).toISOString() },
    { type: 'PaymentFailed', occurredAt: new Date(BASE).toISOString(), error: 'declined' },
  ];
  for (const id of ids) {
    const r = rand();
    if (r < 0.5) store.update(ownerOf(store, id), id, undefined, (p) => transition(p, events[0], p.createdAt));
    else if (r < 0.7) store.update(ownerOf(store, id), id, undefined, (p) => transition(p, events[1], p.createdAt));
    if (r < 0.2) store.update(ownerOf(store, id), id, undefined, (p) => transition(p, { type: 'PaymentRefunded', occurredAt: p.createdAt }, p.createdAt));
  }
  return { store, all: () => ids.map((id) => store.resolve(id, undefined)!) };
}

function randomFilter(rand: () => number): PaymentFilter {
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)];
  const f: PaymentFilter = {};
  if (rand() < 0.35) f.organizationId = pick([...ORGS, 'org-none']);
  if (rand() < 0.3) f.userId = pick([...USERS, 'u-rare', 'u-rare']);
  if (rand() < 0.3) f.statuses = PAYMENT_STATUSES.filter(() => rand() < 0.4);
  if (rand() < 0.3) f.currencies = CURRENCIES.filter(() => rand() < 0.5);
  if (rand() < 0.3) f.minAmount = Math.floor(rand() * 5000);
  if (rand() < 0.3) f.maxAmount = Math.floor(rand() * 5000);
  if (rand() < 0.3) f.from = new Date(BASE + Math.floor(rand() * 80) * HOUR - 4 * HOUR).toISOString();
  if (rand() < 0.3) f.to = new Date(BASE + Math.floor(rand() * 80) * HOUR).toISOString();
  // a short window, whose few rows an index reads for less than a scan of the cells
  if (f.from !== undefined && rand() < 0.3) f.to = new Date(Date.parse(f.from) + Math.floor(rand() * 120) * 60_000).toISOString();
  return f;
}

describe('planSearch', () => {
  const { store, all } = buildStore(11, 2000);

  it('scans every row when there is no filter', () => {
    const plan = planSearch({}, store.indexes);
    expect(plan.driver).toBe('cells');
    expect(plan.estimate).toBe(2000);
    expect(rowsOf(plan).sort((a, b) => a - b)).toEqual(Array.from({ length: 2000 }, (_, i) => i));
  });

  it('drives a rare organization from its cells, only those of the currencies asked for', () => {
    const plan = planSearch({ organizationId: 'org-rare', currencies: ['EUR'] }, store.indexes);
    expect(plan.driver).toBe('cells');
    const want = all().filter((p) => p.organizationId === 'org-rare' && p.currency === 'EUR');
    expect(want.length).toBeGreaterThan(0);
    expect(plan.estimate).toBe(want.length);
    expect(new Set(rowsOf(plan).map((r) => store.row(r).paymentId))).toEqual(new Set(want.map((p) => p.paymentId)));
  });

  it('drives a narrow amount range from the amount index, with maxAmount inclusive', () => {
    const amount = all()[0].amount;
    const plan = planSearch({ minAmount: amount, maxAmount: amount, organizationId: 'org-a' }, store.indexes);
    expect(plan.driver).toBe('amount');
    expect(plan.estimate).toBe(all().filter((p) => p.amount === amount).length);
    expect(plan.estimate).toBeGreaterThan(0);
    for (const row of rowsOf(plan)) expect(store.row(row).amount).toBe(amount);
  });

  it('drives a ten-minute window from the createdAt index, half-open [from, to)', () => {
    const from = new Date(BASE + 10 * HOUR).toISOString();
    const to = new Date(BASE + 10 * HOUR + 10 * 60_000).toISOString();
    const plan = planSearch({ from, to, currencies: ['EUR', 'USD'] }, store.indexes);
    expect(plan.driver).toBe('createdAt');
    const inWindow = all().filter((p) => p.createdAt >= from && p.createdAt < to);
    expect(inWindow.length).toBeGreaterThan(0);
    expect(plan.estimate).toBe(inWindow.length);
    expect(new Set(rowsOf(plan).map((r) => store.row(r).paymentId))).toEqual(new Set(inWindow.map((p) => p.paymentId)));
  });

  it('excludes payments created exactly at `to` and includes those exactly at `from`', () => {
    const at = all()[5].createdAt;
    const sameInstant = all().filter((p) => p.createdAt === at).length;
    expect(planSearch({ from: at, to: at }, store.indexes).estimate).toBe(0);
    const plan = planSearch({ from: at, to: new Date(Date.parse(at) + 1).toISOString() }, store.indexes);
    expect(plan.driver).toBe('createdAt');
    expect(plan.estimate).toBe(sameInstant);
  });

  it('counts a list of statuses once per distinct status', () => {
    const once = planSearch({ statuses: ['failed'] }, store.indexes);
    const twice = planSearch({ statuses: ['failed', 'failed'] }, store.indexes);
    expect(once.driver).toBe('cells');
    expect(twice.estimate).toBe(once.estimate);
    expect(rowsOf(twice)).toHaveLength(once.estimate);
  });

  it('yields no candidates for a value no payment has', () => {
    const plan = planSearch({ organizationId: 'org-none' }, store.indexes);
    expect(plan.driver).toBe('none');
    expect(plan.estimate).toBe(0);
    expect(rowsOf(plan)).toEqual([]);
  });

  it('yields no candidates for an empty amount range', () => {
    const plan = planSearch({ minAmount: 3000, maxAmount: 2999 }, store.indexes);
    expect(plan.estimate).toBe(0);
    expect(rowsOf(plan)).toEqual([]);
  });

  it('follows status changes made after the payments were stored', () => {
    const { store: s, all: rows } = buildStore(5, 50);
    const before = planSearch({ statuses: ['completed'] }, s.indexes).estimate;
    const target = rows().find((p) => p.status === 'pending')!;
    s.update(target.organizationId, target.paymentId, undefined, (p) => transition(p, { type: 'PaymentProcessed', occurredAt: p.createdAt }, p.createdAt));
    const after = planSearch({ statuses: ['completed'] }, s.indexes);
    expect(after.estimate).toBe(before + 1);
    expect(planSearch({ statuses: ['pending'] }, s.indexes).estimate).toBe(rows().filter((p) => p.status === 'pending').length);
  });

  it('scans the cells rather than read nearly all of them at random through another index', () => {
    // a bound that keeps 99% of the payments: the amount index yields fewer candidates than the
    // cells, each at a hundred times the cost of a scanned entry
    const amounts = all().map((p) => p.amount).sort((a, b) => a - b);
    const minAmount = amounts[Math.floor(amounts.length / 100)];
    const plan = planSearch({ minAmount }, store.indexes);
    expect(all().filter((p) => p.amount >= minAmount).length).toBeLessThan(2000);
    expect(plan.driver).toBe('cells');
    expect(plan.cost).toBe(SCAN_ENTRY_COST * 2000);
    // and the same for a time window that holds most payments of an organization
    const own = planSearch({ organizationId: 'org-a', from: new Date(BASE + HOUR).toISOString() }, store.indexes);
    expect(own.driver).toBe('cells');
  });

  it('on random filters picks the cheapest plan of the cost model, estimates exactly and never misses a match', () => {
    const rand = lcg(99);
    const payments = all();
    const drivers = new Set<Driver>();
    for (let round = 0; round < 400; round++) {
      const f = randomFilter(rand);
      const plan = planSearch(f, store.indexes);
      const counts = candidateCounts(f, payments);
      drivers.add(plan.driver);

      expect(Object.keys(counts)).toContain(plan.driver);
      expect(plan.estimate).toBe(counts[plan.driver]);
      // a cell entry is read in order, another index's candidate at random
      const costs = Object.entries(counts).map(([driver, n]) => (driver === 'cells' ? SCAN_ENTRY_COST : driver === 'none' ? 0 : ROW_COST) * n);
      expect(plan.cost).toBe(Math.min(...costs));
      expect(plan.cost).toBe((plan.driver === 'cells' ? SCAN_ENTRY_COST : plan.driver === 'none' ? 0 : ROW_COST) * plan.estimate);

      const rows = rowsOf(plan);
      expect(rows).toHaveLength(plan.estimate);
      expect(new Set(rows).size).toBe(rows.length);
      const candidates = new Set(rows);
      const missed = payments.map((p, row) => [p, row] as const).filter(([p, row]) => matches(p, f) && !candidates.has(row));
      expect(missed).toEqual([]);
    }
    // The random filters exercised every kind of driver.
    expect([...drivers].sort()).toEqual(['amount', 'cells', 'createdAt', 'none', 'orgCreatedAt', 'userId']);
  });

  it('reads the store indexes, not a copy: a payment stored after planning a filter shows in the next plan', () => {
    const s = new PaymentStore(new AppConfig());
    expect(planSearch({ userId: 'late' }, s.indexes).estimate).toBe(0);
    s.insertIfAbsent(createPayment({ organizationId: 'o', userId: 'late', amount: 5, currency: 'EUR' }, 'p1', new Date(BASE).toISOString()));
    const plan = planSearch({ userId: 'late' }, s.indexes);
    expect(plan.estimate).toBe(1);
    expect(rowsOf(plan).map((r) => s.row(r).paymentId)).toEqual(['p1']);
  });
});

/** The organization of the only payment `paymentId` in `store` ('' when there is none). */
function ownerOf(store: PaymentStore, paymentId: string): string {
  return store.resolve(paymentId, undefined)?.organizationId ?? '';
}
