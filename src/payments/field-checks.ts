import { normalizeIsoTime, parseIsoTime } from '../iso-time';
import { CREATED_AT_MAX_FUTURE_MS, METADATA_KEY_MAX_LENGTH, METADATA_MAX_KEYS, METADATA_VALUE_MAX_LENGTH } from './payment';

/*
 * The checks and transforms the DTOs' decorators and their fast paths (CreatePaymentDto.fast,
 * query-checks.ts) share, so that both paths apply one rule.
 */

export const CURRENCY_PATTERN = /^[A-Z]{3}$/;
export const PAYMENT_ID_PATTERN = /^[A-Za-z0-9_.:-]+$/;

/** Keys that are refused anywhere: in a JavaScript object they can reach a prototype. */
const PROTOTYPE_KEYS = ['__proto__', 'constructor', 'prototype'];

export function isMetadata(value: unknown): boolean {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const entries = Object.entries(value);
  return (
    entries.length <= METADATA_MAX_KEYS &&
    entries.every(
      ([k, v]) =>
        k.length >= 1 && k.length <= METADATA_KEY_MAX_LENGTH && !PROTOTYPE_KEYS.includes(k) && typeof v === 'string' && v.length <= METADATA_VALUE_MAX_LENGTH,
    )
  );
}

export const isIsoTime = (v: unknown): boolean => typeof v === 'string' && parseIsoTime(v) !== undefined;
export const notFarInFuture = (v: unknown): boolean => typeof v !== 'string' || (parseIsoTime(v) ?? 0) <= Date.now() + CREATED_AT_MAX_FUTURE_MS;

/** Canonical UTC form; leaves anything unparseable as it is for the validator to name. */
export const toIsoTime = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' ? (normalizeIsoTime(value) ?? value) : value;
/** Query strings hold text: whole numbers only become numbers (so `1.5`, `1e3`, `` stay invalid). */
export const toInteger = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' && /^(?!-0+$)-?\d{1,16}$/.test(value) ? Number(value) : value;
/** A comma-separated list parameter as its items (a repeated one arrives as an array already). */
export const toList = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' ? value.split(',').map((v) => v.trim()) : value;
