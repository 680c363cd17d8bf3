import { PAYMENT_STATUS_COUNT, REFUNDED_STATUS_INDEX } from '../payment';

export const DAY_MS = 86_400_000;

/**
 * Array kinds, narrowest first; an array is widened (copied into the next kind) the first time
 * a value does not fit, so the common case costs 1 byte per count and 4 per sum.
 */
const U8 = 0;
const U16 = 1;
const I32 = 2;
const F64 = 3;
type Cells = Uint8Array | Uint16Array | Int32Array | Float64Array;
const MAKE: ReadonlyArray<(n: number) => Cells> = [
  (n) => new Uint8Array(n),
  (n) => new Uint16Array(n),
  (n) => new Int32Array(n),
  (n) => new Float64Array(n),
];

function fits(kind: number, v: number): boolean {
  switch (kind) {
    case U8:
      return (v & 0xff) === v;
    case U16:
      return (v & 0xffff) === v;
    case I32:
      return (v | 0) === v;
    default:
      return true;
  }
}

function kindOf(v: number): number {
  return (v & 0xff) === v ? U8 : (v & 0xffff) === v ? U16 : (v | 0) === v ? I32 : F64;
}

function widened(cells: Cells, kind: number): Cells {
  const grown = MAKE[kind](cells.length);
  grown.set(cells);
  return grown;
}

/** A dense day directory never spans more than this many days per stored day (beyond 1024). */
const DIRECTORY_SPREAD = 8;

type Visit = (dayStartMs: number, status: number, currency: number, count: number, amount: number, refunded: number) => void;

/**
 * One organization's (or everyone's) cells, in one slab of records: a record per day that has
 * payments, holding for each currency the organization has seen (local index, in ascending
 * currency code) a count and an amount sum per status and the refunded sum of status 'refunded'.
 * Record r, local currency l, status s is cell (r x currencies + l) x PAYMENT_STATUS_COUNT + s of
 * `counts` and `sums`, and r x currencies + l of `refunds`. A refunded amount on any other status
 * (impossible under the state machine, but apply() takes any input) lands in a small map of its own.
 *
 * Days map to records through a dense Int32Array over the days seen (4 bytes a day), or a Map
 * once the days seen are too spread out for that.
 */
class Slab {
  #records = 0;
  #capacity = 0;
  /** Local currency index -> currency code, ascending. */
  #codes: number[] = [];
  /** Currency code -> local index + 1 (0: not seen). */
  #localOf = new Int32Array(0);
  #counts: Cells = new Uint8Array(0);
  #countKind = U8;
  #sums: Cells = new Int32Array(0);
  #sumKind = I32;
  #refunds: Cells = new Int32Array(0);
  #refundKind = I32;
  /** `${day}:${status}:${currency}` -> refunded sum, for statuses other than 'refunded'. */
  #otherRefunds: Map<string, number> | undefined;

  #firstDay = 0;
  /** day - firstDay -> record + 1 (0: no record), while the days are dense enough. */
  #dense: Int32Array | undefined = new Int32Array(0);
  #sparse: Map<number, number> | undefined;

  /** Adds sign x one payment; returns false when a sum passed Number.MAX_SAFE_INTEGER. */
  apply(day: number, sign: number, status: number, currency: number, amount: number, refunded: number): boolean {
    const record = this.#recordOf(day);
    const known = this.#localOf[currency];
    const local = known === undefined || known === 0 ? this.#addCurrency(currency) : known - 1;
    const slot = record * this.#codes.length + local;
    const cell = slot * PAYMENT_STATUS_COUNT + status;

    const count = this.#counts[cell] + sign;
    if (!fits(this.#countKind, count)) this.#counts = widened(this.#counts, (this.#countKind = Math.max(this.#countKind, kindOf(count))));
    this.#counts[cell] = count;

    const sum = this.#sums[cell] + sign * amount;
    if (!fits(this.#sumKind, sum)) this.#sums = widened(this.#sums, (this.#sumKind = Math.max(this.#sumKind, kindOf(sum), I32)));
    this.#sums[cell] = sum;
    let exact = sum <= Number.MAX_SAFE_INTEGER;

    if (refunded !== 0) {
      let r: number;
      if (status === REFUNDED_STATUS_INDEX) {
        r = this.#refunds[slot] + sign * refunded;
        if (!fits(this.#refundKind, r)) this.#refunds = widened(this.#refunds, (this.#refundKind = Math.max(this.#refundKind, kindOf(r), I32)));
        this.#refunds[slot] = r;
      } else {
        const key = `${day}:${status}:${currency}`;
        this.#otherRefunds ??= new Map();
        r = (this.#otherRefunds.get(key) ?? 0) + sign * refunded;
        if (r === 0) this.#otherRefunds.delete(key);
        else this.#otherRefunds.set(key, r);
      }
      exact &&= r <= Number.MAX_SAFE_INTEGER;
    }
    return exact;
  }

  forEachCell(fromDay: number, toDay: number, visit: Visit): void {
    this.#forEachRecord(fromDay, toDay, (day, record) => this.#visitRecord(day, record, visit));
  }

  /** Adds the cells of days in [fromDay, toDay) into `out`, by currency code x status. */
  addDays(fromDay: number, toDay: number, out: DayTotals): void {
    this.#forEachRecord(fromDay, toDay, (_day, record) => this.#addRecord(record, out));
    if (this.#otherRefunds !== undefined) {
      for (const [key, refunded] of this.#otherRefunds) {
        const [day, status, currency] = key.split(':').map(Number);
        if (day >= fromDay && day < toDay) out.refunded[currency * PAYMENT_STATUS_COUNT + status] += refunded;
      }
    }
  }

  /** The record of every day in [fromDay, toDay) that has one, in day order for a dense directory. */
  #forEachRecord(fromDay: number, toDay: number, visit: (day: number, record: number) => void): void {
    if (this.#dense !== undefined) {
      const dense = this.#dense;
      const first = Math.max(Math.ceil(fromDay), this.#firstDay);
      const end = Math.min(Math.ceil(toDay), this.#firstDay + dense.length);
      for (let day = first; day < end; day++) {
        const r = dense[day - this.#firstDay];
        if (r !== 0) visit(day, r - 1);
      }
      return;
    }
    const sparse = this.#sparse!;
    if (toDay - fromDay <= sparse.size) {
      for (let day = fromDay; day < toDay; day++) {
        const r = sparse.get(day);
        if (r !== undefined) visit(day, r);
      }
    } else {
      for (const [day, r] of sparse) if (day >= fromDay && day < toDay) visit(day, r);
    }
  }

  /** One record's cells into `out`: loops over typed arrays, no call per cell. */
  #addRecord(record: number, out: DayTotals): void {
    const codes = this.#codes;
    const counts = this.#counts;
    const sums = this.#sums;
    const { count, amount, refunded } = out;
    for (let local = 0; local < codes.length; local++) {
      const slot = record * codes.length + local;
      const into = codes[local] * PAYMENT_STATUS_COUNT;
      for (let s = 0; s < PAYMENT_STATUS_COUNT; s++) {
        count[into + s] += counts[slot * PAYMENT_STATUS_COUNT + s];
        amount[into + s] += sums[slot * PAYMENT_STATUS_COUNT + s];
      }
      refunded[into + REFUNDED_STATUS_INDEX] += this.#refunds[slot];
    }
  }

  #visitRecord(day: number, record: number, visit: Visit): void {
    const codes = this.#codes;
    const dayMs = day * DAY_MS;
    for (let local = 0; local < codes.length; local++) {
      const slot = record * codes.length + local;
      for (let s = 0; s < PAYMENT_STATUS_COUNT; s++) {
        const cell = slot * PAYMENT_STATUS_COUNT + s;
        const count = this.#counts[cell];
        if (count === 0) continue;
        const refunded = s === REFUNDED_STATUS_INDEX ? this.#refunds[slot] : (this.#otherRefunds?.get(`${day}:${s}:${codes[local]}`) ?? 0);
        visit(dayMs, s, codes[local], count, this.#sums[cell], refunded);
      }
    }
  }

  #recordOf(day: number): number {
    if (this.#dense !== undefined) {
      const r = this.#dense[day - this.#firstDay];
      if (r !== undefined && r !== 0) return r - 1;
    } else {
      const r = this.#sparse!.get(day);
      if (r !== undefined) return r;
    }
    const record = this.#records++;
    if (record === this.#capacity) this.#resize(this.#capacity + (this.#capacity >> 2) + 4, this.#codes);
    if (this.#dense !== undefined) this.#placeDense(day, record);
    else this.#sparse!.set(day, record);
    return record;
  }

  /** Records `day -> record` in the dense directory, growing it or giving it up for a Map. */
  #placeDense(day: number, record: number): void {
    let dense = this.#dense!;
    if (!Number.isSafeInteger(day)) {
      // NaN or an out-of-range time: kept (and never visited by a range), as a Map key
      this.#toSparse().set(day, record);
      return;
    }
    if (dense.length === 0) {
      dense = this.#dense = new Int32Array(32);
      this.#firstDay = day - 16;
    }
    let first = this.#firstDay;
    if (day < first || day >= first + dense.length) {
      const lo = Math.min(first, day);
      const end = Math.max(first + dense.length, day + 1);
      const span = end - lo;
      if (span > 1024 && span > DIRECTORY_SPREAD * this.#records) {
        this.#toSparse().set(day, record);
        return;
      }
      // room for further days on the side that grew (new payments arrive day after day)
      const margin = Math.max(16, span >> 3);
      const newFirst = day < first ? lo - margin : lo;
      const grown = new Int32Array(span + margin);
      grown.set(dense, first - newFirst);
      dense = this.#dense = grown;
      first = this.#firstDay = newFirst;
    }
    dense[day - first] = record + 1;
  }

  #toSparse(): Map<number, number> {
    const dense = this.#dense!;
    const sparse = new Map<number, number>();
    for (let i = 0; i < dense.length; i++) if (dense[i] !== 0) sparse.set(this.#firstDay + i, dense[i] - 1);
    this.#sparse = sparse;
    this.#dense = undefined;
    return sparse;
  }

  /** Makes room for `currency` among the local currencies (kept ascending); returns its index. */
  #addCurrency(currency: number): number {
    if (!(Number.isInteger(currency) && currency >= 0 && currency <= 0xffff)) throw new RangeError(`DailyAggregates: bad currency ${currency}`);
    const codes = [...this.#codes, currency].sort((a, b) => a - b);
    this.#resize(this.#capacity, codes);
    return this.#localOf[currency] - 1;
  }

  /** Re-lays the slab out for `capacity` records and the local currencies `codes`. */
  #resize(capacity: number, codes: number[]): void {
    const oldCodes = this.#codes;
    const width = codes.length;
    const counts = MAKE[this.#countKind](capacity * width * PAYMENT_STATUS_COUNT);
    const sums = MAKE[this.#sumKind](capacity * width * PAYMENT_STATUS_COUNT);
    const refunds = MAKE[this.#refundKind](capacity * width);
    if (codes === oldCodes) {
      // same layout, more records: the old cells are a prefix
      counts.set(this.#counts);
      sums.set(this.#sums);
      refunds.set(this.#refunds);
    } else {
      const localOf = new Int32Array(Math.max(this.#localOf.length, codes[width - 1] + 1));
      codes.forEach((code, i) => (localOf[code] = i + 1));
      for (let l = 0; l < oldCodes.length; l++) {
        const to = localOf[oldCodes[l]] - 1;
        for (let r = 0; r < this.#records; r++) {
          const from = r * oldCodes.length + l;
          const into = r * width + to;
          refunds[into] = this.#refunds[from];
          for (let s = 0; s < PAYMENT_STATUS_COUNT; s++) {
            counts[into * PAYMENT_STATUS_COUNT + s] = this.#counts[from * PAYMENT_STATUS_COUNT + s];
            sums[into * PAYMENT_STATUS_COUNT + s] = this.#sums[from * PAYMENT_STATUS_COUNT + s];
          }
        }
      }
      this.#localOf = localOf;
      this.#codes = codes;
    }
    this.#counts = counts;
    this.#sums = sums;
    this.#refunds = refunds;
    this.#capacity = capacity;
  }
}

/**
 * Pre-aggregated stats per organization x UTC day x status x currency (count, amount sum,
 * refunded sum), plus the same over all organizations, kept by every write (O(1) each). A stats
 * query over whole days then costs O(days x currencies) instead of O(payments).
 *
 * Memory: one slab per organization (see Slab), 120 bytes per organization-day with 5
 * currencies (counts Uint8, sums Int32, one refunded sum per currency), each array widened
 * (Uint16 / Int32 / Float64) per organization only once a value needs it: ~5.4 bytes per
 * payment at 1M payments over 100 organizations and 365 days (a Float64Array per day: ~30).
 *
 * Sums are exact while every cell stays at or below 2^53 - 1; a cell past it marks the
 * aggregates inexact and readers fall back to scanning payments (a day's total in one org,
 * status and currency would need over 90,000 payments of the maximum amount).
 */
export class DailyAggregates {
  readonly #byOrg = new Map<number, Slab>();
  readonly #all = new Slab();
  #exact = true;

  static dayOf(ms: number): number {
    return Math.floor(ms / DAY_MS);
  }

  get exact(): boolean {
    return this.#exact;
  }

  /** Adds (sign 1) or removes (sign -1) one payment's contribution. */
  apply(sign: 1 | -1, org: number, createdAtMs: number, status: number, currency: number, amount: number, refunded: number): void {
    if (!(status >= 0 && status < PAYMENT_STATUS_COUNT && Number.isInteger(status))) throw new RangeError(`DailyAggregates: bad status ${status}`);
    const day = DailyAggregates.dayOf(createdAtMs);
    let slab = this.#byOrg.get(org);
    if (slab === undefined) {
      slab = new Slab();
      this.#byOrg.set(org, slab);
    }
    const exact = slab.apply(day, sign, status, currency, amount, refunded);
    if (!(this.#all.apply(day, sign, status, currency, amount, refunded) && exact)) this.#exact = false;
  }

  /**
   * Visits every non-empty cell of days in [fromDay, toDay) for one organization (or all, with
   * org undefined): visit(dayStartMs, status, currency, count, amount, refunded).
   */
  forEachCell(org: number | undefined, fromDay: number, toDay: number, visit: Visit): void {
    const slab = org === undefined ? this.#all : this.#byOrg.get(org);
    slab?.forEachCell(fromDay, toDay, visit);
  }

  /**
   * Adds the totals of days in [fromDay, toDay) for one organization (or all) into `out`: the
   * same cells forEachCell() visits, summed in place with no call per cell. Sums stay exact as
   * long as every total of `out` stays at or below Number.MAX_SAFE_INTEGER (DayTotals.exact):
   * the cells are non-negative, so no partial sum is larger than its total.
   */
  addDays(org: number | undefined, fromDay: number, toDay: number, out: DayTotals): void {
    const slab = org === undefined ? this.#all : this.#byOrg.get(org);
    slab?.addDays(fromDay, toDay, out);
  }
}

/**
 * DailyAggregates as the query side sees it (see PaymentStore.aggregates): the reads, never
 * apply (the store applies every write). An allow-list: a new method stays out until named here.
 */
export type DailyAggregatesView = Pick<DailyAggregates, 'exact' | 'forEachCell' | 'addDays'>;

/** Totals by currency code x status (code x PAYMENT_STATUS_COUNT + status index): counts, amount and refunded sums. */
export class DayTotals {
  readonly count: Float64Array;
  readonly amount: Float64Array;
  readonly refunded: Float64Array;

  /** `currencies`: one more than the largest currency code that can be added. */
  constructor(readonly currencies: number) {
    this.count = new Float64Array(currencies * PAYMENT_STATUS_COUNT);
    this.amount = new Float64Array(currencies * PAYMENT_STATUS_COUNT);
    this.refunded = new Float64Array(currencies * PAYMENT_STATUS_COUNT);
  }

  clear(): void {
    this.count.fill(0);
    this.amount.fill(0);
    this.refunded.fill(0);
  }

  /** True while no sum has passed Number.MAX_SAFE_INTEGER (each is then the exact integer). */
  get exact(): boolean {
    for (let i = 0; i < this.amount.length; i++) {
      if (this.amount[i] > Number.MAX_SAFE_INTEGER || this.refunded[i] > Number.MAX_SAFE_INTEGER) return false;
    }
    return true;
  }

  /** visit(status, currency code, count, amount, refunded) for every total with a count. */
  forEach(visit: (status: number, currency: number, count: number, amount: number, refunded: number) => void): void {
    for (let i = 0; i < this.count.length; i++) {
      if (this.count[i] !== 0) visit(i % PAYMENT_STATUS_COUNT, Math.floor(i / PAYMENT_STATUS_COUNT), this.count[i], this.amount[i], this.refunded[i]);
    }
  }
}
