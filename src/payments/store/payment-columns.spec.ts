import fc from 'fast-check';
import { timeMs } from '../../iso-time';
import { createPayment, Payment, transition } from '../payment';
import { hashString } from './id-table';
import { IndexedFields, PaymentColumns } from './payment-columns';
import { tiePrefix } from './radix-sort';

const NOW = '2026-03-01T12:00:00.000Z';

/** What the store passes back in from its cells and dictionaries. */
function indexed(p: Payment): IndexedFields {
  return {
    organizationId: p.organizationId,
    userId: p.userId,
    amount: p.amount,
    currency: p.currency,
    status: p.status,
    refundedAmount: p.refundedAmount,
    createdAtMs: timeMs(p.createdAt),
  };
}

const idChars = fc.constantFrom(...'abcXYZ019_.:-'.split(''), 'é', 'ÿ', '€', '😀');
const id = fc.string({ unit: idChars, minLength: 1, maxLength: 64 });
/** The same instant as canonical text or as another valid ISO form the API takes. */
const time = fc.tuple(fc.integer({ min: Date.parse('2000-01-01T00:00:00Z'), max: Date.parse('2030-01-01T00:00:00Z') }), fc.boolean()).map(([ms, canonical]) => {
  const iso = new Date(ms).toISOString();
  return canonical ? iso : `${iso.slice(0, 19)}+00:00`;
});
const payment = fc
  .record({
    paymentId: id,
    description: fc.option(fc.string({ maxLength: 30 })),
    metadata: fc.option(fc.dictionary(fc.string({ minLength: 1, maxLength: 5 }), fc.string({ maxLength: 10 }), { maxKeys: 3 })),
    createdAt: time,
    updatedAt: time,
    outcome: fc.constantFrom('pending', 'completed', 'failed', 'refunded'),
    eventAt: time,
    error: fc.string({ minLength: 1, maxLength: 20 }),
  })
  .map((r) => {
    let p = createPayment({ organizationId: 'org', userId: 'u', amount: 100, currency: 'EUR', description: r.description, metadata: r.metadata, createdAt: r.createdAt }, r.paymentId, r.updatedAt);
    if (r.outcome === 'failed') p = transition(p, { type: 'PaymentFailed', occurredAt: r.eventAt, error: r.error }, r.updatedAt);
    if (r.outcome === 'completed' || r.outcome === 'refunded') p = transition(p, { type: 'PaymentProcessed', occurredAt: r.eventAt }, r.updatedAt);
    if (r.outcome === 'refunded') p = transition(p, { type: 'PaymentRefunded', occurredAt: r.eventAt, refundAmount: 7 }, NOW);
    return p;
  });

describe('PaymentColumns', () => {
  it('gives back every payment field for field: ids of any text, time texts as written, description, metadata and error', () => {
    fc.assert(
      fc.property(fc.array(payment, { minLength: 1, maxLength: 40 }), (payments) => {
        const columns = new PaymentColumns();
        payments.forEach((p, row) => expect(columns.append(p)).toBe(row));
        expect(columns.size).toBe(payments.length);
        payments.forEach((p, row) => {
          const built = columns.payment(row, indexed(p));
          expect(built).toStrictEqual(p);
          expect(Object.isFrozen(built)).toBe(true);
          expect(columns.paymentId(row)).toBe(p.paymentId);
          expect(columns.version(row)).toBe(p.version);
        });
      }),
      { numRuns: 300 },
    );
  });

  it('rewrites what an update changes, and drops a kept text once the time is canonical again', () => {
    fc.assert(
      fc.property(payment, payment, (first, later) => {
        const columns = new PaymentColumns();
        columns.append(first);
        // the same payment (id, createdAt) in another state: the store only passes such updates
        const next: Payment = { ...later, paymentId: first.paymentId, createdAt: first.createdAt, version: first.version + 1 };
        columns.update(0, next);
        expect(columns.payment(0, indexed(next))).toStrictEqual(next);
        const canonical: Payment = { ...next, updatedAt: NOW, completedAt: null, failedAt: null, refundedAt: null, error: null, description: null, metadata: {} };
        columns.update(0, canonical);
        expect(columns.payment(0, indexed(canonical))).toStrictEqual(canonical);
      }),
      { numRuns: 300 },
    );
  });

  it('compares, matches and hashes paymentIds from their bytes exactly as the strings would', () => {
    fc.assert(
      fc.property(fc.array(id, { minLength: 2, maxLength: 30 }), (ids) => {
        const columns = new PaymentColumns();
        for (const paymentId of ids) columns.append(createPayment({ organizationId: 'o', userId: 'u', amount: 1, currency: 'EUR' }, paymentId, NOW));
        ids.forEach((a, i) => {
          expect(columns.hashOf(i)).toBe(hashString(a));
          ids.forEach((b, j) => {
            expect(Math.sign(columns.compareIds(i, j))).toBe(a < b ? -1 : a > b ? 1 : 0);
            expect(columns.idEquals(i, b)).toBe(a === b);
            expect(columns.sameIds(i, j)).toBe(a === b);
          });
          expect(columns.tiePrefix(i)).toBe(tiePrefix(a));
        });
      }),
      { numRuns: 200 },
    );
    const columns = new PaymentColumns();
    for (const paymentId of ['ab', 'abc', 'b', 'a']) columns.append(createPayment({ organizationId: 'o', userId: 'u', amount: 1, currency: 'EUR' }, paymentId, NOW));
    expect(columns.compareIds(0, 1)).toBeLessThan(0); // a prefix sorts first
    expect(columns.compareIds(2, 1)).toBeGreaterThan(0);
    expect(columns.idEquals(0, 'abc')).toBe(false);
  });

  it('dropLast gives the last row back whole: the next append takes its row with nothing of the dropped one', () => {
    const columns = new PaymentColumns();
    const fields = { organizationId: 'o', userId: 'u', amount: 1, currency: 'EUR', status: 'failed' as const, refundedAmount: 0, createdAtMs: Date.parse(NOW) };
    const first = { ...createPayment({ organizationId: 'o', userId: 'u', amount: 1, currency: 'EUR' }, 'first', NOW), status: 'failed' as const };
    columns.append(first);
    const dropped = {
      ...first,
      paymentId: 'dropped-\u20ac', // a wide id, kept as a string
      description: 'gone',
      metadata: { k: 'v' },
      error: 'card_declined',
      updatedAt: '2026-03-01T12:00:00+02:00', // a text kept as written
    };
    columns.append(dropped);
    columns.dropLast();
    expect(columns.size).toBe(1);
    const next = { ...first, paymentId: 'next' };
    expect(columns.append(next)).toBe(1);
    expect(columns.payment(1, fields)).toEqual(next);
    expect(columns.payment(0, fields)).toEqual(first);
    expect(columns.idEquals(1, 'next')).toBe(true);
  });

  it.each([0, 140_000, 1_000_000])('keeps every row through the first chunk growing and across chunks, with no more than one chunk of room (reserved: %d)', (reserved) => {
    const columns = new PaymentColumns();
    columns.reserve(reserved); // chunks made whole at once while the reservation covers them
    const n = 140_000; // past two chunks of 65,536 rows
    const base = Date.parse(NOW);
    for (let i = 0; i < n; i++) {
      const at = new Date(base + i).toISOString();
      columns.append(createPayment({ organizationId: 'o', userId: 'u', amount: 1, currency: 'EUR' }, `pay-${i}`, at));
    }
    for (const row of [0, 1023, 1024, 65_535, 65_536, 131_071, 131_072, n - 1]) {
      const at = new Date(base + row).toISOString();
      expect(columns.paymentId(row)).toBe(`pay-${row}`);
      expect(columns.idEquals(row, `pay-${row}`)).toBe(true);
      expect(columns.payment(row, { organizationId: 'o', userId: 'u', amount: 1, currency: 'EUR', status: 'pending', refundedAmount: 0, createdAtMs: base + row }).updatedAt).toBe(at);
    }
    // three chunks: two full ones (ids trimmed), and the last one's room: 8,928 rows in room for
    // 16,384, or for 65,536 (and 1 MB of ids) when the reservation covered a third whole chunk
    const whole = reserved >= 3 * 65_536;
    const idBytes = Array.from({ length: n }, (_, i) => `pay-${i}`.length).reduce((a, b) => a + b, 0);
    expect(columns.bytes).toBeGreaterThanOrEqual(idBytes + n * 40);
    expect(columns.bytes).toBeLessThan(idBytes + (n + (whole ? 65_536 : 8192)) * 40 + (whole ? 65_536 * 16 : 65_536));
  });
});
