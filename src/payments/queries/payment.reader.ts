import { CACHE_MANAGER } from '@nestjs/cache-manager';
import { Inject, Injectable } from '@nestjs/common';
import type { Cache } from 'cache-manager';
import { AppConfig } from '../../config';
import { MetricsService } from '../../metrics/metrics.service';
import { Payment, PAYMENT_STATUSES } from '../payment';
import { SearchSort } from '../payment.dto';
import { PaymentStore } from '../store/payment.store';
import { DAY_MS } from '../store/daily-aggregates';
import { canonicalFilter, PaymentFilter } from '../store/payment-filter';
import { FilterParams, filterParams } from '../store/row-filter';
import { Cell } from '../store/payment-cells';
import { TopK } from '../store/top-k';
import { Plan, planSearch } from '../store/query-planner';
import { walkSearchOrder } from '../store/sorted.index';
import { Interval, PaymentStats, StatsAccumulator } from '../store/stats';
import { CursorPosition, decodeCursor, encodeCursor, queryFingerprint } from './search-cursor';

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
 */
@Injectable()
export class PaymentReader {
  constructor(
    private readonly store: PaymentStore,
    @Inject(CACHE_MANAGER) private readonly cache: Cache,
    private readonly metrics: MetricsService,
    config: AppConfig,
  ) {
    this.#cacheOn = config.cacheTtlSeconds > 0 && config.cacheMaxEntries > 0;
  }

  readonly #cacheOn: boolean;

  get(paymentId: string): Payment | undefined {
    return this.store.get(paymentId);
  }

  search(req: SearchRequest): Promise<SearchResult> {
    const filterText = canonicalFilter(req.filter);
    const key = () => `search|${this.#versionTag(req.filter)}|${filterText}|${req.sort}|${req.size}|${req.page ?? ''}|${req.cursor ?? ''}`;
    return this.#cached('search', key, () => this.#search(req, filterText));
  }

  stats(req: StatsRequest): Promise<PaymentStats> {
    const key = () => `stats|${this.#versionTag(req.filter)}|${canonicalFilter(req.filter)}|${req.interval ?? ''}`;
    return this.#cached('stats', key, () => this.#stats(req));
  }

  /**
   * Scans the candidates of the most selective index (the filter's cells sequentially, or
   * another index's rows through a column-only predicate), counts every match (`total`) and
   * keeps the best `start + size` rows in a bounded heap instead of sorting all matches:
   * O(candidates + matches * log(start + size)).
   */
  #search(req: SearchRequest, filterText: string): SearchResult {
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
      const walked = this.#walkInOrder(plan, byAmount, descending, position, req.size);
      if (walked !== undefined) {
        const items = walked.rows.slice(0, req.size).map((row) => this.store.row(row));
        return this.#page(req, fingerprint, page, items, walked.total, walked.rows.length > req.size);
      }
    }
    const tie = (a: number, b: number) => compareIds(this.store.row(a).paymentId, this.store.row(b).paymentId);
    const after = position ? afterPosition(descending, position.key, position.paymentId, (row) => this.store.row(row).paymentId) : undefined;
    const top = new TopK(start + req.size, descending, tie);
    let total = 0;
    let remaining = 0;
    const take = (row: number, key: number) => {
      total++;
      if (after !== undefined && !after(row, key)) return;
      remaining++;
      top.offer(key, row);
    };
    if (plan.driver === 'cells') {
      // sequential passes over the selected cells' own arrays
      cells.scan(
        plan.cells,
        plan.params,
        byAmount ? (cell, i) => take(cell.rows[i], cell.amount[i]) : (cell, i) => take(cell.rows[i], cell.createdAt[i]),
      );
    } else {
      const match = cells.predicate(plan.params);
      plan.forEach(
        byAmount
          ? (row) => match(row) && take(row, cells.amount(row))
          : (row) => match(row) && take(row, cells.createdAt(row)),
      );
    }
    const items = top
      .sorted()
      .slice(start, start + req.size)
      .map((row) => this.store.row(row));
    return this.#page(req, fingerprint, page, items, total, position ? remaining > req.size : total > start + req.size);
  }

  /** The answer for one page: a cursor after its last item when more follow. */
  #page(req: SearchRequest, fingerprint: string, page: number, items: Payment[], total: number, more: boolean): SearchResult {
    const last = items[items.length - 1];
    const nextCursor =
      more && last !== undefined
        ? encodeCursor(fingerprint, { key: sortKey(last, req.sort), paymentId: last.paymentId, page: page + 1 })
        : null;
    return { items, total, page, size: req.size, nextCursor };
  }

  /**
   * Keyset pagination in O(log n + rows walked): when the filter names only organization,
   * statuses and currencies, the number of matches is the selected cells' size (no scan), and a
   * page is read by walking the sort's index (the organization's createdAt index, or the global
   * amount or createdAt index) from the cursor, keeping rows of the selected cells, until
   * `size + 1` are found. Used when that walk is expected to be shorter than a scan of every
   * candidate (size / selectivity < candidates); undefined otherwise.
   */
  #walkInOrder(
    plan: Plan,
    byAmount: boolean,
    descending: boolean,
    position: CursorPosition | undefined,
    size: number,
  ): { rows: number[]; total: number } | undefined {
    const params = plan.params;
    if (plan.driver !== 'cells' || params === null || params.user >= 0) return undefined;
    if (params.minAmount !== -Infinity || params.maxAmount !== Infinity || params.from !== -Infinity || params.to !== Infinity) {
      return undefined;
    }
    const ix = this.store.indexes;
    const index = byAmount ? (params.org < 0 ? ix.amount : undefined) : params.org < 0 ? ix.createdAt : ix.createdAtOf(params.org);
    const total = plan.estimate;
    if (index === undefined || (size + 1) * (index.size / Math.max(1, total)) >= total) return undefined;
    const selected = new Uint8Array(this.store.cells.cells.length);
    for (const cell of plan.cells) selected[cell.id] = 1;
    const cells = this.store.cells;
    const rows: number[] = [];
    const from = position && {
      key: typeof position.key === 'number' ? position.key : Date.parse(position.key),
      id: position.paymentId,
    };
    if (total > 0) {
      const keyOf = byAmount ? (row: number) => cells.amount(row) : (row: number) => cells.createdAt(row);
      walkSearchOrder(index, keyOf, descending, from, (row) => {
        if (selected[cells.cellOf(row).id] === 1) rows.push(row);
        return rows.length <= size;
      });
    }
    return { rows, total };
  }

  /**
   * Whole UTC days come from the pre-aggregated cells (O(days x currencies)); only the ragged
   * ends of the window are scanned, through the createdAt index or the organization's cells,
   * whichever holds fewer candidates. Filters the aggregates cannot answer (userId, amount
   * bounds), hour series, or inexact aggregates: a scan of the planner's candidates.
   */
  #stats(req: StatsRequest): PaymentStats {
    const { filter, interval } = req;
    const acc = new StatsAccumulator(
      interval && filter.from && filter.to
        ? { fromMs: Date.parse(filter.from), toMs: Date.parse(filter.to), interval }
        : undefined,
    );
    const dicts = this.store.dictionaries;
    const params = filterParams(filter, dicts);
    if (params === null) return acc.result();
    const cells = this.store.cells;
    const addCell = (cell: Cell, i: number) => {
      acc.addValues(PAYMENT_STATUSES[cell.status], dicts.currency.value(cell.currency), cell.amount[i], cell.refundedAt(i), cell.createdAt[i]);
    };
    const match = cells.predicate(params);
    const addRow = (row: number) => {
      if (match(row)) addCell(cells.cellOf(row), cells.slotOf(row));
    };

    const aggregable =
      filter.userId === undefined &&
      filter.minAmount === undefined &&
      filter.maxAmount === undefined &&
      interval !== 'hour' &&
      this.store.aggregates.exact;
    if (!aggregable) {
      const plan = planSearch(filter, this.store.indexes);
      if (plan.driver === 'cells') cells.scan(plan.cells, params, addCell);
      else plan.forEach(addRow);
      return acc.result();
    }

    const fromMs = params.from;
    const toMs = params.to;
    const firstDay = fromMs === -Infinity ? -Infinity : Math.ceil(fromMs / DAY_MS);
    const endDay = toMs === Infinity ? Infinity : Math.floor(toMs / DAY_MS);
    if (!(firstDay < endDay)) {
      this.#timeRangeScanner(params, addCell, addRow)(fromMs, toMs);
      return acc.result();
    }
    const { statusMask, currencies } = params;
    const org = params.org >= 0 ? params.org : undefined;
    this.store.aggregates.forEachCell(org, firstDay, endDay, (dayMs, status, currency, count, amount, refunded) => {
      if (((statusMask >> status) & 1) === 0 || (currencies !== undefined && currencies[currency] !== 1)) return;
      acc.addGroup(PAYMENT_STATUSES[status], dicts.currency.value(currency), count, amount, refunded, dayMs);
    });
    const scanRange = this.#timeRangeScanner(params, addCell, addRow);
    if (firstDay !== -Infinity) scanRange(fromMs, firstDay * DAY_MS);
    if (endDay !== Infinity) scanRange(endDay * DAY_MS, toMs);
    return acc.result();
  }

  /**
   * Visits the payments created in [lo, hi) that may match: through a createdAt index (the
   * organization's own when the filter names one; each row checked by `addRow`), or through the
   * filter's cells when they hold fewer payments. The cells are selected once per query.
   */
  #timeRangeScanner(
    params: FilterParams,
    addCell: (cell: Cell, slot: number) => void,
    addRow: (row: number) => void,
  ): (lo: number, hi: number) => void {
    const ix = this.store.indexes;
    // the organization's own createdAt index holds only its rows: never more than the global one
    const index = (params.org >= 0 ? ix.createdAtOf(params.org) : undefined) ?? ix.createdAt;
    const cells = this.store.cells.select(params);
    const inCells = cells.reduce((n, c) => n + c.length, 0);
    return (lo, hi) => {
      if (inCells < index.countRange(lo, hi)) {
        this.store.cells.scan(cells, { ...params, from: Math.max(params.from, lo), to: Math.min(params.to, hi) }, addCell);
      } else {
        index.forEachInRange(lo, hi, addRow);
      }
    };
  }

  #versionTag(filter: PaymentFilter): string {
    return filter.organizationId !== undefined
      ? `o${this.store.versionOf(filter.organizationId)}`
      : `g${this.store.version}`;
  }

  /** `key` is built only when the cache is on (it reads versions and formats the filter). */
  async #cached<T>(query: 'search' | 'stats', keyOf: () => string, compute: () => T): Promise<T> {
    if (!this.#cacheOn) return compute();
    const key = keyOf();
    const hit = await this.cache.get<T>(key);
    if (hit !== undefined && hit !== null) {
      this.metrics.cacheHits.inc({ query });
      return hit;
    }
    this.metrics.cacheMisses.inc({ query });
    // Computed after the await: never older than the version in its key.
    const value = compute();
    await this.cache.set(key, value);
    return value;
  }
}

function sortKey(p: Payment, sort: SearchSort): string | number {
  return sort === 'amount' || sort === '-amount' ? p.amount : p.createdAt;
}

/** True for a row (with its sort key) that sorts strictly after the cursor position. */
function afterPosition(
  descending: boolean,
  cursorKey: string | number,
  cursorId: string,
  idOf: (row: number) => string,
): (row: number, key: number) => boolean {
  const k = typeof cursorKey === 'number' ? cursorKey : Date.parse(cursorKey);
  const sign = descending ? -1 : 1;
  return (row, key) => {
    const d = sign * (key - k);
    return d > 0 || (d === 0 && compareIds(idOf(row), cursorId) > 0);
  };
}

function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
