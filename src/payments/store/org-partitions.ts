import { HashIndexView } from './hash.index';
import { FilterParams } from './row-filter';

interface Partition {
  length: number;
  rows: Int32Array;
  user: Int32Array;
  status: Uint8Array;
  currency: Uint16Array;
  amount: Float64Array;
  createdAt: Float64Array;
}

function grow<A extends Int32Array | Uint8Array | Uint16Array | Float64Array>(a: A, make: (n: number) => A): A {
  const b = make(a.length * 2);
  b.set(a);
  return b;
}

/**
 * The organizationId index, laid out for scanning: per organization, its rows in insertion
 * order AND a copy of their filterable fields in contiguous typed arrays. A search within one
 * organization then reads memory sequentially instead of hopping across the global columns
 * (at 1M payments, ~5x faster for the largest organization). About 28 bytes per payment.
 * Invariant (kept by PaymentStore): every row is in the partition of its organization exactly
 * once, at `localOf(row)`, with its current status.
 */
export class OrgPartitions implements HashIndexView<number> {
  readonly #parts = new Map<number, Partition>();
  #local = new Int32Array(1024);

  add(org: number, row: number, user: number, status: number, currency: number, amount: number, createdAt: number): void {
    let p = this.#parts.get(org);
    if (p === undefined) {
      const n = 8;
      p = {
        length: 0,
        rows: new Int32Array(n),
        user: new Int32Array(n),
        status: new Uint8Array(n),
        currency: new Uint16Array(n),
        amount: new Float64Array(n),
        createdAt: new Float64Array(n),
      };
      this.#parts.set(org, p);
    }
    if (p.length === p.rows.length) {
      p.rows = grow(p.rows, (k) => new Int32Array(k));
      p.user = grow(p.user, (k) => new Int32Array(k));
      p.status = grow(p.status, (k) => new Uint8Array(k));
      p.currency = grow(p.currency, (k) => new Uint16Array(k));
      p.amount = grow(p.amount, (k) => new Float64Array(k));
      p.createdAt = grow(p.createdAt, (k) => new Float64Array(k));
    }
    const i = p.length++;
    p.rows[i] = row;
    p.user[i] = user;
    p.status[i] = status;
    p.currency[i] = currency;
    p.amount[i] = amount;
    p.createdAt[i] = createdAt;
    if (row >= this.#local.length) this.#local = grow(this.#local, (k) => new Int32Array(Math.max(k, row + 1)));
    this.#local[row] = i;
  }

  setStatus(org: number, row: number, status: number): void {
    this.#parts.get(org)!.status[this.#local[row]] = status;
  }

  /**
   * Visits the rows of `org` that pass `f`, in insertion order, with their sort key (amount or
   * createdAt, from the same sequential arrays): one pass, no random access.
   */
  scan(org: number, f: FilterParams, sortBy: 'amount' | 'createdAt', visit: (row: number, key: number) => void): void {
    const p = this.#parts.get(org);
    if (p === undefined) return;
    const { length, rows, user, status, currency, amount, createdAt } = p;
    const { user: u, statusMask, currencies, minAmount, maxAmount, from, to } = f;
    for (let i = 0; i < length; i++) {
      if (((statusMask >> status[i]) & 1) === 0) continue;
      if (currencies !== undefined && currencies[currency[i]] !== 1) continue;
      const a = amount[i];
      if (a < minAmount || a > maxAmount) continue;
      const t = createdAt[i];
      if (t < from || t >= to) continue;
      if (u >= 0 && user[i] !== u) continue;
      visit(rows[i], sortBy === 'amount' ? a : t);
    }
  }

  get(org: number): ReadonlySet<number> | undefined {
    const p = this.#parts.get(org);
    return p === undefined ? undefined : new Set(p.rows.subarray(0, p.length));
  }

  count(org: number): number {
    return this.#parts.get(org)?.length ?? 0;
  }

  forEachRow(org: number, visit: (row: number) => void): void {
    const p = this.#parts.get(org);
    if (p === undefined) return;
    for (let i = 0; i < p.length; i++) visit(p.rows[i]);
  }

  get distinctValues(): number {
    return this.#parts.size;
  }
}
