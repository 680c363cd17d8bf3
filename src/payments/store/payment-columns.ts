import { canonicalTimeMs, isoTime } from '../../iso-time';
import type { Payment, PaymentStatus } from '../payment';
import type { LoadedPayment } from './bulk-load';
import { hashBytes, hashString } from './id-table';
import { tiePrefix, tiePrefixOfBytes } from './radix-sort';

/** Rows per chunk: the columns of 65,536 payments (about 2.6 MB at most). */
const CHUNK_BITS = 16;
const CHUNK_ROWS = 1 << CHUNK_BITS;
const ROW_MASK = CHUNK_ROWS - 1;
/**
 * A chunk starts with room for this many rows and doubles up to CHUNK_ROWS: a store of a few
 * payments (a test, a new service) pays little, and a store's room to grow is at most its
 * last chunk's rows again (about 2.6 MB), whatever its size.
 */
const FIRST_CHUNK_ROWS = 1024;
/** Bytes of paymentId text a chunk starts with (36 per UUID): doubled when full, trimmed when the chunk is. */
const FIRST_ID_BYTES = 16 * 1024;

/** Distinct error texts shared between payments (see PaymentColumns.#interned). */
const ERRORS_INTERNED = 4096;

/** A time field that is null. Epoch milliseconds are integers, so no real time is NaN. */
const NO_TIME = NaN;

/** The fields a payment keeps in the cells and dictionaries, passed back in to build it (see payment()). */
export interface IndexedFields {
  readonly organizationId: string;
  readonly userId: string;
  readonly amount: number;
  readonly currency: string;
  readonly status: PaymentStatus;
  readonly refundedAmount: number;
  readonly createdAtMs: number;
}

/** Time texts kept as written when they are not the canonical form of their milliseconds (see Chunk.texts). */
interface TimeTexts {
  createdAt?: string;
  updatedAt?: string;
  completedAt?: string;
  failedAt?: string;
  refundedAt?: string;
}

type TimeField = keyof TimeTexts;

const EMPTY_METADATA: Readonly<Record<string, string>> = Object.freeze({});

/**
 * The columns of one run of CHUNK_ROWS consecutive rows. Once full, a chunk never moves or
 * grows again: a large store's appends copy nothing it already holds, and it has no room
 * unused beyond its last chunk's.
 */
class Chunk {
  /** paymentIds as Latin-1 bytes, back to back; row i's ends at idEnd[i] (and starts at idEnd[i - 1]). */
  ids: Uint8Array;
  idEnd: Uint32Array;
  idBytes = 0;
  updatedAt: Float64Array;
  completedAt: Float64Array;
  failedAt: Float64Array;
  refundedAt: Float64Array;
  version: Uint32Array;
  /** Sparse, by row within the chunk: most payments have none of these. */
  description: Map<number, string> | undefined;
  metadata: Map<number, Readonly<Record<string, string>>> | undefined;
  error: Map<number, string> | undefined;
  /** paymentIds with a character above U+00FF (never from the API, whose ids are ASCII): kept as strings. */
  wideIds: Map<number, string> | undefined;
  /**
   * Times whose text is not the canonical `toISOString()` of their milliseconds (a client may
   * write `2026-03-01T12:00:00+02:00`): the answer must give back the text it was given.
   */
  texts: Map<number, TimeTexts> | undefined;

  constructor(rows: number) {
    this.ids = new Uint8Array(Math.max(FIRST_ID_BYTES, rows * 16));
    this.idEnd = new Uint32Array(rows);
    this.updatedAt = new Float64Array(rows);
    this.completedAt = new Float64Array(rows);
    this.failedAt = new Float64Array(rows);
    this.refundedAt = new Float64Array(rows);
    this.version = new Uint32Array(rows);
  }

  get rows(): number {
    return this.idEnd.length;
  }

  /** Doubles the room of a chunk, up to CHUNK_ROWS (see FIRST_CHUNK_ROWS). */
  grow(): void {
    const rows = Math.min(this.rows * 2, CHUNK_ROWS);
    this.idEnd = grown(this.idEnd, new Uint32Array(rows));
    this.updatedAt = grown(this.updatedAt, new Float64Array(rows));
    this.completedAt = grown(this.completedAt, new Float64Array(rows));
    this.failedAt = grown(this.failedAt, new Float64Array(rows));
    this.refundedAt = grown(this.refundedAt, new Float64Array(rows));
    this.version = grown(this.version, new Uint32Array(rows));
  }

  idStart(i: number): number {
    return i === 0 ? 0 : this.idEnd[i - 1];
  }
}

function grown<T extends Uint32Array | Float64Array>(from: T, to: T): T {
  to.set(from);
  return to;
}

/**
 * The payments' own fields, by row id, in columns: what the cells and dictionaries do not
 * already hold (paymentId, updatedAt, completedAt, failedAt, refundedAt, version, and the
 * sparse description, metadata and error). A payment object is built only when one is read
 * (payment()), so the store holds no object per payment: at 10M payments, about 80 bytes each
 * here instead of ~350 for a frozen object and its strings, and nothing for the garbage
 * collector to trace.
 *
 * paymentIds are Latin-1 bytes in one arena per chunk: comparing and hashing them reads those
 * bytes, never a string (see idEquals, compareIds, hashOf). Times are epoch milliseconds
 * (NaN = null), written back as toISOString() text unless the row kept the text it was given.
 *
 * Rows are dense and appended in order (0, 1, 2, ...); a row's paymentId, createdAt,
 * description and metadata never change (the store checks it), the lifecycle fields do.
 */
export class PaymentColumns {
  readonly #chunks: Chunk[] = [];
  #size = 0;
  /**
   * One string per distinct failure error (a parsed body gives each payment a copy of its own:
   * 'card_declined' a million times). Bounded: past ERRORS_INTERNED, errors are kept as given.
   */
  readonly #errors = new Map<string, string>();

  #interned(error: string): string {
    const known = this.#errors.get(error);
    if (known !== undefined) return known;
    if (this.#errors.size < ERRORS_INTERNED && error.length <= 200) this.#errors.set(error, error);
    return error;
  }

  get size(): number {
    return this.#size;
  }

  /** Bytes held by the columns (allocated, with the last chunk's room to grow), strings of the sparse maps excluded. */
  get bytes(): number {
    let bytes = 0;
    for (const c of this.#chunks) bytes += c.ids.byteLength + c.rows * 40;
    return bytes;
  }

  /** Appends `payment` as row `size` and returns that row. */
  append(payment: Payment): number {
    const row = this.#size;
    const chunk = this.#chunkFor(row);
    const i = row & ROW_MASK;
    this.#appendId(chunk, i, payment.paymentId);
    if (payment.description !== null) (chunk.description ??= new Map()).set(i, payment.description);
    if (!isEmpty(payment.metadata)) (chunk.metadata ??= new Map()).set(i, payment.metadata);
    this.#size = row + 1;
    this.#setTime(chunk, i, 'createdAt', payment.createdAt);
    this.#setLifecycle(chunk, i, payment);
    if (i === CHUNK_ROWS - 1) chunk.ids = chunk.ids.slice(0, chunk.idBytes); // full: no room left unused
    return row;
  }

  /**
   * Appends a payment of a bulk load as row `size` and returns that row: a canonical one (see
   * LoadedPayment) by its times' milliseconds and its id's bytes, without reading a text;
   * any other as append() does.
   */
  appendLoaded(p: LoadedPayment): number {
    if (!p.canonical) return this.append(p);
    const row = this.#size;
    const chunk = this.#chunkFor(row);
    const i = row & ROW_MASK;
    if (p.idBytes !== undefined) this.#appendIdBytes(chunk, i, p.idBytes, p.idStart, p.idEnd);
    else this.#appendId(chunk, i, p.paymentId);
    if (p.description !== null) (chunk.description ??= new Map()).set(i, p.description);
    if (!isEmpty(p.metadata)) (chunk.metadata ??= new Map()).set(i, p.metadata);
    chunk.updatedAt[i] = p.updatedAtMs;
    chunk.completedAt[i] = p.completedAtMs;
    chunk.failedAt[i] = p.failedAtMs;
    chunk.refundedAt[i] = p.refundedAtMs;
    chunk.version[i] = p.version;
    if (p.error !== null) (chunk.error ??= new Map()).set(i, this.#interned(p.error));
    this.#size = row + 1;
    if (i === CHUNK_ROWS - 1) chunk.ids = chunk.ids.slice(0, chunk.idBytes);
    return row;
  }

  /** Removes the last row: an append the store then refused (see PaymentStore.appendLoaded). */
  dropLast(): void {
    const row = this.#size - 1;
    if (row < 0) return;
    const chunk = this.#chunks[row >>> CHUNK_BITS];
    const i = row & ROW_MASK;
    chunk.idBytes = chunk.idStart(i);
    chunk.wideIds?.delete(i);
    chunk.description?.delete(i);
    chunk.metadata?.delete(i);
    chunk.error?.delete(i);
    chunk.texts?.delete(i);
    this.#size = row;
  }

  /**
   * Readies room for `rows` rows in all: while the columns hold fewer, each new chunk is made
   * whole at once (a bulk load that knows its size), instead of doubling from FIRST_CHUNK_ROWS.
   */
  reserve(rows: number): void {
    this.#reserved = rows;
  }
  #reserved = 0;

  /** The chunk that row `size` goes in, made or grown as needed. */
  #chunkFor(row: number): Chunk {
    const k = row >>> CHUNK_BITS;
    const i = row & ROW_MASK;
    let chunk = this.#chunks[k];
    if (chunk === undefined) {
      chunk = new Chunk(row + CHUNK_ROWS <= this.#reserved ? CHUNK_ROWS : FIRST_CHUNK_ROWS);
      this.#chunks.push(chunk);
    } else if (i === chunk.rows) {
      chunk.grow();
    }
    return chunk;
  }

  /**
   * Rewrites the fields of `row` that may change: the lifecycle's, and (never through the state
   * machine, but a committed row is taken as the database holds it) description and metadata.
   * paymentId and createdAt never change: the store checks that.
   */
  update(row: number, payment: Payment): void {
    const chunk = this.#chunks[row >>> CHUNK_BITS];
    const i = row & ROW_MASK;
    if (payment.description !== null) (chunk.description ??= new Map()).set(i, payment.description);
    else chunk.description?.delete(i);
    if (!isEmpty(payment.metadata)) (chunk.metadata ??= new Map()).set(i, payment.metadata);
    else chunk.metadata?.delete(i);
    this.#setLifecycle(chunk, i, payment);
  }

  #setLifecycle(chunk: Chunk, i: number, p: Payment): void {
    this.#setTime(chunk, i, 'updatedAt', p.updatedAt);
    this.#setTime(chunk, i, 'completedAt', p.completedAt);
    this.#setTime(chunk, i, 'failedAt', p.failedAt);
    this.#setTime(chunk, i, 'refundedAt', p.refundedAt);
    chunk.version[i] = p.version;
    if (p.error !== null) (chunk.error ??= new Map()).set(i, this.#interned(p.error));
    else chunk.error?.delete(i);
  }

  /** Stores a time's milliseconds, and its text too when the milliseconds would not give it back. */
  #setTime(chunk: Chunk, i: number, field: TimeField, text: string | null): void {
    let ms = text === null ? NO_TIME : canonicalTimeMs(text);
    const exact = ms !== undefined;
    if (!exact) ms = Date.parse(text!);
    if (field !== 'createdAt') chunk[field][i] = ms!; // createdAt's milliseconds live in the cells
    const kept = chunk.texts?.get(i);
    if (exact) {
      if (kept?.[field] !== undefined) {
        delete kept[field];
        if (Object.keys(kept).length === 0) chunk.texts!.delete(i);
      }
    } else if (kept !== undefined) kept[field] = text!;
    else (chunk.texts ??= new Map()).set(i, { [field]: text! });
  }

  #appendId(chunk: Chunk, i: number, id: string): void {
    const start = chunk.idBytes;
    const n = id.length;
    if (!isLatin1(id)) {
      (chunk.wideIds ??= new Map()).set(i, id);
      chunk.idEnd[i] = start; // no bytes: see paymentId()
      return;
    }
    const ids = this.#idRoom(chunk, n);
    for (let j = 0; j < n; j++) ids[start + j] = id.charCodeAt(j);
    chunk.idBytes = start + n;
    chunk.idEnd[i] = start + n;
  }

  /** #appendId() of the Latin-1 text bytes[from, to). */
  #appendIdBytes(chunk: Chunk, i: number, bytes: Uint8Array, from: number, to: number): void {
    const start = chunk.idBytes;
    const n = to - from;
    const ids = this.#idRoom(chunk, n);
    for (let j = 0; j < n; j++) ids[start + j] = bytes[from + j];
    chunk.idBytes = start + n;
    chunk.idEnd[i] = start + n;
  }

  /** The chunk's id bytes, with room for `n` more (doubled when full). */
  #idRoom(chunk: Chunk, n: number): Uint8Array {
    const start = chunk.idBytes;
    if (start + n > chunk.ids.length) {
      const bigger = new Uint8Array(Math.max(chunk.ids.length * 2, start + n));
      bigger.set(chunk.ids.subarray(0, start));
      chunk.ids = bigger;
    }
    return chunk.ids;
  }

  /** The paymentId of `row`. */
  paymentId(row: number): string {
    const chunk = this.#chunks[row >>> CHUNK_BITS];
    const i = row & ROW_MASK;
    const start = chunk.idStart(i);
    const end = chunk.idEnd[i];
    if (start === end) return chunk.wideIds!.get(i)!;
    return latin1(chunk.ids, start, end);
  }

  /** Whether `row`'s paymentId is `id`, reading its bytes (no string is built). */
  idEquals(row: number, id: string): boolean {
    const chunk = this.#chunks[row >>> CHUNK_BITS];
    const i = row & ROW_MASK;
    const start = chunk.idStart(i);
    const end = chunk.idEnd[i];
    if (start === end) return chunk.wideIds!.get(i) === id;
    if (end - start !== id.length) return false;
    const ids = chunk.ids;
    for (let j = start; j < end; j++) if (ids[j] !== id.charCodeAt(j - start)) return false;
    return true;
  }

  /** The order of two rows' paymentIds as strings (UTF-16 code units), reading their bytes. */
  compareIds(a: number, b: number): number {
    const ca = this.#chunks[a >>> CHUNK_BITS];
    const cb = this.#chunks[b >>> CHUNK_BITS];
    const ia = a & ROW_MASK;
    const ib = b & ROW_MASK;
    const sa = ca.idStart(ia);
    const ea = ca.idEnd[ia];
    const sb = cb.idStart(ib);
    const eb = cb.idEnd[ib];
    if (sa === ea || sb === eb) return compareStrings(this.paymentId(a), this.paymentId(b));
    const na = ea - sa;
    const nb = eb - sb;
    const n = na < nb ? na : nb;
    const x = ca.ids;
    const y = cb.ids;
    for (let j = 0; j < n; j++) {
      const d = x[sa + j] - y[sb + j];
      if (d !== 0) return d < 0 ? -1 : 1;
    }
    return na === nb ? 0 : na < nb ? -1 : 1;
  }

  /** Whether rows a and b have the same paymentId, reading their bytes. */
  sameIds(a: number, b: number): boolean {
    return this.compareIds(a, b) === 0;
  }

  /** tiePrefix(paymentId(row)), reading its bytes. */
  tiePrefix(row: number): number {
    const chunk = this.#chunks[row >>> CHUNK_BITS];
    const i = row & ROW_MASK;
    const start = chunk.idStart(i);
    const end = chunk.idEnd[i];
    return start === end ? tiePrefix(chunk.wideIds!.get(i)!) : tiePrefixOfBytes(chunk.ids, start, end);
  }

  /** hashString(paymentId(row)), reading its bytes. */
  hashOf(row: number): number {
    const chunk = this.#chunks[row >>> CHUNK_BITS];
    const i = row & ROW_MASK;
    const start = chunk.idStart(i);
    const end = chunk.idEnd[i];
    return start === end ? hashString(chunk.wideIds!.get(i)!) : hashBytes(chunk.ids, start, end);
  }

  version(row: number): number {
    return this.#chunks[row >>> CHUNK_BITS].version[row & ROW_MASK];
  }

  /** The payment of `row`, built from these columns and the fields the store keeps elsewhere. */
  payment(row: number, f: IndexedFields): Payment {
    const chunk = this.#chunks[row >>> CHUNK_BITS];
    const i = row & ROW_MASK;
    const texts = chunk.texts?.get(i);
    return Object.freeze({
      paymentId: this.paymentId(row),
      organizationId: f.organizationId,
      userId: f.userId,
      amount: f.amount,
      currency: f.currency,
      status: f.status,
      description: chunk.description?.get(i) ?? null,
      metadata: chunk.metadata?.get(i) ?? EMPTY_METADATA,
      refundedAmount: f.refundedAmount,
      error: chunk.error?.get(i) ?? null,
      createdAt: texts?.createdAt ?? isoTime(f.createdAtMs),
      updatedAt: texts?.updatedAt ?? isoTime(chunk.updatedAt[i]),
      completedAt: timeText(chunk.completedAt[i], texts?.completedAt),
      failedAt: timeText(chunk.failedAt[i], texts?.failedAt),
      refundedAt: timeText(chunk.refundedAt[i], texts?.refundedAt),
      version: chunk.version[i],
    });
  }
}

function timeText(ms: number, kept: string | undefined): string | null {
  return kept ?? (ms === ms ? isoTime(ms) : null);
}

function isEmpty(o: Readonly<Record<string, string>>): boolean {
  for (const _ in o) return false;
  return true;
}

function isLatin1(s: string): boolean {
  for (let j = 0; j < s.length; j++) if (s.charCodeAt(j) > 0xff) return false;
  return true;
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The Latin-1 text of bytes[start, end): short ids (36 for a UUID) by char codes, no Buffer call. */
function latin1(bytes: Uint8Array, start: number, end: number): string {
  return String.fromCharCode.apply(null, bytes.subarray(start, end) as unknown as number[]);
}
