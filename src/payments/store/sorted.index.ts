import { lowerBound, lowerBoundOfRows } from './lower-bound';

/**
 * Where the index reads an entry's sort key and tie-breaker: the store's own columns. The
 * index keeps only row ids, so both must answer for a row from the moment it is inserted (or
 * loaded), and never change afterwards. Keys are never NaN (insert throws on one).
 */
export interface SortKeys {
  /** The sort key of `row`: its amount, or its createdAt in epoch ms. */
  key(row: number): number;
  /** The tie-breaker of `row`, its paymentId: compared as strings, and only on equal keys. */
  id(row: number): string;
  /**
   * The second tie-breaker, on equal keys and ids (paymentIds are unique per organization only):
   * its organizationId. A position's `id` (a cursor) is then `tieOf`'s `${id}\u0000${org}`.
   */
  org?(row: number): string;
  /**
   * The order of two rows' tie-breakers (id, then org) as the strings above would compare,
   * read without building them; the index uses it whenever it is given.
   */
  compare?(a: number, b: number): number;
}

/** Read-only view of a sorted (numeric key, paymentId) -> row id index. */
export interface SortedIndexView {
  readonly size: number;
  /** Entries with lo <= key < hi. O(log n + chunks spanned). */
  countRange(lo: number, hi: number): number;
  /** Row ids with lo <= key < hi, in (key, paymentId) ascending order (read when called). */
  range(lo: number, hi: number): Generator<number>;
  /**
   * The same rows as range(), through a callback: no generator cost per row; `descending`
   * visits them in the reverse order (a newest-first page over a createdAt range fills with
   * its best rows first).
   */
  forEachInRange(lo: number, hi: number, visit: (row: number) => void, descending?: boolean): void;
  /**
   * forEachInRange() if at most `limit` entries lie in the range (then true), else nothing
   * (false): a count and a visit for the cost of the two seeks of one.
   */
  forEachInRangeUpTo(lo: number, hi: number, limit: number, visit: (row: number) => void): boolean;
  /** Distinct keys. O(1): counted as entries go in. */
  distinctKeys(): number;
  /**
   * Visits rows in (key, paymentId) order, ascending or descending, starting strictly after
   * `from` in that direction (from the first entry when `from` is undefined), until `visit`
   * returns false. O(log n + r) to start, r the entries with from.key that sort before `from`
   * (a run of equal keys is scanned), then O(1) per row: keyset pagination.
   */
  walk(descending: boolean, from: { key: number; id: string } | undefined, visit: (row: number) => boolean): void;
}

/** Rows per chunk: 8 KiB of Int32Array. A random insert moves ~1/3 of a chunk on average. */
export const CHUNK_CAPACITY = 2048;

/**
 * Sorted index over (key, paymentId) -> row id, as a list of sorted chunks of row ids. Ties on
 * paymentId make every entry unique and the order total, which is what the search sort needs.
 *
 * Memory: the index holds nothing but row ids, 4 bytes each in fixed-capacity Int32Array
 * chunks, plus per chunk its length and a copy of its last key (a few dozen bytes per
 * thousands of entries). Keys and ids are read through `SortKeys` from the store's columns.
 * Chunks stay full: appends fill the last chunk to the brim before starting a new one, load()
 * fills them to 7/8, and a full chunk that takes a random insert first shares its rows with a
 * neighbour that has room (two chunks evened out), else two nearly full chunks become three
 * at 2/3 (as in a B*-tree). So about 4 bytes per entry for appends and ~4.5-5 for random
 * inserts, against ~32 for three JS arrays of keys, ids and rows.
 *
 * Costs, in calls to `SortKeys` (each a random memory access, so the thing to count); the
 * seeks' binary searches are lowerBound() and lowerBoundOfRows() (lower-bound.ts):
 * - insert: an append (the new entry sorts after the last one: payments created now arrive in
 *   createdAt order) is O(1): one key() call, no search, no copy. Any other insert finds the
 *   chunk by binary search over the cached last keys (no calls, except id() on equal keys),
 *   then binary-searches inside it (log2(capacity) key() calls, id() only on equal keys) and
 *   moves the tail of that one chunk with copyWithin; never an O(n) splice. An overflow costs
 *   one O(capacity) copy through two or three chunks and at most three key() calls.
 * - countRange / range / forEachInRange: two O(log n) seeks (binary search over the last keys,
 *   then log2(capacity) key() calls in one chunk), then no calls at all per row.
 *
 * Invariant: chunks are non-empty and in order; the last entry of chunk i sorts before the
 * first entry of chunk i + 1; lastKeys[i] is the key of the last entry of chunk i; `distinct`
 * is the number of distinct keys.
 */
export class SortedIndex implements SortedIndexView {
  readonly #keys: SortKeys;
  readonly #capacity: number;
  /** Row ids, each chunk of `capacity` slots of which the first lens[i] are used. */
  #chunks: Int32Array[] = [];
  #lens: number[] = [];
  #lastKeys: number[] = [];
  #size = 0;
  #distinct = 0;
  /** For overflows: the rows of two chunks plus the new one. Allocated on first need. */
  #scratch: Int32Array | null = null;
  /** Result of #seek(): chunk and offset. Fields, not a returned pair: no garbage per query. */
  #seekChunk = 0;
  #seekEntry = 0;

  /** `capacity` (rows per chunk) is for tests, which want many chunks from few entries. */
  constructor(keys: SortKeys, capacity = CHUNK_CAPACITY) {
    if (!Number.isInteger(capacity) || capacity < 4 || capacity > 1 << 24) {
      throw new RangeError(`SortedIndex: chunk capacity must be an integer in [4, 2^24], not ${capacity}`);
    }
    this.#keys = keys;
    this.#capacity = capacity;
  }

  get size(): number {
    return this.#size;
  }

  /** Adds `row`, whose key and id `SortKeys` must already answer. See the class for costs. */
  insert(row: number): void {
    const keys = this.#keys;
    const k = keys.key(row);
    if (k !== k) throw new RangeError(`SortedIndex.insert: the key of row ${row} is NaN`);
    const chunks = this.#chunks;
    const lens = this.#lens;
    const lastKeys = this.#lastKeys;
    const last = chunks.length - 1;
    if (last < 0) {
      this.#pushChunk(row, k);
      this.#size = 1;
      this.#distinct = 1;
      return;
    }
    const tailKey = lastKeys[last];
    if (tailKey < k || (tailKey === k && this.#tiedBefore(chunks[last][lens[last] - 1], row))) {
      // Append: no search, no copy.
      const len = lens[last];
      if (len < this.#capacity) {
        chunks[last][len] = row;
        lens[last] = len + 1;
        lastKeys[last] = k;
      } else {
        this.#pushChunk(row, k); // leaves the full chunk full
      }
      if (tailKey !== k) this.#distinct++;
      this.#size++;
      return;
    }

    // The insert's two searches are the only ones here that are not lowerBound(): they order
    // by (key, tie), the tie read through #tiedBefore on equal keys, and the second keeps the
    // key of its last probe on each side, which gives `distinct` without another key() call.
    // With lowerBound's key-only forms an insert would take a second search, for the tie over
    // the run of equal keys, and two more key() calls; a form taking a predicate costs a
    // closure per insert (2b855b0: 8-12% slower, reverted).
    // The first chunk whose last entry does not sort before the new one: one exists (not an
    // append) and it is not after `last`, so search [0, last).
    let lo = 0;
    let hi = last;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const mk = lastKeys[mid];
      if (mk < k || (mk === k && this.#tiedBefore(chunks[mid][lens[mid] - 1], row))) lo = mid + 1;
      else hi = mid;
    }
    const c = lo;
    const rows = chunks[c];
    const len = lens[c];
    // The first entry in chunk c that does not sort before the new one: its last entry does
    // not, so search [0, len - 1). The keys of the entries either side of the insertion point
    // fall out of the search (the last probe on each side), which keeps `distinct` for free.
    let predKey = c > 0 ? lastKeys[c - 1] : NaN;
    let succKey = lastKeys[c];
    lo = 0;
    hi = len - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const r = rows[mid];
      const mk = keys.key(r);
      if (mk < k || (mk === k && this.#tiedBefore(r, row))) {
        lo = mid + 1;
        predKey = mk;
      } else {
        hi = mid;
        succKey = mk;
      }
    }
    const at = lo; // < len, so the chunk's last key does not change
    if (len < this.#capacity) {
      rows.copyWithin(at + 1, at, len);
      rows[at] = row;
      lens[c] = len + 1;
    } else {
      this.#overflow(c, at, row);
    }
    if (predKey !== k && succKey !== k) this.#distinct++;
    this.#size++;
  }

  countRange(lo: number, hi: number): number {
    if (!(lo < hi) || this.#size === 0) return 0;
    this.#seek(lo);
    const c0 = this.#seekChunk;
    const i0 = this.#seekEntry;
    this.#seek(hi);
    return this.#entriesBetween(c0, i0, this.#seekChunk, this.#seekEntry, Infinity);
  }

  /** Entries from (c0, i0) up to (c1, i1), both seek positions; counting stops past `limit`. */
  #entriesBetween(c0: number, i0: number, c1: number, i1: number, limit: number): number {
    if (c0 === c1) return i1 - i0;
    const lens = this.#lens;
    let n = lens[c0] - i0;
    for (let c = c0 + 1; c < c1 && n <= limit; c++) n += lens[c];
    return n + i1;
  }

  *range(lo: number, hi: number): Generator<number> {
    const rows: number[] = [];
    this.forEachInRange(lo, hi, (row) => rows.push(row));
    yield* rows;
  }

  forEachInRange(lo: number, hi: number, visit: (row: number) => void, descending = false): void {
    if (!descending) {
      this.forEachInRangeUpTo(lo, hi, Infinity, visit);
      return;
    }
    if (!(lo < hi) || this.#size === 0) return;
    const chunks = this.#chunks;
    const lens = this.#lens;
    this.#seek(lo);
    const c0 = this.#seekChunk;
    const i0 = this.#seekEntry;
    if (c0 >= chunks.length) return;
    this.#seek(hi);
    // from just before the first entry >= hi (past the end: the last chunk's end) back to (c0, i0)
    let c = this.#seekChunk;
    let end = this.#seekEntry;
    if (c >= chunks.length) {
      c = chunks.length - 1;
      end = lens[c];
    }
    for (; c >= c0; c--, end = c >= 0 ? lens[c] : 0) {
      const rows = chunks[c];
      const stop = c === c0 ? i0 : 0;
      for (let i = end - 1; i >= stop; i--) visit(rows[i]);
    }
  }

  forEachInRangeUpTo(lo: number, hi: number, limit: number, visit: (row: number) => void): boolean {
    if (!(lo < hi) || this.#size === 0) return true;
    this.#seek(lo);
    let c = this.#seekChunk;
    let i = this.#seekEntry;
    this.#seek(hi);
    const c1 = this.#seekChunk;
    const i1 = this.#seekEntry;
    const chunks = this.#chunks;
    const lens = this.#lens;
    if (limit !== Infinity && this.#entriesBetween(c, i, c1, i1, limit) > limit) return false;
    const last = Math.min(c1, chunks.length - 1);
    for (; c <= last; c++, i = 0) {
      const rows = chunks[c];
      const end = c === c1 ? i1 : lens[c];
      for (; i < end; i++) visit(rows[i]);
    }
    return true;
  }

  distinctKeys(): number {
    return this.#distinct;
  }

  walk(descending: boolean, from: { key: number; id: string } | undefined, visit: (row: number) => boolean): void {
    const chunks = this.#chunks;
    const lens = this.#lens;
    if (chunks.length === 0) return;
    let c: number;
    let i: number;
    if (from === undefined) {
      c = descending ? chunks.length - 1 : 0;
      i = descending ? lens[c] - 1 : 0;
    } else {
      // the first entry at or after `from` (ascending: strictly after it). The run of entries
      // with from.key is scanned, one key() and one tie string per entry: within it the order
      // is the tie string's, which lowerBound's numeric forms do not read, and a search by tie
      // would build a string per probe and need the run's end first. Runs are short in the bench's
      // data (createdAt near unique, an amount ~10 times at 10M); a run of thousands costs that.
      this.#seek(from.key);
      c = this.#seekChunk;
      i = this.#seekEntry;
      const keys = this.#keys;
      while (c < chunks.length) {
        const row = chunks[c][i];
        if (keys.key(row) !== from.key) break;
        const id = this.#tie(row);
        if (descending ? id >= from.id : id > from.id) break;
        if (++i === lens[c]) {
          c++;
          i = 0;
        }
      }
      if (descending) {
        // one step back: the last entry strictly before `from`
        if (--i < 0) {
          if (--c < 0) return;
          i = lens[c] - 1;
        }
      }
    }
    if (descending) {
      for (; c >= 0; c--, i = c >= 0 ? lens[c] - 1 : 0) {
        const rows = chunks[c];
        for (; i >= 0; i--) if (!visit(rows[i])) return;
      }
    } else {
      for (; c < chunks.length; c++, i = 0) {
        const rows = chunks[c];
        const end = lens[c];
        for (; i < end; i++) if (!visit(rows[i])) return;
      }
    }
  }

  /**
   * Whether `a` sorts before `row` when their keys are equal: by id, and on equal ids by
   * organization; through `compare` when the keys give one (no string read: this runs in
   * inserts on equal keys).
   */
  #tiedBefore(a: number, row: number): boolean {
    const keys = this.#keys;
    if (keys.compare !== undefined) return keys.compare(a, row) < 0;
    const rowId = keys.id(row);
    const aId = keys.id(a);
    if (aId !== rowId) return aId < rowId;
    return keys.org !== undefined && keys.org(a) < keys.org(row);
  }

  /** The full tie-breaker of `row` as one string, as a position (a cursor) holds it. */
  #tie(row: number): string {
    const keys = this.#keys;
    return keys.org === undefined ? keys.id(row) : `${keys.id(row)}\u0000${keys.org(row)}`;
  }

  clear(): void {
    this.#chunks = [];
    this.#lens = [];
    this.#lastKeys = [];
    this.#size = 0;
    this.#distinct = 0;
  }

  /**
   * Fills an empty index at once from rows already in (key, id) ascending order: chunks 7/8
   * full, so later random inserts rarely overflow. O(n): one key() call per row, id() only on
   * equal keys. Throws, leaving the index empty, when the index is not empty or the rows are
   * out of order (a repeated row or a NaN key counts as out of order).
   *
   * `keysInOrder` (a bulk build that sorted the keys alongside the rows, see
   * PaymentStore.endBulkLoad): keysInOrder[i] is the key of rowsInOrder[i]. Then no key() call
   * is made (each is a random read of the store's columns: seconds at 10M rows), the key order
   * is checked on those keys, and the order of rows with equal keys is the caller's to keep.
   */
  load(rowsInOrder: ArrayLike<number>, keysInOrder?: ArrayLike<number>): void {
    if (this.#size > 0) throw new Error('SortedIndex.load: the index is not empty');
    const total = rowsInOrder.length;
    if (keysInOrder !== undefined && keysInOrder.length !== total) throw new Error('SortedIndex.load: rows and keys differ in length');
    const keys = this.#keys;
    const cap = this.#capacity;
    const per = cap - (cap >>> 3);
    let prevKey = NaN;
    let prevRow = -1;
    let distinct = 0;
    for (let start = 0; start < total; start += per) {
      const end = Math.min(start + per, total);
      const chunk = new Int32Array(cap);
      for (let i = start; i < end; i++) {
        const row = rowsInOrder[i];
        const k = keysInOrder === undefined ? keys.key(row) : keysInOrder[i];
        if (i === 0 ? k === k : k > prevKey) {
          distinct++;
        } else if (!(k === prevKey && (keysInOrder !== undefined || this.#tiedBefore(prevRow, row)))) {
          this.clear();
          throw new Error(`SortedIndex.load: entries out of order at position ${i} (row ${row})`);
        }
        chunk[i - start] = row;
        prevKey = k;
        prevRow = row;
      }
      this.#chunks.push(chunk);
      this.#lens.push(end - start);
      this.#lastKeys.push(prevKey);
    }
    this.#size = total;
    this.#distinct = distinct;
  }

  /**
   * Sets #seekChunk/#seekEntry to the first entry whose key is >= key, or to
   * (chunks.length, 0) if there is none. O(log n): binary search over the cached last keys,
   * then up to log2(capacity) key() calls inside one chunk.
   */
  #seek(key: number): void {
    const lastKeys = this.#lastKeys;
    const c = lowerBound(lastKeys, 0, lastKeys.length, key);
    this.#seekChunk = c;
    if (c === lastKeys.length || key === -Infinity) {
      this.#seekEntry = 0;
      return;
    }
    // The chunk's last entry qualifies: search [0, len - 1).
    this.#seekEntry = lowerBoundOfRows(this.#chunks[c], 0, this.#lens[c] - 1, this.#keys, key);
  }

  /** Appends a new chunk holding just `row`. */
  #pushChunk(row: number, key: number): void {
    const chunk = new Int32Array(this.#capacity);
    chunk[0] = row;
    this.#chunks.push(chunk);
    this.#lens.push(1);
    this.#lastKeys.push(key);
  }

  /**
   * Inserts `row` at offset `at` of the full chunk c. If a neighbour has at least 1/8 of a
   * chunk free, the two share their rows evenly; else chunk c and a (nearly full) neighbour
   * become three chunks at ~2/3; a lone chunk splits in half. O(capacity).
   */
  #overflow(c: number, at: number, row: number): void {
    const cap = this.#capacity;
    const lens = this.#lens;
    const roomLeft = c > 0 ? cap - lens[c - 1] : -1;
    const roomRight = c < lens.length - 1 ? cap - lens[c + 1] : -1;
    const enough = Math.max(1, cap >>> 3); // >= 1, so that two chunks never hold more than 2 * cap
    if (roomRight >= enough && roomRight >= roomLeft) this.#spread(c, 2, 2, at, row);
    else if (roomLeft >= enough) this.#spread(c - 1, 2, 2, lens[c - 1] + at, row);
    else if (roomRight >= 0) this.#spread(c, 2, 3, at, row);
    else if (roomLeft >= 0) this.#spread(c - 1, 2, 3, lens[c - 1] + at, row);
    else this.#spread(c, 1, 2, at, row);
  }

  /**
   * Rewrites the `from` chunks starting at chunk g as `to` (= from or from + 1) chunks of
   * even length, with `row` inserted at offset p of their concatenation. Every resulting
   * chunk fits: two chunks share at most 2 * capacity rows, and three take at most
   * 2 * capacity + 1.
   */
  #spread(g: number, from: number, to: number, p: number, row: number): void {
    const cap = this.#capacity;
    const chunks = this.#chunks;
    const lens = this.#lens;
    const lastKeys = this.#lastKeys;
    const scratch = (this.#scratch ??= new Int32Array(2 * cap + 1));
    let n = 0;
    for (let j = g; j < g + from; j++) {
      scratch.set(chunks[j].subarray(0, lens[j]), n);
      n += lens[j];
    }
    scratch.copyWithin(p + 1, p, n);
    scratch[p] = row;
    n++;
    if (to > from) {
      chunks.splice(g + from, 0, new Int32Array(cap));
      lens.splice(g + from, 0, 0);
      lastKeys.splice(g + from, 0, 0);
    }
    let start = 0;
    for (let j = 0; j < to; j++) {
      const len = Math.ceil((n - start) / (to - j));
      chunks[g + j].set(scratch.subarray(start, start + len));
      lens[g + j] = len;
      start += len;
      lastKeys[g + j] = this.#keys.key(scratch[start - 1]);
    }
  }
}

/**
 * The search order over a sorted index: key ascending or descending, ties always by paymentId
 * ascending (the contract's order), starting strictly after `from` in that order. Descending,
 * it walks the index backwards and replays each run of equal keys forwards: a short run from a
 * small buffer, a long one (over RUN_BUFFER rows) by a forward walk from the run's start, and
 * then the backward walk restarts before the run, so a long run is never read beyond what the
 * page needs. Stops when `visit` returns false. O(log n) to start, then O(1) per row visited
 * (plus O(log n) per long run).
 */
export function walkSearchOrder(
  index: SortedIndexView,
  keyOf: (row: number) => number,
  descending: boolean,
  from: { key: number; id: string } | undefined,
  visit: (row: number) => boolean,
): void {
  if (!descending) {
    index.walk(false, from, visit);
    return;
  }
  let going = true;
  /** Visits the run of key `k` in id order, from after `afterId`. */
  const forwardRun = (k: number, afterId: string) =>
    index.walk(false, { key: k, id: afterId }, (row) => keyOf(row) === k && (going = visit(row)));
  if (from !== undefined) {
    forwardRun(from.key, from.id); // the rest of the cursor's own key
    if (!going) return;
  }
  // '' sorts before every paymentId: (k, '') is "just before the run of k"
  let before: { key: number; id: string } | undefined = from && { key: from.key, id: '' };
  const run: number[] = [];
  for (;;) {
    let runKey = NaN;
    let longRun = false;
    run.length = 0;
    index.walk(true, before, (row) => {
      const k = keyOf(row);
      if (k !== runKey) {
        for (let j = run.length - 1; j >= 0 && going; j--) going = visit(run[j]);
        run.length = 0;
        runKey = k;
      }
      if (!going) return false;
      run.push(row);
      if (run.length > RUN_BUFFER) {
        longRun = true;
        return false;
      }
      return true;
    });
    if (!going) return;
    if (!longRun) {
      for (let j = run.length - 1; j >= 0 && going; j--) going = visit(run[j]);
      return;
    }
    forwardRun(runKey, '');
    if (!going) return;
    before = { key: runKey, id: '' };
  }
}

/** Equal keys buffered by walkSearchOrder before it reads a run forwards instead. */
const RUN_BUFFER = 32;
