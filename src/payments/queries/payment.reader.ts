import { CACHE_MANAGER } from '@nestjs/cache-manager';
import { Inject, Injectable } from '@nestjs/common';
import type { Cache } from 'cache-manager';
import { AppConfig } from '../../config';
import { MetricsService } from '../../metrics/metrics.service';
import { lowerBound } from '../store/lower-bound';
import { Payment } from '../payment';
import { SearchSort } from '../payment.dto';
import { PaymentStore } from '../store/payment.store';
import { canonicalFilter, matchesFilter, PaymentFilter } from '../store/payment-filter';
import { planSearch } from '../store/query-planner';
import { Interval, PaymentStats, StatsAccumulator } from '../store/stats';
import { decodeCursor, encodeCursor, queryFingerprint } from './search-cursor';

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
    const key = `search|${this.#versionTag(req.filter)}|${canonicalFilter(req.filter)}|${req.sort}|${req.size}|${req.page ?? ''}|${req.cursor ?? ''}`;
    return this.#cached('search', key, () => this.#search(req));
  }

  stats(req: StatsRequest): Promise<PaymentStats> {
    const key = `stats|${this.#versionTag(req.filter)}|${canonicalFilter(req.filter)}|${req.interval ?? ''}`;
    return this.#cached('stats', key, () => this.#stats(req));
  }

  /** Matches in the requested order: (sort key, paymentId ascending). O(m log m) over the m matches. */
  #search(req: SearchRequest): SearchResult {
    const fingerprint = queryFingerprint(canonicalFilter(req.filter), req.sort);
    const position = req.cursor === undefined ? undefined : decodeCursor(req.cursor, fingerprint, req.sort);
    const matches = this.#matches(req.filter);
    const compare = comparator(req.sort);
    matches.sort(compare);

    const page = position?.page ?? req.page ?? 0;
    const start = position
      ? lowerBound(matches.length, (i) => compareToPosition(matches[i], req.sort, position.key, position.paymentId) <= 0)
      : page * req.size;
    const items = matches.slice(start, start + req.size);
    const last = items[items.length - 1];
    const nextCursor =
      start + req.size < matches.length && last !== undefined
        ? encodeCursor(fingerprint, { key: sortKey(last, req.sort), paymentId: last.paymentId, page: page + 1 })
        : null;
    return { items, total: matches.length, page, size: req.size, nextCursor };
  }

  #stats(req: StatsRequest): PaymentStats {
    const { from, to } = req.filter;
    const acc = new StatsAccumulator(
      req.interval && from && to ? { fromMs: Date.parse(from), toMs: Date.parse(to), interval: req.interval } : undefined,
    );
    for (const p of this.#matches(req.filter)) acc.add(p);
    return acc.result();
  }

  /** Scans only the candidates of the most selective index and checks the other filters on each. */
  #matches(filter: PaymentFilter): Payment[] {
    const plan = planSearch(filter, this.store.indexes);
    const out: Payment[] = [];
    for (const row of plan.rows()) {
      const p = this.store.row(row);
      if (matchesFilter(p, filter)) out.push(p);
    }
    return out;
  }

  #versionTag(filter: PaymentFilter): string {
    return filter.organizationId !== undefined
      ? `o${this.store.versionOf(filter.organizationId)}`
      : `g${this.store.version}`;
  }

  async #cached<T>(query: 'search' | 'stats', key: string, compute: () => T): Promise<T> {
    if (!this.#cacheOn) return compute();
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

function compareKeys(a: string | number, b: string | number, descending: boolean): number {
  const c = a < b ? -1 : a > b ? 1 : 0;
  return descending ? -c : c;
}

function comparator(sort: SearchSort): (a: Payment, b: Payment) => number {
  const descending = sort.startsWith('-');
  return (a, b) =>
    compareKeys(sortKey(a, sort), sortKey(b, sort), descending) ||
    (a.paymentId < b.paymentId ? -1 : a.paymentId > b.paymentId ? 1 : 0);
}

/** <0 when p sorts before the position, 0 at it, >0 after it. */
function compareToPosition(p: Payment, sort: SearchSort, key: string | number, paymentId: string): number {
  return (
    compareKeys(sortKey(p, sort), key, sort.startsWith('-')) ||
    (p.paymentId < paymentId ? -1 : p.paymentId > paymentId ? 1 : 0)
  );
}
