import fc from 'fast-check';
// Fastify's serializer compiler, as Fastify builds the serializer of a route's response schema
import fastJsonStringify from 'fast-json-stringify';
import { createPayment, Payment, PAYMENT_STATUSES, transition } from '../payments/payment';
import { AppConfig } from '../config';
import { MetricsService } from '../metrics/metrics.service';
import { QueryCache } from '../payments/queries/query-cache';
import { SearchCalculator } from '../payments/queries/search-calculator';
import { SearchPaymentsHandler } from '../payments/queries/search-payments.handler';
import { SearchPaymentsQuery } from '../payments/queries/search-payments.query';
import { StatsCalculator } from '../payments/queries/stats-calculator';
import { PaymentStore } from '../payments/store/payment.store';
import { PAYMENT_FIELDS, PAYMENT_SCHEMA, SEARCH_RESULT_SCHEMA } from './payment.schema';

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

describe('SEARCH_RESULT_SCHEMA (the response serializer of GET /payments/search)', () => {
  const serializeSearch = fastJsonStringify(SEARCH_RESULT_SCHEMA as object);

  it('names the fields of a search answer, in the order the search handler writes them', async () => {
    const config = new AppConfig({ cacheTtlSeconds: 0 });
    const store = new PaymentStore(config);
    store.insertIfAbsent(createPayment({ organizationId: 'o', userId: 'u', amount: 1, currency: 'EUR' }, 'p1', new Date(0).toISOString()));
    // the cache is off (TTL 0): never reached
    const cache = new QueryCache(store, {} as never, new MetricsService(), config);
    const handler = new SearchPaymentsHandler(cache, new SearchCalculator(store, new StatsCalculator(store)));
    for (const req of [{}, { organizationId: 'o' }, { organizationId: 'nobody' }]) {
      for (const extra of [{}, { page: 3 }]) {
        const answer = await handler.execute(new SearchPaymentsQuery({ filter: req, sort: '-createdAt', size: 1, ...extra }));
        expect(Object.keys(answer)).toEqual(Object.keys(SEARCH_RESULT_SCHEMA.properties));
        expect(serializeSearch(answer)).toBe(JSON.stringify(answer));
      }
    }
  });

  it('writes the same bytes as JSON.stringify for any page of payments', () => {
    fc.assert(
      fc.property(
        fc.array(payment, { maxLength: 5 }),
        fc.nat(),
        fc.nat(),
        fc.integer({ min: 1, max: 100 }),
        fc.option(text, { nil: null }),
        (items, total, page, size, nextCursor) => {
          const answer = { items, total, page, size, nextCursor };
          expect(serializeSearch(answer)).toBe(JSON.stringify(answer));
        },
      ),
      { numRuns: 500 },
    );
  });
});
