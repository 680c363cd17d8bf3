import { PAYMENT_STATUSES } from '../payment';
import { ColumnDictionariesView, NOT_FOUND } from './columns';
import { PaymentFilter } from '../payment-filter';
import { timeMs } from '../../iso-time';

/**
 * FilterParams.org and .user when the filter puts no condition on that field. A condition is a
 * code (>= 0), so `>= 0` asks "is there one"; a value no row holds (NOT_FOUND) never gets here:
 * filterParams() answers null instead.
 */
export const ANY_CODE = -2;

/** A filter with its strings resolved to column codes (org and user: a code, or ANY_CODE). */
export interface FilterParams {
  org: number;
  user: number;
  statusMask: number;
  currencies: Uint8Array | undefined;
  minAmount: number;
  maxAmount: number;
  from: number;
  to: number;
}

/** Resolves a filter against the dictionaries; null when it can match nothing. */
export function filterParams(f: PaymentFilter, dicts: ColumnDictionariesView): FilterParams | null {
  const org = f.organizationId === undefined ? ANY_CODE : dicts.organization.find(f.organizationId);
  const user = f.userId === undefined ? ANY_CODE : dicts.user.find(f.userId);
  if (org === NOT_FOUND || user === NOT_FOUND) return null;
  let statusMask = 0;
  for (const s of f.statuses ?? PAYMENT_STATUSES) statusMask |= 1 << PAYMENT_STATUSES.indexOf(s);
  let currencies: Uint8Array | undefined;
  if (f.currencies !== undefined) {
    currencies = new Uint8Array(Math.max(1, dicts.currency.size));
    let any = false;
    for (const c of f.currencies) {
      const code = dicts.currency.find(c);
      if (code >= 0) {
        currencies[code] = 1;
        any = true;
      }
    }
    if (!any) return null;
  }
  return {
    org,
    user,
    statusMask,
    currencies,
    minAmount: f.minAmount ?? -Infinity,
    maxAmount: f.maxAmount ?? Infinity,
    from: f.from === undefined ? -Infinity : timeMs(f.from),
    to: f.to === undefined ? Infinity : timeMs(f.to),
  };
}
