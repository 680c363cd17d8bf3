import { ColumnDictionariesView } from './columns';
import { HashIndexView } from './hash.index';
import { CellView, PaymentCellsView } from './payment-cells';
import { PaymentFilter } from '../payment-filter';
import { FilterParams, filterParams } from './row-filter';
import { SortedIndexView } from './sorted.index';

/**
 * What the planner and the readers may read: the store's indexes, through views without their
 * mutators (the store is their one writer). Types only: each member is the store's own
 * structure, not a copy or a wrapper, so a read costs what it did.
 */
export interface PaymentIndexesView {
  /** organizationId x status x currency (see PaymentCells). */
  readonly cells: PaymentCellsView;
  /** userId code -> rows. */
  readonly userId: HashIndexView<number>;
  readonly amount: SortedIndexView;
  readonly createdAt: SortedIndexView;
  /** createdAt of one organization's payments (by organization code). */
  createdAtIndexOf(org: number): SortedIndexView | undefined;
  readonly dictionaries: ColumnDictionariesView;
}

/**
 * `cells`: the cells of the filter's organization (or all), statuses and currencies, scanned
 * sequentially; `userId`, `amount`, `createdAt`, `orgCreatedAt` (the organization's own
 * createdAt index): that index's rows, each checked against the whole filter; `none`: the filter names a value no payment ever held.
 */
export type Driver = 'cells' | 'userId' | 'amount' | 'createdAt' | 'orgCreatedAt' | 'none';

export interface Plan {
  readonly driver: Driver;
  /** Exact number of candidates the driver yields (a superset of the matches). */
  readonly estimate: number;
  /** What reading those candidates costs in the model below (nanoseconds at 1M payments). */
  readonly cost: number;
  /** The filter resolved to codes; null for the `none` plan. */
  readonly params: FilterParams | null;
  /** For the `cells` driver: the cells to scan (every candidate is in one of them). */
  readonly cells: readonly CellView[];
  /**
   * The candidate rows, unordered; a sorted-index driver (`amount`, `createdAt`,
   * `orgCreatedAt`) yields them in the order of its key, descending when asked.
   */
  forEach(visit: (row: number) => void, descending?: boolean): void;
}

/**
 * The cost model, in nanoseconds at 1M payments on the bench machine (ratios matter, not
 * values): an entry of a cell counted (PaymentCells.count) or scanned (scan, scanPage, fold:
 * the cells' arrays are read in order), and a row reached through another index (a range or
 * posting-list driver's candidate checked against the filter, or a row walked: its cell, slot
 * and fields are cache misses). Measured in process over the bench's data set at 1M: an entry
 * counted 1.4 ns, folded into stats 3 ns; a row checked through the amount index 100-450 ns.
 */
export const COUNT_ENTRY_COST = 1;
export const SCAN_ENTRY_COST = 1.5;
export const ROW_COST = 100;

/**
 * Picks the cheapest way to read the candidates: the selected cells, scanned in order, or the
 * rows of another index, each reached at random. Every estimate is exact and cheap (the sizes
 * of the selected cells, a posting list's length, a sorted-index range count). Counting rows
 * alone would pick an index for a range that keeps 99% of the payments, and read them at a
 * hundred times the cost of the cells' scan (0.4 s instead of 4 ms over 1M payments). With no
 * filter, the cells are every payment.
 */
export function planSearch(f: PaymentFilter, ix: PaymentIndexesView): Plan {
  const params = filterParams(f, ix.dictionaries);
  if (params === null) {
    return { driver: 'none', estimate: 0, cost: 0, params: null, cells: [], forEach: () => undefined };
  }
  const cells = ix.cells.select(params);
  const inCells = cells.reduce((n, c) => n + c.length, 0);
  const plans: Plan[] = [
    {
      driver: 'cells',
      estimate: inCells,
      cost: SCAN_ENTRY_COST * inCells,
      params,
      cells,
      forEach(visit) {
        for (const { rows, length } of cells) for (let i = 0; i < length; i++) visit(rows[i]);
      },
    },
  ];
  if (params.user >= 0) {
    const user = params.user;
    const estimate = ix.userId.count(user);
    plans.push({
      driver: 'userId',
      estimate,
      cost: ROW_COST * estimate,
      params,
      cells: [],
      forEach: (visit) => ix.userId.forEachRow(user, visit),
    });
  }
  if (params.minAmount !== -Infinity || params.maxAmount !== Infinity) {
    // amounts are integers: key <= max is key < max + 1
    plans.push(range('amount', ix.amount, params, params.minAmount, params.maxAmount + 1));
  }
  if (params.from !== -Infinity || params.to !== Infinity) {
    plans.push(range('createdAt', ix.createdAt, params, params.from, params.to));
    const own = params.org >= 0 ? ix.createdAtIndexOf(params.org) : undefined;
    if (own !== undefined) plans.push(range('orgCreatedAt', own, params, params.from, params.to));
  }
  return plans.reduce((best, p) => (p.cost < best.cost ? p : best));
}

function range(driver: Driver, index: SortedIndexView, params: FilterParams, lo: number, hi: number): Plan {
  const estimate = index.countRange(lo, hi);
  return {
    driver,
    estimate,
    cost: ROW_COST * estimate,
    params,
    cells: [],
    forEach: (visit, descending) => index.forEachInRange(lo, hi, visit, descending),
  };
}
