import { lowerBound } from './lower-bound';

/** A small seeded generator, so a failure can be replayed. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe('lowerBound', () => {
  it('returns 0 for an empty range without asking anything', () => {
    const isBefore = jest.fn(() => true);
    expect(lowerBound(0, isBefore)).toBe(0);
    expect(isBefore).not.toHaveBeenCalled();
  });

  it('returns the length when every index is before', () => {
    expect(lowerBound(7, () => true)).toBe(7);
  });

  it('returns 0 when no index is before', () => {
    expect(lowerBound(7, () => false)).toBe(0);
  });

  it('finds the first index of a value in a sorted array with duplicates', () => {
    const xs = [1, 2, 2, 2, 5, 8, 8, 9];
    expect(lowerBound(xs.length, (i) => xs[i] < 2)).toBe(1);
    expect(lowerBound(xs.length, (i) => xs[i] < 8)).toBe(5);
    expect(lowerBound(xs.length, (i) => xs[i] < 3)).toBe(4);
    expect(lowerBound(xs.length, (i) => xs[i] < 0)).toBe(0);
    expect(lowerBound(xs.length, (i) => xs[i] < 10)).toBe(8);
  });

  it('agrees with a linear scan for every split point of random lengths', () => {
    const rand = lcg(42);
    for (let round = 0; round < 300; round++) {
      const length = Math.floor(rand() * 200);
      const split = Math.floor(rand() * (length + 1));
      expect(lowerBound(length, (i) => i < split)).toBe(split);
    }
  });

  it('only asks about indexes inside [0, length) and at most ceil(log2(length + 1)) times', () => {
    for (const length of [1, 2, 3, 10, 1000, 1 << 20]) {
      for (const split of [0, 1, length >>> 1, length - 1, length]) {
        const asked: number[] = [];
        lowerBound(length, (i) => {
          asked.push(i);
          return i < split;
        });
        expect(asked.every((i) => Number.isInteger(i) && i >= 0 && i < length)).toBe(true);
        expect(asked.length).toBeLessThanOrEqual(Math.ceil(Math.log2(length + 1)));
      }
    }
  });
});
