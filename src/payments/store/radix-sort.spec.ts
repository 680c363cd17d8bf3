import fc from 'fast-check';
import { orderTies, RadixWorkspace, sortByKey, tiePrefix, tiePrefixOfBytes } from './radix-sort';
import { FC_SEED } from '../../../test/fc-seed';

const SEED = FC_SEED;

/** What sortByKey must give: a stable comparator sort of the input positions by key. */
function reference(keys: number[], rows: number[]): number[] {
  return rows
    .map((row, i) => ({ row, i, k: keys[i] }))
    .sort((a, b) => (a.k < b.k ? -1 : a.k > b.k ? 1 : a.i - b.i))
    .map((e) => e.row);
}

const sameKey = (a: number, b: number) => a === b || (a === 0 && b === 0);

describe('sortByKey', () => {
  const keySets: [string, fc.Arbitrary<number>][] = [
    ['amounts (small positive integers, many ties)', fc.integer({ min: 1, max: 40 })],
    ['epoch milliseconds over ten thousand years, negative ones included', fc.integer({ min: -62_167_219_200_000, max: 253_402_300_799_999 })],
    ['integers a full 2^53 apart', fc.constantFrom(0, 1, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER - 1, 2 ** 32, 2 ** 32 - 1)],
    ['integers more than 2^53 apart (sorted by their IEEE-754 bits)', fc.constantFrom(-(2 ** 60), -1, 0, 5, 2 ** 53, 2 ** 61)],
    ['fractions, infinities and both zeros', fc.oneof(fc.double({ noNaN: true }), fc.constantFrom(-0, 0, Infinity, -Infinity, 0.5, -0.5))],
  ];
  for (const [name, key] of keySets) {
    it(`sorts ${name} as a stable comparator sort does, keys alongside`, () => {
      fc.assert(
        fc.property(fc.array(key, { maxLength: 300 }), fc.boolean(), (keys, withRows) => {
          const rows = keys.map((_, i) => (i * 7919) % 100_003); // distinct row ids, not in key order
          const got = withRows ? sortByKey(Float64Array.from(keys), Uint32Array.from(rows)) : sortByKey(Float64Array.from(keys));
          const want = reference(keys, withRows ? rows : keys.map((_, i) => i));
          expect([...got.rows]).toEqual(want);
          const keyOf = new Map((withRows ? rows : keys.map((_, i) => i)).map((row, i) => [row, keys[i]]));
          got.rows.forEach((row, i) => expect(sameKey(got.keys[i], keyOf.get(row)!)).toBe(true));
        }),
        { seed: SEED, numRuns: 200 },
      );
    });
  }

  it('sorts a large run with every pass and leaves the caller’s rows untouched', () => {
    const n = 50_000;
    let s = 12345;
    const next = () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0);
    const keys = Float64Array.from({ length: n }, () => 1_700_000_000_000 + (next() % 31_536_000_000));
    const rows = Uint32Array.from({ length: n }, (_, i) => n - 1 - i);
    const before = rows.slice();
    const want = reference([...keys], [...rows]);
    const got = sortByKey(keys, rows); // keys are the sort's own: overwritten
    expect(rows).toEqual(before);
    expect([...got.rows]).toEqual(want);
  });

  it('refuses a NaN key', () => {
    expect(() => sortByKey(Float64Array.from([1, NaN]))).toThrow(/NaN/);
  });

  it('sorts one key set after another in one workspace, each result whole until the next sort', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -5, max: 5 }), { minLength: 1, maxLength: 60 }), fc.array(fc.double({ noNaN: true }), { minLength: 1, maxLength: 60 }), (ints, doubles) => {
        const ws = new RadixWorkspace(60);
        const n = Math.min(ints.length, doubles.length);
        const first = sortByKey(Float64Array.from(ints.slice(0, n)), undefined, ws);
        expect([...first.rows]).toEqual(reference(ints.slice(0, n), ints.slice(0, n).map((_, i) => i)));
        const rows = Uint32Array.from(first.rows); // a result given back as the next sort's rows
        const keys = Float64Array.from(rows, (row) => doubles[row]);
        const second = sortByKey(keys, rows, ws);
        expect([...second.rows]).toEqual(reference([...rows].map((row) => doubles[row]), [...rows]));
        expect(ws.otherRows(second.rows).buffer).not.toBe(second.rows.buffer);
      }),
      { seed: SEED, numRuns: 200 },
    );
    expect(() => sortByKey(new Float64Array(61), undefined, new RadixWorkspace(60))).toThrow(/too small/);
  });
});

describe('orderTies', () => {
  it('orders each run of equal keys by the comparator and leaves the rest in place', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 5 }), fc.string({ maxLength: 4 })), { maxLength: 120 }), (entries) => {
        const ids = entries.map(([, id], row) => `${id}#${row}`);
        const sorted = sortByKey(Float64Array.from(entries.map(([k]) => k)));
        orderTies(sorted.rows, sorted.keys, (a, b) => (ids[a] < ids[b] ? -1 : ids[a] > ids[b] ? 1 : 0));
        const want = entries
          .map(([k], row) => ({ k, id: ids[row], row }))
          .sort((a, b) => a.k - b.k || (a.id < b.id ? -1 : 1))
          .map((e) => e.row);
        expect([...sorted.rows]).toEqual(want);
      }),
      { seed: SEED, numRuns: 200 },
    );
  });
});

describe('tiePrefix', () => {
  it('never orders two ids against their string order', () => {
    const unit = fc.oneof(fc.constantFrom('-', '0', '9', 'a', 'z', '\u00fe', '\u00ff', '\u0100', '\uffff'), fc.integer({ min: 1, max: 0xffff }).map((c) => String.fromCharCode(c)));
    fc.assert(
      fc.property(fc.array(unit, { maxLength: 9 }), fc.array(unit, { maxLength: 9 }), (a, b) => {
        const x = a.join('');
        const y = b.join('');
        if (x < y) expect(tiePrefix(x)).toBeLessThanOrEqual(tiePrefix(y));
        if (x > y) expect(tiePrefix(x)).toBeGreaterThanOrEqual(tiePrefix(y));
      }),
      { seed: SEED, numRuns: 2000 },
    );
  });

  it('tells apart ids that differ in their first six characters', () => {
    expect(tiePrefix('abcdef-1')).toBeLessThan(tiePrefix('abcdeg-0'));
    expect(tiePrefix('pay_01')).toBeLessThan(tiePrefix('pay_02'));
    expect(tiePrefix('a')).toBeLessThan(tiePrefix('a-'));
    expect(tiePrefix('pay_0001')).toBe(tiePrefix('pay_0002')); // equal prefixes: the full comparison decides
  });

  it('gives from the Latin-1 bytes of an id what it gives from the id', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 9 }), fc.nat({ max: 3 }), (bytes, pad) => {
        const padded = new Uint8Array(pad + bytes.length + 2).fill(0x41);
        padded.set(bytes, pad);
        expect(tiePrefixOfBytes(padded, pad, pad + bytes.length)).toBe(tiePrefix(Buffer.from(bytes).toString('latin1')));
      }),
      { seed: SEED, numRuns: 2000 },
    );
  });
});
