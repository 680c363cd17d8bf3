import fc from 'fast-check';
import { lowerBound } from './lower-bound';
import { FC_SEED } from '../../../test/fc-seed';

const SEED = FC_SEED;

/** What lowerBound must give: the first index in [lo, hi) whose value is not below `sought`, by a linear scan. */
function linearLowerBound(values: readonly number[], lo: number, hi: number, sought: number): number {
  let i = lo;
  while (i < hi && values[i] < sought) i++;
  return i;
}

/** lowerBound over `values`, recording every index it probes. */
function probed(values: readonly number[], lo: number, hi: number, sought: number): { at: number; probes: number[] } {
  const probes: number[] = [];
  const at = lowerBound(lo, hi, (i) => {
    probes.push(i);
    return values[i] < sought;
  });
  return { at, probes };
}

/** A sorted array (with duplicates), a sub-range [lo, hi) of it and a value to seek. */
const sortedCase = fc
  .tuple(fc.array(fc.integer({ min: -20, max: 20 }), { maxLength: 200 }), fc.nat(), fc.nat(), fc.integer({ min: -25, max: 25 }))
  .map(([unsorted, a, b, sought]) => {
    const values = unsorted.sort((x, y) => x - y);
    const lo = a % (values.length + 1);
    const hi = lo + (b % (values.length - lo + 1));
    return { values, lo, hi, sought };
  });

describe('lowerBound', () => {
  it('finds what a linear scan finds, on any sub-range of a sorted array with duplicates', () => {
    fc.assert(
      fc.property(sortedCase, ({ values, lo, hi, sought }) => {
        expect(probed(values, lo, hi, sought).at).toBe(linearLowerBound(values, lo, hi, sought));
      }),
      { seed: SEED, numRuns: 1000 },
    );
  });

  it('probes only inside [lo, hi), at most ceil(log2(hi - lo + 1)) times', () => {
    fc.assert(
      fc.property(sortedCase, ({ values, lo, hi, sought }) => {
        const { probes } = probed(values, lo, hi, sought);
        for (const i of probes) expect(i >= lo && i < hi).toBe(true);
        expect(probes.length).toBeLessThanOrEqual(Math.ceil(Math.log2(hi - lo + 1)));
      }),
      { seed: SEED, numRuns: 1000 },
    );
  });

  it('last probes true at the result - 1 and false at the result, when it probes there at all', () => {
    fc.assert(
      fc.property(sortedCase, ({ values, lo, hi, sought }) => {
        const answers: [number, boolean][] = [];
        const at = lowerBound(lo, hi, (i) => {
          const before = values[i] < sought;
          answers.push([i, before]);
          return before;
        });
        const lastTrue = answers.filter(([, before]) => before).pop();
        const lastFalse = answers.filter(([, before]) => !before).pop();
        if (lastTrue !== undefined) expect(lastTrue[0]).toBe(at - 1);
        else expect(at).toBe(lo);
        if (lastFalse !== undefined) expect(lastFalse[0]).toBe(at);
        else expect(at).toBe(hi);
      }),
      { seed: SEED, numRuns: 1000 },
    );
  });

  it('gives lo on an empty range without calling the predicate', () => {
    const never = () => {
      throw new Error('probed an empty range');
    };
    expect(lowerBound(0, 0, never)).toBe(0);
    expect(lowerBound(7, 7, never)).toBe(7);
    expect(lowerBound(7, 3, never)).toBe(7);
  });

  it('gives hi when every entry sorts before the value sought', () => {
    expect(lowerBound(0, 5, () => true)).toBe(5);
    expect(lowerBound(3, 9, () => true)).toBe(9);
  });

  it('gives lo when no entry sorts before the value sought', () => {
    expect(lowerBound(0, 5, () => false)).toBe(0);
    expect(lowerBound(3, 9, () => false)).toBe(3);
  });

  it('gives the first of a run of duplicates equal to the value sought', () => {
    const values = [1, 2, 2, 2, 2, 3];
    expect(lowerBound(0, values.length, (i) => values[i] < 2)).toBe(1);
    expect(lowerBound(0, values.length, (i) => values[i] <= 2)).toBe(5); // after the run
    expect(lowerBound(2, values.length, (i) => values[i] < 2)).toBe(2); // a range that starts inside the run
  });

  it('keeps the midpoint right on ranges up to hi = 2^31', () => {
    const at = 2 ** 31 - 3;
    const before = (lo: number) => (i: number) => {
      if (!(i >= lo && i < 2 ** 31)) throw new RangeError(`probed ${i}, outside the range`);
      return i < at;
    };
    expect(lowerBound(0, 2 ** 31, before(0))).toBe(at);
    expect(lowerBound(2 ** 31 - 10, 2 ** 31, before(2 ** 31 - 10))).toBe(at);
  });
});
