import { PaymentStatus } from '../payment';
import { HashIndexView } from './hash.index';
import { PaymentFilter } from './payment-filter';
import { SortedIndexView } from './sorted.index';

/** What the planner may read: the store's indexes, read-only. */
export interface PaymentIndexes {
  readonly organizationId: HashIndexView<string>;
  readonly userId: HashIndexView<string>;
  readonly status: HashIndexView<PaymentStatus>;
  readonly currency: HashIndexView<string>;
  readonly amount: SortedIndexView;
  readonly createdAt: SortedIndexView;
  readonly rowCount: number;
  allRows(): Iterable<number>;
}

export type Driver = 'organizationId' | 'userId' | 'status' | 'currency' | 'amount' | 'createdAt' | 'all';

export interface Plan {
  /** The index whose candidates are scanned; every other filter is checked per candidate. */
  readonly driver: Driver;
  /** Exact number of candidates the driver yields (a superset of the matches). */
  readonly estimate: number;
  rows(): Iterable<number>;
  /** The same candidates through a callback (the fast path for scans). */
  forEach(visit: (row: number) => void): void;
}

/**
 * Picks the most selective index that can answer a filter: the one yielding the fewest
 * candidates. Every estimate is exact and cheap (a set size or a sorted-index range count),
 * so the scan touches at most min(candidates) payments. With no filter at all the driver is
 * every row.
 */
export function planSearch(f: PaymentFilter, ix: PaymentIndexes): Plan {
  const plans: Plan[] = [
    {
      driver: 'all',
      estimate: ix.rowCount,
      rows: () => ix.allRows(),
      forEach(visit) {
        for (let row = 0, n = ix.rowCount; row < n; row++) visit(row);
      },
    },
  ];
  if (f.organizationId !== undefined) plans.push(equality('organizationId', ix.organizationId, [f.organizationId]));
  if (f.userId !== undefined) plans.push(equality('userId', ix.userId, [f.userId]));
  if (f.statuses !== undefined) plans.push(equality('status', ix.status, f.statuses));
  if (f.currencies !== undefined) plans.push(equality('currency', ix.currency, f.currencies));
  if (f.minAmount !== undefined || f.maxAmount !== undefined) {
    const lo = f.minAmount ?? -Infinity;
    const hi = f.maxAmount === undefined ? Infinity : f.maxAmount + 1; // amounts are integers
    plans.push(range('amount', ix.amount, lo, hi));
  }
  if (f.from !== undefined || f.to !== undefined) {
    const lo = f.from === undefined ? -Infinity : Date.parse(f.from);
    const hi = f.to === undefined ? Infinity : Date.parse(f.to);
    plans.push(range('createdAt', ix.createdAt, lo, hi));
  }
  return plans.reduce((best, p) => (p.estimate < best.estimate ? p : best));
}

function equality<K>(driver: Driver, index: HashIndexView<K>, keys: readonly K[]): Plan {
  const distinct = [...new Set(keys)];
  return {
    driver,
    estimate: distinct.reduce((n, k) => n + index.count(k), 0),
    *rows() {
      for (const k of distinct) {
        const set = index.get(k);
        if (set) yield* set;
      }
    },
    forEach(visit) {
      for (const k of distinct) index.forEachRow(k, visit);
    },
  };
}

function range(driver: Driver, index: SortedIndexView, lo: number, hi: number): Plan {
  return {
    driver,
    estimate: index.countRange(lo, hi),
    rows: () => index.range(lo, hi),
    forEach: (visit) => index.forEachInRange(lo, hi, visit),
  };
}
