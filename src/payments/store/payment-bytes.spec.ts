import { createPayment, NewPayment, transition } from '../payment';
import {
  eventIdBytes,
  EVENT_ID_BYTES,
  grownBytes,
  MAP_ENTRY_BYTES,
  METADATA_ENTRY_BYTES,
  METADATA_OBJECT_BYTES,
  NEW_ORGANIZATION_BYTES,
  NEW_USER_BYTES,
  paymentBytes,
  stringBytes,
  TIME_TEXT_BYTES,
} from './payment-bytes';

const NOW = '2026-03-01T12:00:00.000Z';
const small: NewPayment = { organizationId: 'org-a', userId: 'u1', amount: 1_000, currency: 'EUR' };

/** The largest payment the API takes: 64-char ids, description 1,000, 50 metadata entries of 40 + 500 chars. */
function largest(char: string) {
  const metadata: Record<string, string> = {};
  for (let k = 0; k < 50; k++) metadata[`k${k}`.padEnd(40, '-')] = char.repeat(500);
  const input: NewPayment = { organizationId: 'o'.repeat(64), userId: 'u'.repeat(64), amount: 1, currency: 'EUR', description: char.repeat(1000), metadata };
  return createPayment(input, 'p'.repeat(64), NOW);
}

describe('stringBytes', () => {
  it('counts a 16-byte header and one byte per Latin-1 character, 8-byte aligned', () => {
    expect(stringBytes('')).toBe(16);
    expect(stringBytes('a')).toBe(24);
    expect(stringBytes('a'.repeat(8))).toBe(24);
    expect(stringBytes('a'.repeat(9))).toBe(32);
    expect(stringBytes('é'.repeat(8))).toBe(24);
  });

  it('counts two bytes per character when any one is outside Latin-1', () => {
    expect(stringBytes('€')).toBe(24);
    expect(stringBytes('€'.repeat(5))).toBe(32);
    expect(stringBytes(`${'a'.repeat(499)}€`)).toBe(16 + 1000);
    expect(stringBytes('😀')).toBe(24); // a surrogate pair: two UTF-16 units
  });
});

describe('paymentBytes', () => {
  const empty = createPayment(small, 'p1', NOW);

  it('grows by exactly the bytes of a description, and of each metadata entry with its own cost', () => {
    const described = createPayment({ ...small, description: 'x'.repeat(100) }, 'p1', NOW);
    const withMetadata = createPayment({ ...small, metadata: { source: 'web', order: '€12' } }, 'p1', NOW);

    expect(paymentBytes(described) - paymentBytes(empty)).toBe(MAP_ENTRY_BYTES + stringBytes('x'.repeat(100)));
    expect(paymentBytes(withMetadata) - paymentBytes(empty)).toBe(
      MAP_ENTRY_BYTES + METADATA_OBJECT_BYTES + 2 * METADATA_ENTRY_BYTES + stringBytes('source') + stringBytes('web') + stringBytes('order') + stringBytes('€12'),
    );
  });

  it('grows with its paymentId, a byte per character, and not with the ids the dictionaries hold once', () => {
    const longIds = createPayment({ ...small, organizationId: 'o'.repeat(64), userId: 'u'.repeat(64) }, 'p'.repeat(64), NOW);
    const wideId = createPayment(small, 'p€', NOW);

    expect(paymentBytes(longIds) - paymentBytes(empty)).toBe(64 - 'p1'.length);
    expect(paymentBytes(wideId) - paymentBytes(empty)).toBe(MAP_ENTRY_BYTES + stringBytes('p€') - 'p1'.length);
  });

  it('counts canonical times in their columns, other time texts as kept, and the error of a failure', () => {
    const completed = transition(empty, { type: 'PaymentProcessed', occurredAt: NOW }, NOW);
    const refunded = transition(completed, { type: 'PaymentRefunded', occurredAt: '2026-03-01T13:00:00+01:00' }, NOW);
    const failed = transition(empty, { type: 'PaymentFailed', occurredAt: NOW, error: 'card declined' }, NOW);
    const writtenOtherwise = createPayment({ ...small, createdAt: '2026-03-01T12:00:00Z' }, 'p1', NOW);

    expect(paymentBytes(completed)).toBe(paymentBytes(empty));
    expect(paymentBytes(refunded) - paymentBytes(completed)).toBe(TIME_TEXT_BYTES + stringBytes('2026-03-01T13:00:00+01:00'));
    expect(paymentBytes(failed) - paymentBytes(empty)).toBe(MAP_ENTRY_BYTES + stringBytes('card declined'));
    expect(paymentBytes(writtenOtherwise) - paymentBytes(empty)).toBe(TIME_TEXT_BYTES + stringBytes('2026-03-01T12:00:00Z'));
  });

  it('counts an event id kept beside its string', () => {
    expect(eventIdBytes('evt-1')).toBe(EVENT_ID_BYTES + stringBytes('evt-1'));
  });

  // The most bench/payment-bytes.ts measured in two runs (heap + ArrayBuffers after a full GC, Node 20.20, stored
  // through parse, validation, create and insert, each with an organization and a user of its
  // own): the estimate must stay above it, or a byte budget would let the heap overflow.
  it.each([
    ['Latin-1', 'a', 39_477],
    ['two-byte', '€', 66_358],
  ])('estimates the largest %s payment above the heap it was measured to take', (_text, char, measured) => {
    const estimate = paymentBytes(largest(char)) + NEW_USER_BYTES + NEW_ORGANIZATION_BYTES;

    expect(estimate).toBeGreaterThanOrEqual(measured);
    expect(estimate).toBeLessThan(measured * 1.3);
  });

  it('estimates a small payment above the 129 B measured, and within twice that', () => {
    // 'smallest, one organization, 1,000 users' of bench/payment-bytes.ts: ids of a few characters
    const estimate = paymentBytes(createPayment(small, 'p123456', NOW));

    expect(estimate).toBeGreaterThanOrEqual(129);
    expect(estimate).toBeLessThan(2 * 129);
  });
});

describe('grownBytes', () => {
  it('is what paymentBytes says an event added, from the lifecycle fields alone, and re-reads everything when more changed', () => {
    const big = largest('x');
    const completed = transition(big, { type: 'PaymentProcessed', occurredAt: NOW }, NOW);
    const refunded = transition(completed, { type: 'PaymentRefunded', occurredAt: NOW, refundAmount: 1 }, NOW);
    const failed = transition(big, { type: 'PaymentFailed', occurredAt: NOW, error: 'card declined: «do not honour»' }, NOW);
    for (const [before, after] of [[big, completed], [completed, refunded], [big, failed], [failed, failed]]) {
      expect(grownBytes(before, after)).toBe(paymentBytes(after) - paymentBytes(before));
    }
    const reloaded = { ...completed, metadata: { ...completed.metadata, extra: 'v' } }; // as a reload may bring
    expect(grownBytes(completed, reloaded)).toBe(paymentBytes(reloaded) - paymentBytes(completed));
  });
});
