import fc from 'fast-check';
import { SortedIndex, SortKeys, walkSearchOrder } from './sorted.index';
import { FC_SEED } from '../../../test/fc-seed';

/** Random per run; replay a failure with FC_SEED=<seed printed by fast-check>, as the e2e specs. */
const SEED = FC_SEED;
const RUNS = 150;

/** A small seeded generator, for the large deterministic cases. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** The store's columns in miniature: keys[row] and ids[row], with the calls counted. */
class Table implements SortKeys {
  readonly keys: number[] = [];
  readonly ids: string[] = [];
  keyCalls = 0;
  idCalls = 0;

  key(row: number): number {
    this.keyCalls++;
    return this.keys[row];
  }

  id(row: number): string {
    this.idCalls++;
    return this.ids[row];
  }

  /** Adds a row and returns its id. */
  add(key: number, id: string): number {
    this.keys.push(key);
    this.ids.push(id);
    return this.keys.length - 1;
  }

  /** Rows in (key, id) ascending order: the reference. */
  sorted(rows: number[] = this.keys.map((_, row) => row)): number[] {
    const { keys, ids } = this;
    return [...rows].sort((a, b) =>
      keys[a] < keys[b] ? -1 : keys[a] > keys[b] ? 1 : ids[a] < ids[b] ? -1 : ids[a] > ids[b] ? 1 : 0,
    );
  }

  resetCalls(): void {
    this.keyCalls = 0;
    this.idCalls = 0;
  }
}

/** The plain reference answer for [lo, hi): filter a sorted array. */
function expectedRange(table: Table, inOrder: number[], lo: number, hi: number): number[] {
  return inOrder.filter((row) => table.keys[row] >= lo && table.keys[row] < hi);
}

function forEachRows(ix: SortedIndex, lo: number, hi: number): number[] {
  const out: number[] = [];
  ix.forEachInRange(lo, hi, (row) => out.push(row));
  return out;
}

/** Everything the read API says agrees with the sorted array, for `bounds` and the whole range. */
function expectSame(ix: SortedIndex, table: Table, rows: number[], bounds: [number, number][]): void {
  const inOrder = table.sorted(rows);
  expect(ix.size).toBe(rows.length);
  expect([...ix.range(-Infinity, Infinity)]).toEqual(inOrder);
  expect(ix.countRange(-Infinity, Infinity)).toBe(rows.length);
  expect(ix.distinctKeys()).toBe(new Set(rows.map((row) => table.keys[row])).size);
  for (const [lo, hi] of bounds) {
    const want = expectedRange(table, inOrder, lo, hi);
    expect(ix.countRange(lo, hi)).toBe(want.length);
    expect([...ix.range(lo, hi)]).toEqual(want);
    expect(forEachRows(ix, lo, hi)).toEqual(want);
    const backward: number[] = [];
    ix.forEachInRange(lo, hi, (row) => backward.push(row), true);
    expect(backward).toEqual([...want].reverse());
    // up to a limit: every row when the range holds at most that many, else none
    for (const limit of [want.length, want.length - 1, 0].filter((l) => l >= 0)) {
      const out: number[] = [];
      const visited = ix.forEachInRangeUpTo(lo, hi, limit, (row) => out.push(row));
      expect([visited, out]).toEqual(limit >= want.length ? [true, want] : [false, []]);
    }
  }
  expectWalks(ix, table, inOrder, bounds);
}

/** walk() from no position, from entries' own positions and from positions between entries. */
function expectWalks(ix: SortedIndex, table: Table, inOrder: number[], bounds: [number, number][]): void {
  const cmp = (row: number, at: { key: number; id: string }) => {
    const k = table.keys[row];
    if (k !== at.key) return k < at.key ? -1 : 1;
    const id = table.ids[row];
    return id < at.id ? -1 : id > at.id ? 1 : 0;
  };
  const walked = (descending: boolean, from: { key: number; id: string } | undefined, limit: number) => {
    const out: number[] = [];
    ix.walk(descending, from, (row) => {
      out.push(row);
      return out.length < limit;
    });
    return out;
  };
  const positions = [
    undefined,
    // a few entries' own positions, spread over the order, and positions between entries
    ...inOrder
      .filter((_, j) => j % Math.max(1, Math.floor(inOrder.length / 6)) === 0)
      .map((row) => ({ key: table.keys[row], id: table.ids[row] })),
    ...bounds.slice(0, 3).flatMap(([lo]) => [
      { key: lo, id: '' },
      { key: lo, id: '\uffff' },
    ]),
  ];
  for (const from of positions) {
    const up = from === undefined ? inOrder : inOrder.filter((row) => cmp(row, from) > 0);
    const down = (from === undefined ? [...inOrder] : inOrder.filter((row) => cmp(row, from) < 0)).reverse();
    expect(walked(false, from, Infinity)).toEqual(up);
    expect(walked(true, from, Infinity)).toEqual(down);
    expect(walked(false, from, 3)).toEqual(up.slice(0, 3));
    expect(walked(true, from, 3)).toEqual(down.slice(0, 3));
    // the search order: key in the walk's direction, ties by id ascending
    const searchDown = [...down].sort((a, b) => table.keys[b] - table.keys[a] || (table.ids[a] < table.ids[b] ? -1 : 1));
    const cursorFirst = from === undefined ? searchDown : searchDownFrom(table, inOrder, from);
    for (const limit of [Infinity, 1, 5]) {
      const got: number[] = [];
      walkSearchOrder(ix, (row) => table.keys[row], true, from, (row) => (got.push(row), got.length < limit));
      expect(got).toEqual(cursorFirst.slice(0, limit));
      const up2: number[] = [];
      walkSearchOrder(ix, (row) => table.keys[row], false, from, (row) => (up2.push(row), up2.length < limit));
      expect(up2).toEqual(up.slice(0, limit));
    }
  }
}

/** Rows after `from` in the search order key descending, id ascending. */
function searchDownFrom(table: Table, inOrder: number[], from: { key: number; id: string }): number[] {
  const after = (row: number) => table.keys[row] < from.key || (table.keys[row] === from.key && table.ids[row] > from.id);
  return inOrder.filter(after).sort((a, b) => table.keys[b] - table.keys[a] || (table.ids[a] < table.ids[b] ? -1 : 1));
}

function filled(entries: [number, string][], capacity?: number): { ix: SortedIndex; table: Table } {
  const table = new Table();
  const ix = new SortedIndex(table, capacity);
  for (const [key, id] of entries) ix.insert(table.add(key, id));
  return { ix, table };
}

// Arbitraries: keys from a few narrow or wide domains (equal keys spanning chunks, negative
// and fractional keys, extreme doubles), ids that make string order differ from numeric order, and
// query bounds that include the infinities, keys present, keys absent, empty and inverted ranges.
const keyArb = fc.oneof(
  fc.integer({ min: 0, max: 3 }),
  fc.integer({ min: -1000, max: 1000 }),
  fc.integer({ min: -400, max: 400 }).map((n) => n / 4),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom(0, -0, -Number.MAX_VALUE, Number.MAX_VALUE, 1_700_000_000_000),
);
const entryArb = fc.record({ key: keyArb, prefix: fc.constantFrom('p-1', 'p-10', 'p-9', 'P_3', 'a', '', 'zz') });
const boundArb = fc.oneof(keyArb, fc.constantFrom(-Infinity, Infinity));
const boundsArb = fc.array(fc.tuple(boundArb, boundArb), { maxLength: 12 });
const capacityArb = fc.constantFrom(4, 5, 8, 16, 2048);
const entriesArb = fc.array(entryArb, { maxLength: 400 });

/** Adds the entries to the table (ids unique: prefix + ':' + row) and returns their rows. */
function addAll(table: Table, entries: { key: number; prefix: string }[]): number[] {
  return entries.map(({ key, prefix }) => table.add(key, `${prefix}:${table.keys.length}`));
}

describe('SortedIndex', () => {
  it('is empty at first', () => {
    const ix = new SortedIndex(new Table());
    expect(ix.size).toBe(0);
    expect(ix.countRange(-Infinity, Infinity)).toBe(0);
    expect([...ix.range(-Infinity, Infinity)]).toEqual([]);
    expect(forEachRows(ix, -Infinity, Infinity)).toEqual([]);
    expect(ix.distinctKeys()).toBe(0);
  });

  it('refuses a chunk capacity that is too small or not an integer', () => {
    expect(() => new SortedIndex(new Table(), 3)).toThrow(RangeError);
    expect(() => new SortedIndex(new Table(), 4.5)).toThrow(RangeError);
    expect(() => new SortedIndex(new Table(), 4)).not.toThrow();
  });

  it('yields rows in (key, paymentId) order whatever the order of insertion', () => {
    // rows:                 0            1            2            3            4
    const { ix } = filled([[30, 'b'], [10, 'z'], [30, 'a'], [20, 'm'], [10, 'a']]);
    expect([...ix.range(-Infinity, Infinity)]).toEqual([4, 1, 3, 2, 0]);
  });

  it('orders equal keys by paymentId as strings, not as numbers', () => {
    const { ix } = filled([[5, 'pay_10'], [5, 'pay_9'], [5, 'pay_1']]);
    expect([...ix.range(5, 6)]).toEqual([2, 0, 1]);
  });

  it('counts and yields the half-open range [lo, hi)', () => {
    const { ix } = filled([[10, 'a'], [20, 'b'], [20, 'c'], [30, 'd'], [40, 'e']]);
    expect(ix.countRange(20, 30)).toBe(2);
    expect([...ix.range(20, 30)]).toEqual([1, 2]);
    expect(forEachRows(ix, 20, 30)).toEqual([1, 2]);
    expect(ix.countRange(20, 31)).toBe(3);
    expect(ix.countRange(19, 20)).toBe(0);
    expect(ix.countRange(10, 41)).toBe(5);
    expect(ix.countRange(10, 40)).toBe(4);
    expect([...ix.range(41, 100)]).toEqual([]);
    expect(ix.countRange(-Infinity, 20)).toBe(1);
    expect(ix.countRange(30, Infinity)).toBe(2);
    expect(forEachRows(ix, 30, Infinity)).toEqual([3, 4]);
  });

  it('finds nothing in an empty or inverted range', () => {
    const { ix } = filled([[10, 'a'], [20, 'b']]);
    for (const [lo, hi] of [[10, 10], [20, 10], [Infinity, -Infinity], [Infinity, Infinity]]) {
      expect(ix.countRange(lo, hi)).toBe(0);
      expect([...ix.range(lo, hi)]).toEqual([]);
      expect(forEachRows(ix, lo, hi)).toEqual([]);
    }
  });

  it('keeps entries with equal keys and different ids apart, and counts their key once', () => {
    const { ix } = filled([[7, 'b'], [7, 'a'], [7, 'c']]);
    expect(ix.size).toBe(3);
    expect(ix.distinctKeys()).toBe(1);
    expect([...ix.range(7, 8)]).toEqual([1, 0, 2]);
  });

  it('forgets everything on clear and can be filled again', () => {
    const { ix, table } = filled([[1, 'a'], [2, 'b']]);
    ix.clear();
    expect(ix.size).toBe(0);
    expect(ix.distinctKeys()).toBe(0);
    expect(ix.countRange(-Infinity, Infinity)).toBe(0);
    ix.insert(table.add(3, 'c'));
    expect([...ix.range(-Infinity, Infinity)]).toEqual([2]);
    expect(ix.distinctKeys()).toBe(1);
  });

  it('refuses a NaN key', () => {
    const { ix, table } = filled([[1, 'a']]);
    expect(() => ix.insert(table.add(NaN, 'b'))).toThrow('NaN');
    expect(ix.size).toBe(1);
  });

  it('appends in O(1): one key() call, no id() call, no search, chunks filled to the brim', () => {
    const table = new Table();
    const ix = new SortedIndex(table, 8);
    for (let i = 0; i < 3000; i++) {
      const row = table.add(i, `id${i}`);
      table.resetCalls();
      ix.insert(row);
      expect(table.keyCalls).toBe(1);
      expect(table.idCalls).toBe(0);
    }
    expect(ix.size).toBe(3000);
    expect(ix.distinctKeys()).toBe(3000);
    expect([...ix.range(-Infinity, Infinity)]).toEqual(Array.from({ length: 3000 }, (_, i) => i));
    expect(ix.countRange(1000, 2500)).toBe(1500);
    expect([...ix.range(7, 10)]).toEqual([7, 8, 9]);
    // Equal keys append too, through one id() call of the current last entry and one of the new one.
    const row = table.add(2999, 'id2999~');
    table.resetCalls();
    ix.insert(row);
    expect([table.keyCalls, table.idCalls]).toEqual([1, 2]);
    expect([...ix.range(2999, 3000)]).toEqual([2999, row]);
    expect(ix.distinctKeys()).toBe(3000);
  });

  it('stays ordered through descending inserts that overflow the first chunk again and again', () => {
    const { ix } = filled(
      Array.from({ length: 3000 }, (_, i): [number, string] => [2999 - i, `id${2999 - i}`]),
      8,
    );
    expect([...ix.range(-Infinity, Infinity)]).toEqual(Array.from({ length: 3000 }, (_, i) => 2999 - i));
    expect(ix.countRange(0, 1)).toBe(1);
    expect(ix.countRange(2999, 3000)).toBe(1);
    expect(ix.distinctKeys()).toBe(3000);
  });

  it('counts one key held by thousands of entries across many chunks', () => {
    const rand = lcg(3);
    const table = new Table();
    const ix = new SortedIndex(table, 16);
    const rows: number[] = [];
    for (let i = 0; i < 2000; i++) rows.push(table.add(7, `p${String(Math.floor(rand() * 1e9)).padStart(9, '0')}_${i}`));
    for (const row of rows) ix.insert(row);
    ix.insert(table.add(6, 'zzz'));
    ix.insert(table.add(8, '000'));
    expect(ix.countRange(7, 8)).toBe(2000);
    expect(ix.countRange(6, 9)).toBe(2002);
    expect(ix.distinctKeys()).toBe(3);
    expect([...ix.range(7, 8)]).toEqual(table.sorted(rows));
    expect([...ix.range(-Infinity, Infinity)][0]).toBe(2000);
  });

  it('asks for O(log n) keys: log2(capacity) key() calls to place a random insert, none per row read', () => {
    const rand = lcg(11);
    const table = new Table();
    const ix = new SortedIndex(table, 64);
    let worst = 0;
    for (let i = 0; i < 20_000; i++) {
      const row = table.add(Math.floor(rand() * 1e6), `pay_${i}`);
      table.resetCalls();
      ix.insert(row);
      worst = Math.max(worst, table.keyCalls);
    }
    // key(row) + at most log2(64) probes in the chunk + at most 3 last keys after an overflow
    expect(worst).toBeLessThanOrEqual(1 + 6 + 3);
    for (let q = 0; q < 200; q++) {
      const lo = Math.floor(rand() * 1e6);
      const hi = lo + Math.floor(rand() * 3e5);
      table.resetCalls();
      const n = ix.countRange(lo, hi);
      let seen = 0;
      ix.forEachInRange(lo, hi, () => seen++);
      expect(seen).toBe(n);
      expect(table.keyCalls).toBeLessThanOrEqual(4 * 6);
      expect(table.idCalls).toBe(0);
    }
    expectSame(ix, table, table.keys.map((_, row) => row), [[1000, 2000], [-Infinity, 5e5], [5e5, Infinity]]);
  });

  it('matches a plain sorted array through 30,000 random inserts into 2048-row chunks', () => {
    const rand = lcg(5);
    const table = new Table();
    const ix = new SortedIndex(table);
    const bounds: [number, number][] = [];
    for (let i = 0; i < 30_000; i++) ix.insert(table.add(Math.floor(rand() * 5000), `pay_${Math.floor(rand() * 1e6)}_${i}`));
    for (let q = 0; q < 50; q++) {
      const lo = Math.floor(rand() * 5004) - 2;
      bounds.push([lo, lo + Math.floor(rand() * 2000)]);
    }
    expectSame(ix, table, table.keys.map((_, row) => row), bounds);
  });

  it('matches a plain sorted array for inserts in random order (property)', () => {
    fc.assert(
      fc.property(capacityArb, entriesArb, boundsArb, (capacity, entries, bounds) => {
        const table = new Table();
        const ix = new SortedIndex(table, capacity);
        const rows = addAll(table, entries);
        for (const row of rows) ix.insert(row);
        expectSame(ix, table, rows, bounds);
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });

  it('matches a plain sorted array for inserts in ascending order with a few out of order (property)', () => {
    fc.assert(
      fc.property(
        capacityArb,
        entriesArb,
        fc.array(fc.tuple(fc.nat(), fc.nat()), { maxLength: 5 }),
        boundsArb,
        (capacity, entries, swaps, bounds) => {
          const table = new Table();
          const ix = new SortedIndex(table, capacity);
          const rows = table.sorted(addAll(table, entries));
          for (const [a, b] of swaps) {
            if (rows.length === 0) break;
            const i = a % rows.length;
            const j = b % rows.length;
            [rows[i], rows[j]] = [rows[j], rows[i]];
          }
          for (const row of rows) ix.insert(row);
          expectSame(ix, table, rows, bounds);
        },
      ),
      { seed: SEED, numRuns: RUNS },
    );
  });

  it('matches a plain sorted array after load() and then inserts (property)', () => {
    fc.assert(
      fc.property(capacityArb, entriesArb, entriesArb, boundsArb, (capacity, loaded, inserted, bounds) => {
        const table = new Table();
        const ix = new SortedIndex(table, capacity);
        const first = table.sorted(addAll(table, loaded));
        ix.load(Uint32Array.from(first));
        expectSame(ix, table, first, bounds);
        const later = addAll(table, inserted);
        for (const row of later) ix.insert(row);
        expectSame(ix, table, [...first, ...later], bounds);
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });

  it('load() fills an empty index from sorted rows, one key() call a row', () => {
    const table = new Table();
    const n = 2000;
    for (let i = 0; i < n; i++) table.add(Math.floor(i / 3), `id-${i % 3}`);
    const ix = new SortedIndex(table, 64);
    table.resetCalls();
    ix.load(Array.from({ length: n }, (_, i) => i));
    expect(table.keyCalls).toBe(n);
    expect(ix.size).toBe(n);
    expect(ix.distinctKeys()).toBe(Math.ceil(n / 3));
    expect(ix.countRange(10, 20)).toBe(30);
    expect([...ix.range(5, 6)]).toEqual([15, 16, 17]);
    ix.insert(table.add(5, 'id-15'));
    expect([...ix.range(5, 6)]).toEqual([15, 16, n, 17]);
  });

  it('load() refuses a non-empty index, and rows out of order, leaving the index empty', () => {
    const table = new Table();
    table.add(1, 'a'); // 0
    table.add(2, 'b'); // 1
    table.add(2, 'c'); // 2
    table.add(NaN, 'd'); // 3
    const ix = new SortedIndex(table, 4);
    ix.insert(0);
    expect(() => ix.load([1])).toThrow('not empty');
    expect(ix.size).toBe(1);

    const fresh = () => new SortedIndex(table, 4);
    for (const bad of [[1, 0], [0, 2, 1], [0, 1, 1], [0, 0], [3], [0, 3], [0, 1, 2, 0, 1, 2, 0, 2, 1]]) {
      const other = fresh();
      expect(() => other.load(bad)).toThrow('out of order');
      expect(other.size).toBe(0);
      expect(other.distinctKeys()).toBe(0);
      expect([...other.range(-Infinity, Infinity)]).toEqual([]);
      other.load([0, 1, 2]);
      expect([...other.range(-Infinity, Infinity)]).toEqual([0, 1, 2]);
    }
  });

  it('load() with the keys alongside builds the same index without one key() call, and still checks the key order', () => {
    fc.assert(
      fc.property(capacityArb, entriesArb, entriesArb, boundsArb, (capacity, loaded, inserted, bounds) => {
        const table = new Table();
        const rows = table.sorted(addAll(table, loaded));
        const ix = new SortedIndex(table, capacity);
        table.resetCalls();
        ix.load(Uint32Array.from(rows), Float64Array.from(rows, (row) => table.keys[row]));
        expect(table.keyCalls).toBe(0);
        expectSame(ix, table, rows, bounds);
        const plain = new SortedIndex(table, capacity);
        plain.load(rows);
        expect(ix.distinctKeys()).toBe(plain.distinctKeys());
        const later = addAll(table, inserted);
        for (const row of later) ix.insert(row);
        expectSame(ix, table, [...rows, ...later], bounds);
      }),
      { seed: SEED, numRuns: RUNS },
    );
    const table = new Table();
    table.add(1, 'a');
    table.add(2, 'b');
    const ix = new SortedIndex(table, 4);
    expect(() => ix.load([1, 0], [2, 1])).toThrow('out of order');
    expect(() => ix.load([0, 1], [1, NaN])).toThrow('out of order');
    expect(() => ix.load([0, 1], [1])).toThrow('differ in length');
    expect(ix.size).toBe(0);
  });

  it('load() refuses a shuffled array of distinct rows (property)', () => {
    fc.assert(
      fc.property(entriesArb, fc.nat(), fc.nat(), (entries, a, b) => {
        const table = new Table();
        const rows = table.sorted(addAll(table, entries));
        fc.pre(rows.length >= 2);
        const i = a % rows.length;
        const j = b % rows.length;
        fc.pre(i !== j);
        [rows[i], rows[j]] = [rows[j], rows[i]];
        expect(() => new SortedIndex(table, 4).load(rows)).toThrow('out of order');
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });
});

describe('SortedIndex with a second tie-breaker (paymentIds unique per organization only)', () => {
  /** Rows of (key, paymentId, organizationId); the same paymentId recurs across organizations. */
  class OrgTable implements SortKeys {
    readonly rows: [number, string, string][] = [];
    key = (row: number) => this.rows[row][0];
    id = (row: number) => this.rows[row][1];
    org = (row: number) => this.rows[row][2];
    tie = (row: number) => `${this.rows[row][1]}\u0000${this.rows[row][2]}`;
    sorted(): number[] {
      const order = this.rows.map((_, row) => row);
      const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
      return order.sort((a, b) => this.key(a) - this.key(b) || cmp(this.id(a), this.id(b)) || cmp(this.org(a), this.org(b)));
    }
  }

  const entry = fc.tuple(fc.integer({ min: 0, max: 3 }), fc.constantFrom('a', 'a_', 'b', 'p1'), fc.constantFrom('org-1', 'org-2', 'org-10'));
  const entries = fc.uniqueArray(entry, { selector: ([, id, org]) => `${id}/${org}`, maxLength: 60 });

  it('orders equal keys and equal paymentIds by organization, whether inserted one by one or loaded, and walks from a position through them', () => {
    fc.assert(
      fc.property(entries, fc.boolean(), fc.nat(), (rows, descending, pick) => {
        const table = new OrgTable();
        table.rows.push(...rows);
        const inserted = new SortedIndex(table, 4);
        table.rows.forEach((_, row) => inserted.insert(row));
        const loaded = new SortedIndex(table, 4);
        const expected = table.sorted();
        loaded.load(expected);

        expect([...inserted.range(-Infinity, Infinity)]).toEqual(expected);
        expect([...loaded.range(-Infinity, Infinity)]).toEqual(expected);
        if (expected.length === 0) return;
        // a cursor after any row: exactly the rows strictly after it, in the walk's direction
        const at = expected[pick % expected.length];
        const walked: number[] = [];
        inserted.walk(descending, { key: table.key(at), id: table.tie(at) }, (row) => walked.push(row) > 0);
        const ordered = descending ? [...expected].reverse() : expected;
        expect(walked).toEqual(ordered.slice(ordered.indexOf(at) + 1));
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });

  it('refuses a load whose equal (key, paymentId) entries are out of organization order', () => {
    const table = new OrgTable();
    table.rows.push([1, 'p1', 'org-2'], [1, 'p1', 'org-1']);
    expect(() => new SortedIndex(table, 4).load([0, 1])).toThrow(/out of order/);
    expect(() => new SortedIndex(table, 4).load([1, 0])).not.toThrow();
  });
});
