import fc from 'fast-check';
import { hashString, IdTable } from './id-table';
import { FC_SEED } from '../../../test/fc-seed';

const SEED = FC_SEED;
const runs = (numRuns: number, salt: number): fc.Parameters<unknown> => ({ numRuns, seed: SEED + salt });

/** The table as the store uses it: ids kept by row, rows dense from 0, each id inserted once. */
function build(ids: readonly string[]) {
  const byRow: string[] = [];
  const table = new IdTable((row) => byRow[row]);
  const map = new Map<string, number>();
  for (const id of ids) {
    if (map.has(id)) continue; // the store checks presence first
    if (table.get(id) !== undefined) throw new Error(`found ${JSON.stringify(id)} before it was set`);
    const row = byRow.length;
    byRow.push(id);
    table.set(id, row);
    map.set(id, row);
  }
  return { table, map, byRow };
}

function expectSame(table: IdTable, map: Map<string, number>, absent: readonly string[]): void {
  expect(table.size).toBe(map.size);
  // expect() per id is slow at 100k ids: collect the disagreements, compare once
  const wrong: [string, number | undefined, number | undefined][] = [];
  for (const [id, row] of map) if (table.get(id) !== row) wrong.push([id, table.get(id), row]);
  for (const id of absent) if (table.get(id) !== map.get(id)) wrong.push([id, table.get(id), map.get(id)]);
  expect(wrong).toEqual([]);
}

const seqId = (n: number) => `pay_${String(n).padStart(6, '0')}`;

/** Ids of every shape the service may see, mixed. */
const anyId = fc.oneof(
  fc.uuid(),
  fc.nat({ max: 5_000 }).map(seqId),
  fc.string({ maxLength: 64 }),
  fc.string({ unit: 'binary', maxLength: 64 }), // any code points, surrogate pairs included
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.string({ minLength: 60, maxLength: 300 }),
  fc.constant(''),
  // one character away from a fixed uuid
  fc.tuple(fc.nat({ max: 35 }), fc.integer({ min: 0, max: 0xffff })).map(([i, c]) => {
    const base = '3f1c9a2e-7b4d-4e1a-9c3b-5d2e8f7a6b10';
    return base.slice(0, i) + String.fromCharCode(c) + base.slice(i + 1);
  }),
);

describe('IdTable', () => {
  it('is empty at first', () => {
    const t = new IdTable(() => {
      throw new Error('no row to read');
    });
    expect(t.size).toBe(0);
    expect(t.get('x')).toBeUndefined();
    expect(t.get('')).toBeUndefined();
    expect(t.bytes).toBe(1024 * 4);
  });

  it('agrees with a Map on random ids of every shape, present and absent', () => {
    fc.assert(
      fc.property(fc.array(anyId, { maxLength: 400 }), fc.array(anyId, { maxLength: 100 }), (ids, probes) => {
        const { table, map } = build(ids);
        expectSame(table, map, probes);
      }),
      runs(300, 1),
    );
  });

  it('agrees with a Map across several doublings (uuids, sequential ids, one-char neighbours)', () => {
    fc.assert(
      fc.property(fc.array(fc.uuid(), { minLength: 3_000, maxLength: 6_000 }), fc.nat(), (uuids, offset) => {
        const seq = Array.from({ length: 5_000 }, (_, i) => seqId(offset + i));
        // interleaved, so growth happens with every kind present
        const ids = uuids.flatMap((u, i) => [u, seq[i % seq.length]]);
        const { table, map } = build(ids);
        // the current table (during a growth, bytes also counts the previous one: half its size)
        const current = table.growing ? (table.bytes * 2) / 3 : table.bytes;
        expect(current).toBeGreaterThanOrEqual((map.size / 0.75) * 4);
        expect(current).toBeLessThanOrEqual(Math.max(1024, (map.size / 0.375) * 4));
        const absent = [...uuids.slice(0, 500).map((u) => u.slice(0, -1) + (u.endsWith('0') ? '1' : '0')), seqId(offset + 5_000), seqId(offset - 1), 'x'];
        expectSame(table, map, absent);
      }),
      runs(5, 2),
    );
  });

  it('holds 100k sequential ids and finds each (the load factor stays at most 0.75)', () => {
    const ids = Array.from({ length: 100_000 }, (_, i) => seqId(i));
    const { table, map } = build(ids);
    expect(table.size).toBe(100_000);
    // 100k / 2^17 > 0.75; the growth at 98,304 entries still moves the previous table's entries
    expect(table.growing).toBe(true);
    expect(table.bytes).toBe(2 ** 18 * 4 + 2 ** 17 * 4);
    expectSame(table, map, ['pay_100000', 'pay_-00001', 'PAY_000001', 'pay_00001', 'pay_0000001']);
  });

  it('finds every id and no other at every step of a growth (entries move a few slots per set)', () => {
    const ids = Array.from({ length: 3_000 }, (_, i) => (i % 2 === 0 ? seqId(i) : `u-${i * 7919}`));
    const t = new IdTable((row) => ids[row], 16);
    let sawGrowing = 0;
    const wrong: string[] = [];
    for (let row = 0; row < ids.length; row++) {
      t.set(ids[row], row);
      if (!t.growing && row % 10 !== 0) continue;
      if (t.growing) sawGrowing++;
      for (let r = 0; r <= row; r++) if (t.get(ids[r]) !== r) wrong.push(`${ids[r]} after ${row}`);
      if (t.get(`absent-${row}`) !== undefined) wrong.push(`absent-${row}`);
      if (row + 1 < ids.length && t.get(ids[row + 1]) !== undefined) wrong.push(`${ids[row + 1]} too early`);
    }
    expect(wrong).toEqual([]);
    expect(sawGrowing).toBeGreaterThan(100); // the checks above ran mid-move, many times
    expect(t.size).toBe(ids.length);
  });

  it('addRow: adds a row under its own id, or names the row that holds the id already and adds nothing, through growths', () => {
    fc.assert(
      fc.property(fc.array(anyId, { maxLength: 400 }), (ids) => {
        // rows as a bulk load appends them: every id takes a row, a repeated id's row is then given back
        const byRow: string[] = [];
        const t = new IdTable((row) => byRow[row], 16);
        const map = new Map<string, number>();
        for (const id of ids) {
          const row = byRow.length;
          byRow.push(id);
          const found = t.addRow(row);
          expect(found).toBe(map.get(id));
          if (found === undefined) map.set(id, row);
          else byRow.pop();
        }
        expectSame(t, map, ['absent', ...ids.map((id) => `${id}!`)]);
      }),
      runs(200, 9),
    );
  });

  it('compares ids exactly: case, length, unicode normalisation and lone surrogates all differ', () => {
    const ids = ['abc', 'ABC', 'abc ', ' abc', 'é', 'e\u0301', '\ud800', '\udc00', '\ud800\udc00', '𐀀', '', '\0', '\0\0'];
    const { table, map } = build(ids);
    expect(map.size).toBe(ids.length - 1); // '\ud800\udc00' === '𐀀'
    expectSame(table, map, ['abc\0', 'ab', '\ud801', 'Abc']);
  });

  it('accepts rows given out of order (it grows until every row fits in a slot)', () => {
    const byRow = new Map<number, string>();
    const t = new IdTable((row) => byRow.get(row)!);
    for (const [id, row] of [['a', 5_000], ['b', 0], ['c', 70_000]] as const) {
      byRow.set(row, id);
      t.set(id, row);
    }
    expect([t.get('a'), t.get('b'), t.get('c'), t.get('d')]).toEqual([5_000, 0, 70_000, undefined]);
    expect(() => t.set('e', -1)).toThrow(RangeError);
    expect(() => t.set('e', 1.5)).toThrow(RangeError);
  });

  it('spreads uuids and sequential ids evenly over the low bits and the high bits', () => {
    for (const ids of [Array.from({ length: 65_536 }, (_, i) => seqId(i)), fc.sample(fc.uuid(), { numRuns: 65_536, seed: SEED })]) {
      const low = new Uint32Array(256);
      const high = new Uint32Array(256);
      for (const id of ids) {
        const h = hashString(id);
        low[h & 0xff]++;
        high[h >>> 24]++;
      }
      // 256 buckets of mean 256: a fair hash stays well within +-30% (about 5 sigma)
      for (const buckets of [low, high]) {
        expect(Math.min(...buckets)).toBeGreaterThan(256 * 0.7);
        expect(Math.max(...buckets)).toBeLessThan(256 * 1.3);
      }
    }
  });
});
