/**
 * Sorting row ids by a numeric key for the bulk build of the sorted indexes (see
 * PaymentStore.endBulkLoad): a comparator sort of 10M rows calls its comparator some 230M times,
 * many seconds; this radix sort reads each key a few times in sequence and calls nothing.
 */

/** Bits per digit: 2^11 counters fit in L1 and the scatter's write streams in the cache. */
const MAX_DIGIT_BITS = 11;
/** Runs of equal keys up to this length are ordered by insertion sort; longer ones by TypedArray sort. */
const SHORT_RUN = 16;

export interface SortedRows {
  /** The row ids in key order; equal keys keep their input order (the sort is stable). */
  rows: Uint32Array;
  /** keys[i] is the key of rows[i]. */
  keys: Float64Array;
}

/**
 * The arrays a sort works in, for sorts of up to `n` keys one after the other: at 10M rows each
 * is 40-80 MB, and memory touched for the first time is what a large sort pays most for on a
 * virtual machine (a page fault each 4 KiB), so the index builds of a load share one set. A
 * sort's result lies in these arrays (or in the keys it was given) until the next sort.
 */
export class RadixWorkspace {
  readonly rowsA: Uint32Array;
  readonly rowsB: Uint32Array;
  readonly keys: Float64Array;
  #words: Uint32Array[] | undefined;

  constructor(readonly n: number) {
    this.rowsA = new Uint32Array(n);
    this.rowsB = new Uint32Array(n);
    this.keys = new Float64Array(n);
  }

  /** Four more arrays, for keys that are not integers (sorted by their IEEE-754 bits). */
  get words(): Uint32Array[] {
    return (this.#words ??= [0, 1, 2, 3].map(() => new Uint32Array(this.n)));
  }

  /** The rows array of this workspace that `rows` (a sort's result) is not. */
  otherRows(rows: Uint32Array): Uint32Array {
    return rows.buffer === this.rowsA.buffer ? this.rowsB : this.rowsA;
  }
}

/**
 * Sorts rows by key: `keys[i]` is the key of `rows[i]` (of row i when `rows` is omitted). Stable.
 * Keys must not be NaN; -0 sorts as 0. `keys` is the sort's own (it is overwritten and may hold
 * the result), `rows` is only read; the result is in `keys` and the workspace's arrays.
 * O(n · passes): when every key is an integer and their range is below 2^53, the offsets from
 * the least key are sorted, so the passes only cover the bits that vary (amounts up to 10^6: two
 * passes; a year of epoch milliseconds: three or four); else the IEEE-754 bits of the keys, made
 * unsigned-sortable (up to six passes). A digit that is the same in every key costs no pass.
 */
export function sortByKey(keys: Float64Array, rows?: Uint32Array, workspace?: RadixWorkspace): SortedRows {
  const n = keys.length;
  if (rows !== undefined && rows.length !== n) throw new RangeError('sortByKey: rows and keys differ in length');
  const ws = workspace ?? new RadixWorkspace(n);
  if (ws.n < n || keys.buffer === ws.keys.buffer) throw new RangeError('sortByKey: the workspace is too small, or holds the keys');
  let min = Infinity;
  let max = -Infinity;
  let integers = true;
  for (let i = 0; i < n; i++) {
    const k = keys[i] + 0; // -0 + 0 is +0: the two zeros sort as one key
    if (k !== k) throw new RangeError(`sortByKey: the key at ${i} is NaN`);
    keys[i] = k;
    if (k < min) min = k;
    if (k > max) max = k;
    if (integers && Math.floor(k) !== k) integers = false; // also false for ±Infinity
  }
  const work = new Rows(rows, ws, n);
  if (n < 2 || min === max) return { rows: work.result(), keys };
  if (integers && max - min <= Number.MAX_SAFE_INTEGER) return sortOffsets(keys, work, min, max, ws.keys.subarray(0, n));
  return sortBits(keys, work, ws.words.map((w) => w.subarray(0, n)));
}

/**
 * The rows side of a sort: read from the caller's array (never written) or the identity, moved
 * between the workspace's two arrays.
 */
class Rows {
  src: Uint32Array;
  #dst: Uint32Array;
  readonly #a: Uint32Array;
  readonly #b: Uint32Array;

  constructor(rows: Uint32Array | undefined, ws: RadixWorkspace, n: number) {
    this.#a = ws.rowsA.subarray(0, n);
    this.#b = ws.rowsB.subarray(0, n);
    if (rows === undefined) {
      for (let i = 0; i < n; i++) this.#a[i] = i;
      this.src = this.#a;
      this.#dst = this.#b;
    } else {
      this.src = rows;
      this.#dst = this.#a;
    }
  }

  get dst(): Uint32Array {
    return this.#dst;
  }

  /** After a pass into dst: it becomes the source, and the other work array the next target. */
  swap(): void {
    const written = this.#dst;
    this.#dst = written === this.#a ? this.#b : this.#a;
    this.src = written;
  }

  /** The sorted rows, in a work array. */
  result(): Uint32Array {
    if (this.src !== this.#a && this.src !== this.#b) this.#a.set(this.src);
    return this.src === this.#b ? this.#b : this.#a;
  }
}

/** Integer keys: their offsets from `min`, sorted by digits of the offsets; `spare` is the other keys array. */
function sortOffsets(keys: Float64Array, rows: Rows, min: number, max: number, spare: Float64Array): SortedRows {
  const n = keys.length;
  const range = max - min;
  const rangeHi = Math.floor(range / 4294967296);
  const bits = rangeHi > 0 ? 64 - Math.clz32(rangeHi) : 32 - Math.clz32(range);
  const passes = Math.ceil(bits / MAX_DIGIT_BITS);
  const digitBits = Math.ceil(bits / passes);
  const radix = 1 << digitBits;
  const mask = radix - 1;
  const counts = new Uint32Array(passes * radix);
  for (let i = 0; i < n; i++) {
    const v = keys[i] - min; // exact: integers less than 2^53 apart
    keys[i] = v;
    let q = v;
    for (let p = 0; p < passes; p++) {
      counts[p * radix + (q % radix)]++;
      q = Math.floor(q / radix);
    }
  }
  let src = keys;
  let dst = spare;
  const offsets = new Uint32Array(radix);
  let divisor = 1;
  for (let p = 0; p < passes; p++, divisor *= radix) {
    if (!prefixSums(counts, p * radix, radix, n, offsets)) continue;
    const from = rows.src;
    const to = rows.dst;
    for (let i = 0; i < n; i++) {
      const v = src[i];
      // v / divisor is exact (a power of two), and below 2^53: & keeps its low bits
      const at = offsets[Math.floor(v / divisor) & mask]++;
      to[at] = from[i];
      dst[at] = v;
    }
    rows.swap();
    [src, dst] = [dst, src];
  }
  for (let i = 0; i < n; i++) src[i] += min;
  return { rows: rows.result(), keys: src };
}

/**
 * Sets offsets[d] to where digit d's entries start, from the counts of one pass; false when
 * every key has the same digit (the pass would leave the order as it is).
 */
function prefixSums(counts: Uint32Array, base: number, radix: number, n: number, offsets: Uint32Array): boolean {
  let sum = 0;
  for (let d = 0; d < radix; d++) {
    const c = counts[base + d];
    if (c === n) return false;
    offsets[d] = sum;
    sum += c;
  }
  return true;
}

/** Keys that are not all integers: sorted by their IEEE-754 bits, made unsigned-sortable, in `words` (four arrays). */
function sortBits(keys: Float64Array, rows: Rows, words: Uint32Array[]): SortedRows {
  const n = keys.length;
  let [lo, hi, lo2, hi2] = words;
  const view = new Float64Array(1);
  const bits32 = new Uint32Array(view.buffer);
  for (let i = 0; i < n; i++) {
    view[0] = keys[i];
    const h = bits32[1];
    if (h & 0x80000000) {
      hi[i] = ~h >>> 0;
      lo[i] = ~bits32[0] >>> 0;
    } else {
      hi[i] = (h | 0x80000000) >>> 0;
      lo[i] = bits32[0];
    }
  }
  let diffHi = 0;
  let diffLo = 0;
  for (let i = 1; i < n; i++) {
    diffHi |= hi[i] ^ hi[0];
    diffLo |= lo[i] ^ lo[0];
  }
  const bits = diffHi !== 0 ? 64 - Math.clz32(diffHi) : 32 - Math.clz32(diffLo);
  const passes = Math.ceil(bits / MAX_DIGIT_BITS);
  const digitBits = Math.ceil(bits / passes);
  const radix = 1 << digitBits;
  const mask = radix - 1;
  const counts = new Uint32Array(passes * radix);
  for (let i = 0; i < n; i++) {
    const l = lo[i];
    const h = hi[i];
    for (let p = 0; p < passes; p++) counts[p * radix + digitOf(l, h, p * digitBits, mask)]++;
  }
  const offsets = new Uint32Array(radix);
  for (let p = 0; p < passes; p++) {
    if (!prefixSums(counts, p * radix, radix, n, offsets)) continue;
    const shift = p * digitBits;
    const from = rows.src;
    const to = rows.dst;
    for (let i = 0; i < n; i++) {
      const l = lo[i];
      const h = hi[i];
      const at = offsets[digitOf(l, h, shift, mask)]++;
      to[at] = from[i];
      lo2[at] = l;
      hi2[at] = h;
    }
    rows.swap();
    [lo, lo2] = [lo2, lo];
    [hi, hi2] = [hi2, hi];
  }
  for (let i = 0; i < n; i++) {
    const h = hi[i];
    if (h & 0x80000000) {
      bits32[1] = (h & 0x7fffffff) >>> 0;
      bits32[0] = lo[i];
    } else {
      bits32[1] = ~h >>> 0;
      bits32[0] = ~lo[i] >>> 0;
    }
    keys[i] = view[0];
  }
  return { rows: rows.result(), keys };
}

/** Bits [shift, shift + width) of the 64-bit word hi:lo. */
function digitOf(lo: number, hi: number, shift: number, mask: number): number {
  if (shift >= 32) return (hi >>> (shift - 32)) & mask;
  if (shift === 0) return lo & mask;
  return ((lo >>> shift) | (hi << (32 - shift))) & mask;
}

/**
 * Orders each run of equal keys of a sorted `rows` by `compare` (the index's tie-breaker):
 * short runs by insertion sort, long ones by TypedArray sort. O(n) to find the runs, then
 * O(r log r) calls of `compare` per run of r rows: nothing when the keys are distinct.
 */
export function orderTies(rows: Uint32Array, keys: Float64Array, compare: (a: number, b: number) => number): void {
  const n = rows.length;
  let start = 0;
  while (start < n) {
    const k = keys[start];
    let end = start + 1;
    while (end < n && keys[end] === k) end++;
    const r = end - start;
    if (r > 1) {
      if (r <= SHORT_RUN) {
        for (let i = start + 1; i < end; i++) {
          const row = rows[i];
          let j = i - 1;
          while (j >= start && compare(rows[j], row) > 0) {
            rows[j + 1] = rows[j];
            j--;
          }
          rows[j + 1] = row;
        }
      } else {
        rows.subarray(start, end).sort(compare);
      }
    }
    start = end;
  }
}

/**
 * The first six UTF-16 code units of `id` as one number whose order never contradicts the
 * strings' (a < b implies tiePrefix(a) <= tiePrefix(b)): units above 0xFE saturate the rest to
 * 0xFF, a missing unit counts 0. So rows with different prefixes compare by prefix alone, and
 * only equal prefixes need the full comparison. 48 bits: exact in a double.
 */
export function tiePrefix(id: string): number {
  let prefix = 0;
  let saturated = false;
  for (let j = 0; j < 6; j++) {
    const unit: number = saturated ? 0xff : j < id.length ? Math.min(id.charCodeAt(j), 0xff) : 0;
    saturated = unit === 0xff;
    prefix = prefix * 256 + unit;
  }
  return prefix;
}

/** tiePrefix() of the Latin-1 text bytes[start, end), read from the bytes. */
export function tiePrefixOfBytes(bytes: Uint8Array, start: number, end: number): number {
  let prefix = 0;
  let saturated = false;
  for (let j = 0; j < 6; j++) {
    const unit: number = saturated ? 0xff : start + j < end ? bytes[start + j] : 0;
    saturated = unit === 0xff;
    prefix = prefix * 256 + unit;
  }
  return prefix;
}
