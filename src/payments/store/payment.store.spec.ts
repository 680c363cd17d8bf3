import { AppConfig } from '../../config';
import { AppError, InvalidTransitionError, PaymentIdAmbiguousError, StoreFullError } from '../../errors';
import { createPayment, NewPayment, Payment, PAYMENT_STATUSES, PaymentEvent, transition } from '../payment';
import { PaymentStore } from './payment.store';
import { PaymentFilter } from '../payment-filter';
import { filterParams } from './row-filter';
import { SortedIndexView } from './sorted.index';

/** A small seeded generator, so a failure can be replayed. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const NOW = '2026-03-01T12:00:00.000Z';
const LATER = '2026-03-01T13:00:00.000Z';

const base: NewPayment = { organizationId: 'org-a', userId: 'u1', amount: 1_000, currency: 'EUR', createdAt: NOW };

function payment(id: string, overrides: Partial<NewPayment> = {}): Payment {
  return createPayment({ ...base, ...overrides }, id, NOW);
}

const processed: PaymentEvent = { type: 'PaymentProcessed', occurredAt: LATER };
const failed: PaymentEvent = { type: 'PaymentFailed', occurredAt: LATER, error: 'declined' };
const refundAll: PaymentEvent = { type: 'PaymentRefunded', occurredAt: LATER };

function apply(store: PaymentStore, id: string, event: PaymentEvent, eventId?: string) {
  return store.update(ownerOf(store, id), id, eventId, (p) => transition(p, event, LATER));
}

type HashField = 'organizationId' | 'userId' | 'status' | 'currency';
const HASH_FIELDS: HashField[] = ['organizationId', 'userId', 'status', 'currency'];

/**
 * Checks, through the read-only views only, that every payment of `expected` is in every index
 * exactly once, under its current values, and nothing else is.
 */
/** Payments the cells hold for a filter on organization, status and currency (exact). */
function cellCount(store: PaymentStore, f: PaymentFilter): number {
  const params = filterParams(f, store.dictionaries);
  return params === null ? 0 : store.cells.select(params).reduce((n, c) => n + c.length, 0);
}

function expectIndexesHold(store: PaymentStore, expected: Map<string, Payment>): void {
  const n = expected.size;
  const ix = store.indexes;
  const dicts = store.dictionaries;
  expect(store.size).toBe(n);
  expect(ix.cells.size).toBe(n);

  const rows = Array.from({ length: store.size }, (_, row) => row);
  const rowOf = new Map<string, number>();
  for (const row of rows) {
    const p = store.row(row);
    expect(expected.get(p.paymentId)).toEqual(p);
    expect(store.resolve(p.paymentId, undefined)).toStrictEqual(p);
    rowOf.set(p.paymentId, row);
  }
  expect(rowOf.size).toBe(n);

  // What each index holds, read through its view: value -> rows
  const held: Record<HashField, Map<string, number[]>> = {
    organizationId: new Map(),
    userId: new Map(),
    status: new Map(),
    currency: new Map(),
  };
  const put = (field: HashField, key: string, row: number) => {
    if (!held[field].has(key)) held[field].set(key, []);
    held[field].get(key)!.push(row);
  };
  for (const cell of ix.cells.cells) {
    for (let i = 0; i < cell.length; i++) {
      put('organizationId', dicts.organization.value(cell.org), cell.rows[i]);
      put('status', PAYMENT_STATUSES[cell.status], cell.rows[i]);
      put('currency', dicts.currency.value(cell.currency), cell.rows[i]);
    }
  }
  for (let u = 0; u < dicts.user.size; u++) ix.userId.forEachRow(u, (row) => put('userId', dicts.user.value(u), row));

  const described = store.describeIndexes();
  for (const field of HASH_FIELDS) {
    const want = new Map<string, Set<number>>();
    for (const p of expected.values()) {
      const key = p[field];
      if (!want.has(key)) want.set(key, new Set());
      want.get(key)!.add(rowOf.get(p.paymentId)!);
    }
    expect(described[field]).toBe(want.size);
    let total = 0;
    for (const [key, set] of want) {
      const got = held[field].get(key) ?? [];
      expect(new Set(got)).toEqual(set);
      expect(got).toHaveLength(set.size); // no row twice
      total += got.length;
    }
    // Each row sits under its own value, and the index holds n rows in all: no row is anywhere else.
    expect([...held[field].values()].reduce((k, r) => k + r.length, 0)).toBe(n);
    expect(total).toBe(n);
  }
  for (const org of new Set([...expected.values()].map((p) => p.organizationId))) {
    expect(store.countOf(org)).toBe(held.organizationId.get(org)!.length);
  }

  const sorted: [('amount' | 'createdAt'), (p: Payment) => number][] = [
    ['amount', (p) => p.amount],
    ['createdAt', (p) => Date.parse(p.createdAt)],
  ];
  for (const [field, keyOf] of sorted) {
    const view = ix[field] as SortedIndexView;
    const want = [...expected.values()]
      .sort((a, b) => keyOf(a) - keyOf(b) || (a.paymentId < b.paymentId ? -1 : a.paymentId > b.paymentId ? 1 : 0))
      .map((p) => rowOf.get(p.paymentId)!);
    expect(view.size).toBe(n);
    expect(view.countRange(-Infinity, Infinity)).toBe(n);
    expect([...view.range(-Infinity, Infinity)]).toEqual(want);
    const distinct = new Set([...expected.values()].map(keyOf)).size;
    expect(view.distinctKeys()).toBe(distinct);
    expect(described[field]).toBe(distinct);
  }
  // each organization's own createdAt index: its rows, in the same (createdAt, paymentId) order
  const byTime = [...ix.createdAt.range(-Infinity, Infinity)];
  for (const org of new Set([...expected.values()].map((p) => p.organizationId))) {
    const own = ix.createdAtIndexOf(dicts.organization.find(org))!;
    expect([...own.range(-Infinity, Infinity)]).toEqual(byTime.filter((row) => store.row(row).organizationId === org));
  }
}

describe('PaymentStore', () => {
  let store: PaymentStore;
  beforeEach(() => {
    store = new PaymentStore(new AppConfig());
  });

  it('is empty, loaded and at version 0 at first', () => {
    expect(store.size).toBe(0);
    expect(store.loaded).toBe(true);
    expect(store.version).toBe(0);
    expect(store.versionOf('org-a')).toBe(0);
    expect(store.resolve('nope', undefined)).toBeUndefined();
    expectIndexesHold(store, new Map());
  });

  it('makes a stored payment readable as soon as insertIfAbsent returns', () => {
    const p = payment('p1');
    expect(store.insertIfAbsent(p)).toEqual({ payment: p, created: true });
    expect(store.resolve('p1', undefined)).toStrictEqual(p);
    expect(store.countOf('org-a')).toBe(1);
    expect(store.indexes.amount.countRange(1_000, 1_001)).toBe(1);
  });

  it('keeps every payment in every index exactly once under its current values through random writes', () => {
    const rand = lcg(2026);
    const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)];
    const expected = new Map<string, Payment>();
    const ids: string[] = [];
    let refused = 0;
    for (let op = 0; op < 1500; op++) {
      if (ids.length === 0 || rand() < 0.45) {
        const id = `pay_${Math.floor(rand() * 1e9).toString(36)}_${op}`;
        const p = createPayment(
          {
            organizationId: pick(['org-a', 'org-b', 'org-c']),
            userId: pick(['u1', 'u2', 'u3', 'u4']),
            amount: 1 + Math.floor(rand() * 50) * 100,
            currency: pick(['EUR', 'USD', 'GBP']),
            createdAt: new Date(Date.UTC(2026, 2, 1) + Math.floor(rand() * 500) * 60_000).toISOString(),
          },
          id,
          NOW,
        );
        expect(store.insertIfAbsent(p).created).toBe(true);
        expected.set(id, p);
        ids.push(id);
      } else {
        const id = pick(ids);
        const event = pick<PaymentEvent>([
          processed,
          failed,
          refundAll,
          { type: 'PaymentRefunded', occurredAt: LATER, refundAmount: 1 + Math.floor(rand() * 300) },
        ]);
        try {
          const result = apply(store, id, event);
          expect(result?.applied).toBe(true);
          expected.set(id, result!.payment);
        } catch (e) {
          expect(e).toBeInstanceOf(AppError);
          refused++;
        }
      }
      if (op % 300 === 299) expectIndexesHold(store, expected);
    }
    expectIndexesHold(store, expected);
    // The run saw every status and refused some events, so both paths were exercised.
    expect(store.describeIndexes().status).toBe(4);
    expect(refused).toBeGreaterThan(0);
  });

  describe('insertIfAbsent', () => {
    it('returns the stored payment untouched when the paymentId is taken in its organization, whatever the new fields', () => {
      const first = payment('p1');
      store.insertIfAbsent(first);
      store.insertIfAbsent(payment('p2', { organizationId: 'org-b' }));
      const version = store.version;
      const orgVersion = store.versionOf('org-a');

      const result = store.insertIfAbsent(payment('p1', { userId: 'u9', amount: 7, currency: 'USD' }));

      expect(result.created).toBe(false);
      expect(result.payment).toStrictEqual(first);
      expect(store.resolve('p1', undefined)).toStrictEqual(first);
      expect(store.version).toBe(version);
      expect(store.versionOf('org-a')).toBe(orgVersion);
      expectIndexesHold(store, new Map([['p1', first], ['p2', store.resolve('p2', undefined)!]]));
    });

    it('keeps paymentIds per organization: the same id in another organization is another payment', () => {
      const mine = payment('p1', { organizationId: 'org-a', amount: 500 });
      const theirs = payment('p1', { organizationId: 'org-b', amount: 500, userId: 'u9' });
      store.insertIfAbsent(payment('p0', { organizationId: 'org-b', amount: 500 }));
      store.insertIfAbsent(mine);
      const orgA = store.versionOf('org-a');

      expect(store.insertIfAbsent(theirs)).toEqual({ payment: theirs, created: true });
      expect(store.versionOf('org-a')).toBe(orgA); // org-b's write is not org-a's change
      expect(store.size).toBe(3);
      expect(store.get('org-a', 'p1')).toStrictEqual(mine);
      expect(store.get('org-b', 'p1')).toStrictEqual(theirs);
      expect(store.get('org-c', 'p1')).toBeUndefined();
      expect(store.withId('p1')).toEqual([mine, theirs]);
      expect(store.resolve('p0', undefined)?.organizationId).toBe('org-b');
      expect(() => store.resolve('p1', undefined)).toThrow(PaymentIdAmbiguousError);
      expect(store.insertIfAbsent(payment('p1', { organizationId: 'org-b', amount: 1 }))).toEqual({ payment: theirs, created: false });

      // an event on one organization's payment leaves the other's alone
      const done = store.update('org-b', 'p1', 'e1', (p) => transition(p, processed, LATER))!.payment;
      expect(done.status).toBe('completed');
      expect(store.get('org-a', 'p1')).toStrictEqual(mine);
      expect(store.update('org-a', 'p1', 'e1', (p) => transition(p, failed, LATER))!.applied).toBe(true);

      // equal keys and equal paymentIds: the sorted indexes order them by organization, each once
      const byAmount = [...store.indexes.amount.range(500, 501)].map((row) => store.row(row));
      expect(byAmount.map((p) => `${p.paymentId}/${p.organizationId}`)).toEqual(['p0/org-b', 'p1/org-a', 'p1/org-b']);
      expect(store.applyCommitted({ ...theirs, status: 'refunded', version: 9 })).toBe(true);
      expect(store.get('org-b', 'p1')?.version).toBe(9);
      expect(store.get('org-a', 'p1')?.status).toBe('failed');
    });

    it('returns the current state of an updated payment, not the one first stored', () => {
      store.insertIfAbsent(payment('p1'));
      const updated = apply(store, 'p1', processed)!.payment;
      expect(store.insertIfAbsent(payment('p1')).payment).toStrictEqual(updated);
    });
  });

  describe('update', () => {
    it('replaces the payment and moves it between status sets', () => {
      store.insertIfAbsent(payment('p1'));
      const result = apply(store, 'p1', processed);
      expect(result?.applied).toBe(true);
      expect(result?.payment.status).toBe('completed');
      expect(store.resolve('p1', undefined)).toStrictEqual(result?.payment);
      expect(cellCount(store, { statuses: ['pending'] })).toBe(0);
      expect(cellCount(store, { statuses: ['completed'] })).toBe(1);
    });

    it('returns undefined for an unknown payment and changes nothing', () => {
      store.insertIfAbsent(payment('p1'));
      const next = jest.fn((p: Payment) => p);
      expect(store.update(ownerOf(store, 'nope'), 'nope', 'e1', next)).toBeUndefined();
      expect(next).not.toHaveBeenCalled();
      expect(store.version).toBe(1);
    });

    it('applies an eventId once and ignores its redelivery', () => {
      store.insertIfAbsent(payment('p1'));
      apply(store, 'p1', processed, 'e0');
      const first = apply(store, 'p1', { type: 'PaymentRefunded', occurredAt: LATER, refundAmount: 100 }, 'e1')!;
      expect(first.applied).toBe(true);
      const version = store.version;
      const orgVersion = store.versionOf('org-a');
      const next = jest.fn((p: Payment) => transition(p, { type: 'PaymentRefunded', occurredAt: LATER, refundAmount: 100 }, LATER));

      const again = store.update(ownerOf(store, 'p1'), 'p1', 'e1', next);

      expect(again).toEqual({ payment: first.payment, applied: false });
      expect(again?.payment).toStrictEqual(store.resolve('p1', undefined));
      expect(next).not.toHaveBeenCalled();
      expect(store.resolve('p1', undefined)?.refundedAmount).toBe(100);
      expect(store.version).toBe(version);
      expect(store.versionOf('org-a')).toBe(orgVersion);
    });

    it('remembers eventIds per payment: the same eventId on another payment is applied', () => {
      store.insertIfAbsent(payment('p1'));
      store.insertIfAbsent(payment('p2'));
      expect(apply(store, 'p1', processed, 'shared')?.applied).toBe(true);
      expect(apply(store, 'p2', processed, 'shared')?.applied).toBe(true);
      expect(store.resolve('p2', undefined)?.status).toBe('completed');
    });

    it('applies every update without an eventId', () => {
      store.insertIfAbsent(payment('p1'));
      apply(store, 'p1', processed);
      apply(store, 'p1', { type: 'PaymentRefunded', occurredAt: LATER, refundAmount: 10 });
      apply(store, 'p1', { type: 'PaymentRefunded', occurredAt: LATER, refundAmount: 10 });
      expect(store.resolve('p1', undefined)?.refundedAmount).toBe(20);
    });

    it('changes nothing when the update refuses by throwing', () => {
      const p = payment('p1');
      store.insertIfAbsent(p);
      store.insertIfAbsent(payment('p2', { organizationId: 'org-b' }));
      const version = store.version;
      const orgVersion = store.versionOf('org-a');

      expect(() => apply(store, 'p1', refundAll, 'e1')).toThrow(InvalidTransitionError);

      expect(store.resolve('p1', undefined)).toStrictEqual(p);
      expect(store.version).toBe(version);
      expect(store.versionOf('org-a')).toBe(orgVersion);
      expectIndexesHold(store, new Map([['p1', p], ['p2', store.resolve('p2', undefined)!]]));
    });

    it.each<[string, (p: Payment) => Payment]>([
      ['paymentId', (p) => ({ ...p, paymentId: 'other' })],
      ['organizationId', (p) => ({ ...p, organizationId: 'org-other' })],
      ['userId', (p) => ({ ...p, userId: 'u-other' })],
      ['currency', (p) => ({ ...p, currency: 'USD' })],
      ['amount', (p) => ({ ...p, amount: p.amount + 1 })],
      ['createdAt', (p) => ({ ...p, createdAt: LATER })],
    ])('refuses an update that changes %s and changes nothing', (_field, change) => {
      const p = payment('p1');
      store.insertIfAbsent(p);
      const version = store.version;
      expect(() => store.update(ownerOf(store, 'p1'), 'p1', 'e1', (current) => ({ ...change(current), status: 'completed', version: 2 }))).toThrow();
      expect(store.resolve('p1', undefined)).toStrictEqual(p);
      expect(store.version).toBe(version);
      expectIndexesHold(store, new Map([['p1', p]]));
    });
  });

  describe('versions', () => {
    it('grows version on every write and versionOf(org) on every write in that organization only', () => {
      const seen: [number, number, number][] = [];
      const snap = () => seen.push([store.version, store.versionOf('org-a'), store.versionOf('org-b')]);
      snap();
      store.insertIfAbsent(payment('a1'));
      snap();
      store.insertIfAbsent(payment('b1', { organizationId: 'org-b' }));
      snap();
      apply(store, 'a1', processed);
      snap();
      apply(store, 'b1', failed);
      snap();
      apply(store, 'a1', { type: 'PaymentRefunded', occurredAt: LATER, refundAmount: 1 });
      snap();
      expect(seen).toEqual([
        [0, 0, 0],
        [1, 1, 0],
        [2, 1, 1],
        [3, 2, 1],
        [4, 2, 2],
        [5, 3, 2],
      ]);
    });

    it('does not grow on a replayed insert, a redelivered event, a refused update or an unknown payment', () => {
      store.insertIfAbsent(payment('a1'));
      apply(store, 'a1', processed, 'e1');
      const before = [store.version, store.versionOf('org-a')];
      store.insertIfAbsent(payment('a1'));
      apply(store, 'a1', processed, 'e1');
      expect(() => apply(store, 'a1', processed, 'e2')).toThrow(InvalidTransitionError);
      store.update(ownerOf(store, 'missing'), 'missing', undefined, (p) => p);
      expect([store.version, store.versionOf('org-a')]).toEqual(before);
    });
  });

  describe('capacity', () => {
    it('refuses a payment past maxPayments with a StoreFullError and stores nothing of it', () => {
      const small = new PaymentStore(new AppConfig({ maxPayments: 3, orgMaxPayments: 3 })); // one organization may fill it
      const kept = new Map<string, Payment>();
      for (const id of ['p1', 'p2', 'p3']) {
        const p = payment(id, { amount: id.length * 100 });
        small.insertIfAbsent(p);
        kept.set(id, p);
      }
      const version = small.version;

      let thrown: unknown;
      try {
        small.insertIfAbsent(payment('p4', { organizationId: 'org-new', userId: 'u-new', currency: 'JPY', amount: 9 }));
      } catch (e) {
        thrown = e;
      }

      expect(thrown).toBeInstanceOf(StoreFullError);
      expect((thrown as AppError).code).toBe('STORE_FULL');
      expect((thrown as AppError).status).toBe(507);
      expect(small.resolve('p4', undefined)).toBeUndefined();
      expect(small.version).toBe(version);
      expect(small.versionOf('org-new')).toBe(0);
      expect(cellCount(small, { currencies: ['JPY'] })).toBe(0);
      expectIndexesHold(small, kept);
    });

    it('still answers a retry of a stored payment and still applies events when full', () => {
      const small = new PaymentStore(new AppConfig({ maxPayments: 1 }));
      const p = payment('p1');
      small.insertIfAbsent(p);
      expect(small.insertIfAbsent(payment('p1'))).toEqual({ payment: p, created: false });
      expect(apply(small, 'p1', processed)?.applied).toBe(true);
      expect(() => small.insertIfAbsent(payment('p2'))).toThrow(StoreFullError);
    });
  });
});

describe('PaymentStore as the read model of a primary repository', () => {
  const at = (p: Payment, event: PaymentEvent) => transition(p, event, LATER);

  it('is not loaded until told so when a database is configured', () => {
    const store = new PaymentStore(new AppConfig({ databaseUrl: 'postgres://db/payments' }));
    expect(store.loaded).toBe(false);
    store.markLoaded();
    expect(store.loaded).toBe(true);
  });

  it('applyCommitted inserts, replaces by a newer version only, and keeps every index right in any arrival order', () => {
    const rand = lcg(77);
    const store = new PaymentStore(new AppConfig({ maxPayments: 1 })); // capacity never refuses a committed payment
    const versions = new Map<string, Payment[]>();
    for (let i = 0; i < 60; i++) {
      const v1 = payment(`p${i}`, { organizationId: `org-${i % 3}`, amount: 100 + i, currency: i % 2 ? 'EUR' : 'USD' });
      const chain = [v1];
      if (i % 4 !== 0) chain.push(at(v1, processed));
      if (i % 4 === 1) chain.push(at(chain[1], { type: 'PaymentRefunded', occurredAt: LATER, refundAmount: 10 }));
      if (i % 4 === 1) chain.push(at(chain[2], { type: 'PaymentRefunded', occurredAt: LATER, refundAmount: 5 }));
      versions.set(v1.paymentId, chain);
    }
    // every version of every payment, shuffled, some twice: only the newest may remain
    const deliveries = [...versions.values()].flat().flatMap((p) => (rand() < 0.3 ? [p, p] : [p]));
    for (let i = deliveries.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [deliveries[i], deliveries[j]] = [deliveries[j], deliveries[i]];
    }
    const changed = deliveries.filter((p) => store.applyCommitted(p)).length;
    const newest = new Map([...versions].map(([id, chain]) => [id, chain[chain.length - 1]]));
    expect(store.size).toBe(60);
    for (const [id, p] of newest) expect(store.resolve(id, undefined)).toStrictEqual(p);
    expectIndexesHold(store, newest);
    expect(changed).toBeLessThan(deliveries.length); // stale and repeated deliveries changed nothing
    expect(store.applyCommitted(newest.get('p1')!)).toBe(false);
  });

  it('adopt swaps in a rebuilt state at once, and versions only grow so no cached answer survives', () => {
    const live = new PaymentStore(new AppConfig());
    live.insertIfAbsent(payment('old-a'));
    live.insertIfAbsent(payment('old-b', { organizationId: 'org-b' }));
    const before = { all: live.version, a: live.versionOf('org-a'), b: live.versionOf('org-b') };

    const rebuilt = new PaymentStore(new AppConfig());
    const fresh = payment('new-a', { amount: 7 });
    rebuilt.applyCommitted(fresh);
    rebuilt.applyCommitted(at(payment('new-c', { organizationId: 'org-c' }), failed));
    live.adopt(rebuilt);

    expect(live.resolve('old-a', undefined)).toBeUndefined();
    expect(live.resolve('new-a', undefined)).toStrictEqual(fresh);
    expect(live.size).toBe(2);
    expect(live.countOf('org-a')).toBe(1);
    expect(live.countOf('org-b')).toBe(0);
    expect(cellCount(live, { statuses: ['failed'] })).toBe(1);
    expect(live.version).toBeGreaterThan(before.all);
    expect(live.versionOf('org-a')).toBeGreaterThan(before.a);
    expect(live.versionOf('org-b')).toBeGreaterThan(before.b);
    expect(live.versionOf('org-c')).toBeGreaterThan(0);
    expectIndexesHold(live, new Map([['new-a', fresh], ['new-c', live.resolve('new-c', undefined)!]]));
    // the adopted state keeps taking writes
    live.insertIfAbsent(payment('after'));
    expect(live.countOf('org-a')).toBe(2);
  });
});

describe('PaymentStore bulk load (the load at start)', () => {
  it('builds the sorted indexes at the end exactly as one insert at a time would, ties on amount and createdAt included', () => {
    const rand = lcg(4242);
    const all: Payment[] = [];
    for (let i = 0; i < 3000; i++) {
      const p = payment(`b${Math.floor(rand() * 1e9).toString(36)}-${i}`, {
        organizationId: `org-${i % 7}`,
        amount: 1 + Math.floor(rand() * 50), // many ties: order falls back to paymentId
        createdAt: new Date(Date.UTC(2026, 0, 1) + Math.floor(rand() * 40) * 3_600_000).toISOString(),
      });
      all.push(i % 5 === 0 ? transition(p, processed, LATER) : p);
    }
    const incremental = new PaymentStore(new AppConfig());
    const bulk = new PaymentStore(new AppConfig());
    expect(bulk.beginBulkLoad()).toBe(true);
    expect(bulk.beginBulkLoad()).toBe(false); // already on
    for (const p of all) {
      incremental.applyCommitted(p);
      bulk.applyCommitted(p);
    }
    expect(bulk.indexes.amount.size).toBe(0); // deferred
    bulk.endBulkLoad();

    const expected = new Map(all.map((p) => [p.paymentId, p]));
    expectIndexesHold(bulk, expected);
    for (const [lo, hi] of [[1, 51], [10, 11], [20, 35]]) {
      expect([...bulk.indexes.amount.range(lo, hi)].map((r) => bulk.row(r).paymentId)).toEqual(
        [...incremental.indexes.amount.range(lo, hi)].map((r) => incremental.row(r).paymentId),
      );
    }
    const from = Date.UTC(2026, 0, 2);
    const to = Date.UTC(2026, 0, 3);
    expect([...bulk.indexes.createdAt.range(from, to)].map((r) => bulk.row(r).paymentId)).toEqual(
      [...incremental.indexes.createdAt.range(from, to)].map((r) => incremental.row(r).paymentId),
    );
    // and it takes ordinary writes afterwards
    bulk.insertIfAbsent(payment('after-bulk', { amount: 25 }));
    expectIndexesHold(bulk, new Map([...expected, ['after-bulk', bulk.resolve('after-bulk', undefined)!]]));
  });

  it('does not start on a store that already holds payments', () => {
    const store = new PaymentStore(new AppConfig());
    store.insertIfAbsent(payment('p1'));
    expect(store.beginBulkLoad()).toBe(false);
    store.insertIfAbsent(payment('p2'));
    expect(store.indexes.amount.size).toBe(2);
  });
});

describe('PaymentStore views for the query side', () => {
  it('are the live structures: a view taken before a write sees it, and indexes read after adopt see the adopted state', () => {
    const store = new PaymentStore(new AppConfig());
    const { cells, indexes, dictionaries, aggregates, capacity } = store;
    store.insertIfAbsent(payment('p1', { amount: 500 }));
    expect(cells.size).toBe(1);
    expect(indexes.amount.countRange(500, 501)).toBe(1);
    expect(indexes.userId.count(dictionaries.user.find('u1'))).toBe(1);
    const day: number[] = [];
    aggregates.forEachCell(dictionaries.organization.find('org-a'), -1e9, 1e9, (_ms, _status, _currency, count) => day.push(count));
    expect(day).toEqual([1]);
    expect(capacity.payments).toBe(1);

    const rebuilt = new PaymentStore(new AppConfig());
    rebuilt.applyCommitted(payment('p2', { amount: 9 }));
    store.adopt(rebuilt);
    expect(store.indexes.amount.countRange(9, 10)).toBe(1);
    expect(store.indexes.amount.countRange(500, 501)).toBe(0);
    expect(store.indexes.cells.size).toBe(1);
  });
});

/**
 * The views have no mutators, and the compiler holds them to it: `npm run typecheck` (tsc over
 * src/) compiles this function, never called (ts-jest only transpiles, as tsconfig sets
 * isolatedModules, so jest checks no type). Each line writes through what the store hands out
 * and passes what the concrete class would accept; were a view to expose that mutator, the line
 * would compile, its @ts-expect-error would be unused, and tsc would fail.
 */
// eslint-disable-next-line @typescript-eslint/no-unused-vars -- compiled by tsc, never run: see above
function readersCannotWrite(store: PaymentStore, p: Payment, other: PaymentStore): void {
  // @ts-expect-error readonly: only adopt() swaps the indexes
  store.indexes = other.indexes;
  // @ts-expect-error the store adds a row to its cells as it writes it
  store.cells.add(0, 0, 0, 0, 0, 0, 0, 0);
  // @ts-expect-error the store moves a row between cells as it writes its status
  store.indexes.cells.setStatus(0, 1);
  // @ts-expect-error the store writes refunds
  store.cells.setRefunded(0, 1);
  // @ts-expect-error a bulk load reserves room
  store.cells.reserve(1);
  // @ts-expect-error a cell's fields are PaymentCells' to reassign
  store.cells.cellOf(0).length = 0;
  // @ts-expect-error the same for a cell a filter selects
  store.cells.select({ org: 0, statusMask: 1, currencies: undefined })[0].refunded = undefined;
  // @ts-expect-error the store applies every write to the aggregates
  store.aggregates.apply(1, 0, 0, 0, 0, 0, 0);
  // @ts-expect-error codes are assigned as a row is written
  store.dictionaries.organization.intern('org');
  // @ts-expect-error the same dictionaries through the indexes
  store.indexes.dictionaries.user.intern('user');
  // @ts-expect-error the store adds each row to the userId postings
  store.indexes.userId.add(0, 0);
  // @ts-expect-error the store inserts into the sorted indexes
  store.indexes.amount.insert(0);
  // @ts-expect-error a bulk load builds them
  store.indexes.createdAt.load([0]);
  // @ts-expect-error the same for an organization's own index
  store.indexes.createdAtIndexOf(0)?.clear();
  // @ts-expect-error the store counts what it stores
  store.capacity.add('org', 1, 0);
  // @ts-expect-error admitting is part of a write (a writer elsewhere uses capacityBatch())
  store.capacity.admit(p, false);
}

/** The organization of the only payment `paymentId` in `store` ('' when there is none). */
function ownerOf(store: PaymentStore, paymentId: string): string {
  return store.resolve(paymentId, undefined)?.organizationId ?? '';
}
