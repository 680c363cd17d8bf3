import { isIn, isInt, length, matches, max, min } from 'class-validator';
import { normalizeIsoTime } from '../iso-time';
import { CURRENCY_PATTERN, toInteger, toList } from './field-checks';
import { ID_MAX_LENGTH, PAYMENT_STATUSES } from './payment';

/*
 * The fast path of a query DTO (see DtoStatics.fast): per parameter, the decorators' own checks
 * on the transformed value (class-validator's functions, the same transforms), returning that
 * value, or REFUSED to leave the whole query to the decorators. A parameter without a check
 * here (unknown, or repeated: an array) is left to them as well. payment-query.dto.spec.ts
 * compares this with the decorators on generated queries.
 */

/** What a check answers to leave the whole query to the decorators. */
export const REFUSED = Symbol('refused');
export type QueryCheck = (raw: string) => unknown;
const idText: QueryCheck = (v) => (length(v, 1, ID_MAX_LENGTH) ? v : REFUSED);
export const wholeNumber = (lo: number, hi: number): QueryCheck => (v) => {
  const n = toInteger({ value: v });
  return isInt(n) && min(n, lo) && max(n, hi) ? n : REFUSED;
};
/** toIsoTime + isIsoTime in one parse: a text normalizeIsoTime accepts is canonical and valid. */
const isoTime: QueryCheck = (v) => normalizeIsoTime(v) ?? REFUSED;
const listOf = (ok: (item: string) => boolean): QueryCheck => (v) => {
  const list = toList({ value: v }) as string[];
  return list.every(ok) ? list : REFUSED;
};
export const FILTER_CHECKS: [string, QueryCheck][] = [
  ['organizationId', idText],
  ['userId', idText],
  ['status', listOf((s) => isIn(s, PAYMENT_STATUSES))],
  ['currency', listOf((c) => matches(c, CURRENCY_PATTERN))],
  ['minAmount', wholeNumber(0, Number.MAX_SAFE_INTEGER)],
  ['maxAmount', wholeNumber(0, Number.MAX_SAFE_INTEGER)],
  ['from', isoTime],
  ['to', isoTime],
];

export function fastQuery<T extends object>(cls: new () => T, checks: ReadonlyMap<string, QueryCheck>, query: Readonly<Record<string, unknown>>): T | undefined {
  const dto = new cls();
  const out = dto as Record<string, unknown>;
  for (const key of Object.keys(query)) {
    const check = checks.get(key);
    const raw = query[key];
    if (check === undefined || typeof raw !== 'string') return undefined;
    const value = check(raw);
    if (value === REFUSED) return undefined;
    out[key] = value;
  }
  return dto;
}

/** One of `values`, as sent. */
export const oneOf =
  (values: readonly string[]): QueryCheck =>
  (v) =>
    isIn(v, values) ? v : REFUSED;
