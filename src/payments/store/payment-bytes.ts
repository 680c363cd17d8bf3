import type { Payment } from '../payment';

/**
 * What a stored payment costs in memory, estimated from its fields: never less than V8 really
 * holds for it, so a byte budget on the sum is one the heap can keep. Calibrated by
 * `bench/payment-bytes.ts`, which stores payments the way the API does (a JSON body parsed,
 * validated, created, inserted) and compares the sum of these estimates with the heap and
 * ArrayBuffer bytes they really took after a full GC, from the smallest payment to the
 * largest (description 1,000, metadata 50 x 40-char keys x 500-char values, 64-char ids), in
 * one-byte and two-byte text. Measured on Node 20.20, estimate / heap: 1.08 for the largest
 * payment in two-byte text (70,892 B estimated, 65,927 measured), 1.15 in Latin-1, 1.24 for a
 * payment of a new organization, 1.34-1.43 for small and typical ones (455 B for the smallest,
 * 339-349 measured). O(length of the payment's text): one regular-expression test per string,
 * about 0.1 µs for a typical payment.
 */

/**
 * The payment object (16 fields), its metadata object and the row's share of every index,
 * column and aggregate, with the slack of arrays that grow by doubling (README, Performance:
 * 437 B per payment in all at 1M for the benchmark's payments, 85 B of it for the indexes).
 */
export const PAYMENT_BYTES = 300;
/** An ISO-8601 time string (createdAt, updatedAt, and each of completedAt, failedAt, refundedAt once set). */
export const TIME_BYTES = 40;
/**
 * One metadata entry beside its two strings: its slot, and its share of the object's hidden
 * class (V8 builds one per distinct set of keys: a payment with keys of its own pays for it).
 */
export const METADATA_ENTRY_BYTES = 160;
/** A userId seen for the first time: its dictionary entry and its posting list. */
export const NEW_USER_BYTES = 512;
/** An organizationId seen for the first time: its dictionary entry, cells, sorted index and aggregates. */
export const NEW_ORGANIZATION_BYTES = 6144;
/** An event id kept to deduplicate redeliveries (memory mode): its entry in the row's set, beside its string. */
export const EVENT_ID_BYTES = 96;

/** A character outside Latin-1 (U+0100 and up: V8 then stores the string in two bytes per character). */
const TWO_BYTE = /[\u0100-\uffff]/;

/**
 * A V8 string: a 16-byte header (map, hash, length: Node's builds have no pointer
 * compression), then one byte per character when all of them are Latin-1, else two; objects
 * are 8-byte aligned.
 */
export function stringBytes(text: string): number {
  const width = TWO_BYTE.test(text) ? 2 : 1;
  return 16 + ((text.length * width + 7) & ~7);
}

/** The estimated bytes of a stored payment itself (not the first-time costs of its user or organization). */
export function paymentBytes(payment: Payment): number {
  let bytes = PAYMENT_BYTES + stringBytes(payment.paymentId) + stringBytes(payment.organizationId) + stringBytes(payment.userId);
  bytes += lifecycleBytes(payment);
  if (payment.description !== null) bytes += stringBytes(payment.description);
  const metadata = payment.metadata;
  for (const key in metadata) bytes += METADATA_ENTRY_BYTES + stringBytes(key) + stringBytes(metadata[key]);
  return bytes;
}

/** The part of paymentBytes that lifecycle events change: the times they set, the failure's error. */
function lifecycleBytes(payment: Payment): number {
  const times = 2 + +(payment.completedAt !== null) + +(payment.failedAt !== null) + +(payment.refundedAt !== null);
  return TIME_BYTES * times + (payment.error === null ? 0 : stringBytes(payment.error));
}

/**
 * paymentBytes(updated) - paymentBytes(current) for a new state of the same payment, reading only
 * what changed: an event changes the lifecycle fields, never the ids, description or metadata
 * (which are then not re-read: up to 100 strings of a large payment, on every event).
 */
export function grownBytes(current: Payment, updated: Payment): number {
  const same =
    updated.metadata === current.metadata &&
    updated.description === current.description &&
    updated.paymentId === current.paymentId &&
    updated.organizationId === current.organizationId &&
    updated.userId === current.userId;
  return same ? lifecycleBytes(updated) - lifecycleBytes(current) : paymentBytes(updated) - paymentBytes(current);
}

/** The estimated bytes of an event id kept for a payment (memory mode). */
export function eventIdBytes(eventId: string): number {
  return EVENT_ID_BYTES + stringBytes(eventId);
}
