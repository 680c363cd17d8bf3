import type { PaymentStatus } from './payment';

/*
 * The query side's vocabulary, spoken by the HTTP layer (DTOs, OpenAPI), the use cases and
 * the store alike: how a search is sorted and paged, how stats are bucketed, and the stats
 * document. The filter both share is in payment-filter.ts.
 */

/** Search orders; ties are broken by paymentId ascending. */
export const SEARCH_SORTS = ['createdAt', '-createdAt', 'amount', '-amount'] as const;
export type SearchSort = (typeof SEARCH_SORTS)[number];
/** How deep page numbers reach (page * size); a cursor goes further. */
export const SEARCH_WINDOW = 10_000;

/** Stats series: one bucket per UTC hour or day. */
export const INTERVALS = ['hour', 'day'] as const;
export type Interval = (typeof INTERVALS)[number];
/** A series holds at most this many buckets. */
export const MAX_BUCKETS = 1000;

export interface StatsBucket {
  start: string;
  total: number;
  amountByCurrency: Record<string, number | string>;
}

export interface PaymentStats {
  total: number;
  byStatus: Record<PaymentStatus, number>;
  byCurrency: Record<string, number>;
  amountByCurrency: Record<string, number | string>;
  refundedAmountByCurrency: Record<string, number | string>;
  series?: StatsBucket[];
}

/** The length of a series bucket. */
export const INTERVAL_MS: Record<Interval, number> = { hour: 3_600_000, day: 86_400_000 };

/** UTC-aligned bucket starts covering [from, to): the first is the unit that holds `from`. */
export function bucketStarts(fromMs: number, toMs: number, interval: Interval): number[] {
  const step = INTERVAL_MS[interval];
  const starts: number[] = [];
  if (!(fromMs < toMs)) return starts;
  for (let t = Math.floor(fromMs / step) * step; t < toMs; t += step) starts.push(t);
  return starts;
}

/** How many buckets bucketStarts gives, without listing them. */
export function bucketCount(fromMs: number, toMs: number, interval: Interval): number {
  if (!(fromMs < toMs)) return 0;
  const step = INTERVAL_MS[interval];
  return Math.ceil(toMs / step) - Math.floor(fromMs / step);
}

