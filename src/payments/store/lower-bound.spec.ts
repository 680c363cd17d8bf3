import fc from 'fast-check';
import { KeyOfRow, lowerBound, lowerBoundOfRows } from './lower-bound';
import { FC_SEED } from '../../../test/fc-seed';

/** Random per run; replay a failure with FC_SEED=<seed printed by fast-check>, as the other specs. */
const SEED = FC_SEED;
const RUNS = 1000;

/** What both forms must give: the first index in [lo, hi) whose key is not below `key`, by a linear scan. */
function linearLowerBound(keys: readonly number[], lo: number, hi: number, key: number): number {
  let i = lo;
  while (i < hi && keys[i] < key) i++;
  return i;
}

/** Rows whose keys sit in a column (as the store's do), the rows a permutation, every read recorded. */
class Column implements KeyOfRow {
  readonly read: number[] = [];
  constructor(private readonly keys: readonly number[]) {}

  key(row: number): number {
    this.read.push(row);
    return this.keys[row];
  }
}

/**
 * The same sorted keys as lowerBoundOfRows sees them: row ids in a chunk, in key order, and
 * each key in a column at its row (rows reversed, so that a position is not its row id).
 */
function asRows(sorted: readonly number[]): { rows: Int32Array; column: Column } {
  const n = sorted.length;
  const rows = Int32Array.from(sorted, (_, i) => n - 1 - i);
  const byRow = new Array<number>(n);
  rows.forEach((row, i) => (byRow[row] = sorted[i]));
  return { rows, column: new Column(byRow) };
}

/** Small keys, so that runs of duplicates are common; a sub-range [lo, hi); a key just beyond them too. */
const sortedCase = fc
  .tuple(fc.array(fc.integer({ min: -20, max: 20 }), { maxLength: 300 }), fc.nat(), fc.nat(), fc.integer({ min: -25, max: 25 }))
  .map(([unsorted, a, b, key]) => {
    const keys = unsorted.sort((x, y) => x - y);
    const lo = a % (keys.length + 1);
    const hi = lo + (b % (keys.length - lo + 1));
    return { keys, lo, hi, key };
  });

/** Both forms over the same keys, the row form's reads recorded as positions. */
function bothForms(keys: readonly number[], lo: number, hi: number, key: number): { plain: number; typed: number; ofRows: number; probed: number[] } {
  const { rows, column } = asRows(keys);
  const ofRows = lowerBoundOfRows(rows, lo, hi, column, key);
  const positionOf = new Map(Array.from(rows, (row, i) => [row, i]));
  return {
    plain: lowerBound(keys, lo, hi, key),
    typed: lowerBound(Float64Array.from(keys), lo, hi, key),
    ofRows,
    probed: column.read.map((row) => positionOf.get(row) ?? -1),
  };
}

describe('lowerBound and lowerBoundOfRows', () => {
  it('find what a linear scan finds, on any sub-range of sorted keys with duplicates', () => {
    fc.assert(
      fc.property(sortedCase, ({ keys, lo, hi, key }) => {
        const expected = linearLowerBound(keys, lo, hi, key);
        const { plain, typed, ofRows } = bothForms(keys, lo, hi, key);
        expect([plain, typed, ofRows]).toEqual([expected, expected, expected]);
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });

  it('read keys only inside [lo, hi), at most ceil(log2(hi - lo + 1)) of them', () => {
    fc.assert(
      fc.property(sortedCase, ({ keys, lo, hi, key }) => {
        const { probed } = bothForms(keys, lo, hi, key);
        expect(probed.every((i) => i >= lo && i < hi)).toBe(true);
        expect(probed.length).toBeLessThanOrEqual(Math.ceil(Math.log2(hi - lo + 1)));
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });

  it('give lo on an empty range without reading a key', () => {
    for (const [lo, hi] of [
      [0, 0],
      [7, 7],
      [7, 3],
    ]) {
      const { plain, typed, ofRows, probed } = bothForms([1, 2, 3, 4, 5, 6, 7, 8, 9], lo, hi, 5);
      expect([plain, typed, ofRows]).toEqual([lo, lo, lo]);
      expect(probed).toEqual([]);
    }
    expect(lowerBound([], 0, 0, 1)).toBe(0);
  });

  it('give hi for a key above every key in the range, and lo for one at or below them all', () => {
    const keys = [10, 20, 30, 40, 50];
    expect(bothForms(keys, 0, 5, 51)).toMatchObject({ plain: 5, typed: 5, ofRows: 5 });
    expect(bothForms(keys, 1, 3, 45)).toMatchObject({ plain: 3, typed: 3, ofRows: 3 });
    expect(bothForms(keys, 0, 5, 10)).toMatchObject({ plain: 0, typed: 0, ofRows: 0 });
    expect(bothForms(keys, 2, 5, -Infinity)).toMatchObject({ plain: 2, typed: 2, ofRows: 2 });
  });

  it('give the first of a run of keys equal to the one sought, and the end of a run of smaller ones', () => {
    const keys = [1, 2, 2, 2, 2, 3];
    expect(bothForms(keys, 0, 6, 2)).toMatchObject({ plain: 1, typed: 1, ofRows: 1 });
    expect(bothForms(keys, 0, 6, 2.5)).toMatchObject({ plain: 5, typed: 5, ofRows: 5 });
    expect(bothForms(keys, 3, 6, 2)).toMatchObject({ plain: 3, typed: 3, ofRows: 3 });
  });

  it('give lo when every key is equal to the one sought, and hi when every key is below it', () => {
    const keys = new Array<number>(1000).fill(7);
    expect(bothForms(keys, 0, 1000, 7)).toMatchObject({ plain: 0, typed: 0, ofRows: 0 });
    expect(bothForms(keys, 250, 750, 7)).toMatchObject({ plain: 250, typed: 250, ofRows: 250 });
    expect(bothForms(keys, 0, 1000, 8)).toMatchObject({ plain: 1000, typed: 1000, ofRows: 1000 });
  });

  it('keep the midpoint right on ranges up to hi = 2^31', () => {
    const at = 2 ** 31 - 3;
    // every index below `at` holds 0, every one from it 1; an index outside the range throws
    const keys = (lo: number) =>
      new Proxy([] as number[], {
        get: (_, p) => {
          const i = Number(p);
          if (!(i >= lo && i < 2 ** 31)) throw new RangeError(`read ${String(p)}, outside the range`);
          return i < at ? 0 : 1;
        },
      });
    expect(lowerBound(keys(0), 0, 2 ** 31, 1)).toBe(at);
    expect(lowerBound(keys(2 ** 31 - 10), 2 ** 31 - 10, 2 ** 31, 1)).toBe(at);
  });
});
