import { Injectable } from '@nestjs/common';
import { timeMs } from '../../iso-time';
import { DAY_MS, DayTotals } from '../store/daily-aggregates';
import { PaymentFilter } from '../payment-filter';
import { Cell, cellRuns } from '../store/payment-cells';
import { PaymentStore } from '../store/payment.store';
import { planSearch } from '../store/query-planner';
import { FilterParams, filterParams } from '../store/row-filter';
import { CurrencyTotals, StatsAccumulator, StatsFold } from '../store/stats';
import { Interval, PaymentStats } from '../payment-query';
import { StatsRequest } from './get-payment-stats.query';
import { candidates, paced, pacedRows } from './paced';
import { Pace } from './read-pacer';

/** A stats answer's series: buckets of `interval` over [fromMs, toMs). */
export type StatsSeries = { fromMs: number; toMs: number; interval: Interval };

/**
 * The stats computation over the store's aggregates and cells; reads only. Holds one DayTotals
 * buffer, reused by every query from the aggregates (each runs to its end without pausing).
 */
@Injectable()
export class StatsCalculator {
  constructor(private readonly store: PaymentStore) {}

  /**
   * Whole UTC days come from the pre-aggregated cells (O(days x currencies)); only the ragged
   * ends of the window touch payments (see aggregateStats). Filters the aggregates cannot
   * answer (userId, amount bounds), hour series, or inexact aggregates: a scan (#scanStats).
   */
  async calculate(req: StatsRequest, pace: Pace): Promise<PaymentStats> {
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
    return aggregable ? this.aggregateStats(params, series) : this.#scanStats(filter, params, series, pace);
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
  aggregateStats(params: FilterParams, series: StatsSeries | undefined): PaymentStats {
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
}
