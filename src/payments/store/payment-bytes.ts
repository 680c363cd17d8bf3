import { canonicalTimeMs } from '../../iso-time';
import type { Payment } from '../payment';

/**
 * What a stored payment costs in memory, estimated from its fields: never less than V8 really
 * holds for it, so a byte budget on the sum is one the heap can keep. Calibrated by
 * `bench/payment-bytes.ts`, which stores payments the way the API does (a JSON body parsed,
 * validated, created, inserted) and compares the sum of these estimates with the heap and
 * ArrayBuffer bytes they really took after a full GC, from the smallest payment to the
 * largest (description 1,000, metadata 50 x 40-char keys x 500-char values, 64-char ids), in
 * one-byte and two-byte text. Measured on Node 20.20 with the payments in columns (see
 * PaymentColumns), estimate / heap: 1.06 for the largest payment in two-byte text (70,646 B
 * estimated, 66,358 measured), 1.14 in Latin-1, 1.22 for a payment of a new organization,
 * 1.23-1.45 for small and typical ones (159 B for the smallest, 129 measured). O(length of
 * the payment's text): one regular-expression test per string, about 0.1 µs for a typical payment.
 */

/**
 * A payment's share of the store when it has no description, metadata or error and its ids
 * are short: its row in the columns (paymentId offset, four times, version: 40 B) and its
 * share of the cells, indexes and aggregates, with the slack of arrays that grow (README,
 * Performance: about 155 B in all at 1M for the benchmark's payments, which have 36-character
 * ids; 125 B measured by bench/payment-bytes.ts for ids of a few characters).
 */
export const PAYMENT_BYTES = 150;
/** An entry of a sparse per-chunk Map (description, metadata, error, a time's text): its share of the hash table. */
export const MAP_ENTRY_BYTES = 48;
/** A non-empty metadata object beside its entries (header, properties backing store). */
export const METADATA_OBJECT_BYTES = 64;
/** A time kept as text (not canonical, see PaymentColumns): its share of the row's texts object and Map entry. */
export const TIME_TEXT_BYTES = 80;
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

/**
 * The estimated bytes of a stored payment itself (not the first-time costs of its user or
 * organization, whose ids the dictionaries hold once): its paymentId at a byte per character.
 */
export function paymentBytes(payment: Payment): number {
  const id = payment.paymentId;
  let bytes = PAYMENT_BYTES + (TWO_BYTE.test(id) ? MAP_ENTRY_BYTES + stringBytes(id) : id.length);
  bytes += timeTextBytes(payment.createdAt) + lifecycleBytes(payment);
  if (payment.description !== null) bytes += MAP_ENTRY_BYTES + stringBytes(payment.description);
  const metadata = payment.metadata;
  let entries = 0;
  for (const key in metadata) {
    entries += METADATA_ENTRY_BYTES + stringBytes(key) + stringBytes(metadata[key]);
  }
  if (entries > 0) bytes += MAP_ENTRY_BYTES + METADATA_OBJECT_BYTES + entries;
  return bytes;
}

/** The part of paymentBytes that lifecycle events change: times kept as text, the failure's error. */
function lifecycleBytes(payment: Payment): number {
  const texts = timeTextBytes(payment.updatedAt) + timeTextBytes(payment.completedAt) + timeTextBytes(payment.failedAt) + timeTextBytes(payment.refundedAt);
  return texts + (payment.error === null ? 0 : MAP_ENTRY_BYTES + stringBytes(payment.error));
}

/** A time costs nothing beyond its column unless its text is not canonical and is kept (see PaymentColumns). */
function timeTextBytes(text: string | null): number {
  return text === null || canonicalTimeMs(text) !== undefined ? 0 : TIME_TEXT_BYTES + stringBytes(text);
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
