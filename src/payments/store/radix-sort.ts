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
 * Sorts rows by key: `keys[i]` is the key of `rows[i]` (of row i when `rows` is omitted). Stable.
 * Keys must not be NaN; -0 sorts as 0. O(n · passes): when every key is an integer and their
 * range is below 2^53, the sort reads the offsets from the least key, so the passes only cover
 * the bits that vary (amounts up to 10^6: two passes; a year of epoch milliseconds: three or
 * four); else the IEEE-754 bits of the keys, made unsigned-sortable (up to six passes).
 * Digits that are the same in every key cost no pass.
 */
export function sortByKey(keys: Float64Array, rows?: Uint32Array): SortedRows {
  const n = keys.length;
  const ids: Uint32Array = rows ?? identity(n);
  if (rows !== undefined && rows.length !== n) throw new RangeError('sortByKey: rows and keys differ in length');
  let lo = new Uint32Array(n);
  let hi = new Uint32Array(n);
  const encoding = toSortableWords(keys, lo, hi);
  const bits = encoding.bits;
  if (bits === 0 || n < 2) return { rows: rows === undefined ? ids : ids.slice(), keys: fromSortableWords(lo, hi, encoding) };

  const passes = Math.ceil(bits / MAX_DIGIT_BITS);
  const digitBits = Math.ceil(bits / passes);
  const radix = 1 << digitBits;
  const mask = radix - 1;
  // every pass' counts in one read of the keys
  const counts = new Uint32Array(passes * radix);
  for (let i = 0; i < n; i++) {
    const l = lo[i];
    const h = hi[i];
    for (let p = 0; p < passes; p++) counts[p * radix + digitOf(l, h, p * digitBits, mask)]++;
  }
  let src: Uint32Array = ids;
  let dst: Uint32Array = new Uint32Array(n);
  let lo2 = new Uint32Array(n);
  let hi2 = new Uint32Array(n);
  const offsets = new Uint32Array(radix);
  for (let p = 0; p < passes; p++) {
    const base = p * radix;
    // a digit every key shares leaves the order as it is
    let trivial = false;
    for (let d = 0; d < radix; d++) {
      const c = counts[base + d];
      if (c === n) trivial = true;
      if (c !== 0) break;
    }
    if (trivial) continue;
    let sum = 0;
    for (let d = 0; d < radix; d++) {
      offsets[d] = sum;
      sum += counts[base + d];
    }
    const shift = p * digitBits;
    for (let i = 0; i < n; i++) {
      const l = lo[i];
      const h = hi[i];
      const at = offsets[digitOf(l, h, shift, mask)]++;
      dst[at] = src[i];
      lo2[at] = l;
      hi2[at] = h;
    }
    [src, dst] = [dst, src === ids ? new Uint32Array(n) : src];
    [lo, lo2] = [lo2, lo];
    [hi, hi2] = [hi2, hi];
  }
  const sortedRows = src !== ids ? src : rows === undefined ? ids : ids.slice();
  return { rows: sortedRows, keys: fromSortableWords(lo, hi, encoding) };
}

/** Bits [shift, shift + width) of the 64-bit word hi:lo. */
function digitOf(lo: number, hi: number, shift: number, mask: number): number {
  if (shift >= 32) return (hi >>> (shift - 32)) & mask;
  if (shift === 0) return lo & mask;
  return ((lo >>> shift) | (hi << (32 - shift))) & mask;
}

function identity(n: number): Uint32Array {
  const ids = new Uint32Array(n);
  for (let i = 0; i < n; i++) ids[i] = i;
  return ids;
}

/** How the keys were written as words: offsets from `base`, or IEEE-754 bits (base undefined). */
interface Encoding {
  base: number | undefined;
  /** Low bits in which the words differ. */
  bits: number;
}

/**
 * Writes each key as an unsigned 64-bit word hi:lo whose order is the keys' order. Integer keys
 * within 2^53 of each other: key - min. Else the IEEE-754 bits, the sign bit flipped for
 * non-negative keys and every bit flipped for negative ones.
 */
function toSortableWords(keys: Float64Array, lo: Uint32Array, hi: Uint32Array): Encoding {
  const n = keys.length;
  let min = Infinity;
  let max = -Infinity;
  let integers = true;
  for (let i = 0; i < n; i++) {
    const k = keys[i];
    if (k !== k) throw new RangeError(`sortByKey: the key at ${i} is NaN`);
    if (k < min) min = k;
    if (k > max) max = k;
    if (integers && Math.floor(k) !== k) integers = false; // also false for ±Infinity
  }
  if (n === 0) return { base: 0, bits: 0 };
  if (integers && max - min <= Number.MAX_SAFE_INTEGER) {
    for (let i = 0; i < n; i++) {
      const d = keys[i] - min; // exact: integers less than 2^53 apart
      const h = Math.floor(d / 4294967296);
      hi[i] = h;
      lo[i] = d - h * 4294967296;
    }
    const range = max - min;
    const rangeHi = Math.floor(range / 4294967296);
    const bits = rangeHi > 0 ? 64 - Math.clz32(rangeHi) : 32 - Math.clz32(range);
    return { base: min, bits };
  }
  const view = new Float64Array(1);
  const words = new Uint32Array(view.buffer);
  for (let i = 0; i < n; i++) {
    view[0] = keys[i] + 0; // -0 + 0 is +0: the two zeros sort as one key
    const h = words[1];
    if (h & 0x80000000) {
      hi[i] = ~h >>> 0;
      lo[i] = ~words[0] >>> 0;
    } else {
      hi[i] = (h | 0x80000000) >>> 0;
      lo[i] = words[0];
    }
  }
  let diffHi = 0;
  let diffLo = 0;
  for (let i = 1; i < n; i++) {
    diffHi |= hi[i] ^ hi[0];
    diffLo |= lo[i] ^ lo[0];
  }
  return { base: undefined, bits: diffHi !== 0 ? 64 - Math.clz32(diffHi) : diffLo === 0 ? 0 : 32 - Math.clz32(diffLo) };
}

/** The keys back from their words (in the words' order). */
function fromSortableWords(lo: Uint32Array, hi: Uint32Array, encoding: Encoding): Float64Array {
  const n = lo.length;
  const out = new Float64Array(n);
  const base = encoding.base;
  if (base !== undefined) {
    for (let i = 0; i < n; i++) out[i] = base + (hi[i] * 4294967296 + lo[i]);
    return out;
  }
  const view = new Float64Array(1);
  const words = new Uint32Array(view.buffer);
  for (let i = 0; i < n; i++) {
    const h = hi[i];
    if (h & 0x80000000) {
      words[1] = (h & 0x7fffffff) >>> 0;
      words[0] = lo[i];
    } else {
      words[1] = ~h >>> 0;
      words[0] = ~lo[i] >>> 0;
    }
    out[i] = view[0];
  }
  return out;
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
    let unit = 0;
    if (saturated) unit = 0xff;
    else if (j < id.length) {
      unit = id.charCodeAt(j);
      if (unit >= 0xff) {
        unit = 0xff;
        saturated = true;
      }
    }
    prefix = prefix * 256 + unit;
  }
  return prefix;
}
