import { PAYMENT_STATUS_COUNT } from '../payment';
import { FilterParams } from './row-filter';
import { StatsFold } from './stats';
import { TopK } from './top-k';

const GROWTH = 1.25;

/**
 * The payments of one organization with one status and one currency: their row ids and the
 * fields a scan filters and sorts on, in contiguous typed arrays. `refunded` exists once a
 * payment of the cell has a refund (only refunded payments have one), so most cells carry no
 * column for it. Slots are unordered: a payment leaving the cell is replaced by the last one.
 */
export class Cell {
  length = 0;
  rows: Int32Array;
  amount: Float64Array;
  createdAt: Float64Array;
  refunded: Float64Array | undefined;

  constructor(
    readonly id: number,
    readonly org: number,
    readonly status: number,
    readonly currency: number,
    capacity = 8,
  ) {
    this.rows = new Int32Array(capacity);
    this.amount = new Float64Array(capacity);
    this.createdAt = new Float64Array(capacity);
  }

  /** The refunded amount (minor units) of the payment in `slot`: 0 where the cell has no refund column. */
  refundedAmountAt(slot: number): number {
    return this.refunded === undefined ? 0 : this.refunded[slot];
  }
}

/**
 * A cell as everything but PaymentCells sees it: its fields cannot be reassigned. Their arrays'
 * entries are PaymentCells' alone to write too, by convention: TypeScript has no read-only
 * typed array, and a copy would cost what the scans save.
 */
export type CellView = Readonly<Cell>;

/**
 * Slots [start, end) of one cell: the unit a scan reads. A long scan is cut into runs so that
 * its reader can pause between two of them (see ReadPacer: a write meanwhile makes the read
 * start over, so the runs of one read always describe the cells as they are).
 */
export interface CellRun {
  readonly cell: CellView;
  readonly start: number;
  readonly end: number;
}

/**
 * `cells` as runs of at most `maxEntries` slots. `backward`: each cell's last run first (for a
 * scan that reads each cell from its end, see scanPage).
 */
export function cellRuns(cells: readonly CellView[], maxEntries = Infinity, backward = false): CellRun[] {
  const runs: CellRun[] = [];
  for (const cell of cells) {
    const n = cell.length;
    if (n === 0) continue;
    const parts = Math.ceil(n / Math.min(n, maxEntries));
    for (let k = 0; k < parts; k++) {
      const j = backward ? parts - 1 - k : k;
      runs.push({ cell, start: Math.floor((j * n) / parts), end: Math.floor(((j + 1) * n) / parts) });
    }
  }
  return runs;
}

/**
 * Every payment's filterable fields, partitioned by organization x status x currency. This is
 * at once the organizationId, status and currency index (a filter on them selects whole cells,
 * whose sizes are exact counts) and the column store that scans read: a search in one
 * organization reads only its matching cells, sequentially, never a payment object. About
 * 8 bytes per payment to find a row's cell and slot, plus 20 in the cell (and 8 for a refund).
 *
 * Invariant (kept by PaymentStore): every row is in exactly one cell, the one of its
 * organization, current status and currency, at `slotOf(row)`; `cellOf(row)` names it.
 */
export class PaymentCells {
  readonly #cells: Cell[] = [];
  /** org code -> cell id by (currency * PAYMENT_STATUS_COUNT + status), -1 where none. */
  readonly #byOrg: Int32Array[] = [];
  readonly #orgCount: number[] = [];
  #cellOf = new Int32Array(1024);
  #slotOf = new Int32Array(1024);
  /** userId code per row: a user filter is checked per candidate (its own index drives it). */
  #userOf = new Int32Array(1024);
  #rows = 0;

  get size(): number {
    return this.#rows;
  }

  get cells(): readonly CellView[] {
    return this.#cells;
  }

  /** The cell of a stored row. */
  cellOf(row: number): CellView {
    return this.#cells[this.#cellOf[row]];
  }

  slotOf(row: number): number {
    return this.#slotOf[row];
  }

  amount(row: number): number {
    return this.#cells[this.#cellOf[row]].amount[this.#slotOf[row]];
  }

  createdAt(row: number): number {
    return this.#cells[this.#cellOf[row]].createdAt[this.#slotOf[row]];
  }

  user(row: number): number {
    return this.#userOf[row];
  }

  /** Makes room for rows up to `rows` at once (a bulk load that knows its size: no doubling on the way). */
  reserve(rows: number): void {
    if (rows <= this.#cellOf.length) return;
    this.#cellOf = growTo(this.#cellOf, rows, (k) => new Int32Array(k));
    this.#slotOf = growTo(this.#slotOf, rows, (k) => new Int32Array(k));
    this.#userOf = growTo(this.#userOf, rows, (k) => new Int32Array(k));
  }

  /** Adds a new row (row ids are dense: 0, 1, 2, ...). */
  add(row: number, org: number, user: number, status: number, currency: number, amount: number, createdAt: number, refunded: number): void {
    if (row >= this.#cellOf.length) {
      const n = Math.max(row + 1, this.#cellOf.length * 2);
      this.#cellOf = growTo(this.#cellOf, n, (k) => new Int32Array(k));
      this.#slotOf = growTo(this.#slotOf, n, (k) => new Int32Array(k));
      this.#userOf = growTo(this.#userOf, n, (k) => new Int32Array(k));
    }
    this.#userOf[row] = user;
    this.#rows = Math.max(this.#rows, row + 1);
    this.#orgCount[org] = (this.#orgCount[org] ?? 0) + 1;
    this.#append(this.#cellFor(org, status, currency), row, amount, createdAt, refunded);
  }

  /** Moves a row to the cell of its new status (its other fields never change). O(1). */
  setStatus(row: number, status: number): void {
    const from = this.#cells[this.#cellOf[row]];
    if (from.status === status) return;
    const slot = this.#slotOf[row];
    const amount = from.amount[slot];
    const createdAt = from.createdAt[slot];
    const refunded = from.refundedAmountAt(slot);
    this.#removeSlot(from, slot);
    this.#append(this.#cellFor(from.org, status, from.currency), row, amount, createdAt, refunded);
  }

  setRefunded(row: number, refunded: number): void {
    const cell = this.#cells[this.#cellOf[row]];
    const slot = this.#slotOf[row];
    if (cell.refunded === undefined) {
      if (refunded === 0) return;
      cell.refunded = new Float64Array(cell.rows.length);
    }
    cell.refunded[slot] = refunded;
  }

  /** Payments of `org` (all statuses and currencies). */
  orgCount(org: number): number {
    return this.#orgCount[org] ?? 0;
  }

  /**
   * The cells a filter selects: of its organization (or every one), statuses and currencies.
   * The sum of their lengths is the exact number of candidates.
   */
  select(params: Pick<FilterParams, 'org' | 'statusMask' | 'currencies'>): CellView[] {
    const { org, statusMask, currencies } = params;
    const out: CellView[] = [];
    const consider = (cell: Cell) => {
      if (cell.length === 0 || ((statusMask >> cell.status) & 1) === 0) return;
      if (currencies !== undefined && currencies[cell.currency] !== 1) return;
      out.push(cell);
    };
    if (org >= 0) {
      const ids = this.#byOrg[org];
      if (ids !== undefined) for (const id of ids) if (id >= 0) consider(this.#cells[id]);
    } else {
      for (const cell of this.#cells) consider(cell);
    }
    return out;
  }

  /**
   * The number of entries of `runs` that pass the rest of the filter: the same test as scan(),
   * in loops that call nothing per entry and add each test's outcome instead of branching on it
   * (a range that keeps about half the entries would mispredict every other branch): about a
   * nanosecond per entry, four times less than branching.
   */
  count(runs: readonly CellRun[], params: FilterParams): number {
    const { user: u, minAmount, maxAmount, from, to } = params;
    const byAmount = minAmount !== -Infinity || maxAmount !== Infinity;
    const byTime = from !== -Infinity || to !== Infinity;
    const userOf = this.#userOf;
    let n = 0;
    for (const { cell, start, end } of runs) {
      const { rows, amount, createdAt } = cell;
      if (u >= 0) {
        for (let i = start; i < end; i++) {
          const a = amount[i];
          const t = createdAt[i];
          if (a >= minAmount && a <= maxAmount && t >= from && t < to && userOf[rows[i]] === u) n++;
        }
      } else if (byAmount && byTime) {
        for (let i = start; i < end; i++) {
          const a = amount[i];
          const t = createdAt[i];
          n += +(a >= minAmount) & +(a <= maxAmount) & +(t >= from) & +(t < to);
        }
      } else if (byAmount) {
        for (let i = start; i < end; i++) {
          const a = amount[i];
          n += +(a >= minAmount) & +(a <= maxAmount);
        }
      } else if (byTime) {
        for (let i = start; i < end; i++) {
          const t = createdAt[i];
          n += +(t >= from) & +(t < to);
        }
      } else {
        n += end - start;
      }
    }
    return n;
  }

  /**
   * Visits the entries of `runs` that pass the rest of the filter (amount, createdAt, user):
   * tight loops over each cell's arrays. `visit(cell, slot)`.
   */
  scan(runs: readonly CellRun[], params: FilterParams, visit: (cell: CellView, slot: number) => void): void {
    const { user: u, minAmount, maxAmount, from, to } = params;
    const userOf = this.#userOf;
    for (const { cell, start, end } of runs) {
      const { rows, amount, createdAt } = cell;
      for (let i = start; i < end; i++) {
        const a = amount[i];
        if (a < minAmount || a > maxAmount) continue;
        const t = createdAt[i];
        if (t < from || t >= to) continue;
        if (u >= 0 && userOf[rows[i]] !== u) continue;
        visit(cell, i);
      }
    }
  }

  /**
   * One pass over `runs` for a page of a search: counts the entries that pass the rest of the
   * filter (as count()) and offers to `top` those that sort strictly after `after` (a cursor
   * position; ties on the key broken by paymentId through `idOf`), keyed by amount or createdAt.
   * The tests run without branching; only an entry that passes them all and sorts before the
   * worst row kept (`top.bound`) takes a branch, a few dozen times per page.
   */
  scanPage(
    runs: readonly CellRun[],
    params: FilterParams,
    byAmount: boolean,
    top: TopK,
    after: { key: number; id: string } | undefined,
    idOf: (row: number) => string,
  ): number {
    const { user: u, minAmount, maxAmount, from, to } = params;
    const userOf = this.#userOf;
    const sign = top.descending ? -1 : 1;
    // keys at or after the cursor's key: sign * (key - afterKey) >= 0
    const afterKey = after === undefined ? -sign * Infinity : after.key;
    const afterId = after === undefined ? '' : after.id;
    let bound = top.bound;
    let n = 0;
    // Newest first reads each run from its end (give it runs made backward, see cellRuns).
    // Slots follow insertion order (but for the payments moved in from another cell), and live
    // payments are inserted in createdAt order: read forward, every matching entry would beat
    // the page's worst kept one and cost a heap update; read backward, the page fills with the
    // newest at once and the bound holds.
    const step = PaymentCells.readsBackward(byAmount, top.descending) ? -1 : 1;
    for (const run of runs) {
      const { rows, amount, createdAt } = run.cell;
      const keys = byAmount ? amount : createdAt;
      const stop = step === 1 ? run.end : run.start - 1;
      for (let i = step === 1 ? run.start : run.end - 1; i !== stop; i += step) {
        const a = amount[i];
        const t = createdAt[i];
        let ok = +(a >= minAmount) & +(a <= maxAmount) & +(t >= from) & +(t < to);
        if (u >= 0) ok &= +(userOf[rows[i]] === u);
        n += ok;
        const k = keys[i];
        if ((ok & +(sign * (k - bound) <= 0) & +(sign * (k - afterKey) >= 0)) === 0) continue;
        const row = rows[i];
        if (k === afterKey && idOf(row) <= afterId) continue;
        top.offer(k, row);
        bound = top.bound;
      }
    }
    return n;
  }

  /** True when scanPage reads each run from its end: give it runs made backward (cellRuns). */
  static readsBackward(byAmount: boolean, descending: boolean): boolean {
    return !byAmount && descending;
  }

  /**
   * Adds the entries of `runs` that pass the rest of the filter (amount, createdAt, user) to
   * `into`: a run's cell is one status and one currency, so its matches are summed in local
   * variables (and into the series' bucket arrays) and added once per run. No call and no
   * allocation per entry: 3-4 ns an entry over the bench's 1M payments (count(): 1.4-2.5), a
   * visit per entry into exact sums 20-27.
   */
  fold(runs: readonly CellRun[], params: FilterParams, into: StatsFold): void {
    const { user: u, minAmount, maxAmount, from, to } = params;
    const userOf = this.#userOf;
    const { bucketCount, bucketAmount, firstBucketMs, bucketMs, currencies } = into;
    for (const { cell, start, end } of runs) {
      const { rows, amount, createdAt, refunded } = cell;
      const currency = cell.currency;
      let n = 0;
      let sum = 0;
      let refundedSum = 0;
      if (u < 0 && bucketCount === undefined) {
        // the tests' outcome (0 or 1) added and multiplied instead of branched on, as in count():
        // a bound that keeps half the entries would mispredict every other branch
        for (let i = start; i < end; i++) {
          const a = amount[i];
          const t = createdAt[i];
          const ok = +(a >= minAmount) & +(a <= maxAmount) & +(t >= from) & +(t < to);
          n += ok;
          sum += ok * a;
          if (refunded !== undefined) refundedSum += ok * refunded[i];
        }
      } else {
        const buckets = bucketCount === undefined ? 0 : bucketCount.length / currencies;
        for (let i = start; i < end; i++) {
          const a = amount[i];
          const t = createdAt[i];
          if (a < minAmount || a > maxAmount || t < from || t >= to) continue;
          if (u >= 0 && userOf[rows[i]] !== u) continue;
          n++;
          sum += a;
          if (refunded !== undefined) refundedSum += refunded[i];
          const b = Math.floor((t - firstBucketMs) / bucketMs);
          if (b >= 0 && b < buckets) {
            const k = b * currencies + currency;
            bucketCount![k]++;
            bucketAmount![k] += a;
          }
        }
      }
      if (n > 0) into.add(cell.status, currency, n, sum, refundedSum);
    }
  }

  /** The filter as a predicate over row ids (for candidates from another index). */
  predicate(params: FilterParams): (row: number) => boolean {
    const { org, user, statusMask, currencies, minAmount, maxAmount, from, to } = params;
    const cells = this.#cells;
    const cellOf = this.#cellOf;
    const slotOf = this.#slotOf;
    const userOf = this.#userOf;
    return (row) => {
      const c = cells[cellOf[row]];
      if ((org >= 0 && c.org !== org) || ((statusMask >> c.status) & 1) === 0) return false;
      if (currencies !== undefined && currencies[c.currency] !== 1) return false;
      if (user >= 0 && userOf[row] !== user) return false;
      const s = slotOf[row];
      const a = c.amount[s];
      const t = c.createdAt[s];
      return a >= minAmount && a <= maxAmount && t >= from && t < to;
    };
  }

  #cellFor(org: number, status: number, currency: number): Cell {
    const key = currency * PAYMENT_STATUS_COUNT + status;
    let ids = this.#byOrg[org];
    if (ids === undefined || key >= ids.length) {
      const grown = new Int32Array(Math.max(key + 1, (ids?.length ?? 0) * 2, 4 * PAYMENT_STATUS_COUNT)).fill(-1);
      if (ids !== undefined) grown.set(ids);
      ids = grown;
      this.#byOrg[org] = ids;
    }
    let id = ids[key];
    if (id < 0) {
      id = this.#cells.length;
      this.#cells.push(new Cell(id, org, status, currency));
      ids[key] = id;
    }
    return this.#cells[id];
  }

  #append(cell: Cell, row: number, amount: number, createdAt: number, refunded: number): void {
    if (cell.length === cell.rows.length) {
      const n = Math.ceil(cell.rows.length * GROWTH);
      cell.rows = growTo(cell.rows, n, (k) => new Int32Array(k));
      cell.amount = growTo(cell.amount, n, (k) => new Float64Array(k));
      cell.createdAt = growTo(cell.createdAt, n, (k) => new Float64Array(k));
      if (cell.refunded !== undefined) cell.refunded = growTo(cell.refunded, n, (k) => new Float64Array(k));
    }
    const i = cell.length++;
    cell.rows[i] = row;
    cell.amount[i] = amount;
    cell.createdAt[i] = createdAt;
    if (refunded !== 0 && cell.refunded === undefined) cell.refunded = new Float64Array(cell.rows.length);
    if (cell.refunded !== undefined) cell.refunded[i] = refunded;
    this.#cellOf[row] = cell.id;
    this.#slotOf[row] = i;
  }

  /** Fills the slot with the cell's last entry. */
  #removeSlot(cell: Cell, slot: number): void {
    const last = --cell.length;
    if (slot !== last) {
      const moved = cell.rows[last];
      cell.rows[slot] = moved;
      cell.amount[slot] = cell.amount[last];
      cell.createdAt[slot] = cell.createdAt[last];
      if (cell.refunded !== undefined) cell.refunded[slot] = cell.refunded[last];
      this.#slotOf[moved] = slot;
    }
    if (cell.refunded !== undefined) cell.refunded[last] = 0;
  }
}

/**
 * PaymentCells as the query side sees it (see PaymentStore.cells): counts, selects and scans,
 * never add, setStatus, setRefunded or reserve (the store moves a row as it writes it). An
 * allow-list: a method added to PaymentCells stays out of it until it is named here. The
 * static readsBackward is the class's, not an instance's.
 */
export type PaymentCellsView = Pick<
  PaymentCells,
  'size' | 'cells' | 'cellOf' | 'slotOf' | 'amount' | 'createdAt' | 'user' | 'orgCount' | 'select' | 'count' | 'scan' | 'scanPage' | 'fold' | 'predicate'
>;

function growTo<A extends Int32Array | Float64Array>(a: A, n: number, make: (k: number) => A): A {
  const b = make(Math.max(n, a.length + 1));
  b.set(a);
  return b;
}
