import { createHash } from 'node:crypto';
import type { Payment, PaymentStatus } from '../src/payments/payment';
import { ANCHOR_MS, CURRENCIES, DAY_MS, LARGEST_ORG_RANK, MID_ORG_RANKS, orgId, SPAN_MS } from './dataset';

/**
 * The two queries of issue 4, in a form every engine translates for itself, and the checksums
 * that make a fast wrong answer fail the bench.
 */

/**
 * One organization + status in (...) + currency in (...) + an amount range or a createdAt
 * window [from, to) (ISO strings), newest first.
 */
export interface SearchQuery {
  organizationId: string;
  statuses: PaymentStatus[];
  currencies: string[];
  minAmount?: number;
  /** inclusive */
  maxAmount?: number;
  from?: string;
  to?: string;
  size: number;
}

/** One organization over [from, to) (ISO strings in toISOString() form). */
export interface StatsQuery {
  organizationId: string;
  from: string;
  to: string;
}

export interface SearchAnswer {
  ids: string[];
  total: number;
}

/** The stats fields every engine must agree on (the service's PaymentStats document). */
export interface StatsAnswer {
  total: number;
  byStatus: Record<string, number>;
  byCurrency: Record<string, number>;
  amountByCurrency: Record<string, number | string>;
  refundedAmountByCurrency: Record<string, number | string>;
}

export interface Engine {
  readonly name: string;
  search(q: SearchQuery): SearchAnswer | Promise<SearchAnswer>;
  stats(q: StatsQuery): StatsAnswer | Promise<StatsAnswer>;
  /** Stores one more payment; the bench times a run of these. */
  insert(p: Payment): void;
  readonly size: number;
}

export type SizeClass = 'mid' | 'largest';

/**
 * Variant i of the search: mid-size rotates over Zipf ranks 10-30, both classes shift the
 * amount window a little, so no engine can answer from a memo of the previous iteration.
 */
export function searchVariant(cls: SizeClass, i: number): SearchQuery {
  const rank = cls === 'largest' ? LARGEST_ORG_RANK : MID_ORG_RANKS[i % MID_ORG_RANKS.length];
  return {
    organizationId: orgId(rank),
    statuses: ['completed', 'refunded'],
    currencies: ['EUR'],
    minAmount: 10_000 + ((i * 37) % 1000),
    maxAmount: 500_000 - ((i * 53) % 1000),
    size: 20,
  };
}

/**
 * Variant i of a dashboard's list: the largest organization's completed payments of a 7-day
 * window with ragged ends (any currency, no amount bound), newest first, sliding over the year.
 */
export function windowSearchVariant(i: number): SearchQuery {
  const slack = SPAN_MS - 7 * DAY_MS;
  const fromMs = ANCHOR_MS - SPAN_MS + ((i * 7_919_993_311) % slack);
  return {
    organizationId: orgId(LARGEST_ORG_RANK),
    statuses: ['completed'],
    currencies: CURRENCIES.map((c) => c.code),
    from: new Date(fromMs).toISOString(),
    to: new Date(fromMs + 7 * DAY_MS).toISOString(),
    size: 20,
  };
}

/** Variant i of the stats: a 30-day window with ragged (not day-aligned) ends, sliding over the year. */
export function statsVariant(cls: SizeClass, i: number): StatsQuery {
  const rank = cls === 'largest' ? LARGEST_ORG_RANK : MID_ORG_RANKS[i % MID_ORG_RANKS.length];
  const slack = SPAN_MS - 30 * DAY_MS;
  const fromMs = ANCHOR_MS - SPAN_MS + ((i * 7_919_993_311) % slack);
  return {
    organizationId: orgId(rank),
    from: new Date(fromMs).toISOString(),
    to: new Date(fromMs + 30 * DAY_MS).toISOString(),
  };
}

export function searchPath(q: SearchQuery): string {
  const params = new URLSearchParams({ organizationId: q.organizationId, status: q.statuses.join(','), currency: q.currencies.join(',') });
  if (q.minAmount !== undefined) params.set('minAmount', String(q.minAmount));
  if (q.maxAmount !== undefined) params.set('maxAmount', String(q.maxAmount));
  if (q.from !== undefined) params.set('from', q.from);
  if (q.to !== undefined) params.set('to', q.to);
  params.set('sort', '-createdAt');
  params.set('size', String(q.size));
  return `/payments/search?${params.toString()}`;
}

export function statsPath(q: StatsQuery): string {
  const params = new URLSearchParams({ organizationId: q.organizationId, from: q.from, to: q.to });
  return `/payments/stats?${params.toString()}`;
}

function digest(text: string): string {
  return createHash('sha1').update(text).digest('hex').slice(0, 16);
}

export function searchChecksum(a: SearchAnswer): string {
  return digest(`${a.total}|${a.ids.join(',')}`);
}

/** Key order, number-vs-string sums and absent-vs-zero entries do not matter; values do. */
export function statsChecksum(s: StatsAnswer): string {
  const sorted = (r: Record<string, number | string> | undefined) =>
    Object.entries(r ?? {})
      .filter(([, v]) => String(v) !== '0')
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => `${k}=${String(v)}`)
      .join(',');
  return digest(
    [
      `total=${s.total}`,
      `status:${sorted(s.byStatus)}`,
      `count:${sorted(s.byCurrency)}`,
      `amount:${sorted(s.amountByCurrency)}`,
      `refunded:${sorted(s.refundedAmountByCurrency)}`,
    ].join('|'),
  );
}

/** The baselines' stats: a plain loop over the payments that match (written for clarity). */
export function foldStats(payments: Iterable<Payment>, keep: (p: Payment) => boolean = () => true): StatsAnswer {
  const out: StatsAnswer = {
    total: 0,
    byStatus: { pending: 0, completed: 0, failed: 0, refunded: 0 },
    byCurrency: {},
    amountByCurrency: {},
    refundedAmountByCurrency: {},
  };
  for (const p of payments) {
    if (!keep(p)) continue;
    out.total += 1;
    out.byStatus[p.status] += 1;
    out.byCurrency[p.currency] = (out.byCurrency[p.currency] ?? 0) + 1;
    out.amountByCurrency[p.currency] = ((out.amountByCurrency[p.currency] as number) ?? 0) + p.amount;
    out.refundedAmountByCurrency[p.currency] =
      ((out.refundedAmountByCurrency[p.currency] as number) ?? 0) + p.refundedAmount;
  }
  return out;
}

/**
 * The shapes of issue 18 that the daily aggregates cannot answer, as HTTP paths: each reads
 * the largest organization's or every organization's payments one by one (an amount bound, an
 * hour series, a page deep in the results). Variant i shifts the amount bound, so that no two
 * consecutive requests are the same query.
 */
export interface SlowShape {
  label: string;
  path(i: number): string;
}

const ELEVEN_MONTHS = { from: new Date(ANCHOR_MS - 335 * DAY_MS).toISOString(), to: new Date(ANCHOR_MS).toISOString() };
const LAST_30_DAYS = { from: new Date(ANCHOR_MS - 30 * DAY_MS).toISOString(), to: new Date(ANCHOR_MS).toISOString() };

export const SLOW_SHAPES: SlowShape[] = [
  {
    label: 'stats, largest org, minAmount, day series over 11 months',
    path: (i) => `/payments/stats?${new URLSearchParams({ organizationId: orgId(LARGEST_ORG_RANK), minAmount: String(1000 + (i % 1000)), ...ELEVEN_MONTHS, interval: 'day' })}`,
  },
  { label: 'stats, all orgs, minAmount', path: (i) => `/payments/stats?${new URLSearchParams({ minAmount: String(1000 + (i % 1000)) })}` },
  {
    label: 'stats, all orgs, amount range, hour series over 30 days',
    path: (i) => `/payments/stats?${new URLSearchParams({ minAmount: String(1000 + (i % 1000)), maxAmount: '900000', ...LAST_30_DAYS, interval: 'hour' })}`,
  },
  {
    label: 'search, all orgs, amount range, page 50',
    path: (i) => `/payments/search?${new URLSearchParams({ minAmount: String(100_000 + (i % 1000)), maxAmount: '500000', sort: '-createdAt', size: '20', page: '50' })}`,
  },
  {
    label: 'search, all orgs, amount range, by amount, page 0',
    path: (i) => `/payments/search?${new URLSearchParams({ minAmount: String(100_000 + (i % 1000)), maxAmount: '500000', sort: 'amount', size: '20' })}`,
  },
];
