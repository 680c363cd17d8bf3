/**
 * The store's binary search: the first index in [lo, hi) whose key is not below `key`, or `hi`
 * when every key in the range is below it (an empty range, hi <= lo, gives `lo`). That is where
 * `key` goes so that everything below it stays before it, and the first of a run of keys equal
 * to it. O(log(hi - lo)): at most ceil(log2(hi - lo + 1)) keys read, all inside [lo, hi).
 *
 * It comes in two forms, one per way the sorted indexes read a key, and each takes what it reads
 * as arguments: no closure per search. A closure-taking form (2b855b0, reverted in 32269f4) made
 * SortedIndex 8-12% slower, a closure and its context allocated per search; these cost what the
 * loops they replace cost. Both need keys sorted ascending over [lo, hi) and never NaN, and
 * 0 <= lo, hi <= 2^31, so that (lo + hi) >>> 1 is their midpoint.
 */
export function lowerBound(keys: ArrayLike<number>, lo: number, hi: number, key: number): number {
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (keys[mid] < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Where a key is read through the row an entry holds: the store's columns, not a copy. */
export interface KeyOfRow {
  key(row: number): number;
}

/**
 * lowerBound() over entries that hold row ids, each key read as `keys.key(rows[i])`: one call a
 * probe, so at most ceil(log2(hi - lo + 1)) calls.
 */
export function lowerBoundOfRows(rows: Int32Array, lo: number, hi: number, keys: KeyOfRow, key: number): number {
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (keys.key(rows[mid]) < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
