import { Payment, PaymentStatus } from './payment';

/**
 * The filters shared by search and stats, all combined with AND. `from`/`to` are ISO-8601
 * UTC strings in `toISOString()` form, so string order is time order; `[from, to)`.
 */
export interface PaymentFilter {
  organizationId?: string;
  userId?: string;
  statuses?: readonly PaymentStatus[];
  currencies?: readonly string[];
  minAmount?: number;
  maxAmount?: number;
  from?: string;
  to?: string;
}

export function matchesFilter(p: Payment, f: PaymentFilter): boolean {
  return (
    (f.organizationId === undefined || p.organizationId === f.organizationId) &&
    (f.userId === undefined || p.userId === f.userId) &&
    (f.statuses === undefined || f.statuses.includes(p.status)) &&
    (f.currencies === undefined || f.currencies.includes(p.currency)) &&
    (f.minAmount === undefined || p.amount >= f.minAmount) &&
    (f.maxAmount === undefined || p.amount <= f.maxAmount) &&
    (f.from === undefined || p.createdAt >= f.from) &&
    (f.to === undefined || p.createdAt < f.to)
  );
}

/** A stable text form of a filter: equal filters give equal strings (cache keys, cursors). */
export function canonicalFilter(f: PaymentFilter): string {
  return JSON.stringify([
    f.organizationId ?? null,
    f.userId ?? null,
    f.statuses ? [...new Set(f.statuses)].sort() : null,
    f.currencies ? [...new Set(f.currencies)].sort() : null,
    f.minAmount ?? null,
    f.maxAmount ?? null,
    f.from ?? null,
    f.to ?? null,
  ]);
}
