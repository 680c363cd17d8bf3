import { Payment, PAYMENT_STATUSES, PaymentStatus } from '../payments/payment';
import type { LoadedPayment } from '../payments/store/bulk-load';
import { ByteStrings } from './byte-strings';
import { isoTime } from '../iso-time';

/**
 * The columns of a payment as the load copies them, in this order (see PaymentCopyDecoder): the
 * table's own types, sent in PostgreSQL's binary format, so that the server formats nothing
 * (times as microseconds, amounts as 8 bytes) and the service parses no text.
 */
export const PAYMENT_COPY_COLUMNS =
  'payment_id, organization_id, user_id, amount, currency, status, description, metadata, refunded_amount, error, ' +
  'created_at, updated_at, completed_at, failed_at, refunded_at, version';
const COLUMN_NAMES = PAYMENT_COPY_COLUMNS.split(', ');
const FIELDS = COLUMN_NAMES.length;

/** 'PGCOPY\n\xff\r\n\0', then 32-bit flags and header extension length. */
const SIGNATURE = [0x50, 0x47, 0x43, 0x4f, 0x50, 0x59, 0x0a, 0xff, 0x0d, 0x0a, 0x00];
const HEADER = SIGNATURE.length + 8;

/** timestamptz travels as microseconds since 2000-01-01T00:00:00Z. */
const PG_EPOCH_MS = 946_684_800_000;
/** The years a canonical time can name (0000-9999, see canonicalTimeMs). */
const MIN_CANONICAL_MS = -62_167_219_200_000;
const MAX_CANONICAL_MS = 253_402_300_799_999;

const EMPTY_METADATA: Readonly<Record<string, string>> = Object.freeze({});

/**
 * One decoded row, reused for the next: what appendLoaded reads (see LoadedPayment). The times
 * are kept as milliseconds, and the paymentId as the bytes it came in: their strings are written
 * only when read (the store reads neither of a canonical row).
 */
class CopiedPayment implements LoadedPayment {
  organizationId = '';
  userId = '';
  amount = 0;
  currency = '';
  status: PaymentStatus = 'pending';
  description: string | null = null;
  metadata: Readonly<Record<string, string>> = EMPTY_METADATA;
  refundedAmount = 0;
  error: string | null = null;
  version = 0;
  createdAtMs = 0;
  updatedAtMs = 0;
  completedAtMs = NaN;
  failedAtMs = NaN;
  refundedAtMs = NaN;
  statusCode = 0;
  canonical = true;
  organizationKey = -1;
  userKey = -1;
  currencyKey = -1;
  idBytes: Uint8Array | undefined = undefined;
  idStart = 0;
  idEnd = 0;
  /** The paymentId's UTF-8 bytes (the row's buffer, valid until the next row) and its string once read. */
  source: Buffer = EMPTY;
  id: string | undefined = undefined;

  get paymentId(): string {
    return (this.id ??= utf8(this.source, this.idStart, this.idEnd - this.idStart));
  }

  get createdAt(): string {
    return timeText(this.createdAtMs);
  }

  get updatedAt(): string {
    return timeText(this.updatedAtMs);
  }

  get completedAt(): string | null {
    return nullableTimeText(this.completedAtMs);
  }

  get failedAt(): string | null {
    return nullableTimeText(this.failedAtMs);
  }

  get refundedAt(): string | null {
    return nullableTimeText(this.refundedAtMs);
  }
}

const EMPTY = Buffer.alloc(0);

/** A time's text as paymentFromRow writes it: toISOString() of its milliseconds. */
function timeText(ms: number): string {
  return ms >= MIN_CANONICAL_MS && ms <= MAX_CANONICAL_MS ? isoTime(ms) : new Date(ms).toISOString();
}

function canonicalMs(ms: number): boolean {
  return ms >= MIN_CANONICAL_MS && ms <= MAX_CANONICAL_MS;
}

function nullableTimeText(ms: number): string | null {
  return ms === ms ? timeText(ms) : null;
}

/**
 * Decodes `COPY (SELECT PAYMENT_COPY_COLUMNS ...) TO STDOUT (FORMAT binary)` into payments, one
 * at a time, into one reused object handed to `sink` (it must copy what it keeps, as
 * PaymentStore.appendLoaded does): no object per row, and a string only for what the store keeps
 * as one (paymentId, description, metadata) or parses back (each time's canonical text, see
 * #time). Values that repeat (organization, user, currency, error) are one string each
 * (ByteStrings), and a status is PAYMENT_STATUSES' own.
 *
 * Every answer is the one paymentFromRow() gives for the same row read as text (a spec checks it
 * field for field): times rounded to the millisecond (half up), written as toISOString() does.
 *
 * The stream may be cut anywhere (write() keeps a partial row for the next call); end() checks
 * that it ended with the format's trailer.
 */
export class PaymentCopyDecoder {
  readonly #sink: (payment: LoadedPayment) => void;
  readonly #row = new CopiedPayment();
  readonly #organizations = new ByteStrings();
  readonly #users = new ByteStrings();
  readonly #currencies = new ByteStrings(1024);
  readonly #errors = new ByteStrings(4096);
  /** Bytes of a row split between two writes (grown as needed, reused). */
  #pending = Buffer.allocUnsafe(1024);
  #pendingLength = 0;
  #header = false;
  #trailer = false;
  #rows = 0;

  constructor(sink: (payment: LoadedPayment) => void) {
    this.#sink = sink;
  }

  /** Payments decoded so far. */
  get rows(): number {
    return this.#rows;
  }

  /** The next bytes of the stream: bytes[start, end). */
  write(bytes: Buffer, start = 0, end = bytes.length): void {
    if (this.#pendingLength > 0) {
      // complete the split row with the first bytes of this write, then go on in place
      const need = this.#completion(bytes, start, end);
      if (need < 0) {
        this.#keep(bytes, start, end);
        return;
      }
      this.#keep(bytes, start, start + need);
      if (this.#decode(this.#pending, 0, this.#pendingLength) !== this.#pendingLength) {
        throw new Error('PaymentCopyDecoder: a row did not end where its fields did');
      }
      this.#pendingLength = 0;
      start += need;
    }
    const used = this.#decode(bytes, start, end);
    if (used < end) this.#keep(bytes, used, end);
  }

  /** Throws unless the stream ended with the trailer, nothing after it. */
  end(): void {
    if (!this.#trailer || this.#pendingLength > 0) throw new Error('PaymentCopyDecoder: the COPY stream ended in the middle of a row');
  }

  /**
   * How many bytes of bytes[start, end) complete the row begun in #pending, or -1 if they do
   * not: the pending bytes and the new ones are read as one without copying the new ones first.
   */
  #completion(bytes: Buffer, start: number, end: number): number {
    const have = this.#pendingLength;
    const at = (i: number) => (i < have ? this.#pending[i] : bytes[start + i - have]);
    const available = have + (end - start);
    let p = 0;
    if (!this.#header) {
      if (available < HEADER) return -1;
      const extension = int32(at, SIGNATURE.length + 4);
      p = HEADER + extension;
      if (available < p) return -1;
      return p - have;
    }
    if (available < 2) return -1;
    const fields = (at(0) << 8) | at(1);
    p = 2;
    if (fields === 0xffff) return p - have;
    for (let f = 0; f < fields; f++) {
      if (available < p + 4) return -1;
      const n = int32(at, p);
      p += 4 + (n > 0 ? n : 0);
      if (available < p) return -1;
    }
    return p - have;
  }

  #keep(bytes: Buffer, start: number, end: number): void {
    const n = end - start;
    if (this.#pendingLength + n > this.#pending.length) {
      const bigger = Buffer.allocUnsafe(Math.max(this.#pending.length * 2, this.#pendingLength + n));
      this.#pending.copy(bigger, 0, 0, this.#pendingLength);
      this.#pending = bigger;
    }
    bytes.copy(this.#pending, this.#pendingLength, start, end);
    this.#pendingLength += n;
  }

  /** Decodes the whole rows of b[start, end) and returns where the first incomplete one starts. */
  #decode(b: Buffer, start: number, end: number): number {
    let pos = start;
    if (!this.#header) {
      if (end - pos < HEADER) return pos;
      for (let i = 0; i < SIGNATURE.length; i++) {
        if (b[pos + i] !== SIGNATURE[i]) throw new Error('PaymentCopyDecoder: not a binary COPY stream');
      }
      const flags = b.readInt32BE(pos + SIGNATURE.length);
      if ((flags & 0x10000) !== 0) throw new Error('PaymentCopyDecoder: the stream carries OIDs');
      const extension = b.readInt32BE(pos + SIGNATURE.length + 4);
      if (end - pos < HEADER + extension) return pos;
      pos += HEADER + extension;
      this.#header = true;
    }
    const at = this.#at;
    const len = this.#len;
    while (pos + 2 <= end) {
      if (this.#trailer) throw new Error('PaymentCopyDecoder: bytes after the trailer');
      const fields = (b[pos] << 8) | b[pos + 1];
      if (fields === 0xffff) {
        this.#trailer = true;
        pos += 2;
        continue;
      }
      if (fields !== FIELDS) throw new Error(`PaymentCopyDecoder: a row of ${fields} fields, not ${FIELDS}`);
      // where each field is, and whether the whole row is here: it is decoded only then
      let p = pos + 2;
      let f = 0;
      for (; f < FIELDS; f++) {
        if (p + 4 > end) break;
        const n = (b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3];
        p += 4;
        at[f] = p;
        len[f] = n;
        if (n > 0) p += n;
        if (p > end) break;
      }
      if (f < FIELDS) break;
      this.#decodeRow(b);
      this.#rows++;
      this.#sink(this.#row);
      pos = p;
    }
    return pos;
  }

  /** Field f of the row: at[f] its first byte, len[f] its length (-1: NULL). */
  readonly #at = new Int32Array(FIELDS);
  readonly #len = new Int32Array(FIELDS);

  /** The 16 fields of the row whose fields #at and #len locate. */
  #decodeRow(b: Buffer): void {
    const row = this.#row;
    const at = this.#at;
    const len = this.#len;
    const idStart = at[0];
    const idEnd = idStart + this.#notNull(0);
    row.source = b;
    row.idStart = idStart;
    row.idEnd = idEnd;
    row.id = undefined;
    let ascii = true;
    for (let i = idStart; i < idEnd && ascii; i++) ascii = b[i] < 0x80;
    row.idBytes = ascii ? b : undefined;
    row.organizationId = this.#organizations.get(b, at[1], at[1] + this.#notNull(1));
    row.organizationKey = this.#organizations.key;
    row.userId = this.#users.get(b, at[2], at[2] + this.#notNull(2));
    row.userKey = this.#users.key;
    row.amount = int64(b, at[3], this.#eight(3));
    row.currency = this.#currencies.get(b, at[4], at[4] + this.#notNull(4));
    row.currencyKey = this.#currencies.key;
    const code = statusCode(b, at[5], this.#notNull(5));
    row.status = PAYMENT_STATUSES[code];
    row.statusCode = code;
    row.description = len[6] < 0 ? null : utf8(b, at[6], len[6]);
    row.metadata = this.#metadata(b, at[7], this.#notNull(7));
    row.refundedAmount = int64(b, at[8], this.#eight(8));
    row.error = len[9] < 0 ? null : this.#errors.get(b, at[9], at[9] + len[9]);
    const created = timestampMs(b, at[10], this.#eight(10));
    const updated = timestampMs(b, at[11], this.#eight(11));
    const completed = len[12] < 0 ? NaN : timestampMs(b, at[12], len[12]);
    const failed = len[13] < 0 ? NaN : timestampMs(b, at[13], len[13]);
    const refunded = len[14] < 0 ? NaN : timestampMs(b, at[14], len[14]);
    row.createdAtMs = created;
    row.updatedAtMs = updated;
    row.completedAtMs = completed;
    row.failedAtMs = failed;
    row.refundedAtMs = refunded;
    // canonical: an ASCII id, and every time in the years toISOString writes with four digits
    row.canonical =
      ascii && canonicalMs(created) && canonicalMs(updated) && !(completed < MIN_CANONICAL_MS || completed > MAX_CANONICAL_MS) &&
      !(failed < MIN_CANONICAL_MS || failed > MAX_CANONICAL_MS) && !(refunded < MIN_CANONICAL_MS || refunded > MAX_CANONICAL_MS);
    if (this.#notNull(15) !== 4) throw new Error(`PaymentCopyDecoder: an int4 of ${len[15]} bytes`);
    row.version = (b[at[15]] << 24) | (b[at[15] + 1] << 16) | (b[at[15] + 2] << 8) | b[at[15] + 3];
  }

  /** The length of field f, which the table declares NOT NULL. */
  #notNull(f: number): number {
    const n = this.#len[f];
    if (n < 0) throw new Error(`PaymentCopyDecoder: ${COLUMN_NAMES[f]} is NULL`);
    return n;
  }

  /** The length of field f, an 8-byte NOT NULL value. */
  #eight(f: number): number {
    const n = this.#notNull(f);
    if (n !== 8) throw new Error(`PaymentCopyDecoder: ${COLUMN_NAMES[f]} has ${n} bytes, not 8`);
    return n;
  }

  /** jsonb: a version byte (1), then the document's text; `{}` without a parse. */
  #metadata(b: Buffer, p: number, n: number): Readonly<Record<string, string>> {
    if (b[p] !== 1) throw new Error(`PaymentCopyDecoder: jsonb version ${b[p]}`);
    if (n === 3 && b[p + 1] === 0x7b && b[p + 2] === 0x7d) return EMPTY_METADATA;
    return Object.freeze(JSON.parse(utf8(b, p + 1, n - 1)) as Record<string, string>);
  }

}

/** int32 big-endian through a byte accessor (a row split over two buffers). */
function int32(at: (i: number) => number, i: number): number {
  return (at(i) << 24) | (at(i + 1) << 16) | (at(i + 2) << 8) | at(i + 3);
}

function utf8(b: Buffer, p: number, n: number): string {
  return b.toString('utf8', p, p + n);
}

/** The big-endian int32 at p. */
function int32At(b: Uint8Array, p: number): number {
  return (b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3];
}

/** An int8 (8 bytes at p) as a number: exact below 2^53, else the nearest double, as pg's Number(text). */
function int64(b: Uint8Array, p: number, _eight: number): number {
  return int32At(b, p) * 4294967296 + (int32At(b, p + 4) >>> 0);
}

/** The index in PAYMENT_STATUSES of the status text b[p, p + n), by its bytes. */
function statusCode(b: Uint8Array, p: number, n: number): number {
  for (let code = 0; code < STATUS_BYTES.length; code++) {
    const want = STATUS_BYTES[code];
    if (want.length !== n) continue;
    let same = true;
    for (let i = 0; i < n && same; i++) same = b[p + i] === want[i];
    if (same) return code;
  }
  throw new Error(`PaymentCopyDecoder: unknown status ${Buffer.from(b.subarray(p, p + n)).toString('utf8')}`);
}

const STATUS_BYTES = PAYMENT_STATUSES.map((s) => Buffer.from(s, 'latin1'));

/**
 * A timestamptz (8 bytes at p: microseconds since 2000) as epoch milliseconds, rounded half up:
 * what `extract(epoch FROM t) * 1000` rounded by Math.round gives (paymentFromRow). Exact: within
 * ±285 years of 2000 the microseconds are exact in a double, beyond that BigInt does it.
 */
export function timestampMs(b: Uint8Array, p: number, n = 8): number {
  if (n !== 8) throw new Error(`PaymentCopyDecoder: a timestamptz of ${n} bytes`);
  const hi = int32At(b, p);
  const lo = int32At(b, p + 4) >>> 0;
  if (hi >= -0x200000 && hi < 0x200000) return Math.round((hi * 4294967296 + lo) / 1000) + PG_EPOCH_MS;
  const us = (BigInt(hi) << 32n) + BigInt(lo);
  const floor = (x: bigint, d: bigint) => (x >= 0n ? x / d : -((-x + d - 1n) / d));
  return Number(floor(us + 500n, 1000n)) + PG_EPOCH_MS;
}

/** The payment a decoded row stands for, as a frozen object of its own (for a store not in a bulk load). */
export function paymentOf(p: LoadedPayment): Payment {
  return Object.freeze({
    paymentId: p.paymentId,
    organizationId: p.organizationId,
    userId: p.userId,
    amount: p.amount,
    currency: p.currency,
    status: p.status,
    description: p.description,
    metadata: p.metadata,
    refundedAmount: p.refundedAmount,
    error: p.error,
    createdAt: p.createdAt,
    updatedAt: p.updatedAt,
    completedAt: p.completedAt,
    failedAt: p.failedAt,
    refundedAt: p.refundedAt,
    version: p.version,
  });
}
