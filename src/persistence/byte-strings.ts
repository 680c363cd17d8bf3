/**
 * UTF-8 bytes -> one string per distinct value, for the columns that repeat a few values over
 * millions of rows (organizationId, userId, currency, error): a row's bytes are looked up by
 * hash and compared in place, so no string is built for a value seen before, and every row of
 * one value shares one string (whose hash V8 then computes once, for the dictionaries' Maps).
 *
 * Open addressing over a power-of-two table of 4-int slots (hash, entry + 1, first byte,
 * length), so that a probe reads one slot, then the value's bytes: two cache misses per lookup
 * in a large table. Entries are never removed. Bounded: past `maxEntries` distinct values (or
 * a value over MAX_BYTES) values are decoded each time instead, so a column of unique values
 * costs a lookup more, never unbounded memory.
 */
export class ByteStrings {
  #table = new Int32Array(1024 * SLOT);
  #mask = 1023;
  readonly #values: string[] = [];
  #arena = new Uint8Array(4096);
  #arenaLength = 0;

  /**
   * The entry of the value the last get() returned: the same number for the same value, dense
   * from 0 (a caller may index an array by it); -1 when that value was not kept.
   */
  key = -1;

  constructor(readonly maxEntries = 65_536) {}

  get size(): number {
    return this.#values.length;
  }

  /** The string of bytes[start, end), decoded as UTF-8. */
  get(bytes: Uint8Array, start: number, end: number): string {
    let h = 0x811c9dc5 | 0;
    for (let i = start; i < end; i++) h = Math.imul(h ^ bytes[i], 0x01000193);
    h ^= h >>> 15;
    const table = this.#table;
    const mask = this.#mask;
    const arena = this.#arena;
    const n = end - start;
    for (let s = h & mask; ; s = (s + 1) & mask) {
      const at = s * SLOT;
      const entry = table[at + 1] - 1;
      if (entry < 0) return this.#add(bytes, start, end, h, s);
      if (table[at] !== h || table[at + 3] !== n) continue;
      const from = table[at + 2];
      let i = 0;
      while (i < n && arena[from + i] === bytes[start + i]) i++;
      if (i === n) {
        this.key = entry;
        return this.#values[entry];
      }
    }
  }

  #add(bytes: Uint8Array, start: number, end: number, hash: number, slot: number): string {
    const value = Buffer.from(bytes.buffer, bytes.byteOffset + start, end - start).toString('utf8');
    const n = end - start;
    const entry = this.#values.length;
    this.key = -1;
    if (entry >= this.maxEntries || n > MAX_BYTES) return value;
    if (this.#arenaLength + n > this.#arena.length) {
      const bigger = new Uint8Array(Math.max(this.#arena.length * 2, this.#arenaLength + n));
      bigger.set(this.#arena);
      this.#arena = bigger;
    }
    this.#arena.set(bytes.subarray(start, end), this.#arenaLength);
    const at = slot * SLOT;
    this.#table[at] = hash;
    this.#table[at + 1] = entry + 1;
    this.#table[at + 2] = this.#arenaLength;
    this.#table[at + 3] = n;
    this.#arenaLength += n;
    this.#values.push(value);
    if ((entry + 1) * 2 > this.#mask + 1) this.#rehash();
    this.key = entry;
    return value;
  }

  /** Doubles the table (load factor at most 1/2). */
  #rehash(): void {
    const old = this.#table;
    const mask = (this.#mask + 1) * 2 - 1;
    const table = new Int32Array((mask + 1) * SLOT);
    for (let at = 0; at < old.length; at += SLOT) {
      if (old[at + 1] === 0) continue;
      let s = old[at] & mask;
      while (table[s * SLOT + 1] !== 0) s = (s + 1) & mask;
      table.set(old.subarray(at, at + SLOT), s * SLOT);
    }
    this.#table = table;
    this.#mask = mask;
  }
}

/** Ints per slot: hash, entry + 1 (0: empty), the value's first byte in the arena, its length. */
const SLOT = 4;
/** Values longer than this are decoded each time (a long error text is rarely repeated). */
const MAX_BYTES = 256;
