/**
 * The first index in [0, length) for which `isBefore(i)` is false, given that `isBefore` is
 * true for a prefix of the range and false for the rest. O(log length).
 */
export function lowerBound(length: number, isBefore: (i: number) => boolean): number {
  let lo = 0;
  let hi = length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (isBefore(mid)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
