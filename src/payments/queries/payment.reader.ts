import { CACHE_MANAGER } from '@nestjs/cache-manager';
import { Inject, Injectable, Optional } from '@nestjs/common';
import type { Cache } from 'cache-manager';
import { AppConfig } from '../../config';
import { MetricsService } from '../../metrics/metrics.service';
import { Payment, PAYMENT_STATUSES } from '../payment';
import { SearchSort } from '../payment.dto';
import { compareIds, PaymentStore, tieOf } from '../store/payment.store';
import { DAY_MS, DayTotals } from '../store/daily-aggregates';
import { canonicalFilter, PaymentFilter } from '../store/payment-filter';
import { FilterParams, filterParams } from '../store/row-filter';
import { Cell, CellRun, cellRuns, PaymentCells } from '../store/payment-cells';
import { TopK } from '../store/top-k';
import { COUNT_ENTRY_COST, Plan, planSearch, ROW_COST } from '../store/query-planner';
import { walkSearchOrder } from '../store/sorted.index';
import { CurrencyTotals, Interval, PaymentStats, StatsAccumulator, StatsFold } from '../store/stats';
import { Pace, ReadPacer } from './read-pacer';
import { CursorPosition, decodeCursor, encodeCursor, queryFingerprint } from './search-cursor';
import { timeMs } from '../../iso-time';

export interface SearchRequest {
  filter: PaymentFilter;
  sort: SearchSort;
  size: number;
  page?: number;
  cursor?: string;
}

export interface SearchResult {
  items: Payment[];
  total: number;
  page: number;
  size: number;
  nextCursor: string | null;
}

export interface StatsRequest {
  filter: PaymentFilter;
  interval?: Interval;
}

/**
 * The query side: answers from the store's indexes, never mutates. Search and stats answers
 * are cached under a key that holds the store version the answer was computed from (the
 * organization's version when the filter names one, else the global one). Every write bumps
 * those versions, so a cached answer is unreachable after any write that could change it.
 * Get-by-id is a single Map lookup, cheaper than any cache in front of it.
 *
 * A search or stats that reads many entries (a scan of cells, rows of another index, a walk)
 * pauses between slices of its work (ReadPacer): every other request runs in between, and the
 * read starts over if that version changed meanwhile, so each answer is of one state.
 */
@Injectable()
export class PaymentReader {
  constructor(
    private readonly store: PaymentStore,
    @Inject(CACHE_MANAGER) private readonly cache: Cache,
    private readonly metrics: MetricsService,
    config: AppConfig,
    // no provider gives one: Nest passes nothing (@Optional), so the service paces with the defaults
    @Optional() pacer?: ReadPacer,
  ) {
    this.#cacheOn = config.cacheTtlSeconds > 0 && config.cacheMaxEntries > 0;
    this.#pacer = pacer ?? new ReadPacer();
  }

  readonly #cacheOn: boolean;
  readonly #pacer: ReadPacer;

  /** See PaymentStore.resolve: `organizationId` undefined addresses the only payment with this id. */
  get(paymentId: string, organizationId: string | undefined): Payment | undefined {
    return this.store.resolve(paymentId, organizationId);
  }

  search(req: SearchRequest): Promise<SearchResult> {
    const filterText = canonicalFilter(req.filter);
    const key = () => `search|${this.#versionTag(req.filter)}|${filterText}|${req.sort}|${req.size}|${req.page ?? ''}|${req.cursor ?? ''}`;
    return this.#cached('search', req.filter, key, (pace) => this.#search(req, filterText, pace));
  }

  stats(req: StatsRequest): Promise<PaymentStats> {
    const key = () => `stats|${this.#versionTag(req.filter)}|${canonicalFilter(req.filter)}|${req.interval ?? ''}`;
    return this.#cached('stats', req.filter, key, (pace) => this.#stats(req, pace));
  }

  /**
   * Scans the candidates of the most selective index (the filter's cells sequentially, or
   * another index's rows through a column-only predicate), counts every match (`total`) and
   * keeps the best `start + size` rows in a bounded heap instead of sorting all matches:
   * O(candidates + matches * log(start + size)).
   */
  async #search(req: SearchRequest, filterText: string, pace: Pace): Promise<SearchResult> {
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
   * or through the daily aggregates (as stats count) where that is cheaper. A walked row costs
   * a hundred times a scanned entry (its fields are scattered over the store, the cells' arrays
   * are read in order), so the walk is taken only when that cost model says it beats the scan;
   * undefined otherwise (no user filter).
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
    const cellsCountCost = COUNT_ENTRY_COST * inCells;
    const aggregateCost = narrowed && timeIndex === undefined && !byAmount ? this.#aggregateCountCost(params, span) : Infinity;
    const countCost = !narrowed || timeIndex !== undefined ? 0 : Math.min(cellsCountCost, aggregateCost);
    // rows walked to find size + 1 matches, if they are spread evenly over the span: at least
    // this many before counting (there are at most inCells matches), then the estimate
    if (countCost + ROW_COST * (size + 1) * (span / Math.max(1, inCells)) >= scanCost) return undefined;
    let total = 0;
    if (!narrowed) total = plan.estimate;
    else if (timeIndex !== undefined) total = timeIndex.countRange(params.from, params.to);
    else if (aggregateCost < cellsCountCost) total = this.#aggregateStats(params, undefined).total;
    else await paced(cellRuns(counted, pace.stepEntries), pace, (run) => (total += cells.count(run, params)));
    const rows: number[] = [];
    if (total === 0) return { rows, total };
    if (countCost + ROW_COST * (size + 1) * (span / total) >= scanCost) return undefined;
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

  /**
   * Whole UTC days come from the pre-aggregated cells (O(days x currencies)); only the ragged
   * ends of the window touch payments (see #aggregateStats). Filters the aggregates cannot
   * answer (userId, amount bounds), hour series, or inexact aggregates: a scan (#scanStats).
   */
  async #stats(req: StatsRequest, pace: Pace): Promise<PaymentStats> {
    const { filter, interval } = req;
    const series = interval && filter.from && filter.to ? { fromMs: timeMs(filter.from), toMs: timeMs(filter.to), interval } : undefined;
    const params = filterParams(filter, this.store.dictionaries);
    if (params === null) return new StatsAccumulator(series).result();
    const aggregable =
      filter.userId === undefined &&
      filter.minAmount === undefined &&
      filter.maxAmount === undefined &&
      interval !== 'hour' &&
      this.store.aggregates.exact;
    return aggregable ? this.#aggregateStats(params, series) : this.#scanStats(filter, params, series, pace);
  }

  /**
   * Stats by a scan of the planner's candidates: the selected cells folded run by run into
   * float sums (StatsFold: no call per entry), or another index's rows checked one by one;
   * paced. Past 2^53 (the fold says its sums are not exact) the same candidates again, each
   * into exact sums.
   */
  async #scanStats(filter: PaymentFilter, params: FilterParams, series: StatsSeries | undefined, pace: Pace): Promise<PaymentStats> {
    const dicts = this.store.dictionaries;
    const cells = this.store.cells;
    const plan = planSearch(filter, this.store.indexes);
    const runs = plan.driver === 'cells' ? cellRuns(plan.cells, pace.stepEntries) : [];
    const rows = plan.driver === 'cells' ? [] : candidates(plan, false);
    const match = cells.predicate(params);
    const fold = new StatsFold(dicts.currency.size, series);
    await paced(runs, pace, (run) => cells.fold(run, params, fold));
    await pacedRows(rows, pace, (row) => {
      if (!match(row)) return;
      const cell = cells.cellOf(row);
      const slot = cells.slotOf(row);
      fold.addOne(cell.status, cell.currency, cell.amount[slot], cell.refundedAmountAt(slot), cell.createdAt[slot]);
    });
    const acc = new StatsAccumulator(series);
    if (fold.exact) {
      fold.addTo(acc, (code) => dicts.currency.value(code));
      return acc.result();
    }
    const totals: CurrencyTotals[] = []; // by currency code: each currency resolved once
    const totalsOf = (code: number) => totals[code] ?? (totals[code] = acc.totalsOf(dicts.currency.value(code)));
    const addCell = (cell: Cell, i: number) =>
      acc.addTo(cell.status, totalsOf(cell.currency), 1, cell.amount[i], cell.refundedAmountAt(i), cell.createdAt[i]);
    await paced(runs, pace, (run) => cells.scan(run, params, addCell));
    await pacedRows(rows, pace, (row) => match(row) && addCell(cells.cellOf(row), cells.slotOf(row)));
    return acc.result();
  }

  /**
   * Stats from the daily aggregates, for a filter they can answer (no userId, no amount bound,
   * no hour series, exact aggregates): whole UTC days from the pre-aggregated cells; a ragged
   * end is read either directly (its payments inside the window) or as its whole day's
   * aggregate minus the day's payments outside the window, whichever is the shorter part of the
   * day (on average a quarter of a day's payments instead of half). Payments are read through
   * the organization's createdAt index or its cells, whichever holds fewer. Synchronous.
   */
  #aggregateStats(params: FilterParams, series: StatsSeries | undefined): PaymentStats {
    const acc = new StatsAccumulator(series);
    const dicts = this.store.dictionaries;
    const totals: CurrencyTotals[] = []; // by currency code: each currency resolved once
    const totalsOf = (code: number) => totals[code] ?? (totals[code] = acc.totalsOf(dicts.currency.value(code)));
    const addCell = (cell: Cell, i: number) =>
      acc.addTo(cell.status, totalsOf(cell.currency), 1, cell.amount[i], cell.refundedAmountAt(i), cell.createdAt[i]);

    const fromMs = params.from;
    const toMs = params.to;
    const firstDay = fromMs === -Infinity ? -Infinity : Math.ceil(fromMs / DAY_MS);
    const endDay = toMs === Infinity ? Infinity : Math.floor(toMs / DAY_MS);
    const readRange = this.#timeRangeReader(params);
    if (!(firstDay < endDay)) {
      readRange(fromMs, toMs, addCell);
      return acc.result();
    }
    const { statusMask, currencies } = params;
    const org = params.org >= 0 ? params.org : undefined;
    const addGroup = (status: number, currency: number, count: number, amount: number, refunded: number, atMs: number) => {
      if (((statusMask >> status) & 1) === 0 || (currencies !== undefined && currencies[currency] !== 1)) return;
      acc.addTo(status, totalsOf(currency), count, amount, refunded, atMs);
    };
    // Whole days are summed in place and added once per status and currency, unless a series
    // needs them day by day (or a sum would pass 2^53: then cell by cell, exactly).
    const days = series === undefined ? this.#emptyDayTotals(dicts.currency.size) : undefined;
    const dayRanges: [number, number][] = [];
    const addDays = (first: number, end: number) => {
      if (days === undefined) this.store.aggregates.forEachCell(org, first, end, (dayMs, ...group) => addGroup(...group, dayMs));
      else {
        this.store.aggregates.addDays(org, first, end, days);
        dayRanges.push([first, end]);
      }
    };
    const subtractCell = (cell: Cell, i: number) =>
      acc.addTo(cell.status, totalsOf(cell.currency), -1, -cell.amount[i], -cell.refundedAmountAt(i), cell.createdAt[i]);
    /** A ragged end: [lo, hi), the start or the end of one UTC day. */
    const raggedEnd = (lo: number, hi: number) => {
      if (!(lo < hi)) return;
      const dayLo = Math.floor(lo / DAY_MS) * DAY_MS;
      const dayHi = dayLo + DAY_MS;
      // the rest of the day: [dayLo, lo) or [hi, dayHi), one of them empty (a series bucket
      // lists every currency it met, so a series takes no subtraction)
      const restLo = lo === dayLo ? hi : dayLo;
      const restHi = lo === dayLo ? dayHi : lo;
      // the shorter side, by time: counting both sides would cost four index seeks
      if (series !== undefined || hi - lo <= restHi - restLo) {
        readRange(lo, hi, addCell);
        return;
      }
      addDays(dayLo / DAY_MS, dayLo / DAY_MS + 1);
      readRange(restLo, restHi, subtractCell);
    };
    addDays(firstDay, endDay);
    if (firstDay !== -Infinity) raggedEnd(fromMs, firstDay * DAY_MS);
    if (endDay !== Infinity) raggedEnd(endDay * DAY_MS, toMs);
    if (days?.exact) {
      days.forEach((status, currency, count, amount, refunded) => addGroup(status, currency, count, amount, refunded, 0));
    } else if (days !== undefined) {
      for (const [first, end] of dayRanges) this.store.aggregates.forEachCell(org, first, end, (dayMs, ...group) => addGroup(...group, dayMs));
    }
    return acc.result();
  }

  /**
   * Reads the payments created in [lo, hi) that pass the filter's other conditions (organization,
   * statuses, currencies): through a createdAt index (the organization's own when the filter
   * names one; each row checked) when the range holds no more payments than the filter's cells,
   * else through the cells (each entry's createdAt checked). The cells are selected once per
   * query; the index counts and reads a range for the cost of one pair of seeks.
   */
  #timeRangeReader(params: FilterParams): (lo: number, hi: number, visit: (cell: Cell, slot: number) => void) => void {
    const ix = this.store.indexes;
    // the organization's own createdAt index holds only its rows: never more than the global one
    const index = (params.org >= 0 ? ix.createdAtIndexOf(params.org) : undefined) ?? ix.createdAt;
    const cells = this.store.cells;
    const selected = cells.select(params);
    const inCells = selected.reduce((n, c) => n + c.length, 0);
    const runs = cellRuns(selected);
    // no bound on createdAt here: [lo, hi) may lie outside the window (the rest of a ragged day)
    const match = cells.predicate({ ...params, from: -Infinity, to: Infinity });
    return (lo, hi, visit) => {
      const viaIndex = index.forEachInRangeUpTo(lo, hi, inCells, (row) => match(row) && visit(cells.cellOf(row), cells.slotOf(row)));
      if (!viaIndex) cells.scan(runs, { ...params, from: lo, to: hi }, visit);
    };
  }

  /**
   * The cost (in the model's nanoseconds) of counting a filter's matches as #stats does, or
   * Infinity where its aggregates cannot (an amount bound, an open end of the window, sums past
   * 2^53: then #stats scans). `windowRows`: the organization's (or everyone's) payments in the
   * window. The whole days cost a few adds each; the two ragged ends read about half a day's
   * payments between them, at random.
   */
  #aggregateCountCost(params: FilterParams, windowRows: number): number {
    const { from, to } = params;
    if (params.minAmount !== -Infinity || params.maxAmount !== Infinity || !Number.isFinite(from) || !Number.isFinite(to)) return Infinity;
    if (!(from < to) || !this.store.aggregates.exact) return Infinity;
    const days = (to - from) / DAY_MS;
    return AGGREGATE_FIXED_COST + AGGREGATE_DAY_COST * days + ROW_COST * Math.min(windowRows, windowRows / days);
  }

  #dayTotals: DayTotals | undefined;

  /** One DayTotals reused by every stats query from the aggregates (each runs to its end without pausing), zeroed. */
  #emptyDayTotals(currencies: number): DayTotals {
    if (this.#dayTotals === undefined || this.#dayTotals.currencies < currencies) {
      this.#dayTotals = new DayTotals(Math.max(currencies, 2 * (this.#dayTotals?.currencies ?? 4)));
    } else {
      this.#dayTotals.clear();
    }
    return this.#dayTotals;
  }

  #versionTag(filter: PaymentFilter): string {
    return filter.organizationId !== undefined
      ? `o${this.store.versionOf(filter.organizationId)}`
      : `g${this.store.version}`;
  }

  /**
   * The answer from the cache, else computed through the pacer (started over on any change of
   * the version the answer depends on). `key` is built only when the cache is on (it reads
   * versions and formats the filter).
   */
  async #cached<T>(query: 'search' | 'stats', filter: PaymentFilter, keyOf: () => string, compute: (pace: Pace) => Promise<T>): Promise<T> {
    const version = filter.organizationId === undefined ? () => this.store.version : () => this.store.versionOf(filter.organizationId!);
    if (!this.#cacheOn) return this.#pacer.run(version, compute);
    const hit = await this.cache.get<T>(keyOf());
    if (hit !== undefined && hit !== null) {
      this.metrics.cacheHits.inc({ query });
      return hit;
    }
    this.metrics.cacheMisses.inc({ query });
    // Computed after the await, and keyed with the version its last attempt started from (and
    // saw unchanged through its end): never older than the version in its key.
    const { key, value } = await this.#pacer.run(version, async (pace) => {
      const key = keyOf();
      return { key, value: await compute(pace) };
    });
    await this.cache.set(key, value);
    return value;
  }
}

type StatsSeries = { fromMs: number; toMs: number; interval: Interval };

/**
 * Reads `runs` in batches of about pace.stepEntries entries (most cells are small: one call
 * and one clock read per cell would cost more than the scan), pausing between two batches
 * once the slice is used.
 */
async function paced(runs: readonly CellRun[], pace: Pace, read: (runs: readonly CellRun[]) => void): Promise<void> {
  for (let k = 0; k < runs.length; ) {
    const first = k;
    for (let entries = 0; k < runs.length && entries < pace.stepEntries; k++) entries += runs[k].end - runs[k].start;
    read(first === 0 && k === runs.length ? runs : runs.slice(first, k));
    if (k < runs.length && pace.due()) await pace.pause();
  }
}

/** Visits `rows` in order, pausing every pace.stepRows rows once the slice is used. */
async function pacedRows(rows: readonly number[], pace: Pace, visit: (row: number) => void): Promise<void> {
  for (let i = 0; i < rows.length; i++) {
    visit(rows[i]);
    if ((i + 1) % pace.stepRows === 0 && i + 1 < rows.length && pace.due()) await pace.pause();
  }
}

/**
 * A row driver's candidates, in its order (`descending` for a sorted index). Collecting them
 * reads the index in order (a few ns a row) and checking them is the dear part (ROW_COST a
 * row), so only the check is paced; the planner picks a row driver only when it yields few.
 */
function candidates(plan: Plan, descending: boolean): number[] {
  const rows: number[] = [];
  plan.forEach((row) => rows.push(row), descending);
  return rows;
}
/** A count through the daily aggregates (#stats): its fixed cost, and each day of the window. */
const AGGREGATE_FIXED_COST = 10_000;
const AGGREGATE_DAY_COST = 50;

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
