/**
 * paymentId -> row id, in one open-addressing Int32Array (about 8.4 bytes per entry at 1M
 * entries, 4.2-10.7 in general, where a Map<string, number> costs about 29). The table holds
 * no strings: the id of a row is read back through `RowIds` (the store keeps the paymentIds by
 * row), so a slot only has to say which row to compare with.
 *
 * A slot is 0 when empty; else `(hash & ~mask) | (row + 1)`: the low bits (as many as the
 * capacity has index bits) hold row + 1, the high bits the hash bits the slot's position does
 * not imply (a tag). A probe compares the tag first, so almost every mismatch is rejected
 * without reading a payment or comparing strings (at 1M entries the tag has 11 bits: one
 * false candidate per ~2,000 probed slots). Rows must stay below the capacity, which the load
 * factor guarantees for dense row ids (set() grows the table otherwise).
 *
 * Linear probing, power-of-two capacity, load factor at most 0.75. Growth doubles the
 * capacity and moves the entries incrementally: the previous table stays readable (a lookup
 * that misses the new table probes it too) while every set() moves the next MIGRATE_STEP of
 * its slots, re-hashing the row's id (a parallel array of hashes would avoid that but double the
 * bytes). So no insert pays for a whole rehash (at 1M entries that was a 110-140 ms pause),
 * and the move ends long before the new table can fill. Entries are never removed.
 */
export class IdTable {
  #slots: Int32Array;
  #mask: number;
  #size = 0;
  #limit: number;
  /** The table before the last growth while its entries are being moved; else null. */
  #old: Int32Array | null = null;
  #oldMask = 0;
  /** Next slot of #old to move. */
  #moved = 0;

  readonly #ids: RowIds;

  /** `ids`: where the table reads the id of a row back, as a string or (RowIds) from its bytes. */
  constructor(ids: RowIds | ((row: number) => string), initialCapacity = 1024) {
    this.#ids = typeof ids === 'function' ? stringIds(ids) : ids;
    let capacity = 16;
    while (capacity < initialCapacity) capacity *= 2;
    this.#slots = new Int32Array(capacity);
    this.#mask = capacity - 1;
    this.#limit = maxEntries(capacity);
  }

  get size(): number {
    return this.#size;
  }

  /** Bytes held by the slot array (capacity x 4); during a growth, the previous one's too. */
  get bytes(): number {
    return this.#slots.byteLength + (this.#old?.byteLength ?? 0);
  }

  /** True while the entries of the previous table are being moved (see the class). */
  get growing(): boolean {
    return this.#old !== null;
  }

  /** The row of `id`, or undefined. */
  get(id: string): number | undefined {
    const h = hashString(id);
    const row = this.#find(this.#slots, this.#mask, h, id);
    return row !== undefined || this.#old === null ? row : this.#find(this.#old, this.#oldMask, h, id);
  }

  /** The row whose id is `id`: a string, or the id of another row (see addRow). */
  #find(slots: Int32Array, mask: number, h: number, id: string | number): number | undefined {
    const tag = h & ~mask;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const s = slots[i];
      if (s === 0) return undefined;
      if ((s & ~mask) === tag) {
        const row = (s & mask) - 1;
        if (typeof id === 'string' ? this.#ids.idEquals(row, id) : this.#ids.sameIds(row, id)) return row;
      }
    }
  }

  /**
   * Maps the id of `row` (read back through RowIds) to `row`, unless the table holds that id
   * already: then changes nothing and returns the row it maps to. What get() then set() do, with
   * one hash, from the id's bytes (a bulk load: no string per id).
   */
  addRow(row: number): number | undefined {
    checkRow(row);
    const h = this.#ids.hashOf(row);
    const found = this.#find(this.#slots, this.#mask, h, row) ?? (this.#old === null ? undefined : this.#find(this.#old, this.#oldMask, h, row));
    if (found !== undefined) return found;
    this.#add(h, row);
    return undefined;
  }

  /** Maps `id` to `row`. `id` must be absent (not checked); `row` a non-negative integer. */
  set(id: string, row: number): void {
    checkRow(row);
    this.#add(hashString(id), row);
  }

  #add(h: number, row: number): void {
    if (this.#old !== null) this.#move(MIGRATE_STEP);
    while (this.#size >= this.#limit || row + 1 > this.#mask) this.#grow();
    this.#place(h, row);
    this.#size++;
  }

  #place(h: number, row: number): void {
    const slots = this.#slots;
    const mask = this.#mask;
    let i = h & mask;
    while (slots[i] !== 0) i = (i + 1) & mask;
    slots[i] = (h & ~mask) | (row + 1);
  }

  /** Doubles the capacity; the entries move over the next set() calls (see #move). */
  #grow(): void {
    if (this.#old !== null) this.#move(Infinity); // a growth during a growth: finish the first
    const old = this.#slots;
    if (old.length >= 1 << 30) throw new RangeError('IdTable: capacity exhausted');
    this.#old = old;
    this.#oldMask = this.#mask;
    this.#moved = 0;
    this.#slots = new Int32Array(old.length * 2);
    this.#mask = old.length * 2 - 1;
    this.#limit = maxEntries(old.length * 2);
  }

  /**
   * Moves the entries of the next `count` slots of the previous table into the current one, and
   * drops the previous table after its last slot. Until then it stays intact (its probe chains
   * must not break), so an entry may be found in both: the same row either way.
   */
  #move(count: number): void {
    const old = this.#old!;
    const oldMask = this.#oldMask;
    const end = Math.min(old.length, this.#moved + count);
    for (let i = this.#moved; i < end; i++) {
      const s = old[i];
      if (s !== 0) {
        const row = (s & oldMask) - 1;
        this.#place(this.#ids.hashOf(row), row);
      }
    }
    this.#moved = end;
    if (end === old.length) this.#old = null;
  }
}

/**
 * Slots of the previous table moved per set() during a growth: the previous table has C slots
 * and at most 0.75 C entries, the new one room for 0.75 C more entries before it grows, so any
 * step of 2 or more ends the move first. 8 keeps each set() at a few microseconds.
 */
const MIGRATE_STEP = 8;

function checkRow(row: number): void {
  if (!(row >= 0 && row < 0x3fffffff && Number.isInteger(row))) throw new RangeError(`IdTable: bad row ${row}`);
}

function maxEntries(capacity: number): number {
  return capacity - (capacity >>> 2); // load factor 0.75
}

/** How a table reads ids back by row without building strings (PaymentColumns does it from bytes). */
export interface RowIds {
  /** Whether the id of `row` is `id`. */
  idEquals(row: number, id: string): boolean;
  /** hashString() of the id of `row`. */
  hashOf(row: number): number;
  /** Whether rows a and b have the same id. */
  sameIds(a: number, b: number): boolean;
}

function stringIds(idOf: (row: number) => string): RowIds {
  return { idEquals: (row, id) => idOf(row) === id, hashOf: (row) => hashString(idOf(row)), sameIds: (a, b) => idOf(a) === idOf(b) };
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
  return finish(h, n);
}

/** hashString() of the Latin-1 text bytes[start, end), read from the bytes (one code unit per byte). */
export function hashBytes(bytes: Uint8Array, start: number, end: number): number {
  const n = end - start;
  let h = 0x811c9dc5 | 0;
  let i = start;
  for (; i + 1 < end; i += 2) h = Math.imul(h ^ (bytes[i] | (bytes[i + 1] << 16)), 0x01000193);
  if (i < end) h = Math.imul(h ^ bytes[i], 0x01000193);
  return finish(h, n);
}

/** The length, then murmur3's finaliser: every output bit depends on every input bit. */
function finish(hash: number, length: number): number {
  let h = hash ^ length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}
