import fc from 'fast-check';
import { canonicalFilter } from '../src/payments/payment-filter';
import { queryFingerprint } from '../src/payments/queries/search-cursor';
import { startTestApp, TestApp } from './test-app';
import { FC_SEED } from './fc-seed';

/**
 * Fuzzing through the full HTTP pipeline (Fastify inject, no sockets): random JSON, mutated
 * valid bodies, raw bytes, odd query strings and path ids. Whatever comes in:
 * - the answer is never a 5xx;
 * - every 4xx is application/problem+json with type, title, status and detail (and a
 *   validation problem names its fields);
 * - after a 4xx the store is exactly as before (size, indexes, a stats document and the
 *   payments the inputs aim at);
 * - the app still answers /health/live at the end.
 */

const SEED = FC_SEED;
const runs = (numRuns: number, salt: number): fc.Parameters<unknown> => ({ numRuns, seed: SEED + salt });
/** A guard against a hang, not a budget: the runs take seconds alone, several times that on CI's loaded cores. */
const TIMEOUT_MS = 300_000;

const tally = {
  inputs: 0,
  serverErrors: 0,
  perProperty: {} as Record<string, number>,
  statuses: {} as Record<string, number>,
  slowest: { ms: 0, input: '' },
};

let t: TestApp;

/** The payments every input may aim at, one per status. */
const SEEDS = {
  pending: 'fz-pending',
  completed: 'fz-completed',
  refunded: 'fz-refunded',
  failed: 'fz-failed',
};
const SEED_IDS = Object.values(SEEDS);
const SEED_BODY = { organizationId: 'org-fz', userId: 'user-fz', amount: 10_000, currency: 'EUR', createdAt: '2026-03-01T12:00:00.000Z' };

interface Answer {
  status: number;
  contentType: string;
  text: string;
}

interface Request {
  method: 'GET' | 'POST';
  url: string;
  payload?: string | Buffer;
  contentType?: string;
}

async function send(req: Request): Promise<Answer> {
  const res = await t.app.inject({
    method: req.method,
    url: req.url,
    ...(req.payload === undefined ? {} : { payload: req.payload }),
    ...(req.contentType === undefined ? {} : { headers: { 'content-type': req.contentType } }),
  });
  return { status: res.statusCode, contentType: String(res.headers['content-type'] ?? ''), text: res.payload };
}

async function json(url: string): Promise<unknown> {
  const res = await send({ method: 'GET', url });
  expect(res.status).toBe(200);
  return JSON.parse(res.text);
}

/** What a 4xx must leave untouched: size and indexes, a stats document, the aimed-at payments. */
async function snapshot(paymentIds: readonly string[]): Promise<string> {
  const store = (await json('/admin/store')) as { payments: number; indexes: unknown };
  const stats = await json('/payments/stats');
  const payments = [];
  // paymentIds are unique per organization, and fuzzed creates reuse the seeds' ids in org-other
  for (const id of paymentIds) {
    const res = await send({ method: 'GET', url: `/payments/${encodeURIComponent(id)}?organizationId=${SEED_BODY.organizationId}` });
    payments.push(res.status === 200 ? JSON.parse(res.text) : res.status);
  }
  return JSON.stringify({ payments: store.payments, indexes: store.indexes, stats, aimedAt: payments });
}

let lastSnapshot: { key: string; value: string } | undefined;

function describeInput(req: Request): string {
  const payload =
    req.payload === undefined
      ? ''
      : typeof req.payload === 'string'
        ? req.payload.length > 300
          ? `${req.payload.slice(0, 300)}... (${req.payload.length} chars)`
          : req.payload
        : `<${req.payload.length} bytes: ${req.payload.subarray(0, 60).toString('hex')}>`;
  const url = req.url.length > 300 ? `${req.url.slice(0, 300)}... (${req.url.length} chars)` : req.url;
  return `${req.method} ${url} ${req.contentType ?? ''} ${payload}`;
}

/**
 * Sends one fuzz input and checks the properties every answer must have. `aimedAt` are the
 * payments whose state the input could touch (compared in full before and after a 4xx).
 */
async function probe(property: string, req: Request, aimedAt: readonly string[] = []): Promise<Answer> {
  // the snapshot taken after the previous 4xx still holds unless a 2xx came since
  const key = aimedAt.join('\n');
  const before = lastSnapshot?.key === key ? lastSnapshot.value : await snapshot(aimedAt);
  lastSnapshot = undefined;
  const started = performance.now();
  const res = await send(req);
  const ms = performance.now() - started;
  tally.inputs += 1;
  tally.perProperty[property] = (tally.perProperty[property] ?? 0) + 1;
  tally.statuses[res.status] = (tally.statuses[res.status] ?? 0) + 1;
  if (ms > tally.slowest.ms) tally.slowest = { ms, input: describeInput(req) };
  if (res.status >= 500) {
    tally.serverErrors += 1;
    throw new Error(`${res.status} for ${describeInput(req)}\n${res.text.slice(0, 500)}`);
  }
  if (res.status >= 400) {
    expectProblem(req, res);
    const after = await snapshot(aimedAt);
    if (after !== before) throw new Error(`a ${res.status} changed the store: ${describeInput(req)}\nbefore: ${before}\nafter:  ${after}`);
    lastSnapshot = { key, value: after };
  }
  return res;
}

function expectProblem(req: Request, res: Answer): void {
  const where = `${res.status} for ${describeInput(req)}\n${res.contentType}\n${res.text.slice(0, 500)}`;
  if (!/^application\/problem\+json\b/.test(res.contentType)) throw new Error(`not application/problem+json: ${where}`);
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(res.text);
  } catch {
    throw new Error(`a problem that is not JSON: ${where}`);
  }
  const ok =
    typeof body.type === 'string' &&
    typeof body.title === 'string' &&
    body.title.trim() !== '' &&
    body.status === res.status &&
    typeof body.detail === 'string' &&
    body.detail.trim() !== '';
  if (!ok) throw new Error(`a problem without type/title/status/detail: ${where}`);
  if (body.errors !== undefined || body.type === '/problems/validation-failed') {
    const errors = body.errors;
    const named =
      Array.isArray(errors) &&
      errors.length > 0 &&
      errors.every((e) => typeof e?.field === 'string' && typeof e?.message === 'string' && e.message.trim() !== '');
    if (!named) throw new Error(`a validation problem must name each bad field in errors: ${where}`);
  }
}

// ---------------------------------------------------------------------------------------------
// JSON text with the things JSON.stringify cannot write: duplicate keys, own `__proto__` keys,
// number tokens as written (`1e3`, `-0`, 2^53 + 1), nesting of any depth.
// ---------------------------------------------------------------------------------------------

class Raw {
  constructor(readonly text: string) {}
}
class Obj {
  constructor(readonly entries: [string, Json][]) {}
}
type Json = null | boolean | number | string | Raw | Json[] | Obj;

function write(v: Json): string {
  if (v instanceof Raw) return v.text;
  if (v instanceof Obj) return `{${v.entries.map(([k, x]) => `${JSON.stringify(k)}:${write(x)}`).join(',')}}`;
  if (Array.isArray(v)) return `[${v.map(write).join(',')}]`;
  if (typeof v === 'number' && !Number.isFinite(v)) return String(v); // NaN, Infinity: not JSON
  return JSON.stringify(v);
}

function fromPlain(v: unknown): Json {
  if (Array.isArray(v)) return v.map(fromPlain);
  if (v !== null && typeof v === 'object') return new Obj(Object.entries(v).map(([k, x]) => [k, fromPlain(x)]));
  return v as Json;
}

const NUMBER_TOKENS = [
  '1e3', '1E3', '1e+3', '-0', '-0.0', '0.0', '9007199254740993', '-9007199254740993', '9007199254740991',
  '1.0', '1.5', '0.1', '-1', '0', '1e400', '-1e400', '100000000000', '99999999999', '1e-7',
  '123456789012345678901234567890', '00', '01', '+1', '.5', '5.', '0x10', 'NaN', 'Infinity',
];

const hugeStringArb = fc.constantFrom(65, 501, 1001, 5_000, 70_000, 1_100_000).map((n) => 'x'.repeat(n));
const deepArb = fc
  .tuple(fc.integer({ min: 2, max: 3000 }), fc.boolean())
  .map(([n, arrays]) => new Raw(arrays ? `${'['.repeat(n)}1${']'.repeat(n)}` : `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`));
const protoArb = fc.constantFrom<Json>(
  new Obj([['__proto__', new Obj([['isAdmin', true]])]]),
  new Obj([['constructor', new Obj([['prototype', new Obj([['x', 1]])]])]]),
  new Obj([['__proto__', null]]),
  new Obj([['prototype', new Obj([])]]),
);
const oddStringArb = fc.oneof(
  fc.constantFrom(
    'NaN', 'Infinity', '-0', '1e3', '', ' ', 'null', 'undefined', '\u0000', '\ud800', '\udfff\ud800', 'EUR', 'eur', 'XXX',
    '2026-02-30T00:00:00Z', '2026-03-01T12:00:00', '2026-03-01T24:00:00Z', '+275760-09-13T00:00:00.000Z', '0000-01-01',
    'pending', 'PaymentProcessed', '__proto__', '\u202e', '💳', 'e\u0301', 'ＥＵＲ', '１００',
  ),
  fc.string({ unit: 'binary', maxLength: 80 }),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
);
/** A value of the wrong kind, or of the right kind at its edges. */
const oddValueArb: fc.Arbitrary<Json> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...NUMBER_TOKENS).map((n) => new Raw(n)) },
  { weight: 4, arbitrary: oddStringArb },
  { weight: 1, arbitrary: hugeStringArb },
  { weight: 2, arbitrary: fc.oneof(fc.boolean(), fc.constant(null), fc.integer(), fc.double().map((d) => new Raw(Number.isFinite(d) ? String(d) : '1e999'))) },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }).map(fromPlain) },
  { weight: 1, arbitrary: deepArb },
  { weight: 1, arbitrary: protoArb },
);
/** Names of Object.prototype members: a validator that looks keys up on a plain object may miss them. */
const PROTOTYPE_KEYS = [
  '__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', 'isPrototypeOf',
  'propertyIsEnumerable', 'toLocaleString', '__defineGetter__', '__lookupGetter__',
];
const oddKeyArb = fc.oneof(
  { weight: 2, arbitrary: fc.constantFrom(...PROTOTYPE_KEYS) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      'status', 'version', 'refundedAmount', 'updatedAt', 'error', 'Amount', 'amount ', ' amount', 'AMOUNT', 'paymentid',
      'payments', 'data', 'type', '', '💳',
    ),
  },
  { weight: 1, arbitrary: fc.string({ maxLength: 12 }) },
);

type Mutation =
  | { kind: 'drop'; at: number }
  | { kind: 'duplicate'; at: number; value: Json }
  | { kind: 'rename'; at: number; key: string }
  | { kind: 'retype'; at: number; value: Json }
  | { kind: 'add'; key: string; value: Json }
  | { kind: 'wrap' };

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('drop' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('duplicate' as const), at: fc.nat(), value: oddValueArb }),
  fc.record({ kind: fc.constant('rename' as const), at: fc.nat(), key: oddKeyArb }),
  fc.record({ kind: fc.constant('retype' as const), at: fc.nat(), value: oddValueArb }),
  fc.record({ kind: fc.constant('retype' as const), at: fc.nat(), value: oddValueArb }),
  fc.record({ kind: fc.constant('add' as const), key: oddKeyArb, value: oddValueArb }),
  fc.constant({ kind: 'wrap' as const }),
);

function mutate(v: Json, m: Mutation): Json {
  if (m.kind === 'wrap') return [v];
  if (!(v instanceof Obj)) return v;
  const entries = [...v.entries];
  if (m.kind === 'add') return new Obj([...entries, [m.key, m.value]]);
  if (entries.length === 0) return v;
  const i = m.at % entries.length;
  const [key, value] = entries[i];
  switch (m.kind) {
    case 'drop':
      entries.splice(i, 1);
      break;
    case 'duplicate':
      entries.splice(i + 1, 0, [key, m.value]);
      break;
    case 'rename':
      entries[i] = [m.key, value];
      break;
    case 'retype':
      entries[i] = [key, m.value];
      break;
  }
  return new Obj(entries);
}

/** Mutations land on the body or on one of its nested objects (metadata, data, an item). */
function mutateDeep(v: Json, m: Mutation, where: number): Json {
  if (v instanceof Obj) {
    const nested = v.entries.map(([, x], i) => [x, i] as const).filter(([x]) => x instanceof Obj || Array.isArray(x));
    if (nested.length > 0 && where % 3 === 0) {
      const [child, i] = nested[Math.floor(where / 3) % nested.length];
      const entries = [...v.entries];
      entries[i] = [entries[i][0], mutateDeep(child, m, Math.floor(where / 3))];
      return new Obj(entries);
    }
    return mutate(v, m);
  }
  if (Array.isArray(v) && v.length > 0) {
    const copy = [...v];
    copy[where % v.length] = mutateDeep(copy[where % v.length], m, Math.floor(where / 2));
    return copy;
  }
  return v;
}

const mutatedArb = (validArb: fc.Arbitrary<Json>): fc.Arbitrary<Json> =>
  fc
    .tuple(
      validArb,
      // one mutation half the time, so that a single defect is not hidden behind another
      fc.oneof(fc.array(fc.tuple(mutationArb, fc.nat(63)), { minLength: 1, maxLength: 1 }), fc.array(fc.tuple(mutationArb, fc.nat(63)), { minLength: 2, maxLength: 3 })),
    )
    .map(([valid, ms]) => ms.reduce((acc, [m, where]) => mutateDeep(acc, m, where), valid));

// ---------------------------------------------------------------------------------------------
// Valid bodies to start from
// ---------------------------------------------------------------------------------------------

const createBodyArb: fc.Arbitrary<Json> = fc
  .record(
    {
      paymentId: fc.oneof(fc.constantFrom(...SEED_IDS), fc.stringMatching(/^fz-[a-z0-9]{6}$/)),
      organizationId: fc.constantFrom('org-fz', 'org-other'),
      userId: fc.constantFrom('user-fz', 'u2'),
      amount: fc.oneof(fc.constant(10_000), fc.integer({ min: 1, max: 99_999_999_999 })),
      currency: fc.constantFrom('EUR', 'USD', 'JPY'),
      createdAt: fc.constantFrom(SEED_BODY.createdAt, '2026-03-01T13:00:00+01:00', '2026-01-01'),
      description: fc.string({ maxLength: 20 }),
      metadata: fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), fc.string({ maxLength: 8 }), { maxKeys: 3, noNullPrototype: true }),
    },
    { requiredKeys: ['organizationId', 'userId', 'amount', 'currency'], noNullPrototype: true },
  )
  .map(fromPlain);

/** A seed's own fields again: a replay (200) until a mutation changes it. */
const replayBodyArb: fc.Arbitrary<Json> = fc.constantFrom(...SEED_IDS).map((paymentId) => fromPlain({ paymentId, ...SEED_BODY }));

const eventBodyArb: fc.Arbitrary<Json> = fc
  .record(
    {
      eventId: fc.string({ minLength: 1, maxLength: 10 }),
      type: fc.constantFrom('PaymentProcessed', 'PaymentFailed', 'PaymentRefunded'),
      occurredAt: fc.constantFrom('2026-03-02T00:00:00.000Z', '2026-03-02T01:00:00+01:00'),
      data: fc.record(
        { error: fc.string({ minLength: 1, maxLength: 20 }), refundAmount: fc.integer({ min: 1, max: 20_000 }) },
        { requiredKeys: [], noNullPrototype: true },
      ),
    },
    { requiredKeys: ['type'], noNullPrototype: true },
  )
  .map(fromPlain);

const randomJsonArb: fc.Arbitrary<Json> = fc.oneof(fc.jsonValue({ maxDepth: 4 }).map(fromPlain), oddValueArb);

const jsonRequest = (url: string, body: Json): Request => ({ method: 'POST', url, payload: write(body), contentType: 'application/json' });

// ---------------------------------------------------------------------------------------------
// Raw bytes, query strings and path ids
// ---------------------------------------------------------------------------------------------

const INVALID_UTF8 = [[0xff], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xe2, 0x82], [0xf8, 0x88, 0x80, 0x80, 0x80], [0x80], [0xfe, 0xff]];
const CONTENT_TYPES = [
  'application/json', 'application/json', 'application/json', 'application/json; charset=utf-8', 'application/json; charset=latin1',
  'APPLICATION/JSON', 'application/json;', 'application/problem+json', 'text/plain', 'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x', 'application/jsonx', 'application/json, text/plain',
];

const rawBytesArb: fc.Arbitrary<Buffer> = fc.oneof(
  fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)),
  // valid JSON with one invalid UTF-8 sequence spliced in
  fc
    .tuple(fc.oneof(createBodyArb, eventBodyArb).map(write), fc.nat(), fc.constantFrom(...INVALID_UTF8))
    .map(([text, at, bad]) => {
      const bytes = Buffer.from(text, 'utf8');
      const i = at % (bytes.length + 1);
      return Buffer.concat([bytes.subarray(0, i), Buffer.from(bad), bytes.subarray(i)]);
    }),
  // a prefix of valid JSON, or JSON in another encoding, or with a BOM or NULs around it
  fc.tuple(createBodyArb.map(write), fc.nat(), fc.constantFrom('cut', 'utf16le', 'bom', 'nul', 'latin1')).map(([text, at, how]) => {
    if (how === 'cut') return Buffer.from(text, 'utf8').subarray(0, at % (text.length + 1));
    if (how === 'utf16le') return Buffer.from(text, 'utf16le');
    if (how === 'bom') return Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text)]);
    if (how === 'nul') return Buffer.concat([Buffer.from(text), Buffer.from([0])]);
    return Buffer.from(`{"description":"caf\u00e9",${text.slice(1)}`, 'latin1');
  }),
);

const percent = (bytes: Uint8Array): string => [...bytes].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join('');
/** Percent-encodes the UTF-8 of `s` (lone surrogates become U+FFFD), leaving unreserved characters. */
const encode = (s: string): string =>
  [...Buffer.from(s, 'utf8')].map((b) => (/[A-Za-z0-9\-_.~]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : percent(Uint8Array.of(b)))).join('');

const QUERY_KEYS = ['organizationId', 'userId', 'status', 'currency', 'minAmount', 'maxAmount', 'from', 'to', 'sort', 'page', 'size', 'cursor', 'interval'];

/** A cursor in the service's own format (right fingerprint), with odd positions and pages. */
const craftedCursorArb = fc
  .record({
    sort: fc.constantFrom('-createdAt', 'createdAt', 'amount', '-amount'),
    k: fc.oneof(fc.string({ maxLength: 30 }), fc.integer(), fc.double(), fc.constant(null), fc.constant('2026-03-01T12:00:00.000Z')),
    id: fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom(...SEED_IDS), fc.integer()),
    p: fc.oneof(fc.integer(), fc.constantFrom(0, 1, -1, 2 ** 53 - 1, 2 ** 53, 1.5, 1e300)),
    v: fc.constantFrom(1, 1, 1, 2, '1'),
  })
  .map(({ sort, ...body }) => ({
    sort,
    cursor: Buffer.from(JSON.stringify({ v: body.v, q: queryFingerprint(canonicalFilter({}), sort as '-createdAt'), k: body.k, id: body.id, p: body.p })).toString('base64url'),
  }));

const queryValueArb: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    'pending', 'completed,refunded', 'pending,,completed', ',', ',,,', 'PENDING', 'EUR', 'EUR,eur', 'EUR, USD', 'XXXX', '',
    '0', '-0', '1', '-1', '1e3', '0x10', '1.5', ' 1', '9'.repeat(20), '9007199254740993', '１', '100', '101',
    'createdAt', '-createdAt', 'amount', '-amount', '--amount', 'hour', 'day', 'week',
    '2026-03-01T00:00:00Z', '2026-03-01', '2026-02-30', '2026-03-01T25:00:00Z', '2026-03-01T12:00:00', '0000-01-01',
    '9999-12-31T23:59:59.999Z', '+275760-09-13T00:00:00.000Z', '2026-03-01T00:00:00+99:00', 'null', 'undefined', '[]', '{}',
  ),
  fc.string({ unit: 'binary', maxLength: 30 }),
  fc.constantFrom(100, 1_025, 5_000).map((n) => 'z'.repeat(n)),
);
const queryPartArb: fc.Arbitrary<string> = fc.oneof(
  // a known key with an odd value, encoded or (for plain ASCII) raw
  fc.tuple(fc.constantFrom(...QUERY_KEYS), queryValueArb, fc.boolean()).map(([k, v, raw]) => `${k}=${raw && /^[\x21-\x7e]*$/.test(v) && !/[#&]/.test(v) ? v : encode(v)}`),
  // an odd key
  fc
    .tuple(fc.oneof(fc.constantFrom('__proto__', 'constructor', 'toString', 'hasOwnProperty', 'status[]', 'a[b]', 'Size', 'page ', 'limit', ''), fc.string({ maxLength: 8 })), queryValueArb)
    .map(([k, v]) => `${encode(k)}=${encode(v)}`),
  // odd encodings: broken escapes, invalid UTF-8, separators
  fc.tuple(fc.constantFrom(...QUERY_KEYS), fc.constantFrom('%', '%zz', '%E0%A4%A', '%C0%AF', '%FF', '+', '%2B', '%00', '%u0041', '%25', '%%', '==', '=')).map(([k, v]) => `${k}=${v}`),
  fc.tuple(fc.constantFrom(...QUERY_KEYS), fc.uint8Array({ minLength: 1, maxLength: 12 })).map(([k, b]) => `${k}=${percent(b)}`),
  fc.constantFrom(...QUERY_KEYS),
  craftedCursorArb.map(({ sort, cursor }) => `sort=${sort}&cursor=${cursor}`),
  craftedCursorArb.map(({ cursor }) => `cursor=${cursor}`),
);
const queryStringArb = fc
  .tuple(fc.array(queryPartArb, { minLength: 0, maxLength: 6 }), fc.constantFrom('&', '&', '&', '&&', ';'))
  .map(([parts, sep]) => parts.join(sep));

const pathIdArb: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(...SEED_IDS),
  fc.string({ unit: 'binary', maxLength: 40 }).map(encode),
  fc.string({ unit: 'grapheme', maxLength: 20 }).map(encodeURIComponent),
  fc.uint8Array({ minLength: 1, maxLength: 12 }).map(percent),
  fc.constantFrom('%', '%zz', '..', '.', '%2e%2e', '%2F', 'a%2Fb', '%00', 'search', 'stats', 'bulk', '%20', '+', 'a?b=c', ';', 'a;b', '~', '*', '%C0%AF', '%ED%A0%80'),
  fc.constantFrom(64, 65, 256, 257, 1_000, 5_000).map((n) => 'a'.repeat(n)),
);

// ---------------------------------------------------------------------------------------------

beforeAll(async () => {
  // Overload shedding off: a busy test machine must not turn into a 503 here.
  t = await startTestApp({ maxEventLoopDelayMs: 0 });
  for (const paymentId of SEED_IDS) {
    const res = await send({ method: 'POST', url: '/payments', payload: JSON.stringify({ paymentId, ...SEED_BODY }), contentType: 'application/json' });
    expect(res.status).toBe(201);
  }
  const event = async (id: string, body: object) =>
    expect((await send({ method: 'POST', url: `/payments/${id}/events`, payload: JSON.stringify(body), contentType: 'application/json' })).status).toBe(200);
  await event(SEEDS.completed, { type: 'PaymentProcessed' });
  await event(SEEDS.refunded, { type: 'PaymentProcessed' });
  await event(SEEDS.refunded, { type: 'PaymentRefunded', data: { refundAmount: 2_500 } });
  await event(SEEDS.failed, { type: 'PaymentFailed', data: { error: 'card declined' } });
});

afterAll(async () => {
  await t.close();
});

describe('fuzzed requests', () => {
  it('POST /payments: random JSON and mutated valid bodies never get a 5xx, and a 4xx changes nothing', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(randomJsonArb, mutatedArb(createBodyArb), mutatedArb(replayBodyArb), mutatedArb(replayBodyArb)), async (body) => {
        await probe('POST /payments', jsonRequest('/payments', body), SEED_IDS);
      }),
      runs(800, 1),
    );
  }, TIMEOUT_MS);

  it('POST /payments/bulk: random and mutated imports never get a 5xx, and a 4xx changes nothing', async () => {
    const itemsArb = fc.array(fc.oneof(createBodyArb, replayBodyArb, mutatedArb(createBodyArb), mutatedArb(replayBodyArb), randomJsonArb), { minLength: 0, maxLength: 5 });
    const envelopeArb = fc.oneof(
      itemsArb.map((items): Json => new Obj([['payments', items]])),
      mutatedArb(itemsArb.map((items): Json => new Obj([['payments', items]]))),
      randomJsonArb,
    );
    await fc.assert(
      fc.asyncProperty(envelopeArb, async (body) => {
        await probe('POST /payments/bulk', jsonRequest('/payments/bulk', body), SEED_IDS);
      }),
      runs(400, 2),
    );
  }, TIMEOUT_MS);

  it('POST /payments/:id/events: random and mutated events never get a 5xx, and a 4xx changes nothing', async () => {
    const idArb = fc.oneof(fc.constantFrom(...SEED_IDS), fc.constantFrom(...SEED_IDS), pathIdArb);
    await fc.assert(
      fc.asyncProperty(idArb, fc.oneof(randomJsonArb, mutatedArb(eventBodyArb), mutatedArb(eventBodyArb), eventBodyArb), async (id, body) => {
        await probe('POST /payments/:id/events', jsonRequest(`/payments/${id}/events?organizationId=${SEED_BODY.organizationId}`, body), SEED_IDS);
      }),
      runs(800, 3),
    );
  }, TIMEOUT_MS);

  it('a bulk item is refused (400) exactly when the same body sent alone is refused', async () => {
    // validation does not depend on the store, so the order of the two requests cannot matter
    const itemArb = fc.oneof(mutatedArb(createBodyArb), mutatedArb(replayBodyArb), createBodyArb, randomJsonArb);
    await fc.assert(
      fc.asyncProperty(itemArb, async (item) => {
        const bulk = await probe('bulk item vs alone', jsonRequest('/payments/bulk', new Obj([['payments', [item]]])), SEED_IDS);
        // the envelope nests two levels deeper than the item alone
        fc.pre(!(bulk.status === 400 && bulk.text.includes('nests deeper')));
        const inBulk = bulk.status === 200 ? (JSON.parse(bulk.text).results[0].status as number) : bulk.status;
        const alone = await probe('bulk item vs alone', jsonRequest('/payments', item), SEED_IDS);
        if ((inBulk === 400) !== (alone.status === 400)) {
          throw new Error(`item ${write(item).slice(0, 300)}: ${inBulk} in a bulk import, ${alone.status} alone`);
        }
      }),
      runs(400, 7),
    );
  }, TIMEOUT_MS);

  it('raw bytes (invalid UTF-8, cut JSON, other encodings and media types) never get a 5xx', async () => {
    const urlArb = fc.constantFrom('/payments', '/payments/bulk', `/payments/${SEEDS.pending}/events?organizationId=org-fz`, `/payments/${SEEDS.completed}/events?organizationId=org-fz`);
    await fc.assert(
      fc.asyncProperty(urlArb, rawBytesArb, fc.constantFrom(...CONTENT_TYPES), async (url, payload, contentType) => {
        await probe('raw bytes', { method: 'POST', url, payload, contentType }, SEED_IDS);
      }),
      runs(600, 4),
    );
  }, TIMEOUT_MS);

  it('GET /payments/search and /payments/stats: random query strings never get a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('/payments/search', '/payments/stats'), queryStringArb, async (path, qs) => {
        await probe('query strings', { method: 'GET', url: qs === '' ? path : `${path}?${qs}` });
      }),
      runs(1000, 5),
    );
  }, TIMEOUT_MS);

  it('GET /payments/:id: random path ids never get a 5xx, and a 200 is the payment asked for', async () => {
    await fc.assert(
      fc.asyncProperty(pathIdArb, async (id) => {
        const res = await probe('path ids', { method: 'GET', url: `/payments/${id}` });
        if (res.status === 200 && !['search', 'stats'].includes(id) && !/[?#]/.test(id)) {
          expect(JSON.parse(res.text).paymentId).toBe(decodeURIComponent(id));
        }
      }),
      runs(500, 6),
    );
  }, TIMEOUT_MS);

  it('still answers /health/live after all of it, and reports the figures', async () => {
    const live = await send({ method: 'GET', url: '/health/live' });
    expect(live.status).toBe(200);
    console.log(
      `fuzz (seed ${SEED}): ${tally.inputs} inputs, ${tally.serverErrors} 5xx\n` +
        `per property: ${JSON.stringify(tally.perProperty)}\n` +
        `statuses: ${JSON.stringify(tally.statuses)}\n` +
        `slowest: ${tally.slowest.ms.toFixed(1)} ms for ${tally.slowest.input.slice(0, 200)}`,
    );
    expect(tally.serverErrors).toBe(0);
  });
});
