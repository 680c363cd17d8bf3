import { Injectable } from '@nestjs/common';
import { timeMs } from '../../iso-time';
import { Payment, PAYMENT_STATUSES } from '../payment';
import { SearchSort } from '../payment-query';
import { cellRuns, PaymentCells } from '../store/payment-cells';
import { PaymentFilter } from '../payment-filter';
import { compareIds, PaymentStore, tieOf } from '../store/payment.store';
import { Plan, planSearch } from '../store/query-planner';
import { walkSearchOrder } from '../store/sorted.index';
import { TopK } from '../store/top-k';
import { candidates, paced, pacedRows } from './paced';
import { Pace } from './read-pacer';
import { aggregateCountCost, cellsCountCost, walkBeatsScan, walkCost } from './search-cost';
import { CursorPosition, decodeCursor, encodeCursor, queryFingerprint } from './search-cursor';
import { SearchRequest, SearchResult } from './search-payments.query';
import { StatsCalculator } from './stats-calculator';

/**
 * The search computation over the store's indexes; reads only. A page comes from a scan of the
 * planner's candidates into a bounded heap, or, on a first or cursor page where the cost model
 * says it is cheaper, from a keyset walk of the sort's index (counted as the stats count).
 */
@Injectable()
export class SearchCalculator {
  constructor(
    private readonly store: PaymentStore,
    private readonly stats: StatsCalculator,
  ) {}

  /**
   * Scans the candidates of the most selective index (the filter's cells sequentially, or
   * another index's rows through a column-only predicate), counts every match (`total`) and
   * keeps the best `start + size` rows in a bounded heap instead of sorting all matches:
   * O(candidates + matches * log(start + size)).
   */
  async calculate(req: SearchRequest, filterText: string, pace: Pace): Promise<SearchResult> {
    const fingerprint = queryFingerprint(filterText, req.sort);
    const position = req.cursor === undefined ? undefined : decodeCursor(req.cursor, fingerprint, req.sort);
    const page = position?.page ?? req.page ?? 0;
    const start = position ? 0 : page * req.size;
    const plan = planSearch(req.filter, this.store.indexes);
    if (plan.params === null) return { items: [], total: 0, page, size: req.size, nextCursor: null };
    const cells = this.store.cells;

    const byAmount = req.sort.endsWith('amount');
    const descending = req.sort.startsWith('-');
    if (start === 0) {
      const walked = await this.#walkInOrder(req.filter, plan, byAmount, descending, position, req.size, pace);
      if (walked !== undefined) {
        const items = walked.rows.slice(0, req.size).map((row) => this.store.row(row));
        return this.#page(req, fingerprint, page, items, walked.total, walked.rows.length > req.size);
      }
    }
    const idOf = (row: number) => this.store.tieOfRow(row);
    const tie = (a: number, b: number) => this.store.compareRowTies(a, b);
    const after = position && { key: cursorKey(position), id: position.tie };
    // after a cursor, one row more than the page tells whether another page follows
    const top = new TopK(position ? req.size + 1 : start + req.size, descending, tie);
    let total = 0;
    if (plan.driver === 'cells') {
      // one pass over the selected cells' own arrays counts the matches and fills the page
      const params = plan.params;
      const runs = cellRuns(plan.cells, pace.stepEntries, PaymentCells.readsBackward(byAmount, descending));
      await paced(runs, pace, (run) => (total += cells.scanPage(run, params, byAmount, top, after, idOf)));
    } else {
      const match = cells.predicate(plan.params);
      const isAfter = after && afterPosition(descending, after.key, after.id, idOf);
      // A driver ordered by the sort key, read in the sort's direction, yields the best rows
      // first: the page fills with them and later rows fail its bound without a heap update.
      const bySortKey = byAmount ? plan.driver === 'amount' : plan.driver === 'createdAt' || plan.driver === 'orgCreatedAt';
      await pacedRows(candidates(plan, bySortKey && descending), pace, (row) => {
        if (!match(row)) return;
        total++;
        const key = byAmount ? cells.amount(row) : cells.createdAt(row);
        if (isAfter === undefined || isAfter(row, key)) top.offer(key, row);
      });
    }
    const rows = top.sorted();
    const items = (position ? rows.slice(0, req.size) : rows.slice(start)).map((row) => this.store.row(row));
    return this.#page(req, fingerprint, page, items, total, position ? rows.length > req.size : total > start + req.size);
  }

  /** The answer for one page: a cursor after its last item when more follow. */
  #page(req: SearchRequest, fingerprint: string, page: number, items: Payment[], total: number, more: boolean): SearchResult {
    const last = items[items.length - 1];
    const nextCursor =
      more && last !== undefined
        ? encodeCursor(fingerprint, { key: sortKey(last, req.sort), tie: tieOf(last), page: page + 1 })
        : null;
    return { items, total, page, size: req.size, nextCursor };
  }

  /**
   * Keyset pagination by walking the sort's index (the organization's createdAt index, or the
   * global amount or createdAt index) from the cursor, or from the filter's bound on the sort
   * key, keeping rows that pass the filter until `size + 1` are found or the walk leaves that
   * bound: O(log n + size / selectivity) rows, whatever the depth. The number of matches is the
   * selected cells' size when the filter names only organization, statuses and currencies; a
   * createdAt range count when it narrows by time alone; else a count over the cells' arrays,
   * or through the daily aggregates (as stats count) where that is cheaper. The walk is taken
   * only when the cost model says it beats the scan (walkBeatsScan, search-cost.ts); undefined
   * otherwise, or with a user filter.
   */
  async #walkInOrder(
    filter: PaymentFilter,
    plan: Plan,
    byAmount: boolean,
    descending: boolean,
    position: CursorPosition | undefined,
    size: number,
    pace: Pace,
  ): Promise<{ rows: number[]; total: number } | undefined> {
    const params = plan.params;
    if (params === null || params.user >= 0) return undefined;
    const ix = this.store.indexes;
    const index = byAmount ? (params.org < 0 ? ix.amount : undefined) : params.org < 0 ? ix.createdAt : ix.createdAtIndexOf(params.org);
    if (index === undefined) return undefined;
    const cells = this.store.cells;
    const counted = plan.driver === 'cells' ? plan.cells : cells.select(params);
    const inCells = plan.driver === 'cells' ? plan.estimate : counted.reduce((n, c) => n + c.length, 0);
    const scanCost = plan.cost;
    const narrowed =
      params.minAmount !== -Infinity || params.maxAmount !== Infinity || params.from !== -Infinity || params.to !== Infinity;
    // narrowed by createdAt alone (every status and currency, no amount bound): every payment of
    // the organization (or of all) in the window matches, and the createdAt index counts them in
    // two seeks instead of a pass over the cells
    const timeIndex =
      narrowed && params.minAmount === -Infinity && params.maxAmount === Infinity && params.statusMask === ALL_STATUSES && params.currencies === undefined
        ? params.org < 0
          ? ix.createdAt
          : ix.createdAtIndexOf(params.org)
        : undefined;
    // the sort key's bounds [lo, hi): amounts are integers, so amount <= max is amount < max + 1
    const lo = byAmount ? params.minAmount : params.from;
    const hi = byAmount ? params.maxAmount + 1 : params.to;
    const span = lo === -Infinity && hi === Infinity ? index.size : index.countRange(lo, hi);
    // narrowed by createdAt and by statuses or currencies, no amount bound: counted as stats
    // count (whole UTC days from the daily aggregates, the ragged ends through the createdAt
    // index) when the cost model says that beats a count over the selected cells. `span` is
    // then the organization's payments in the window (a createdAt sort walks its own index).
    const cellsCount = cellsCountCost(inCells);
    const aggregateCost = narrowed && timeIndex === undefined && !byAmount ? aggregateCountCost(params, span, this.store.aggregates.exact) : Infinity;
    const countCost = !narrowed || timeIndex !== undefined ? 0 : Math.min(cellsCount, aggregateCost);
    // rows walked to find size + 1 matches: at least this many before counting (there are at
    // most inCells matches), then the estimate from the count
    if (!walkBeatsScan(walkCost(countCost, size, span, Math.max(1, inCells)), scanCost)) return undefined;
    let total = 0;
    if (!narrowed) total = plan.estimate;
    else if (timeIndex !== undefined) total = timeIndex.countRange(params.from, params.to);
    else if (aggregateCost < cellsCount) total = this.stats.aggregateStats(params, undefined).total;
    else await paced(cellRuns(counted, pace.stepEntries), pace, (run) => (total += cells.count(run, params)));
    const rows: number[] = [];
    if (total === 0) return { rows, total };
    if (!walkBeatsScan(walkCost(countCost, size, span, total), scanCost)) return undefined;
    const bound = descending ? hi : lo;
    // (bound, '') is just before the run of the bound's key: '' sorts before every paymentId
    let from = position
      ? { key: cursorKey(position), id: position.tie }
      : Number.isFinite(bound) ? { key: bound, id: '' } : undefined;
    const match = cells.predicate(params);
    const keyOf = byAmount ? (row: number) => cells.amount(row) : (row: number) => cells.createdAt(row);
    // the walk stops to pause every pace.stepRows rows once the slice is used, and goes on from
    // the last row it read (a position, as a cursor's: the pause starts over on any change)
    let walked = 0;
    for (;;) {
      let last = -1;
      let pausing = false as boolean;
      walkSearchOrder(index, keyOf, descending, from, (row) => {
        const key = keyOf(row);
        if (descending ? key < lo : key >= hi) return false;
        if (match(row)) rows.push(row);
        last = row;
        if (rows.length > size) return false;
        pausing = ++walked % pace.stepRows === 0 && pace.due();
        return !pausing;
      });
      if (!pausing) break;
      await pace.pause();
      from = { key: keyOf(last), id: this.store.tieOfRow(last) };
    }
    return { rows, total };
  }
}

/** FilterParams.statusMask with every status. */
const ALL_STATUSES = (1 << PAYMENT_STATUSES.length) - 1;

function sortKey(p: Payment, sort: SearchSort): string | number {
  return sort === 'amount' || sort === '-amount' ? p.amount : p.createdAt;
}

/** A cursor position's sort key as a number (createdAt keys travel as ISO strings). */
function cursorKey(position: CursorPosition): number {
  return typeof position.key === 'number' ? position.key : timeMs(position.key);
}

/** True for a row (with its sort key) that sorts strictly after the cursor position. */
function afterPosition(descending: boolean, atKey: number, atId: string, idOf: (row: number) => string): (row: number, key: number) => boolean {
  const sign = descending ? -1 : 1;
  return (row, key) => {
    const d = sign * (key - atKey);
    return d > 0 || (d === 0 && compareIds(idOf(row), atId) > 0);
  };
}
