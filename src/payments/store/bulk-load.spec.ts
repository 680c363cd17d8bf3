import fc from 'fast-check';
import { AppConfig } from '../../config';
import { timeMs } from '../../iso-time';
import { Payment, PAYMENT_STATUSES } from '../payment';
import type { LoadedPayment } from './bulk-load';
import { PaymentStore } from './payment.store';
import { SortedIndexView } from './sorted.index';
import { FC_SEED } from '../../../test/fc-seed';

/**
 * The bulk load (beginBulkLoad, appendLoaded, endBulkLoad) against the store's ordinary path:
 * the same payments applied one by one with applyCommitted must leave the same store, seen
 * through everything that answers a request: payments, indexes and their order, capacity
 * estimates, versions.
 */

const config = () => new AppConfig({ databaseUrl: 'postgres://unused/db', cacheTtlSeconds: 0 });

const CANONICAL = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** A payment as a reader hands it over, with its keys as PaymentCopyDecoder numbers them. */
function loaded(p: Payment, keys: Map<string, number>): LoadedPayment {
  const key = (kind: string, value: string) => {
    const k = `${kind}:${value}`;
    if (!keys.has(k)) keys.set(k, [...keys.keys()].filter((x) => x.startsWith(`${kind}:`)).length);
    return keys.get(k)!;
  };
  const times = [p.createdAt, p.updatedAt, p.completedAt, p.failedAt, p.refundedAt];
  const ascii = [...p.paymentId].every((c) => c.charCodeAt(0) < 0x80);
  const msOf = (t: string | null) => (t === null ? NaN : timeMs(t));
  // an ASCII id comes as its bytes (at an offset of a larger buffer) every other time, as its string else
  const bytes = ascii && p.paymentId.length % 2 === 0 ? Buffer.from(`<<${p.paymentId}>>`, 'latin1') : undefined;
  return {
    ...p,
    createdAtMs: timeMs(p.createdAt),
    updatedAtMs: msOf(p.updatedAt),
    completedAtMs: msOf(p.completedAt),
    failedAtMs: msOf(p.failedAt),
    refundedAtMs: msOf(p.refundedAt),
    idBytes: bytes,
    idStart: 2,
    idEnd: 2 + p.paymentId.length,
    statusCode: PAYMENT_STATUSES.indexOf(p.status),
    canonical: ascii && times.every((t) => t === null || CANONICAL.test(t)),
    organizationKey: key('org', p.organizationId),
    // a reader may not number a value (too many distinct ones): -1
    userKey: p.userId.endsWith('9') ? -1 : key('user', p.userId),
    currencyKey: key('currency', p.currency),
  };
}

const time = fc.oneof(
  fc.integer({ min: 1_767_225_600_000, max: 1_767_225_600_000 + 5_000 }).map((ms) => new Date(ms).toISOString()), // many ties
  fc.constantFrom('2026-03-01T12:00:00+02:00', '2026-03-01T10:00:00.000Z', '0001-01-01T00:00:00.000Z'),
);
const payment: fc.Arbitrary<Payment> = fc
  .record({
    paymentId: fc.oneof(fc.constantFrom('pay_0001', 'pay_0002', 'pay_00010', 'a', 'ab', 'é-1', 'pay_\u0100'), fc.stringMatching(/^[a-f0-9]{1,8}$/)),
    organizationId: fc.constantFrom('org-a', 'org-b', 'org-c'),
    userId: fc.constantFrom('u1', 'u2', 'u9', 'ü3'),
    amount: fc.oneof(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 2 ** 40 })),
    currency: fc.constantFrom('EUR', 'JPY'),
    status: fc.constantFrom(...PAYMENT_STATUSES),
    description: fc.option(fc.string({ maxLength: 20 })),
    metadata: fc.oneof(fc.constant({}), fc.dictionary(fc.string({ minLength: 1, maxLength: 4 }), fc.string({ maxLength: 6 }))),
    error: fc.option(fc.constantFrom('card_declined', 'insufficient_funds')),
    createdAt: time,
    updatedAt: time,
    completedAt: fc.option(time),
    failedAt: fc.option(time),
    refundedAt: fc.option(time),
    version: fc.integer({ min: 1, max: 9 }),
  })
  .map((p) => ({ ...p, refundedAmount: p.status === 'refunded' ? Math.ceil(p.amount / 2) : 0 }) as Payment);

/** Payments with distinct (organization, paymentId), as one snapshot of the table holds them. */
const table = fc.uniqueArray(payment, { selector: (p) => `${p.organizationId}/${p.paymentId}`, maxLength: 120 });

function walk(index: SortedIndexView | undefined, store: PaymentStore): string[] {
  const out: string[] = [];
  index?.walk(false, undefined, (row) => {
    const p = store.row(row);
    out.push(`${p.organizationId}/${p.paymentId}`);
    return true;
  });
  return out;
}

/** Everything a request can see of a store. */
function view(store: PaymentStore, payments: Payment[]) {
  const orgs = [...new Set(payments.map((p) => p.organizationId))];
  const ix = store.indexes;
  return {
    size: store.size,
    payments: [...store.payments()].sort((a, b) => (`${a.organizationId}/${a.paymentId}` < `${b.organizationId}/${b.paymentId}` ? -1 : 1)),
    byId: payments.map((p) => store.withId(p.paymentId).length),
    amount: walk(ix.amount, store),
    createdAt: walk(ix.createdAt, store),
    perOrganization: orgs.map((org) => walk(ix.createdAtIndexOf(store.dictionaries.organization.find(org)), store)),
    indexes: store.describeIndexes(),
    perOrganizationIndexes: orgs.map((org) => store.describeIndexes(org)),
    bytes: store.capacity.bytes,
    usage: orgs.map((org) => store.capacity.usageOf(org)),
    version: store.version,
    versions: orgs.map((org) => store.versionOf(org)),
    aggregates: orgs.map((org) => {
      const totals: number[] = [];
      store.aggregates.forEachCell(store.dictionaries.organization.find(org), -1e9, 1e9, (...cell: number[]) => totals.push(...cell));
      return totals;
    }),
  };
}

describe('PaymentStore bulk load', () => {
  it('leaves the store that applying each payment leaves', () => {
    fc.assert(
      fc.property(table, (payments) => {
        const applied = new PaymentStore(config());
        for (const p of payments) applied.applyCommitted(p);
        const bulk = new PaymentStore(config());
        expect(bulk.beginBulkLoad(payments.length)).toBe(true);
        const keys = new Map<string, number>();
        for (const p of payments) bulk.appendLoaded(loaded(p, keys));
        bulk.endBulkLoad();
        expect(view(bulk, payments)).toEqual(view(applied, payments));
      }),
      { seed: FC_SEED, numRuns: 200 },
    );
  });

  it('builds the same store in steps (endBulkLoadSteps, the event loop free between two) as in one go', () => {
    fc.assert(
      fc.property(table, (payments) => {
        const [whole, stepped] = [new PaymentStore(config()), new PaymentStore(config())];
        const keys = [new Map<string, number>(), new Map<string, number>()];
        [whole, stepped].forEach((store, i) => {
          store.beginBulkLoad(payments.length);
          for (const p of payments) store.appendLoaded(loaded(p, keys[i]));
        });
        whole.endBulkLoad();
        const steps = stepped.endBulkLoadSteps();
        let taken = 0;
        while (!steps.next().done) taken++;
        expect(taken).toBe(8);
        expect([...stepped.endBulkLoadSteps()]).toEqual([]); // once done, nothing is left to do
        expect(view(stepped, payments)).toEqual(view(whole, payments));
      }),
      { seed: FC_SEED, numRuns: 50 },
    );
  });

  it('orders ties by paymentId, then organization, whatever the prefixes of the ids', () => {
    const ids = ['pay_00010', 'pay_0001', 'pay_00011', 'pay_0002', 'pay_0001', 'pay_', 'pay_000', 'é', '\u0100x', 'pay_0001\u0100'];
    const payments = ids.map(
      (paymentId, i) =>
        ({
          paymentId,
          organizationId: i === 4 ? 'org-a' : 'org-b',
          userId: 'u1',
          amount: 7,
          currency: 'EUR',
          status: 'pending',
          description: null,
          metadata: {},
          refundedAmount: 0,
          error: null,
          createdAt: '2026-03-01T12:00:00.000Z',
          updatedAt: '2026-03-01T12:00:00.000Z',
          completedAt: null,
          failedAt: null,
          refundedAt: null,
          version: 1,
        }) as Payment,
    );
    const bulk = new PaymentStore(config());
    bulk.beginBulkLoad();
    const keys = new Map<string, number>();
    for (const p of payments) bulk.appendLoaded(loaded(p, keys));
    bulk.endBulkLoad();
    const want = payments
      .map((p) => ({ id: p.paymentId, org: p.organizationId }))
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : a.org < b.org ? -1 : 1))
      .map((p) => `${p.org}/${p.id}`);
    expect(walk(bulk.indexes.amount, bulk)).toEqual(want);
    expect(walk(bulk.indexes.createdAt, bulk)).toEqual(want);
  });

  it('refuses a payment it already holds, and one outside a bulk load, changing nothing', () => {
    const [p] = fc.sample(payment, { seed: 1, numRuns: 1 });
    const store = new PaymentStore(config());
    const keys = new Map<string, number>();
    expect(() => store.appendLoaded(loaded(p, keys))).toThrow(/not in a bulk load/);
    store.beginBulkLoad();
    store.appendLoaded(loaded(p, keys));
    expect(() => store.appendLoaded(loaded({ ...p, amount: p.amount + 1 }, keys))).toThrow(/already stored/);
    expect(() => store.appendLoaded(loaded({ ...p, organizationId: 'org-z', createdAt: 'not a time' }, keys))).toThrow(/not a time/);
    // the row a refused payment took is given back: the next one takes it, with its own id
    const q = { ...p, paymentId: `${p.paymentId}-next`, organizationId: 'org-z' };
    store.appendLoaded(loaded(q, keys));
    store.endBulkLoad();
    expect(store.size).toBe(2);
    expect([...store.payments()]).toEqual([p, q]);
    expect(store.withId(q.paymentId)).toEqual([q]);
    expect(store.withId(p.paymentId)).toEqual([p]);
    expect(store.beginBulkLoad()).toBe(false);
  });

  it('mixes with applyCommitted during the load (a rebuild copies rows it already holds)', () => {
    fc.assert(
      fc.property(table, fc.nat(), (payments, split) => {
        const cut = payments.length === 0 ? 0 : split % payments.length;
        const applied = new PaymentStore(config());
        for (const p of payments) applied.applyCommitted(p);
        const mixed = new PaymentStore(config());
        mixed.beginBulkLoad();
        for (const p of payments.slice(0, cut)) mixed.applyCommitted(p);
        const keys = new Map<string, number>();
        for (const p of payments.slice(cut)) mixed.appendLoaded(loaded(p, keys));
        mixed.endBulkLoad();
        expect(view(mixed, payments)).toEqual(view(applied, payments));
      }),
      { seed: FC_SEED, numRuns: 100 },
    );
  });
});
