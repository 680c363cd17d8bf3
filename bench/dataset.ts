import { createPayment, Payment, PAYMENT_STATUSES, PaymentEvent, transition } from '../src/payments/payment';
import type { LoadedPayment } from '../src/payments/store/bulk-load';
import { mulberry32 } from '../test/seeded-random';

/**
 * The data set of issue 4, deterministic from a seed: 100 organizations with Zipf(s=1) sizes
 * (org-001 is the largest, ~19% of all payments), 10k users, 70% completed and the rest spread
 * evenly over pending / failed / refunded (a refund takes 1..amount), 5 currencies (EUR 40%),
 * amount uniform 1..1,000,000, createdAt uniform over the 365 days before ANCHOR_MS.
 *
 * Payments are built by the domain's own createPayment() and transition(), so they are the
 * frozen objects the service stores. createdAt is unique (redrawn on a collision), so "newest
 * first" never ties and every engine must agree on the order without a tie-break.
 */

export const SEED = 0x5eed_2026;
/** A fixed "now": the data set does not depend on the day the bench runs. */
export const ANCHOR_MS = Date.UTC(2026, 0, 1);
export const DAY_MS = 86_400_000;
export const SPAN_MS = 365 * DAY_MS;

export const ORGANIZATIONS = 100;
export const USERS = 10_000;
export const CURRENCIES = [
  { code: 'EUR', weight: 0.4 },
  { code: 'USD', weight: 0.25 },
  { code: 'GBP', weight: 0.15 },
  { code: 'CHF', weight: 0.1 },
  { code: 'JPY', weight: 0.1 },
] as const;

/** Zipf rank (1 = largest) -> organization id. */
export function orgId(rank: number): string {
  return `org-${String(rank).padStart(3, '0')}`;
}
export const LARGEST_ORG_RANK = 1;
/** The "mid-size" class of the issue: ranks 10-30 (~5-20k payments each at 1M). */
export const MID_ORG_RANKS = Array.from({ length: 21 }, (_, i) => 10 + i);

/** First index whose cumulative weight exceeds u. */
function pick(cdf: Float64Array, u: number): number {
  let lo = 0;
  let hi = cdf.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (cdf[mid] > u) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

function cdfOf(weights: readonly number[]): Float64Array {
  const total = weights.reduce((a, b) => a + b, 0);
  const cdf = new Float64Array(weights.length);
  let acc = 0;
  weights.forEach((w, i) => {
    acc += w / total;
    cdf[i] = acc;
  });
  cdf[cdf.length - 1] = 1;
  return cdf;
}

/**
 * A stream of payments: next() is payment i, i+1, ... Taking N and then K more gives the same
 * first N payments as taking N alone (the HTTP server processes rebuild the same data).
 */
export class DatasetGenerator {
  readonly #rand: () => number;
  readonly #orgCdf = cdfOf(Array.from({ length: ORGANIZATIONS }, (_, k) => 1 / (k + 1)));
  readonly #currencyCdf = cdfOf(CURRENCIES.map((c) => c.weight));
  // shared strings, as a parsed JSON body's short values would be after interning
  readonly #orgs = Array.from({ length: ORGANIZATIONS }, (_, k) => orgId(k + 1));
  readonly #users = Array.from({ length: USERS }, (_, k) => `user-${String(k + 1).padStart(5, '0')}`);
  readonly #usedCreatedAt = new Set<number>();
  #count = 0;

  constructor(seed = SEED) {
    this.#rand = mulberry32(seed);
  }

  get count(): number {
    return this.#count;
  }

  take(n: number): Payment[] {
    const out = new Array<Payment>(n);
    for (let i = 0; i < n; i++) out[i] = this.next();
    return out;
  }

  /**
   * Payments created after the data set, as the service receives them: createdAt ascending
   * from ANCHOR_MS (one every `stepMs` on average), everything else drawn as for the history.
   */
  takeNew(n: number, stepMs = 50): Payment[] {
    const out = new Array<Payment>(n);
    let t = ANCHOR_MS + this.#newCount * stepMs;
    for (let i = 0; i < n; i++) {
      t += 1 + Math.floor(this.#rand() * (2 * stepMs - 1));
      out[i] = this.next(t);
    }
    this.#newCount += n;
    return out;
  }
  #newCount = 0;

  /** The next payment of the history (createdAt uniform over the year), or created at `createdMs`. */
  next(createdAtMs?: number): Payment {
    const r = this.#rand;
    const paymentId = this.#uuid();
    const organizationId = this.#orgs[pick(this.#orgCdf, r())];
    const userId = this.#users[Math.floor(r() * USERS)];
    const currency = CURRENCIES[pick(this.#currencyCdf, r())].code;
    const amount = 1 + Math.floor(r() * 1_000_000);
    let createdMs = createdAtMs ?? NaN;
    while (Number.isNaN(createdMs) || this.#usedCreatedAt.has(createdMs)) {
      createdMs = ANCHOR_MS - SPAN_MS + Math.floor(r() * SPAN_MS);
    }
    this.#usedCreatedAt.add(createdMs);
    const createdAt = new Date(createdMs).toISOString();

    let p = createPayment({ organizationId, userId, amount, currency }, paymentId, createdAt);
    const u = r();
    const settledAt = new Date(createdMs + 200 + Math.floor(r() * 5_000)).toISOString();
    if (u < 0.7) {
      p = transition(p, { type: 'PaymentProcessed', occurredAt: settledAt }, settledAt);
    } else if (u < 0.8) {
      p = transition(p, { type: 'PaymentFailed', occurredAt: settledAt, error: 'card_declined' }, settledAt);
    } else if (u < 0.9) {
      p = transition(p, { type: 'PaymentProcessed', occurredAt: settledAt }, settledAt);
      const refundedAt = new Date(createdMs + 86_400_000 + Math.floor(r() * 7 * 86_400_000)).toISOString();
      const refund: PaymentEvent = { type: 'PaymentRefunded', occurredAt: refundedAt, refundAmount: 1 + Math.floor(r() * amount) };
      p = transition(p, refund, refundedAt);
    } // else: stays pending
    this.#count++;
    return p;
  }

  /**
   * A UUID v4-shaped id from the PRNG (36 chars, as the service's randomUUID()), built as one
   * flat string: concatenation would leave a tree of cons strings that costs several times the
   * bytes of the id a parsed JSON body holds, and would inflate the memory figures.
   */
  #uuid(): string {
    const buf = this.#uuidBytes;
    for (let i = 0; i < 36; i++) {
      if (i === 8 || i === 13 || i === 18 || i === 23) buf[i] = 0x2d; // '-'
      else buf[i] = HEX[Math.floor(this.#rand() * 16)];
    }
    buf[14] = 0x34; // version 4
    buf[19] = HEX[8 + Math.floor(this.#rand() * 4)]; // variant 10xx
    return buf.toString('latin1');
  }
  readonly #uuidBytes = Buffer.alloc(36);
}

const HEX = Buffer.from('0123456789abcdef', 'latin1');

export function generatePayments(n: number, seed = SEED): Payment[] {
  return new DatasetGenerator(seed).take(n);
}

/** The pending payment a final payment started as (what POST /payments would have stored). */
export function pendingVersionOf(p: Payment): Payment {
  return createPayment(
    {
      organizationId: p.organizationId,
      userId: p.userId,
      amount: p.amount,
      currency: p.currency,
      description: p.description,
      metadata: p.metadata,
      createdAt: p.createdAt,
    },
    p.paymentId,
    p.createdAt,
  );
}

/** The store's write API, as the bench uses it (structural: the bench does not pin the class). */
export interface WritableStore {
  insertIfAbsent(payment: Payment): { created: boolean };
  update(organizationId: string, paymentId: string, eventId: string | undefined, next: (current: Payment) => Payment): unknown;
}

/**
 * Loads payments through the store's only write path, as the service would have: insert the
 * pending payment, then one update to its final state (so the store ends up holding exactly
 * the objects of `payments`, and the status index sees a remove and an add).
 */
export function loadStore(store: WritableStore, payments: readonly Payment[]): void {
  for (const p of payments) {
    if (p.status === 'pending') {
      if (!store.insertIfAbsent(p).created) throw new Error(`duplicate paymentId ${p.paymentId}`);
      continue;
    }
    if (!store.insertIfAbsent(pendingVersionOf(p)).created) throw new Error(`duplicate paymentId ${p.paymentId}`);
    store.update(p.organizationId, p.paymentId, undefined, () => p);
  }
}

/** The store's bulk load, as a restart from PostgreSQL fills it (structural, as WritableStore). */
export interface BulkLoadableStore {
  beginBulkLoad(expectedRows: number): boolean;
  appendLoaded(payment: LoadedPayment): void;
  endBulkLoad(): void;
}

/**
 * Loads payments as the load at start does (beginBulkLoad, appendLoaded, endBulkLoad): the same
 * state loadStore() leaves (bulk-load.spec checks it), in a fraction of the time, for a server
 * that must hold 10M before it is measured. The data set's ids are ASCII and its times canonical.
 */
export function loadStoreInBulk(store: BulkLoadableStore, payments: readonly Payment[]): void {
  if (!store.beginBulkLoad(payments.length)) throw new Error('loadStoreInBulk: the store is not empty');
  const keys = [new Map<string, number>(), new Map<string, number>(), new Map<string, number>()];
  const keyOf = (kind: number, value: string) => {
    const known = keys[kind].get(value);
    if (known !== undefined) return known;
    keys[kind].set(value, keys[kind].size);
    return keys[kind].size - 1;
  };
  const ms = (text: string | null) => (text === null ? NaN : Date.parse(text));
  for (const p of payments) {
    store.appendLoaded({
      ...p,
      createdAtMs: ms(p.createdAt),
      updatedAtMs: ms(p.updatedAt),
      completedAtMs: ms(p.completedAt),
      failedAtMs: ms(p.failedAt),
      refundedAtMs: ms(p.refundedAt),
      statusCode: PAYMENT_STATUSES.indexOf(p.status),
      canonical: true,
      organizationKey: keyOf(0, p.organizationId),
      userKey: keyOf(1, p.userId),
      currencyKey: keyOf(2, p.currency),
      idBytes: undefined,
      idStart: 0,
      idEnd: 0,
    });
  }
  store.endBulkLoad();
}
