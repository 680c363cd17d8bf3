import { Body, uniqueId } from './e2e-helpers';

/** `text` repeated and cut to `length` characters. */
function sized(text: string, length: number): string {
  return text.repeat(Math.ceil(length / text.length)).slice(0, length);
}

/**
 * The largest create body the API takes: 64-character ids, a 1,000-character description and
 * 50 metadata entries of a 40-character key and a 500-character value (about 28 KB of JSON).
 * Keys and values are of this payment's own, as a hostile client would send them.
 */
export function largestPaymentBody(organizationId: string, userId = sized(uniqueId('user'), 64)): Body {
  const paymentId = sized(`${uniqueId('pay')}-`, 64);
  const metadata: Record<string, string> = {};
  for (let k = 0; k < 50; k++) metadata[sized(`${k}-${paymentId}`, 40)] = sized(`${k}:${paymentId}:`, 500);
  return { paymentId, organizationId, userId, amount: 10_000, currency: 'EUR', description: sized(`${paymentId} `, 1000), metadata };
}

/** An organizationId of the longest length, 64 characters. */
export function longOrganizationId(prefix = 'org'): string {
  return sized(`${uniqueId(prefix)}-`, 64);
}
