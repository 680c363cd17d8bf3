import fc from 'fast-check';
import type { Payment } from '../payments/payment';
import type { LoadedPayment } from '../payments/store/bulk-load';
import { PAYMENT_COPY_COLUMNS, PaymentCopyDecoder, paymentOf, timestampMs } from './payment-copy';
import { FC_SEED } from '../../test/fc-seed';

const SEED = FC_SEED;
const PG_EPOCH_US = 946_684_800_000_000n;

/** A row as the table holds it: times as microseconds since 1970 (BigInt), NULL as null. */
interface TableRow {
  id: string;
  org: string;
  user: string;
  amount: number;
  currency: string;
  status: string;
  description: string | null;
  metadata: string;
  refunded: number;
  error: string | null;
  times: (bigint | null)[]; // created, updated, completed, failed, refunded
  version: number;
}

/** PostgreSQL's binary COPY format of `rows` (as COPY (SELECT PAYMENT_COPY_COLUMNS ...) TO STDOUT (FORMAT binary) writes it). */
function encode(rows: TableRow[], extension = Buffer.alloc(0)): Buffer {
  const parts: Buffer[] = [Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1'), int32(0), int32(extension.length), extension];
  const field = (b: Buffer | null) => (b === null ? int32(-1) : Buffer.concat([int32(b.length), b]));
  const text = (s: string | null) => field(s === null ? null : Buffer.from(s, 'utf8'));
  const int8 = (n: bigint | null) => {
    if (n === null) return field(null);
    const b = Buffer.alloc(8);
    b.writeBigInt64BE(n);
    return field(b);
  };
  for (const r of rows) {
    const count = Buffer.alloc(2);
    count.writeInt16BE(16);
    parts.push(count, text(r.id), text(r.org), text(r.user), int8(BigInt(r.amount)), text(r.currency), text(r.status), text(r.description));
    parts.push(field(Buffer.concat([Buffer.from([1]), Buffer.from(r.metadata, 'utf8')])), int8(BigInt(r.refunded)), text(r.error));
    for (const t of r.times) parts.push(int8(t === null ? null : t - PG_EPOCH_US));
    const version = Buffer.alloc(4);
    version.writeInt32BE(r.version);
    parts.push(field(version));
  }
  const trailer = Buffer.alloc(2);
  trailer.writeInt16BE(-1);
  parts.push(trailer);
  return Buffer.concat(parts);
}

function int32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
}

/** What paymentFromRow gives for the same row read as text: times rounded half up to the millisecond, by toISOString. */
function expected(r: TableRow): Payment {
  const iso = (us: bigint | null) => {
    if (us === null) return null;
    const floor = (x: bigint, d: bigint) => (x >= 0n ? x / d : -((-x + d - 1n) / d));
    return new Date(Number(floor(us + 500n, 1000n))).toISOString();
  };
  const [created, updated, completed, failed, refunded] = r.times.map(iso);
  return {
    paymentId: r.id,
    organizationId: r.org,
    userId: r.user,
    amount: r.amount,
    currency: r.currency,
    status: r.status as Payment['status'],
    description: r.description,
    metadata: JSON.parse(r.metadata),
    refundedAmount: r.refunded,
    error: r.error,
    createdAt: created!,
    updatedAt: updated!,
    completedAt: completed,
    failedAt: failed,
    refundedAt: refunded,
    version: r.version,
  };
}

/** What a sink sees of a row, copied while it is valid (the decoder reuses the object and its buffer). */
type Seen = LoadedPayment & { idText: string | undefined };

function decodeAll(stream: Buffer, cuts: number[]): { payments: Payment[]; loaded: Seen[] } {
  const payments: Payment[] = [];
  const loaded: Seen[] = [];
  const decoder = new PaymentCopyDecoder((p) => {
    payments.push(paymentOf(p));
    loaded.push({
      ...paymentOf(p),
      createdAtMs: p.createdAtMs,
      updatedAtMs: p.updatedAtMs,
      completedAtMs: p.completedAtMs,
      failedAtMs: p.failedAtMs,
      refundedAtMs: p.refundedAtMs,
      statusCode: p.statusCode,
      canonical: p.canonical,
      organizationKey: p.organizationKey,
      userKey: p.userKey,
      currencyKey: p.currencyKey,
      idBytes: p.idBytes,
      idStart: p.idStart,
      idEnd: p.idEnd,
      idText: p.idBytes === undefined ? undefined : Buffer.from(p.idBytes.subarray(p.idStart, p.idEnd)).toString('latin1'),
    });
  });
  let at = 0;
  for (const cut of [...cuts.filter((c) => c > 0 && c < stream.length)].sort((a, b) => a - b).concat(stream.length)) {
    // each piece at an offset of a larger buffer, as a socket chunk is
    const piece = Buffer.concat([Buffer.alloc(3), stream.subarray(at, cut)]);
    decoder.write(piece, 3, piece.length);
    at = cut;
  }
  decoder.end();
  expect(decoder.rows).toBe(payments.length);
  return { payments, loaded };
}

// years 0000-9999 and a little beyond on both sides, in microseconds since 1970
const MIN_US = -62_167_219_200_000_000n - 10n ** 12n;
const MAX_US = 253_402_300_799_999_999n + 10n ** 12n;
const time = fc.oneof(
  fc.bigInt({ min: MIN_US, max: MAX_US }),
  fc.bigInt({ min: 1_700_000_000_000n, max: 1_800_000_000_000n }).map((ms) => ms * 1000n), // whole milliseconds, as the service writes
  fc.constantFrom(0n, -1n, 500n, -500n, 1500n, -1500n, 499n, -501n),
);
const text = (max: number) => fc.string({ unit: 'binary', minLength: 1, maxLength: max }).filter((s) => !s.includes('\u0000'));
const row: fc.Arbitrary<TableRow> = fc.record({
  id: fc.oneof(fc.uuid(), text(40)),
  org: fc.constantFrom('org-1', 'org-2', 'organisation-ü'),
  user: fc.oneof(fc.constantFrom('user-1', 'user-2'), text(12)),
  amount: fc.oneof(fc.integer({ min: 1, max: 1_000_000 }), fc.constant(Number.MAX_SAFE_INTEGER)),
  currency: fc.constantFrom('EUR', 'USD', 'JPY'),
  status: fc.constantFrom('pending', 'completed', 'failed', 'refunded'),
  description: fc.option(fc.string({ unit: 'binary', maxLength: 30 }).filter((s) => !s.includes('\u0000'))),
  metadata: fc.oneof(fc.constant('{}'), fc.dictionary(text(8), fc.string({ maxLength: 8 })).map((m) => JSON.stringify(m))),
  refunded: fc.integer({ min: 0, max: 1000 }),
  error: fc.option(fc.constantFrom('card_declined', 'insufficient_funds', 'ünïcødé')),
  times: fc.tuple(time, time, fc.option(time), fc.option(time), fc.option(time)),
  version: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
});

describe('PaymentCopyDecoder', () => {
  it('decodes every row as the text path would give it, the stream cut anywhere', () => {
    fc.assert(
      fc.property(fc.array(row, { maxLength: 12 }), fc.array(fc.nat({ max: 4000 }), { maxLength: 12 }), (rows, cuts) => {
        const { payments, loaded } = decodeAll(encode(rows), cuts);
        expect(payments).toEqual(rows.map(expected));
        loaded.forEach((p, i) => {
          expect(p.statusCode).toBe(['pending', 'completed', 'failed', 'refunded'].indexOf(rows[i].status));
          expect(p.createdAtMs).toBe(Date.parse(p.createdAt));
          expect(p.updatedAtMs).toBe(Date.parse(p.updatedAt));
          const msOf = (t: string | null) => (t === null ? NaN : Date.parse(t));
          expect([p.completedAtMs, p.failedAtMs, p.refundedAtMs]).toEqual([msOf(p.completedAt), msOf(p.failedAt), msOf(p.refundedAt)]);
          const ascii = [...p.paymentId].every((c) => c.charCodeAt(0) < 0x80);
          // an ASCII id is also handed over as its bytes, which the store copies without a string
          expect(p.idText).toBe(ascii ? p.paymentId : undefined);
          const canonical = [p.createdAt, p.updatedAt, p.completedAt, p.failedAt, p.refundedAt].every((t) => t === null || t.length === 24);
          expect(p.canonical).toBe(ascii && canonical);
        });
      }),
      { seed: SEED, numRuns: 300 },
    );
  });

  it('decodes a stream cut at every byte, header extension included', () => {
    const rows = fc.sample(row, { seed: 7, numRuns: 3 });
    const stream = encode(rows, Buffer.from('ext'));
    const want = rows.map(expected);
    for (let cut = 0; cut <= stream.length; cut++) expect(decodeAll(stream, [cut]).payments).toEqual(want);
    expect(decodeAll(stream, Array.from({ length: stream.length }, (_, i) => i)).payments).toEqual(want);
  });

  it('gives the same key and the same string for each value of a repeated column', () => {
    const rows = fc.sample(row, { seed: 11, numRuns: 40 });
    const { loaded } = decodeAll(encode(rows), []);
    const keys = new Map<string, number>();
    for (const p of loaded) {
      if (keys.has(p.userId)) expect(p.userKey).toBe(keys.get(p.userId));
      else keys.set(p.userId, p.userKey);
    }
    expect(new Set(keys.values()).size).toBe(keys.size);
  });

  it('refuses what is not a binary COPY of these columns', () => {
    const good = encode(fc.sample(row, { seed: 3, numRuns: 2 }));
    const decode = (b: Buffer) => {
      const d = new PaymentCopyDecoder(() => undefined);
      d.write(b);
      d.end();
    };
    expect(() => decode(Buffer.concat([Buffer.from('PGCOPX'), good.subarray(6)]))).toThrow(/not a binary COPY/);
    const oids = Buffer.from(good);
    oids.writeInt32BE(0x10000, 11);
    expect(() => decode(oids)).toThrow(/OIDs/);
    expect(() => decode(good.subarray(0, good.length - 2))).toThrow(/middle of a row/);
    expect(() => decode(good.subarray(0, good.length - 9))).toThrow(/middle of a row/);
    const fields = Buffer.from(good);
    fields.writeInt16BE(15, 19);
    expect(() => decode(fields)).toThrow(/15 fields/);
    const nullOrganization = encode([{ ...fc.sample(row, { seed: 5, numRuns: 1 })[0], org: null as unknown as string }]);
    expect(() => decode(nullOrganization)).toThrow(/organization_id is NULL/);
    expect(PAYMENT_COPY_COLUMNS.split(', ')).toHaveLength(16);
  });
});

describe('timestampMs', () => {
  it('rounds microseconds half up to the millisecond, exactly, in any year PostgreSQL holds', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(2n ** 62n), max: 2n ** 62n }), (us) => {
        const b = Buffer.alloc(8);
        b.writeBigInt64BE(us);
        const floor = (x: bigint, d: bigint) => (x >= 0n ? x / d : -((-x + d - 1n) / d));
        expect(timestampMs(b, 0)).toBe(Number(floor(us + 500n, 1000n)) + 946_684_800_000);
      }),
      { seed: SEED, numRuns: 2000 },
    );
  });
});
