import fc from 'fast-check';
// Fastify's serializer compiler, as Fastify builds the serializer of a route's response schema
import fastJsonStringify from 'fast-json-stringify';
import { createPayment, Payment, PAYMENT_STATUSES, transition } from '../payments/payment';
import { PAYMENT_FIELDS, PAYMENT_SCHEMA } from './payment.schema';

const serialize = fastJsonStringify(PAYMENT_SCHEMA as object);

const text = fc.oneof(fc.string(), fc.string({ unit: 'grapheme' }), fc.string({ unit: 'binary' }), fc.constantFrom('"', '\\', '\n', '\u2028', '</script>'));
const time = fc.integer({ min: 0, max: Date.UTC(2200, 0, 1) }).map((ms) => new Date(ms).toISOString());

const payment: fc.Arbitrary<Payment> = fc
  .record({
    paymentId: text,
    organizationId: text,
    userId: text,
    amount: fc.integer({ min: 1, max: 99_999_999_999 }),
    currency: fc.constantFrom('EUR', 'USD', 'JPY'),
    description: fc.option(text, { nil: undefined }),
    metadata: fc.option(fc.dictionary(text, text, { maxKeys: 5 }), { nil: undefined }),
    createdAt: time,
    now: time,
    events: fc.array(fc.constantFrom('PaymentProcessed', 'PaymentFailed', 'PaymentRefunded') , { maxLength: 3 }),
    refund: fc.integer({ min: 1, max: 5 }),
  })
  .map((r) => {
    let p = createPayment(r, r.paymentId, r.now);
    for (const type of r.events) {
      try {
        p = transition(p, { type, occurredAt: r.now, error: type === 'PaymentFailed' ? 'card_declined' : undefined, refundAmount: type === 'PaymentRefunded' ? Math.min(r.refund, p.amount) : undefined }, r.now);
      } catch {
        // a transition the state machine refuses: keep the payment as it is
      }
    }
    return p;
  });

describe('PAYMENT_SCHEMA (the response serializer of the payment routes)', () => {
  it('names every field of a payment, in the order createPayment writes them', () => {
    const p = createPayment({ organizationId: 'o', userId: 'u', amount: 1, currency: 'EUR' }, 'p', new Date(0).toISOString());
    expect(PAYMENT_FIELDS).toEqual(Object.keys(p));
  });

  it('writes the same bytes as JSON.stringify for any payment', () => {
    fc.assert(
      fc.property(payment, (p) => {
        expect(serialize(p)).toBe(JSON.stringify(p));
      }),
      { numRuns: 2000 },
    );
    expect(PAYMENT_STATUSES.length).toBe(4);
  });
});
