/**
 * paymentId -> row id, in one open-addressing Int32Array (about 8.4 bytes per entry at 1M
 * entries, 4.2-10.7 in general, where a Map<string, number> costs about 29). The table holds
 * no strings: the id of a row is read back through `idOf(row)` (the store keeps the payments by
 * row), so a slot only has to say which row to compare with.
 *
 * A slot is 0 when empty; else `(hash & ~mask) | (row + 1)`: the low bits (as many as the
 * capacity has index bits) hold row + 1, the high bits the hash bits the slot's position does
 * not imply (a tag). A probe compares the tag first, so almost every mismatch is rejected
 * without reading a payment or comparing strings (at 1M entries the tag has 11 bits: one
 * false candidate per ~2,000 probed slots). Rows must stay below the capacity, which the load
 * factor guarantees for dense row ids (set() grows the table otherwise).
 *
 * Linear probing, power-of-two capacity, load factor at most 0.75; growth doubles and rehashes
 * by hashing idOf(row) again, in row order (a parallel array of hashes would avoid that but
 * double the bytes). Entries are never removed.
 */
export class IdTable {
  #slots: Int32Array;
  #mask: number;
  #size = 0;
  #limit: number;

  constructor(
    private readonly idOf: (row: number) => string,
    initialCapacity = 1024,
  ) {
    let capacity = 16;
    while (capacity < initialCapacity) capacity *= 2;
    this.#slots = new Int32Array(capacity);
    this.#mask = capacity - 1;
    this.#limit = maxEntries(capacity);
  }

  get size(): number {
    return this.#size;
  }

  /** Bytes held by the slot array (capacity x 4). */
  get bytes(): number {
    return this.#slots.byteLength;
  }

  /** The row of `id`, or undefined. */
  get(id: string): number | undefined {
    const h = hashString(id);
    const slots = this.#slots;
    const mask = this.#mask;
    const tag = h & ~mask;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const s = slots[i];
      if (s === 0) return undefined;
      if ((s & ~mask) === tag) {
        const row = (s & mask) - 1;
        if (this.idOf(row) === id) return row;
      }
    }
  }

  /** Maps `id` to `row`. `id` must be absent (not checked); `row` a non-negative integer. */
  set(id: string, row: number): void {
    if (!(row >= 0 && row < 0x3fffffff && Number.isInteger(row))) throw new RangeError(`IdTable: bad row ${row}`);
    while (this.#size >= this.#limit || row + 1 > this.#mask) this.#grow();
    this.#place(hashString(id), row);
    this.#size++;
  }

  #place(h: number, row: number): void {
    const slots = this.#slots;
    const mask = this.#mask;
    let i = h & mask;
    while (slots[i] !== 0) i = (i + 1) & mask;
    slots[i] = (h & ~mask) | (row + 1);
  }

  /**
   * Doubles the capacity. Rows are re-hashed in ascending row order, not slot order: the
   * payments (and their ids) were allocated roughly in row order, so reading them sequentially
   * costs a fraction of the cache misses of a random walk (at 1M entries, ~3x faster).
   */
  #grow(): void {
    const old = this.#slots;
    const oldMask = this.#mask;
    if (old.length >= 1 << 30) throw new RangeError('IdTable: capacity exhausted');
    // rows < old capacity: a byte per possible row says which are present
    const present = new Uint8Array(old.length);
    for (let i = 0; i < old.length; i++) if (old[i] !== 0) present[(old[i] & oldMask) - 1] = 1;
    this.#slots = new Int32Array(old.length * 2);
    this.#mask = old.length * 2 - 1;
    this.#limit = maxEntries(old.length * 2);
    for (let row = 0; row < present.length; row++) if (present[row] === 1) this.#place(hashString(this.idOf(row)), row);
  }
}

function maxEntries(capacity: number): number {
  return capacity - (capacity >>> 2); // load factor 0.75
}

/**
 * FNV-1a over pairs of UTF-16 code units (one multiply per two characters; each step is a
 * bijection of the block, so equal-length ids differing anywhere never collide before the
 * finaliser), then murmur3's finaliser so that every bit (the index takes the low ones, the
 * tag the high ones) depends on every input bit: ids differing only in their last character
 * (`pay_000001`, `pay_000002`) land far apart. Returns a signed int32.
 */
export function hashString(s: string): number {
  const n = s.length;
  let h = 0x811c9dc5 | 0;
  let i = 0;
  for (; i + 1 < n; i += 2) h = Math.imul(h ^ (s.charCodeAt(i) | (s.charCodeAt(i + 1) << 16)), 0x01000193);
  if (i < n) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  h ^= n;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}
