/**
 * Calibration of the store's byte estimate (src/payments/store/payment-bytes.ts) against the
 * heap: each case stores payments the way POST /payments/bulk does (a JSON body parsed,
 * validated, created and inserted), then compares what the store's capacity counted with the
 * heap and ArrayBuffer bytes really taken after a full GC. The estimate must never be below
 * the measurement (exit code 1 if it is). Each case runs in a process of its own.
 *
 *   node --expose-gc -r ts-node/register/transpile-only bench/payment-bytes.ts
 */
import 'reflect-metadata';
import { execFileSync } from 'node:child_process';
import { AppConfig } from '../src/config';
import { parseJsonBody } from '../src/json-body';
import { createPayment, transition } from '../src/payments/payment';
import { CreatePaymentDto } from '../src/payments/create-payment.dto';
import { PaymentStore } from '../src/payments/store/payment.store';
import { validateDto } from '../src/validation.pipe';

type Body = Record<string, unknown>;

const ASCII = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
/** Outside Latin-1: V8 keeps such text in two bytes per character. */
const TWO_BYTE = 'ĀāĂăĄąĆćĈĉĊċČčĎďĐđĒēĔĕĖėĘęĚěĜĝĞğĠġĢģĤĥĦħĨĩĪīĬĭĮįİıĲĳĴĵĶķĸĹĺĻļĽľĿŀŁłŃńŅņŇňŉŊŋŌōŎŏŐőŒœŔŕŖŗŘřŚśŜŝŞşŠšŢţŤťŦŧŨũŪūŬŭŮůŰűŲųŴŵŶŷŸŹźŻżŽž€';

/** mulberry32: the same text on every run. */
let seed = 12345;
function random(): number {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
}
function text(length: number, alphabet: string): string {
  let s = '';
  for (let i = 0; i < length; i++) s += alphabet[Math.floor(random() * alphabet.length)];
  return s;
}

/** The largest payment the API takes: 64-char ids, 1,000-char description, 50 x 40-char keys x 500-char values. */
function largest(i: number, alphabet: string, sharedKeys: boolean): Body {
  const metadata: Record<string, string> = {};
  for (let k = 0; k < 50; k++) metadata[sharedKeys ? `key-${k}`.padEnd(40, '-') : text(40, ASCII)] = text(500, alphabet);
  const id = (prefix: string) => `${prefix}${i}-${text(64, ASCII)}`.slice(0, 64);
  return { paymentId: id('p'), organizationId: id('o'), userId: id('u'), amount: 100 + i, currency: 'EUR', description: text(1000, alphabet), metadata };
}

interface Case {
  count: number;
  body(i: number): Body;
  /** Lifecycle events after the create (memory mode keeps each event id). */
  events?: boolean;
}

const CASES: Record<string, Case> = {
  'smallest, one organization, 1,000 users': {
    count: 200_000,
    body: (i) => ({ paymentId: `p${i}`, organizationId: 'org-a', userId: `u${i % 1000}`, amount: 100 + i, currency: 'EUR' }),
  },
  'typical (UUID, description, 2 metadata keys)': {
    count: 200_000,
    body: (i) => ({
      paymentId: `${text(8, ASCII)}-${text(4, ASCII)}-${text(4, ASCII)}-${text(4, ASCII)}-${text(12, ASCII)}`,
      organizationId: `org-${i % 20}`,
      userId: `user-${i % 20_000}`,
      amount: 100 + i,
      currency: i % 3 ? 'EUR' : 'USD',
      description: `Order ${i} for user ${i % 20_000}`,
      metadata: { source: 'web', orderId: String(i) },
    }),
  },
  'typical, then processed and refunded twice (3 event ids)': {
    count: 100_000,
    events: true,
    body: (i) => ({ paymentId: `p${i}`, organizationId: `org-${i % 20}`, userId: `user-${i % 20_000}`, amount: 1000 + i, currency: 'EUR' }),
  },
  'a new user each': {
    count: 100_000,
    body: (i) => ({ paymentId: `p${i}`, organizationId: 'org-a', userId: `user-${i}`, amount: 100 + i, currency: 'EUR' }),
  },
  'a new organization each': {
    count: 30_000,
    body: (i) => ({ paymentId: `p${i}`, organizationId: `org-${i}`, userId: 'u', amount: 100 + i, currency: 'EUR' }),
  },
  'largest, Latin-1, keys of its own': { count: 4000, body: (i) => largest(i, ASCII, false) },
  'largest, Latin-1, keys shared': { count: 4000, body: (i) => largest(i, ASCII, true) },
  'largest, two-byte text, keys of its own': { count: 3000, body: (i) => largest(i, TWO_BYTE, false) },
};

const NOW = '2026-03-01T12:00:00.000Z';
const START = Date.parse(NOW);
const BULK = 25;

function measure(name: string): { measured: number; estimated: number } {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('run with node --expose-gc');
  const spec = CASES[name];
  const store = new PaymentStore(new AppConfig({ maxPayments: 1e9, maxStoreBytes: Number.MAX_SAFE_INTEGER, orgMaxPayments: 1e9, orgMaxStoreBytes: Number.MAX_SAFE_INTEGER }));
  const used = () => {
    gc();
    gc();
    const { heapUsed, arrayBuffers } = process.memoryUsage();
    return heapUsed + arrayBuffers;
  };
  const before = used();
  const estimatedBefore = store.capacity.bytes;
  for (let start = 0; start < spec.count; start += BULK) {
    const items = Array.from({ length: Math.min(BULK, spec.count - start) }, (_, j) => spec.body(start + j));
    const { payments } = parseJsonBody(Buffer.from(JSON.stringify({ payments: items })), 32) as { payments: unknown[] };
    for (const item of payments) {
      const valid = validateDto(CreatePaymentDto, item);
      if (!valid.ok) throw new Error(JSON.stringify(valid.errors));
      // the service takes the time of each create: a string of each payment's own
      const now = new Date(START + start).toISOString();
      const { payment } = store.insertIfAbsent(createPayment(valid.value, valid.value.paymentId as string, now));
      if (!spec.events) continue;
      const { organizationId, paymentId } = payment;
      store.update(organizationId, paymentId, `evt-${paymentId}-1`, (p) => transition(p, { type: 'PaymentProcessed', occurredAt: NOW }, NOW));
      for (const n of [2, 3]) {
        store.update(organizationId, paymentId, `evt-${paymentId}-${n}`, (p) => transition(p, { type: 'PaymentRefunded', occurredAt: NOW, refundAmount: 1 }, NOW));
      }
    }
  }
  const measured = (used() - before) / spec.count;
  const estimated = (store.capacity.bytes - estimatedBefore) / spec.count;
  if (store.size !== spec.count) throw new Error(`stored ${store.size} of ${spec.count}`);
  return { measured, estimated };
}

const only = process.argv[2];
if (only !== undefined) {
  process.stdout.write(JSON.stringify(measure(only)));
} else {
  let low = false;
  console.log('case | payments | measured B/payment (heap + ArrayBuffers) | estimated B/payment | estimate / measured');
  for (const [name, spec] of Object.entries(CASES)) {
    const out = execFileSync(process.execPath, [...process.execArgv, __filename, name], { encoding: 'utf8', maxBuffer: 1 << 20 });
    const { measured, estimated } = JSON.parse(out) as { measured: number; estimated: number };
    const ratio = estimated / measured;
    low ||= ratio < 1;
    console.log(`${name} | ${spec.count} | ${Math.round(measured)} | ${Math.round(estimated)} | ${ratio.toFixed(2)}${ratio < 1 ? '  BELOW THE HEAP' : ''}`);
  }
  if (low) process.exitCode = 1;
}
