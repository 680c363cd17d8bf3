import { SortedIndex } from './sorted.index';

/** A small seeded generator, so a failure can be replayed. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

interface Entry {
  key: number;
  id: string;
  row: number;
}

const byKeyThenId = (a: Entry, b: Entry) => a.key - b.key || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** The plain reference: a sorted array, searched linearly. */
class Reference {
  entries: Entry[] = [];

  insert(e: Entry): void {
    this.entries.push(e);
    this.entries.sort(byKeyThenId);
  }

  remove(key: number, id: string): boolean {
    const i = this.entries.findIndex((e) => e.key === key && e.id === id);
    if (i < 0) return false;
    this.entries.splice(i, 1);
    return true;
  }

  range(lo: number, hi: number): number[] {
    return this.entries.filter((e) => e.key >= lo && e.key < hi).map((e) => e.row);
  }

  distinctKeys(): number {
    return new Set(this.entries.map((e) => e.key)).size;
  }
}

function expectSame(ix: SortedIndex, ref: Reference, rand: () => number, span: number): void {
  expect(ix.size).toBe(ref.entries.length);
  expect([...ix.range(-Infinity, Infinity)]).toEqual(ref.range(-Infinity, Infinity));
  expect(ix.distinctKeys()).toBe(ref.distinctKeys());
  for (let q = 0; q < 25; q++) {
    const a = Math.floor(rand() * (span + 4)) - 2;
    const b = a + Math.floor(rand() * span * 0.4);
    expect(ix.countRange(a, b)).toBe(ref.range(a, b).length);
    expect([...ix.range(a, b)]).toEqual(ref.range(a, b));
  }
}

function filled(entries: [number, string][]): SortedIndex {
  const ix = new SortedIndex();
  entries.forEach(([key, id], row) => ix.insert(key, id, row));
  return ix;
}

describe('SortedIndex', () => {
  it('is empty at first', () => {
    const ix = new SortedIndex();
    expect(ix.size).toBe(0);
    expect(ix.countRange(-Infinity, Infinity)).toBe(0);
    expect([...ix.range(-Infinity, Infinity)]).toEqual([]);
    expect(ix.distinctKeys()).toBe(0);
    expect(ix.remove(1, 'a')).toBe(false);
  });

  it('yields rows in (key, paymentId) order whatever the order of insertion', () => {
    // rows:              0            1            2            3            4
    const ix = filled([[30, 'b'], [10, 'z'], [30, 'a'], [20, 'm'], [10, 'a']]);
    expect([...ix.range(-Infinity, Infinity)]).toEqual([4, 1, 3, 2, 0]);
  });

  it('orders equal keys by paymentId as strings, not as numbers', () => {
    const ix = filled([[5, 'pay_10'], [5, 'pay_9'], [5, 'pay_1']]);
    expect([...ix.range(5, 6)]).toEqual([2, 0, 1]);
  });

  it('counts and yields the half-open range [lo, hi)', () => {
    const ix = filled([[10, 'a'], [20, 'b'], [20, 'c'], [30, 'd'], [40, 'e']]);
    expect(ix.countRange(20, 30)).toBe(2);
    expect([...ix.range(20, 30)]).toEqual([1, 2]);
    expect(ix.countRange(20, 31)).toBe(3);
    expect(ix.countRange(19, 20)).toBe(0);
    expect(ix.countRange(10, 41)).toBe(5);
    expect(ix.countRange(10, 40)).toBe(4);
    expect([...ix.range(41, 100)]).toEqual([]);
    expect(ix.countRange(-Infinity, 20)).toBe(1);
    expect(ix.countRange(30, Infinity)).toBe(2);
  });

  it('finds nothing in an empty or inverted range', () => {
    const ix = filled([[10, 'a'], [20, 'b']]);
    expect(ix.countRange(10, 10)).toBe(0);
    expect([...ix.range(10, 10)]).toEqual([]);
    expect(ix.countRange(20, 10)).toBe(0);
    expect([...ix.range(20, 10)]).toEqual([]);
  });

  it('keeps entries with equal keys and different ids apart', () => {
    const ix = filled([[7, 'a'], [7, 'b'], [7, 'c']]);
    expect(ix.size).toBe(3);
    expect(ix.distinctKeys()).toBe(1);
    expect(ix.remove(7, 'b')).toBe(true);
    expect([...ix.range(7, 8)]).toEqual([0, 2]);
    expect(ix.distinctKeys()).toBe(1);
  });

  it('removes only the exact (key, id) entry and says whether it was there', () => {
    const ix = filled([[7, 'a'], [8, 'b']]);
    expect(ix.remove(7, 'b')).toBe(false);
    expect(ix.remove(8, 'a')).toBe(false);
    expect(ix.remove(9, 'z')).toBe(false);
    expect(ix.size).toBe(2);
    expect(ix.remove(7, 'a')).toBe(true);
    expect(ix.remove(7, 'a')).toBe(false);
    expect(ix.size).toBe(1);
    expect([...ix.range(-Infinity, Infinity)]).toEqual([1]);
  });

  it('can be emptied by removal and filled again', () => {
    const ix = filled([[1, 'a'], [2, 'b']]);
    ix.remove(1, 'a');
    ix.remove(2, 'b');
    expect(ix.size).toBe(0);
    expect([...ix.range(-Infinity, Infinity)]).toEqual([]);
    ix.insert(3, 'c', 9);
    expect([...ix.range(-Infinity, Infinity)]).toEqual([9]);
  });

  it('forgets everything on clear', () => {
    const ix = filled([[1, 'a'], [2, 'b']]);
    ix.clear();
    expect(ix.size).toBe(0);
    expect(ix.countRange(-Infinity, Infinity)).toBe(0);
  });

  it('stays ordered through ascending inserts that split the last chunk again and again', () => {
    const ix = new SortedIndex();
    for (let i = 0; i < 3000; i++) ix.insert(i, `id${i}`, i);
    expect(ix.size).toBe(3000);
    expect([...ix.range(-Infinity, Infinity)]).toEqual(Array.from({ length: 3000 }, (_, i) => i));
    expect(ix.countRange(1000, 2500)).toBe(1500);
    expect([...ix.range(511, 514)]).toEqual([511, 512, 513]);
  });

  it('stays ordered through descending inserts that split the first chunk again and again', () => {
    const ix = new SortedIndex();
    for (let i = 2999; i >= 0; i--) ix.insert(i, `id${i}`, i);
    expect([...ix.range(-Infinity, Infinity)]).toEqual(Array.from({ length: 3000 }, (_, i) => i));
    expect(ix.countRange(0, 1)).toBe(1);
    expect(ix.countRange(2999, 3000)).toBe(1);
    expect(ix.distinctKeys()).toBe(3000);
  });

  it('stays ordered when removals empty whole chunks and inserts fill the gap again', () => {
    const rand = lcg(77);
    const ix = new SortedIndex();
    const ref = new Reference();
    for (let i = 0; i < 3000; i++) {
      ix.insert(i, `id${i}`, i);
      ref.insert({ key: i, id: `id${i}`, row: i });
    }
    // Removing a contiguous run empties every chunk inside it.
    for (let i = 500; i < 2500; i++) {
      expect(ix.remove(i, `id${i}`)).toBe(true);
      ref.remove(i, `id${i}`);
    }
    expect(ix.countRange(500, 2500)).toBe(0);
    expect([...ix.range(400, 2600)]).toEqual(ref.range(400, 2600));
    for (let row = 3000; row < 3600; row++) {
      const key = Math.floor(rand() * 3000);
      const id = `new${row}`;
      ix.insert(key, id, row);
      ref.insert({ key, id, row });
    }
    expectSame(ix, ref, rand, 3000);
    for (let i = 0; i < 3000; i += 7) {
      expect(ix.countRange(i, i + 50)).toBe(ref.range(i, i + 50).length);
    }
  });

  it('counts one key held by thousands of entries across many chunks', () => {
    const ix = new SortedIndex();
    const rand = lcg(3);
    const ids = Array.from({ length: 2000 }, (_, i) => `p${String(Math.floor(rand() * 1e9)).padStart(9, '0')}_${i}`);
    ids.forEach((id, row) => ix.insert(7, id, row));
    ix.insert(6, 'zzz', 2000);
    ix.insert(8, '000', 2001);
    expect(ix.countRange(7, 8)).toBe(2000);
    expect(ix.countRange(6, 9)).toBe(2002);
    expect(ix.distinctKeys()).toBe(3);
    const expected = ids.map((id, row) => ({ id, row })).sort((a, b) => (a.id < b.id ? -1 : 1)).map((e) => e.row);
    expect([...ix.range(7, 8)]).toEqual(expected);
    for (const id of ids.slice(0, 1500)) expect(ix.remove(7, id)).toBe(true);
    expect(ix.countRange(7, 8)).toBe(500);
    expect([...ix.range(-Infinity, Infinity)][0]).toBe(2000);
  });

  it.each([
    ['few distinct keys, so equal keys span chunks', 1, 40],
    ['many distinct keys', 2, 100_000],
    ['negative and fractional keys', 3, -1],
  ])('matches a plain sorted array through 5,000 random inserts and removes (%s)', (_name, seed, span) => {
    const rand = lcg(seed);
    const ix = new SortedIndex();
    const ref = new Reference();
    const keySpan = span === -1 ? 200 : span;
    const nextKey = () => (span === -1 ? Math.floor(rand() * 400) / 2 - 100 : Math.floor(rand() * keySpan));
    let nextRow = 0;
    for (let op = 0; op < 5000; op++) {
      const r = rand();
      if (r < 0.65 || ref.entries.length === 0) {
        const key = nextKey();
        const id = `pay_${Math.floor(rand() * 1e6)}_${nextRow}`;
        ix.insert(key, id, nextRow);
        ref.insert({ key, id, row: nextRow });
        nextRow++;
      } else if (r < 0.95) {
        const victim = ref.entries[Math.floor(rand() * ref.entries.length)];
        expect(ix.remove(victim.key, victim.id)).toBe(true);
        ref.remove(victim.key, victim.id);
      } else {
        expect(ix.remove(nextKey(), 'absent')).toBe(false);
      }
      if (op % 500 === 499) expectSame(ix, ref, rand, span === -1 ? 200 : keySpan);
    }
    expect(ref.entries.length).toBeGreaterThan(1000);
    expectSame(ix, ref, rand, span === -1 ? 200 : keySpan);
  });

  it('load() fills an empty index from sorted entries and refuses unsorted entries or a non-empty index', () => {
    const index = new SortedIndex();
    const n = 2000;
    const keys = Array.from({ length: n }, (_, i) => Math.floor(i / 3));
    const ids = Array.from({ length: n }, (_, i) => `id-${String(i % 3)}`);
    const rows = Array.from({ length: n }, (_, i) => i);
    index.load(keys, ids, rows);
    expect(index.size).toBe(n);
    expect(index.countRange(10, 20)).toBe(30);
    expect([...index.range(5, 6)]).toEqual([15, 16, 17]);
    index.insert(5, 'id-15', 9999);
    expect([...index.range(5, 6)]).toEqual([15, 16, 9999, 17]);
    expect(() => index.load([1], ['a'], [0])).toThrow('not empty');
    expect(() => new SortedIndex().load([2, 1], ['a', 'b'], [0, 1])).toThrow('out of order');
  });
});
