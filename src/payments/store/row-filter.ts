import { PAYMENT_STATUSES } from '../payment';
import { ColumnDictionaries } from './columns';
import { PaymentFilter } from './payment-filter';
import { timeMs } from '../../iso-time';

/** A filter with its strings resolved to column codes; -2 = no condition on that field. */
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
export function filterParams(f: PaymentFilter, dicts: ColumnDictionaries): FilterParams | null {
  const org = f.organizationId === undefined ? -2 : dicts.organization.find(f.organizationId);
  const user = f.userId === undefined ? -2 : dicts.user.find(f.userId);
  if (org === -1 || user === -1) return null;
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
