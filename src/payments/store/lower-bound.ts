/**
 * The first index in [lo, hi) at which `before` answers false, or `hi` when it answers true at
 * every index (an empty range, hi <= lo, gives `lo`): where a value goes in a sorted range so
 * that all that sorts before it stays before it. The store's one binary search.
 *
 * `before(i)` answers "does the entry at i sort before the value sought?" and must be monotone
 * over [lo, hi): true on a prefix, false from some index on. It is called only inside [lo, hi),
 * at most ceil(log2(hi - lo + 1)) times, and not at all on an empty range. lo and hi are array
 * indexes (0 <= lo, hi <= 2^31, so that (lo + hi) >>> 1 is their midpoint).
 *
 * Invariant: `before` holds at every index from the caller's lo up to `lo`, and fails at every
 * index from `hi` up to the caller's hi; each probe halves [lo, hi) until it is empty. So the
 * last index probed true (if any) is the result - 1, and the last probed false (if any) is the
 * result: a caller may keep what it read there instead of reading it again.
 */
export function lowerBound(lo: number, hi: number, before: (i: number) => boolean): number {
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (before(mid)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
