import { lowerBound } from './lower-bound';

/** Read-only view of a sorted (numeric key, paymentId) -> row id index. */
export interface SortedIndexView {
  readonly size: number;
  /** Entries with lo <= key < hi. O(log n + chunks spanned). */
  countRange(lo: number, hi: number): number;
  /** Row ids with lo <= key < hi, in (key, paymentId) ascending order. */
  range(lo: number, hi: number): Generator<number>;
  /** The same rows as range(), through a callback: no generator cost per row. */
  forEachInRange(lo: number, hi: number, visit: (row: number) => void): void;
  distinctKeys(): number;
}

interface Chunk {
  keys: number[];
  ids: string[];
  rows: number[];
}

const MAX_CHUNK = 512;

/**
 * Sorted index over (key, paymentId) as a list of sorted chunks of at most MAX_CHUNK
 * entries. Ordering ties on paymentId makes every entry unique and the order total, which is
 * what the search sort needs. Insert/remove: O(log n) to find the place plus an O(MAX_CHUNK)
 * splice inside one chunk, never an O(n) splice of the whole index.
 *
 * Invariant: chunks are non-empty and in order; the last entry of chunk i sorts before the
 * first entry of chunk i + 1.
 */
export class SortedIndex implements SortedIndexView {
  #chunks: Chunk[] = [];
  #size = 0;

  get size(): number {
    return this.#size;
  }

  insert(key: number, id: string, row: number): void {
    if (this.#chunks.length === 0) {
      this.#chunks.push({ keys: [key], ids: [id], rows: [row] });
      this.#size = 1;
      return;
    }
    const lastChunk = this.#chunks[this.#chunks.length - 1];
    const n = lastChunk.keys.length;
    let c: number;
    let chunk: Chunk;
    let at: number;
    if (before(lastChunk.keys[n - 1], lastChunk.ids[n - 1], key, id)) {
      // Appending (new payments arrive in createdAt order): no search, no splice.
      c = this.#chunks.length - 1;
      chunk = lastChunk;
      at = n;
    } else {
      c = this.#chunkFor(key, id);
      if (c === this.#chunks.length) c -= 1;
      chunk = this.#chunks[c];
      at = entryFor(chunk, key, id);
    }
    if (at === chunk.keys.length) {
      chunk.keys.push(key);
      chunk.ids.push(id);
      chunk.rows.push(row);
    } else {
      chunk.keys.splice(at, 0, key);
      chunk.ids.splice(at, 0, id);
      chunk.rows.splice(at, 0, row);
    }
    this.#size += 1;
    if (chunk.keys.length > MAX_CHUNK) this.#split(c);
  }

  /** Removes the entry (key, id); returns whether it was there. */
  remove(key: number, id: string): boolean {
    const c = this.#chunkFor(key, id);
    if (c === this.#chunks.length) return false;
    const chunk = this.#chunks[c];
    const at = entryFor(chunk, key, id);
    if (at === chunk.keys.length || chunk.keys[at] !== key || chunk.ids[at] !== id) return false;
    chunk.keys.splice(at, 1);
    chunk.ids.splice(at, 1);
    chunk.rows.splice(at, 1);
    this.#size -= 1;
    if (chunk.keys.length === 0) this.#chunks.splice(c, 1);
    return true;
  }

  countRange(lo: number, hi: number): number {
    if (!(lo < hi) || this.#size === 0) return 0;
    const [c0, i0] = this.#position(lo);
    const [c1, i1] = this.#position(hi);
    if (c0 === c1) return i1 - i0;
    let n = this.#chunks[c0].keys.length - i0;
    for (let c = c0 + 1; c < c1; c++) n += this.#chunks[c].keys.length;
    return n + i1;
  }

  *range(lo: number, hi: number): Generator<number> {
    if (!(lo < hi) || this.#size === 0) return;
    let [c, i] = this.#position(lo);
    for (; c < this.#chunks.length; c++, i = 0) {
      const { keys, rows } = this.#chunks[c];
      for (; i < keys.length; i++) {
        if (keys[i] >= hi) return;
        yield rows[i];
      }
    }
  }

  forEachInRange(lo: number, hi: number, visit: (row: number) => void): void {
    if (!(lo < hi) || this.#size === 0) return;
    let [c, i] = this.#position(lo);
    for (; c < this.#chunks.length; c++, i = 0) {
      const { keys, rows } = this.#chunks[c];
      for (; i < keys.length; i++) {
        if (keys[i] >= hi) return;
        visit(rows[i]);
      }
    }
  }

  distinctKeys(): number {
    let n = 0;
    let last = NaN;
    for (const { keys } of this.#chunks) {
      for (const k of keys) {
        if (k !== last) n++;
        last = k;
      }
    }
    return n;
  }

  clear(): void {
    this.#chunks = [];
    this.#size = 0;
  }

  /**
   * Fills an empty index at once from entries already in (key, id) order: chunks 3/4 full, so
   * later inserts rarely split. O(n), against O(n log n) plus a splice per insert.
   */
  load(keys: ArrayLike<number>, ids: ArrayLike<string>, rows: ArrayLike<number>): void {
    if (this.#size > 0) throw new Error('SortedIndex.load: the index is not empty');
    const per = (MAX_CHUNK * 3) >>> 2;
    for (let start = 0; start < keys.length; start += per) {
      const end = Math.min(start + per, keys.length);
      const chunk: Chunk = { keys: [], ids: [], rows: [] };
      for (let i = start; i < end; i++) {
        if (i > 0 && !before(keys[i - 1], ids[i - 1], keys[i], ids[i])) throw new Error('SortedIndex.load: entries out of order');
        chunk.keys.push(keys[i]);
        chunk.ids.push(ids[i]);
        chunk.rows.push(rows[i]);
      }
      this.#chunks.push(chunk);
    }
    this.#size = keys.length;
  }

  /** First chunk whose last entry does not sort before (key, id); chunks.length if none. */
  #chunkFor(key: number, id: string): number {
    const chunks = this.#chunks;
    let lo = 0;
    let hi = chunks.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const ch = chunks[mid];
      const last = ch.keys.length - 1;
      if (before(ch.keys[last], ch.ids[last], key, id)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Position (chunk, offset) of the first entry whose key is >= key. */
  #position(key: number): [number, number] {
    const c = lowerBound(this.#chunks.length, (j) => {
      const ks = this.#chunks[j].keys;
      return ks[ks.length - 1] < key;
    });
    if (c === this.#chunks.length) return [c, 0];
    const ks = this.#chunks[c].keys;
    return [c, lowerBound(ks.length, (i) => ks[i] < key)];
  }

  #split(c: number): void {
    const chunk = this.#chunks[c];
    const half = chunk.keys.length >>> 1;
    const right: Chunk = {
      keys: chunk.keys.splice(half),
      ids: chunk.ids.splice(half),
      rows: chunk.rows.splice(half),
    };
    this.#chunks.splice(c + 1, 0, right);
  }
}

/** First position in `chunk` whose entry does not sort before (key, id). O(log MAX_CHUNK). */
function entryFor(chunk: Chunk, key: number, id: string): number {
  const { keys, ids } = chunk;
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (before(keys[mid], ids[mid], key, id)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function before(k: number, id: string, key: number, keyId: string): boolean {
  return k < key || (k === key && id < keyId);
}
