import fc from 'fast-check';
import { isDeepStrictEqual } from 'node:util';
import { PAYMENT_FIELDS } from './e2e-helpers';
import { startTestApp, TestApp } from './test-app';
import { FC_SEED } from './fc-seed';

/**
 * Model-based test: random sequences of creates, imports, lifecycle events, reads, searches
 * (paged and cursor walks) and stats run against the real app (in-process, through Fastify's
 * inject) and against a small reference model written from the contract for clarity, not
 * speed: a map of payments, the state machine table, array filter + sort, counts and sums.
 * Every answer must be equal. Each sequence gets a fresh app, so runs never interfere.
 *
 * paymentIds are unique per organization (issue 20): the model keys payments and their event
 * ids by (organizationId, paymentId), and the generators make the same paymentId live in several
 * organizations, read and written with `?organizationId=` (the right one or another) and
 * without it (the only one, or a 409 PAYMENT_ID_AMBIGUOUS).
 *
 * Clock fields the service sets itself (`updatedAt`, and `completedAt`/`failedAt`/
 * `refundedAt` when an event omits `occurredAt`) are modelled as the window
 * [request sent, answer received]; the first served value inside the window is adopted and
 * must never change afterwards without a write.
 */

const SEED = FC_SEED;
const NUM_RUNS = 100;
const MAX_COMMANDS = 40;

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** Four days ago, on the hour: every generated createdAt lies in the past few days. */
const BASE = Math.floor(Date.now() / HOUR) * HOUR - 4 * DAY;
const BASE_DAY = Math.floor(BASE / DAY) * DAY;

const ORGS = ['org-a', 'org-b', 'org-c'];
const USERS = ['u1', 'u2', 'u3', 'u4'];
const CURRENCIES = ['EUR', 'USD', 'JPY'];
/** A small pool so that retries, conflicts and events on known payments happen often; the
 * names make string order differ from numeric order (`p-10` < `p-2` < `p-9`). */
const PAYMENT_IDS = ['p-1', 'p-2', 'p-9', 'p-10', 'P_3', 'p.4', 'p:5', 'a'];
const EVENT_IDS = ['e1', 'e2', 'e3', 'e4', 'e5', 'e6'];
const STATUSES = ['pending', 'completed', 'failed', 'refunded'] as const;
const SORTS = ['createdAt', '-createdAt', 'amount', '-amount'] as const;
const EVENT_TYPES = ['PaymentProcessed', 'PaymentFailed', 'PaymentRefunded'] as const;
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

type Status = (typeof STATUSES)[number];
type Sort = (typeof SORTS)[number];
type EventType = (typeof EVENT_TYPES)[number];

/** The contract's state machine table. */
const TRANSITIONS: Record<EventType, { from: readonly Status[]; to: Status; stamp: 'completedAt' | 'failedAt' | 'refundedAt' }> = {
  PaymentProcessed: { from: ['pending'], to: 'completed', stamp: 'completedAt' },
  PaymentFailed: { from: ['pending'], to: 'failed', stamp: 'failedAt' },
  PaymentRefunded: { from: ['completed', 'refunded'], to: 'refunded', stamp: 'refundedAt' },
};

// ---------------------------------------------------------------------------------------------
// Counters the team reports
// ---------------------------------------------------------------------------------------------

const tally = {
  sequences: 0,
  commands: 0,
  requests: 0,
  mismatches: 0,
  /** How often each interesting outcome was seen, so the summary proves the generators reach them. */
  outcomes: {} as Record<string, number>,
};
const seen = (outcome: string): void => {
  tally.outcomes[outcome] = (tally.outcomes[outcome] ?? 0) + 1;
};

class Mismatch extends Error {
  constructor(where: string, expected: unknown, actual: unknown) {
    super(`${where}\n  expected (model): ${JSON.stringify(expected)}\n  actual (service): ${JSON.stringify(actual)}`);
    tally.mismatches += 1;
  }
}

// ---------------------------------------------------------------------------------------------
// The reference model
// ---------------------------------------------------------------------------------------------

/** A time the service chose itself: known only to lie in [lo, hi] (epoch ms). */
interface Window {
  lo: number;
  hi: number;
}
type Clock = string | Window;
const isWindow = (c: unknown): c is Window => typeof c === 'object' && c !== null && 'lo' in c;

interface ModelPayment {
  paymentId: string;
  organizationId: string;
  userId: string;
  amount: number;
  currency: string;
  status: Status;
  description: string | null;
  metadata: Record<string, string>;
  refundedAmount: number;
  error: string | null;
  createdAt: string;
  updatedAt: Clock;
  completedAt: Clock | null;
  failedAt: Clock | null;
  refundedAt: Clock | null;
  version: number;
}

/** paymentIds are unique per organization (issue 20): a payment is named by both. */
const keyOf = (organizationId: string, paymentId: string): string => JSON.stringify([organizationId, paymentId]);

class Model {
  /** By keyOf(organizationId, paymentId). */
  readonly payments = new Map<string, ModelPayment>();
  /** Event ids applied per payment, by keyOf (a refused event does not record its id: README). */
  readonly eventIds = new Map<string, Set<string>>();

  /** The payments of every organization with this paymentId, in organization order. */
  withId(paymentId: string): ModelPayment[] {
    return [...this.payments.values()].filter((p) => p.paymentId === paymentId).sort((a, b) => compare(a.organizationId, b.organizationId));
  }
}

const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * The payment GET /payments/:id and its events address without auth: the one of the named
 * organization (`?organizationId=`); unnamed, the only payment with that paymentId, or a 409
 * PAYMENT_ID_AMBIGUOUS when several organizations use it.
 */
function modelResolve(m: Model, paymentId: string, organizationId: string | undefined): ModelPayment | Expected {
  const found = organizationId === undefined ? m.withId(paymentId) : [m.payments.get(keyOf(organizationId, paymentId))].filter((p) => p !== undefined);
  if (found.length === 0) return problem(404, 'payment-not-found');
  if (found.length > 1) return { ...problem(409, 'payment-id-ambiguous'), code: 'PAYMENT_ID_AMBIGUOUS', errorsField: 'organizationId' };
  return found[0];
}
const isPayment = (r: ModelPayment | Expected): r is ModelPayment => 'paymentId' in r;

interface Expected {
  status: number;
  /** The problem type of an error answer. */
  type?: string;
  payment?: ModelPayment;
  /** Text the problem's detail must hold (the current status of a refused transition). */
  detailHas?: string;
  /** The problem's code, when checked. */
  code?: string;
  /** The one field the problem's `errors` must name, when checked. */
  errorsField?: string;
}

const problem = (status: number, type: string, detailHas?: string): Expected => ({ status, type: `/problems/${type}`, detailHas });

/** The fields a client sends on create, before they are written as JSON. */
interface Fields {
  organizationId: string;
  userId: string;
  amount: number;
  currency: string;
  /** epoch ms */
  createdAt: number;
  description?: string;
  metadata?: Record<string, string>;
}

type Body = Record<string, unknown>;

/** POST /payments (and one bulk item) as the contract and README describe it. */
function modelCreate(m: Model, body: Body, valid: boolean, window: Window): Expected {
  if (!valid) return problem(400, 'validation-failed');
  const paymentId = body.paymentId as string | undefined;
  // a paymentId is taken within its organization only: another organization's is no conflict
  const stored = paymentId === undefined ? undefined : m.payments.get(keyOf(body.organizationId as string, paymentId));
  if (stored) {
    // the differing fields, in the order the 409's detail lists them (organizationId never: same organization)
    const differing = [
      stored.userId !== body.userId && 'userId',
      stored.amount !== body.amount && 'amount',
      stored.currency !== body.currency && 'currency',
      stored.description !== ((body.description as string | undefined) ?? null) && 'description',
      !sameEntries(stored.metadata, (body.metadata as Record<string, string> | undefined) ?? {}) && 'metadata',
      body.createdAt !== undefined && Date.parse(stored.createdAt) !== Date.parse(body.createdAt as string) && 'createdAt',
    ].filter((f): f is string => f !== false);
    return differing.length === 0
      ? { status: 200, payment: stored }
      : problem(409, 'payment-id-conflict', `already exists with different ${differing.join(', ')};`);
  }
  const payment: ModelPayment = {
    // a generated id is adopted from the answer (it must be a fresh UUID)
    paymentId: paymentId ?? '(generated)',
    organizationId: body.organizationId as string,
    userId: body.userId as string,
    amount: body.amount as number,
    currency: body.currency as string,
    status: 'pending',
    description: (body.description as string | undefined) ?? null,
    metadata: { ...((body.metadata as Record<string, string> | undefined) ?? {}) },
    refundedAmount: 0,
    error: null,
    createdAt: new Date(Date.parse(body.createdAt as string)).toISOString(),
    updatedAt: window,
    completedAt: null,
    failedAt: null,
    refundedAt: null,
    version: 1,
  };
  if (paymentId !== undefined) m.payments.set(keyOf(payment.organizationId, paymentId), payment);
  return { status: 201, payment };
}

/** Same keys and values (prototypes aside: fast-check may build null-prototype objects). */
function sameEntries(a: Record<string, string>, b: Record<string, string>): boolean {
  const sorted = (o: Record<string, string>) => Object.entries(o).sort(([x], [y]) => (x < y ? -1 : 1));
  return JSON.stringify(sorted(a)) === JSON.stringify(sorted(b));
}

interface EventInput {
  eventId?: string;
  type: EventType;
  occurredAt?: string;
  error?: string;
  refundAmount?: number;
}

/** POST /payments/:id/events: validation, 404, redelivery, the table, the refund bound. */
function modelEvent(m: Model, paymentId: string, organizationId: string | undefined, ev: EventInput, valid: boolean, window: Window): Expected {
  if (!valid) return problem(400, 'validation-failed');
  const p = modelResolve(m, paymentId, organizationId);
  if (!isPayment(p)) return p;
  const key = keyOf(p.organizationId, paymentId);
  const applied = m.eventIds.get(key) ?? new Set<string>();
  if (ev.eventId !== undefined && applied.has(ev.eventId)) return { status: 200, payment: p };
  const row = TRANSITIONS[ev.type];
  if (!row.from.includes(p.status)) return problem(409, 'invalid-transition', p.status);
  const next: ModelPayment = { ...p, status: row.to, updatedAt: window, version: p.version + 1 };
  next[row.stamp] = ev.occurredAt === undefined ? window : new Date(Date.parse(ev.occurredAt)).toISOString();
  if (ev.type === 'PaymentFailed') next.error = ev.error ?? null;
  if (ev.type === 'PaymentRefunded') {
    const remaining = p.amount - p.refundedAmount;
    const refund = ev.refundAmount ?? remaining;
    if (refund <= 0 || refund > remaining) return problem(422, 'refund-exceeds-amount');
    next.refundedAmount = p.refundedAmount + refund;
  }
  m.payments.set(key, next);
  if (ev.eventId !== undefined) m.eventIds.set(key, applied.add(ev.eventId));
  return { status: 200, payment: next };
}

interface Filter {
  organizationId?: string;
  userId?: string;
  status?: string[];
  currency?: string[];
  minAmount?: number;
  maxAmount?: number;
  from?: number;
  to?: number;
}

/** The filters shared by search and stats, as plain array filtering. */
function modelMatches(m: Model, f: Filter): ModelPayment[] {
  return [...m.payments.values()].filter((p) => {
    const t = Date.parse(p.createdAt);
    return (
      (f.organizationId === undefined || p.organizationId === f.organizationId) &&
      (f.userId === undefined || p.userId === f.userId) &&
      (f.status === undefined || f.status.includes(p.status)) &&
      (f.currency === undefined || f.currency.includes(p.currency)) &&
      (f.minAmount === undefined || p.amount >= f.minAmount) &&
      (f.maxAmount === undefined || p.amount <= f.maxAmount) &&
      (f.from === undefined || t >= f.from) &&
      (f.to === undefined || t < f.to)
    );
  });
}

/** README: `minAmount > maxAmount` and `from > to` are 400 rather than an empty answer. */
const invalidRange = (f: Filter): boolean =>
  (f.minAmount !== undefined && f.maxAmount !== undefined && f.minAmount > f.maxAmount) ||
  (f.from !== undefined && f.to !== undefined && f.from > f.to);

const sortKey = (p: ModelPayment, sort: Sort): number => (sort.endsWith('amount') ? p.amount : Date.parse(p.createdAt));

function modelSorted(m: Model, f: Filter, sort: Sort): ModelPayment[] {
  const sign = sort.startsWith('-') ? -1 : 1;
  return modelMatches(m, f).sort(
    // equal keys: paymentId, then organizationId (the same paymentId may be in several organizations)
    (a, b) => sign * (sortKey(a, sort) - sortKey(b, sort)) || compare(a.paymentId, b.paymentId) || compare(a.organizationId, b.organizationId),
  );
}

type Interval = 'hour' | 'day';

function modelStats(m: Model, f: Filter, interval?: Interval): unknown {
  const matching = modelMatches(m, f);
  const byStatus: Record<string, number> = { pending: 0, completed: 0, failed: 0, refunded: 0 };
  const byCurrency: Record<string, number> = {};
  const amountByCurrency: Record<string, number> = {};
  const refundedAmountByCurrency: Record<string, number> = {};
  for (const p of matching) {
    byStatus[p.status] += 1;
    byCurrency[p.currency] = (byCurrency[p.currency] ?? 0) + 1;
    amountByCurrency[p.currency] = (amountByCurrency[p.currency] ?? 0) + p.amount;
    refundedAmountByCurrency[p.currency] = (refundedAmountByCurrency[p.currency] ?? 0) + p.refundedAmount;
  }
  const doc: Record<string, unknown> = { total: matching.length, byStatus, byCurrency, amountByCurrency, refundedAmountByCurrency };
  if (interval !== undefined) {
    // one bucket per UTC hour/day that meets [from, to), empty ones included
    const step = interval === 'hour' ? HOUR : DAY;
    const series: unknown[] = [];
    for (let start = Math.floor(f.from! / step) * step; f.from! < f.to! && start < f.to!; start += step) {
      const inBucket = matching.filter((p) => Date.parse(p.createdAt) >= start && Date.parse(p.createdAt) < start + step);
      const sums: Record<string, number> = {};
      for (const p of inBucket) sums[p.currency] = (sums[p.currency] ?? 0) + p.amount;
      series.push({ start: new Date(start).toISOString(), total: inBucket.length, amountByCurrency: sums });
    }
    doc.series = series;
  }
  return doc;
}

// ---------------------------------------------------------------------------------------------
// Talking to the app
// ---------------------------------------------------------------------------------------------

interface Answer {
  status: number;
  headers: Record<string, unknown>;
  body: unknown;
}

async function call(t: TestApp, method: 'GET' | 'POST', url: string, body?: unknown): Promise<Answer> {
  const res = await t.app.inject({
    method,
    url,
    ...(body === undefined ? {} : { payload: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
  });
  tally.requests += 1;
  let parsed: unknown = res.payload;
  try {
    parsed = JSON.parse(res.payload);
  } catch {
    // compared as text
  }
  return { status: res.statusCode, headers: res.headers, body: parsed };
}

const field = (body: unknown, key: string): unknown =>
  typeof body === 'object' && body !== null ? (body as Record<string, unknown>)[key] : undefined;

/**
 * The served payment equals the model's, field by field. A clock window in the model adopts
 * the served value when it lies inside it (and must be an ISO UTC string).
 */
function matchPayment(where: string, expected: ModelPayment, actual: unknown): void {
  if (typeof actual !== 'object' || actual === null) throw new Mismatch(`${where}: not a payment`, expected, actual);
  const a = actual as Record<string, unknown>;
  if (!isDeepStrictEqual(Object.keys(a).sort(), [...PAYMENT_FIELDS].sort())) {
    throw new Mismatch(`${where}: payment fields`, PAYMENT_FIELDS, Object.keys(a));
  }
  const e = expected as unknown as Record<string, unknown>;
  for (const k of PAYMENT_FIELDS) {
    const want = e[k];
    const got = a[k];
    if (isWindow(want)) {
      const ok = typeof got === 'string' && ISO_UTC.test(got) && Date.parse(got) >= want.lo && Date.parse(got) <= want.hi;
      if (!ok) throw new Mismatch(`${where}: ${k} must be a time the service chose during the request`, { between: [new Date(want.lo), new Date(want.hi)] }, got);
      e[k] = got;
    } else if (!isDeepStrictEqual(want, got)) {
      throw new Mismatch(`${where}: ${k} of ${expected.paymentId}`, expected, actual);
    }
  }
}

/** Status code, and for an error the problem+json shape and its type (and detail text). */
function matchAnswer(where: string, expected: Expected, res: Answer): void {
  if (res.status !== expected.status) {
    throw new Mismatch(`${where}: status`, { status: expected.status, type: expected.type }, { status: res.status, body: res.body });
  }
  if (expected.type !== undefined) {
    const ct = String(res.headers['content-type'] ?? '');
    const b = res.body as Record<string, unknown> | null;
    const ok =
      ct.startsWith('application/problem+json') &&
      typeof b === 'object' &&
      b !== null &&
      b.type === expected.type &&
      b.status === expected.status &&
      typeof b.title === 'string' &&
      typeof b.detail === 'string' &&
      (expected.detailHas === undefined || b.detail.includes(expected.detailHas)) &&
      (expected.code === undefined || b.code === expected.code) &&
      (expected.errorsField === undefined ||
        (Array.isArray(b.errors) && b.errors.length === 1 && field(b.errors[0], 'field') === expected.errorsField && typeof field(b.errors[0], 'message') === 'string'));
    if (!ok) throw new Mismatch(`${where}: problem`, { ...expected, contentType: 'application/problem+json' }, { contentType: ct, body: res.body });
  }
}

// ---------------------------------------------------------------------------------------------
// Generators
// ---------------------------------------------------------------------------------------------

type TimeStyle = 'Z' | 'offset' | 'date';

/** ISO-8601 in one of the accepted spellings of the same instant. */
function formatTime(ms: number, style: TimeStyle): string {
  if (style === 'offset') return `${new Date(ms + 2 * HOUR).toISOString().slice(0, 23)}+02:00`;
  if (style === 'date' && ms % DAY === 0) return new Date(ms).toISOString().slice(0, 10);
  return new Date(ms).toISOString();
}

const timeStyleArb = fc.constantFrom<TimeStyle>('Z', 'Z', 'offset', 'date');
/** Hour steps within three days, sometimes off the hour, so ties on createdAt are common. */
const createdAtArb = fc.oneof(
  fc.constantFrom(10, 30, 50).map((h) => BASE + h * HOUR),
  fc.tuple(fc.integer({ min: 0, max: 71 }), fc.constantFrom(0, 0, 0, 30 * 60_000, 1)).map(([h, extra]) => BASE + h * HOUR + extra),
);
const boundArb = fc.oneof(
  fc.integer({ min: -3, max: 76 }).map((h) => BASE + h * HOUR),
  fc.integer({ min: 0, max: 5 }).map((d) => BASE_DAY + d * DAY),
  createdAtArb,
);
const amountArb = fc.oneof(fc.constantFrom(100, 250, 1000, 5000), fc.integer({ min: 1, max: 5000 }));
const fieldsArb: fc.Arbitrary<Fields> = fc.record(
  {
    organizationId: fc.constantFrom(...ORGS),
    userId: fc.constantFrom(...USERS),
    amount: amountArb,
    currency: fc.constantFrom(...CURRENCIES),
    createdAt: createdAtArb,
    description: fc.constantFrom('coffee', 'rent', 'Test payment'),
    metadata: fc.dictionary(fc.constantFrom('source', 'ref', 'k'), fc.constantFrom('a', 'b', 'test'), { maxKeys: 2, noNullPrototype: true }),
  },
  { requiredKeys: ['organizationId', 'userId', 'amount', 'currency', 'createdAt'] },
);

/** Ways to make a create body invalid; each is a 400 naming the field. */
const CREATE_CORRUPTIONS: Record<string, (b: Body) => Body> = {
  zeroAmount: (b) => ({ ...b, amount: 0 }),
  fractionAmount: (b) => ({ ...b, amount: 10.5 }),
  stringAmount: (b) => ({ ...b, amount: '100' }),
  tooBigAmount: (b) => ({ ...b, amount: 100_000_000_000 }),
  lowerCurrency: (b) => ({ ...b, currency: 'eur' }),
  unknownCurrency: (b) => ({ ...b, currency: 'XYZ' }),
  serverField: (b) => ({ ...b, status: 'completed' }),
  futureCreatedAt: (b) => ({ ...b, createdAt: new Date(Date.now() + DAY).toISOString() }),
  impossibleCreatedAt: (b) => ({ ...b, createdAt: '2026-02-30T00:00:00.000Z' }),
  badPaymentId: (b) => ({ ...b, paymentId: 'has space' }),
  // names the routes reserve (GET /payments/search, /payments/stats, POST /payments/bulk) and path dots
  reservedPaymentId: (b) => ({ ...b, paymentId: 'stats' }),
  dotPaymentId: (b) => ({ ...b, paymentId: '..' }),
  missingUser: (b) => Object.fromEntries(Object.entries(b).filter(([k]) => k !== 'userId')),
  longDescription: (b) => ({ ...b, description: 'x'.repeat(1001) }),
  badMetadata: (b) => ({ ...b, metadata: { k: 1 } }),
};

/** `otherOrg`: a stored payment's paymentId and fields, in another organization (two tenants importing the same ids). */
type CreateMode = 'fresh' | 'same' | 'sameWithoutCreatedAt' | 'tweak' | 'otherOrg' | 'noId' | 'invalid';

interface CreateSpec {
  paymentId: string;
  /** A retry (same, tweak) repeats the pick-th stored payment with this paymentId, in organization order. */
  pick: number;
  mode: CreateMode;
  fields: Fields;
  style: TimeStyle;
  tweak: keyof Fields;
  corruption: string;
}

const createSpecArb: fc.Arbitrary<CreateSpec> = fc.record({
  paymentId: fc.constantFrom(...PAYMENT_IDS),
  pick: fc.nat(2),
  mode: fc.constantFrom<CreateMode>('fresh', 'fresh', 'fresh', 'same', 'same', 'sameWithoutCreatedAt', 'tweak', 'tweak', 'otherOrg', 'otherOrg', 'noId', 'invalid'),
  fields: fieldsArb,
  style: timeStyleArb,
  tweak: fc.constantFrom<keyof Fields>('organizationId', 'userId', 'amount', 'currency', 'createdAt', 'description', 'metadata'),
  corruption: fc.constantFrom(...Object.keys(CREATE_CORRUPTIONS)),
});

function bodyOf(paymentId: string | undefined, f: Fields, style: TimeStyle): Body {
  return {
    ...(paymentId === undefined ? {} : { paymentId }),
    organizationId: f.organizationId,
    userId: f.userId,
    amount: f.amount,
    currency: f.currency,
    createdAt: formatTime(f.createdAt, style),
    ...(f.description === undefined ? {} : { description: f.description }),
    ...(f.metadata === undefined ? {} : { metadata: f.metadata }),
  };
}

/**
 * The body a spec sends in the model's current state: a retry repeats (or changes one of) the
 * fields of a stored payment with that paymentId (of any organization: changing organizationId
 * makes it a new payment, or a retry of that organization's); a retry may omit createdAt
 * (README: it counts only when sent).
 */
function createBody(m: Model, spec: CreateSpec): { body: Body; valid: boolean } {
  const candidates = m.withId(spec.paymentId);
  const stored = candidates.length === 0 ? undefined : candidates[spec.pick % candidates.length];
  let body: Body;
  if (stored && (spec.mode === 'same' || spec.mode === 'sameWithoutCreatedAt' || spec.mode === 'tweak' || spec.mode === 'otherOrg')) {
    const f: Fields = {
      organizationId: stored.organizationId,
      userId: stored.userId,
      amount: stored.amount,
      currency: stored.currency,
      createdAt: Date.parse(stored.createdAt),
      ...(stored.description === null ? {} : { description: stored.description }),
      ...(Object.keys(stored.metadata).length === 0 ? {} : { metadata: stored.metadata }),
    };
    if (spec.mode === 'tweak') Object.assign(f, { [spec.tweak]: spec.fields[spec.tweak] });
    if (spec.mode === 'otherOrg') {
      // the generated organization, or the next one when that is the stored payment's own
      const generated = spec.fields.organizationId;
      f.organizationId = generated !== stored.organizationId ? generated : ORGS[(ORGS.indexOf(generated) + 1) % ORGS.length];
    }
    body = bodyOf(spec.paymentId, f, spec.style);
    if (spec.mode === 'sameWithoutCreatedAt') delete body.createdAt;
  } else {
    body = bodyOf(spec.mode === 'noId' ? undefined : spec.paymentId, spec.fields, spec.style);
  }
  if (spec.mode === 'invalid') return { body: CREATE_CORRUPTIONS[spec.corruption](body), valid: false };
  return { body, valid: true };
}

const EVENT_CORRUPTIONS: Record<string, (b: Body) => Body> = {
  failedWithoutError: (b) => ({ ...b, type: 'PaymentFailed', data: {} }),
  refundOnProcessed: (b) => ({ ...b, type: 'PaymentProcessed', data: { refundAmount: 5 } }),
  errorOnRefund: (b) => ({ ...b, type: 'PaymentRefunded', data: { error: 'no' } }),
  zeroRefund: (b) => ({ ...b, type: 'PaymentRefunded', data: { refundAmount: 0 } }),
  fractionRefund: (b) => ({ ...b, type: 'PaymentRefunded', data: { refundAmount: 12.5 } }),
  unknownType: (b) => ({ ...b, type: 'PaymentCaptured' }),
  badOccurredAt: (b) => ({ ...b, occurredAt: '2026-02-30T00:00:00Z' }),
  serverField: (b) => ({ ...b, status: 'completed' }),
  longEventId: (b) => ({ ...b, eventId: 'e'.repeat(65) }),
};

/**
 * How GET /payments/:id and its events name the payment without auth: `bare`, no
 * `?organizationId=` (the paymentId must be unique); `own`, the organization of the payment
 * aimed at; `any`, `org` whatever it holds (often another organization, or none: a 404).
 */
interface Addressing {
  how: 'bare' | 'own' | 'any';
  org: string;
}

const addressingArb: fc.Arbitrary<Addressing> = fc.record({
  how: fc.constantFrom<Addressing['how']>('bare', 'bare', 'own', 'own', 'any'),
  org: fc.constantFrom(...ORGS, 'org-none'),
});

/** The organizationId a request names (undefined: none), and its query string. */
function addressed(a: Addressing, aimedAt: string | undefined): { organizationId?: string; search: string } {
  const organizationId = a.how === 'bare' ? undefined : a.how === 'own' && aimedAt !== undefined ? aimedAt : a.org;
  return { organizationId, search: organizationId === undefined ? '' : query([['organizationId', organizationId]]) };
}

interface EventSpec {
  paymentId: string;
  /** Most events go to a stored payment (the pick-th in (paymentId, organizationId) order); the rest to the pool id. */
  target: { existing: boolean; pick: number };
  addressing: Addressing;
  /** Most events fit the payment's status (so payments get deep into the lifecycle); the rest
   * are of the generated type, which the state machine may refuse. */
  fitting: boolean;
  type: EventType;
  eventId?: string;
  occurredAt?: number;
  style: TimeStyle;
  refundAmount?: number;
  error: string;
  emptyData: boolean;
  /** One in eight events is made invalid (a 400 that must change nothing). */
  corruption: string | null;
}

const eventSpecArb: fc.Arbitrary<EventSpec> = fc.record(
  {
    paymentId: fc.constantFrom(...PAYMENT_IDS),
    target: fc.record({ existing: fc.constantFrom(true, true, true, true, true, true, true, false), pick: fc.oneof(fc.constant(0), fc.nat(63)) }),
    addressing: addressingArb,
    fitting: fc.constantFrom(true, true, false),
    type: fc.constantFrom(...EVENT_TYPES),
    eventId: fc.constantFrom(...EVENT_IDS),
    occurredAt: fc.integer({ min: 0, max: 4 * DAY }).map((d) => BASE + d),
    style: timeStyleArb,
    // absent two times in three: a full refund, after which nothing is left (422)
    refundAmount: fc.oneof(fc.constant(undefined), fc.constant(undefined), fc.integer({ min: 1, max: 5000 }), fc.constantFrom(1, 50, 100, 500)),
    error: fc.constantFrom('card declined', 'insufficient funds'),
    emptyData: fc.boolean(),
    corruption: fc.oneof(
      { weight: 7, arbitrary: fc.constant(null) },
      { weight: 1, arbitrary: fc.constantFrom(...Object.keys(EVENT_CORRUPTIONS)) },
    ),
  },
  { requiredKeys: ['paymentId', 'target', 'addressing', 'fitting', 'type', 'style', 'error', 'emptyData', 'corruption'] },
);

function eventBody(spec: EventSpec, type: EventType): { body: Body; input: EventInput; valid: boolean } {
  const occurredAt = spec.occurredAt === undefined ? undefined : formatTime(spec.occurredAt, spec.style);
  const data: Body = {};
  if (type === 'PaymentFailed') data.error = spec.error;
  if (type === 'PaymentRefunded' && spec.refundAmount !== undefined) data.refundAmount = spec.refundAmount;
  const body: Body = {
    ...(spec.eventId === undefined ? {} : { eventId: spec.eventId }),
    type,
    ...(occurredAt === undefined ? {} : { occurredAt }),
    ...(Object.keys(data).length > 0 || spec.emptyData ? { data } : {}),
  };
  const input: EventInput = {
    eventId: spec.eventId,
    type,
    occurredAt,
    error: data.error as string | undefined,
    refundAmount: data.refundAmount as number | undefined,
  };
  if (spec.corruption !== null) return { body: EVENT_CORRUPTIONS[spec.corruption](body), input, valid: false };
  return { body, input, valid: true };
}

interface FilterSpec {
  filter: Filter;
  fromStyle: TimeStyle;
  toStyle: TimeStyle;
}

/** Bounds come out in order five times in six; the rest are 400s (README: min > max, from > to). */
function mostlyOrdered(f: Filter, keepAsIs: boolean): Filter {
  if (keepAsIs) return f;
  const out = { ...f };
  if (out.minAmount !== undefined && out.maxAmount !== undefined && out.minAmount > out.maxAmount) {
    [out.minAmount, out.maxAmount] = [out.maxAmount, out.minAmount];
  }
  if (out.from !== undefined && out.to !== undefined && out.from > out.to) [out.from, out.to] = [out.to, out.from];
  return out;
}

/** Present one time in four: most queries carry one or two filters, so they match something. */
const sometimes = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> =>
  fc.oneof({ weight: 3, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: arb });

function filterSpecArb(withBounds: boolean): fc.Arbitrary<FilterSpec> {
  const bound = (arb: fc.Arbitrary<number>) => (withBounds ? arb : sometimes(arb));
  return fc.record({
    filter: fc
      .tuple(
        fc.record({
          organizationId: sometimes(fc.constantFrom(...ORGS, 'org-none')),
          userId: sometimes(fc.constantFrom(...USERS)),
          status: sometimes(fc.subarray([...STATUSES], { minLength: 1 })),
          currency: sometimes(fc.subarray([...CURRENCIES, 'GBP'], { minLength: 1 })),
          minAmount: sometimes(fc.oneof(amountArb, fc.constant(0))),
          maxAmount: sometimes(fc.oneof(amountArb, fc.constant(6000))),
          from: bound(boundArb),
          to: bound(boundArb),
        }),
        fc.integer({ min: 0, max: 5 }),
      )
      .map(([f, dice]) => mostlyOrdered(withoutUndefined(f), dice === 0)),
    fromStyle: timeStyleArb,
    toStyle: timeStyleArb,
  });
}

function withoutUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

function filterParams(spec: FilterSpec): [string, string][] {
  const f = spec.filter;
  const params: [string, string][] = [];
  if (f.organizationId !== undefined) params.push(['organizationId', f.organizationId]);
  if (f.userId !== undefined) params.push(['userId', f.userId]);
  if (f.status !== undefined) params.push(['status', f.status.join(',')]);
  if (f.currency !== undefined) params.push(['currency', f.currency.join(',')]);
  if (f.minAmount !== undefined) params.push(['minAmount', String(f.minAmount)]);
  if (f.maxAmount !== undefined) params.push(['maxAmount', String(f.maxAmount)]);
  if (f.from !== undefined) params.push(['from', formatTime(f.from, spec.fromStyle)]);
  if (f.to !== undefined) params.push(['to', formatTime(f.to, spec.toStyle)]);
  return params;
}

const query = (params: [string, string][]): string => (params.length === 0 ? '' : `?${new URLSearchParams(params).toString()}`);

interface SearchSpec {
  filter: FilterSpec;
  sort?: Sort;
  size?: number;
  page?: number;
  walk: boolean;
  /** One search in ten breaks a rule of the contract or README: a 400. */
  misuse: keyof typeof SEARCH_MISUSES | null;
}

const SEARCH_MISUSES = {
  pastWindow: [['page', '101'], ['size', '100']],
  garbageCursor: [['cursor', 'not-a-cursor']],
  swappedAmounts: [['minAmount', '500'], ['maxAmount', '499']],
  unknownParameter: [['limit', '5']],
  unknownStatus: [['status', 'settled']],
} satisfies Record<string, [string, string][]>;

const searchSpecArb: fc.Arbitrary<SearchSpec> = fc.record(
  {
    filter: filterSpecArb(false),
    sort: fc.constantFrom(...SORTS),
    size: fc.oneof(fc.integer({ min: 1, max: 6 }), fc.constantFrom(20, 100)),
    page: fc.integer({ min: 0, max: 4 }),
    walk: fc.boolean(),
    misuse: fc.oneof(
      { weight: 9, arbitrary: fc.constant(null) },
      { weight: 1, arbitrary: fc.constantFrom(...(Object.keys(SEARCH_MISUSES) as (keyof typeof SEARCH_MISUSES)[])) },
    ),
  },
  { requiredKeys: ['filter', 'walk', 'misuse'] },
);

interface StatsSpec {
  filter: FilterSpec;
  interval?: Interval;
}

const statsSpecArb: fc.Arbitrary<StatsSpec> = fc.oneof(
  // a series: interval with from and to
  { weight: 2, arbitrary: fc.record({ filter: filterSpecArb(true), interval: fc.constantFrom<Interval>('day', 'day', 'hour') }) },
  // anything else, including an interval without its bounds (400)
  {
    weight: 3,
    arbitrary: fc.record(
      { filter: filterSpecArb(false), interval: fc.constantFrom<Interval | undefined>(undefined, undefined, undefined, 'day', 'hour') },
      { requiredKeys: ['filter'] },
    ),
  },
);

// ---------------------------------------------------------------------------------------------
// Commands: each runs against the model and the app and compares
// ---------------------------------------------------------------------------------------------

abstract class ModelCommand implements fc.AsyncCommand<Model, TestApp> {
  check(): boolean {
    return true;
  }

  async run(m: Model, t: TestApp): Promise<void> {
    tally.commands += 1;
    await this.exec(m, t);
  }

  protected abstract exec(m: Model, t: TestApp): Promise<void>;
  abstract toString(): string;
}

class CreateCommand extends ModelCommand {
  constructor(readonly spec: CreateSpec) {
    super();
  }

  protected async exec(m: Model, t: TestApp): Promise<void> {
    const { body, valid } = createBody(m, this.spec);
    const window = { lo: Date.now(), hi: Infinity };
    const elsewhere = takenElsewhere(m, body);
    const expected = modelCreate(m, body, valid, window);
    const res = await call(t, 'POST', '/payments', body);
    window.hi = Date.now();
    const where = `POST /payments ${JSON.stringify(body)}`;
    matchAnswer(where, expected, res);
    seen(`create ${res.status}`);
    if (valid && elsewhere) seen(`create ${res.status} id of another organization`);
    if (expected.payment) {
      if (body.paymentId === undefined) adoptGeneratedId(m, where, expected.payment, field(res.body, 'paymentId'));
      matchPayment(where, expected.payment, res.body);
      const location = `/payments/${expected.payment.paymentId}`;
      if (res.headers.location !== location) throw new Mismatch(`${where}: Location`, location, res.headers.location);
    }
  }

  toString(): string {
    return `create(${JSON.stringify(this.spec)})`;
  }
}

/** Another organization than the body's holds its paymentId (before the create). */
const takenElsewhere = (m: Model, body: Body): boolean =>
  typeof body.paymentId === 'string' && m.withId(body.paymentId).some((p) => p.organizationId !== body.organizationId);

/** A create without paymentId: the answer names a fresh UUID (in no organization), which the model then stores under. */
function adoptGeneratedId(m: Model, where: string, payment: ModelPayment, served: unknown): void {
  if (typeof served !== 'string' || !UUID.test(served) || m.withId(served).length > 0) {
    throw new Mismatch(`${where}: a generated paymentId must be a fresh UUID`, 'uuid', served);
  }
  payment.paymentId = served;
  m.payments.set(keyOf(payment.organizationId, served), payment);
}

class BulkCommand extends ModelCommand {
  constructor(readonly specs: CreateSpec[]) {
    super();
  }

  protected async exec(m: Model, t: TestApp): Promise<void> {
    const window = { lo: Date.now(), hi: Infinity };
    // items apply in order, so each is built and modelled after the ones before it
    const items: Body[] = [];
    const expected: Expected[] = [];
    const elsewhere: boolean[] = [];
    for (const spec of this.specs) {
      const { body, valid } = createBody(m, spec);
      items.push(body);
      elsewhere.push(valid && takenElsewhere(m, body));
      expected.push(modelCreate(m, body, valid, window));
    }
    const res = await call(t, 'POST', '/payments/bulk', { payments: items });
    window.hi = Date.now();
    const where = `POST /payments/bulk ${JSON.stringify(items)}`;
    matchAnswer(where, { status: 200 }, res);
    const results = field(res.body, 'results');
    if (!Array.isArray(results) || results.length !== items.length) throw new Mismatch(`${where}: results`, expected, res.body);
    const counts = { created: 0, replayed: 0, failed: 0 };
    for (const [index, want] of expected.entries()) {
      const got = results[index] as Record<string, unknown>;
      const claimed = typeof items[index].paymentId === 'string' ? items[index].paymentId : null;
      if (want.payment && items[index].paymentId === undefined && want.status === 201) {
        adoptGeneratedId(m, `${where} item ${index}`, want.payment, got?.paymentId);
      }
      const wantItem = {
        index,
        paymentId: want.payment ? want.payment.paymentId : claimed,
        status: want.status,
        errorType: want.type,
      };
      const gotItem = {
        index: got?.index,
        paymentId: got?.paymentId,
        status: got?.status,
        errorType: field(got?.error, 'type'),
      };
      if (!isDeepStrictEqual(wantItem, gotItem)) throw new Mismatch(`${where}: item ${index}`, wantItem, got);
      if (want.status === 201) counts.created += 1;
      else if (want.status === 200) counts.replayed += 1;
      else counts.failed += 1;
      seen(`bulk item ${want.status}`);
      if (elsewhere[index]) seen(`bulk item ${want.status} id of another organization`);
    }
    const gotCounts = { created: field(res.body, 'created'), replayed: field(res.body, 'replayed'), failed: field(res.body, 'failed') };
    if (!isDeepStrictEqual(counts, gotCounts)) throw new Mismatch(`${where}: counts`, counts, gotCounts);
  }

  toString(): string {
    return `bulk(${JSON.stringify(this.specs)})`;
  }
}

class EventCommand extends ModelCommand {
  constructor(readonly spec: EventSpec) {
    super();
  }

  protected async exec(m: Model, t: TestApp): Promise<void> {
    const stored = storedInOrder(m);
    const { existing, pick } = this.spec.target;
    const aimedAt = existing && stored.length > 0 ? stored[pick % stored.length] : undefined;
    const paymentId = aimedAt?.paymentId ?? this.spec.paymentId;
    const { organizationId, search } = addressed(this.spec.addressing, aimedAt?.organizationId);
    const resolved = modelResolve(m, paymentId, organizationId);
    const before = isPayment(resolved) ? resolved : undefined;
    const { body, input, valid } = eventBody(this.spec, this.spec.fitting ? fittingType(before, this.spec.type) : this.spec.type);
    const window = { lo: Date.now(), hi: Infinity };
    const expected = modelEvent(m, paymentId, organizationId, input, valid, window);
    const url = `/payments/${encodeURIComponent(paymentId)}/events${search}`;
    const res = await call(t, 'POST', url, body);
    window.hi = Date.now();
    const where = `POST ${url} ${JSON.stringify(body)}`;
    matchAnswer(where, expected, res);
    const how = addressingOutcome(m, expected, paymentId, organizationId);
    // an ambiguous 409 counts apart: 'event 409' is a transition the table refuses
    if (how !== ' ambiguous') seen(`event ${res.status}${expected.payment && expected.payment === before ? ' redelivered' : ''}`);
    if (how !== '') seen(`event ${res.status}${how}`);
    if (res.status === 422 && before?.refundedAmount === before?.amount && input.refundAmount === undefined) seen('event 422 nothing left');
    if (expected.payment) matchPayment(where, expected.payment, res.body);
  }

  toString(): string {
    return `event(${JSON.stringify(this.spec)})`;
  }
}

/** An event the table allows from the payment's status (the generated one when it is allowed). */
function fittingType(p: ModelPayment | undefined, generated: EventType): EventType {
  if (p === undefined || TRANSITIONS[generated].from.includes(p.status)) return generated;
  return EVENT_TYPES.find((type) => TRANSITIONS[type].from.includes(p.status)) ?? generated;
}

/**
 * What the addressing of a read or event came to, for the outcome counts: ' ambiguous' (409,
 * several organizations, none named), ' of another organization' (404: the named organization
 * has no such payment, another has) or ' named' (an answer about the named organization's payment).
 */
function addressingOutcome(m: Model, expected: Expected, paymentId: string, organizationId: string | undefined): string {
  if (expected.type === '/problems/payment-id-ambiguous') return ' ambiguous';
  if (organizationId === undefined) return '';
  if (expected.status === 404 && m.withId(paymentId).length > 0) return ' of another organization';
  return expected.status === 404 || expected.status === 400 ? '' : ' named';
}

interface GetSpec {
  paymentId: string;
  /** Most reads go to a stored payment (the pick-th in (paymentId, organizationId) order); the rest to the pool id. */
  target: { existing: boolean; pick: number };
  addressing: Addressing;
}

/** Stored payments in (paymentId, organizationId) order: the same paymentId of several organizations side by side. */
const storedInOrder = (m: Model): ModelPayment[] =>
  [...m.payments.values()].sort((a, b) => compare(a.paymentId, b.paymentId) || compare(a.organizationId, b.organizationId));

class GetCommand extends ModelCommand {
  constructor(readonly spec: GetSpec) {
    super();
  }

  protected async exec(m: Model, t: TestApp): Promise<void> {
    const stored = storedInOrder(m);
    const { existing, pick } = this.spec.target;
    const aimedAt = existing && stored.length > 0 ? stored[pick % stored.length] : undefined;
    const paymentId = aimedAt?.paymentId ?? this.spec.paymentId;
    const { organizationId, search } = addressed(this.spec.addressing, aimedAt?.organizationId);
    const url = `/payments/${encodeURIComponent(paymentId)}${search}`;
    const resolved = modelResolve(m, paymentId, organizationId);
    const res = await call(t, 'GET', url);
    const expected = isPayment(resolved) ? { status: 200 } : resolved;
    matchAnswer(`GET ${url}`, expected, res);
    const how = addressingOutcome(m, expected, paymentId, organizationId);
    if (how !== ' ambiguous') seen(`get ${res.status}`);
    if (how !== '') seen(`get ${res.status}${how}`);
    if (isPayment(resolved)) matchPayment(`GET ${url}`, resolved, res.body);
    const store = await call(t, 'GET', '/admin/store');
    if (field(store.body, 'payments') !== m.payments.size) {
      throw new Mismatch('GET /admin/store: payments', m.payments.size, field(store.body, 'payments'));
    }
  }

  toString(): string {
    return `get(${JSON.stringify(this.spec)})`;
  }
}

class SearchCommand extends ModelCommand {
  constructor(readonly spec: SearchSpec) {
    super();
  }

  protected async exec(m: Model, t: TestApp): Promise<void> {
    const { spec } = this;
    const f = spec.filter.filter;
    const params = filterParams(spec.filter);
    if (spec.sort !== undefined) params.push(['sort', spec.sort]);
    if (spec.size !== undefined) params.push(['size', String(spec.size)]);
    let first = spec.page === undefined ? params : [...params, ['page', String(spec.page)] as [string, string]];
    if (spec.misuse !== null) {
      const replaced = new Set(SEARCH_MISUSES[spec.misuse].map(([k]) => k));
      first = [...first.filter(([k]) => !replaced.has(k)), ...SEARCH_MISUSES[spec.misuse]];
    }
    const url = `/payments/search${query(first)}`;
    const res = await call(t, 'GET', url);
    if (invalidRange(f) || spec.misuse !== null) {
      matchAnswer(`GET ${url}`, problem(400, 'validation-failed'), res);
      seen('search 400');
      return;
    }
    const sorted = modelSorted(m, f, spec.sort ?? '-createdAt');
    const size = spec.size ?? 20;
    let answer = res;
    let where = `GET ${url}`;
    // with walk, follow nextCursor to the end; every page is the next slice of the sorted list
    for (let page = spec.page ?? 0; ; page++) {
      matchAnswer(where, { status: 200 }, answer);
      const items = field(answer.body, 'items');
      const want = sorted.slice(page * size, (page + 1) * size);
      if (!Array.isArray(items) || items.length !== want.length) {
        throw new Mismatch(`${where}: items`, want.map((p) => p.paymentId), Array.isArray(items) ? items.map((p) => field(p, 'paymentId')) : answer.body);
      }
      items.forEach((item, i) => matchPayment(`${where}: item ${i}`, want[i], item));
      const nextCursor = field(answer.body, 'nextCursor');
      const meta = { total: sorted.length, page, size, hasNext: (page + 1) * size < sorted.length };
      const gotMeta = {
        total: field(answer.body, 'total'),
        page: field(answer.body, 'page'),
        size: field(answer.body, 'size'),
        hasNext: typeof nextCursor === 'string' && nextCursor.length > 0 ? true : nextCursor === null ? false : nextCursor,
      };
      if (!isDeepStrictEqual(meta, gotMeta)) throw new Mismatch(`${where}: page`, meta, gotMeta);
      seen(spec.walk ? 'search page (walk)' : 'search page');
      const tie = (p: ModelPayment, i: number) => i > 0 && sortKey(p, spec.sort ?? '-createdAt') === sortKey(want[i - 1], spec.sort ?? '-createdAt');
      if (want.some(tie)) seen('search page with ties');
      // equal keys and equal paymentIds: only organizationId orders them
      if (want.some((p, i) => tie(p, i) && p.paymentId === want[i - 1].paymentId)) seen('search page with ties on paymentId');
      if (!spec.walk || typeof nextCursor !== 'string') break;
      const next = `/payments/search${query([...params, ['cursor', nextCursor]])}`;
      where = `GET ${next} (page ${page + 1} of the walk from ${url})`;
      answer = await call(t, 'GET', next);
    }
  }

  toString(): string {
    return `search(${JSON.stringify(this.spec)})`;
  }
}

class StatsCommand extends ModelCommand {
  constructor(readonly spec: StatsSpec) {
    super();
  }

  protected async exec(m: Model, t: TestApp): Promise<void> {
    const f = this.spec.filter.filter;
    const params = filterParams(this.spec.filter);
    if (this.spec.interval !== undefined) params.push(['interval', this.spec.interval]);
    const url = `/payments/stats${query(params)}`;
    const res = await call(t, 'GET', url);
    const needsBounds = this.spec.interval !== undefined && (f.from === undefined || f.to === undefined);
    if (invalidRange(f) || needsBounds) {
      matchAnswer(`GET ${url}`, problem(400, 'validation-failed'), res);
      seen('stats 400');
      return;
    }
    matchAnswer(`GET ${url}`, { status: 200 }, res);
    const want = modelStats(m, f, this.spec.interval);
    if (!isDeepStrictEqual(want, res.body)) throw new Mismatch(`GET ${url}`, want, res.body);
    seen(this.spec.interval ? `stats series (${this.spec.interval})` : 'stats');
  }

  toString(): string {
    return `stats(${JSON.stringify(this.spec)})`;
  }
}

const createArb = createSpecArb.map((s) => new CreateCommand(s));
const eventArb = eventSpecArb.map((s) => new EventCommand(s));
const allCommands: fc.Arbitrary<ModelCommand>[] = [
  createArb,
  createArb,
  createArb,
  fc.array(createSpecArb, { minLength: 1, maxLength: 5 }).map((s) => new BulkCommand(s)),
  eventArb,
  eventArb,
  eventArb,
  eventArb,
  fc
    .record({
      paymentId: fc.constantFrom(...PAYMENT_IDS),
      target: fc.record({ existing: fc.constantFrom(true, true, true, false), pick: fc.nat(63) }),
      addressing: addressingArb,
    })
    .map((s) => new GetCommand(s)),
  searchSpecArb.map((s) => new SearchCommand(s)),
  searchSpecArb.map((s) => new SearchCommand(s)),
  statsSpecArb.map((s) => new StatsCommand(s)),
  statsSpecArb.map((s) => new StatsCommand(s)),
];

describe('the service against a reference model of the contract', () => {
  it(
    'answers every random sequence of writes, searches and stats exactly like the model',
    async () => {
      await fc.assert(
        fc.asyncProperty(fc.commands(allCommands, { maxCommands: MAX_COMMANDS, size: 'max' }), async (cmds) => {
          tally.sequences += 1;
          // a fresh app per sequence: no run sees another's payments (boots in ~30 ms)
          const t = await startTestApp({ maxEventLoopDelayMs: 0 });
          try {
            await fc.asyncModelRun(() => ({ model: new Model(), real: t }), cmds);
          } finally {
            await t.close();
          }
        }),
        { numRuns: NUM_RUNS, seed: SEED },
      );
    },
    // a guard against a hang, not a budget: half a minute alone, several times that on CI's loaded cores
    600_000,
  );

  it('reports the figures of the run, with no mismatch, and reaches every interesting outcome', () => {
    console.log(
      `model-based test (seed ${SEED}): ${tally.sequences} sequences, ${tally.commands} commands, ` +
        `${tally.requests} requests, ${tally.mismatches} mismatches\n` +
        `outcomes: ${JSON.stringify(tally.outcomes, Object.keys(tally.outcomes).sort())}`,
    );
    expect(tally.mismatches).toBe(0);
    expect(tally.sequences).toBeGreaterThanOrEqual(NUM_RUNS);
    const required = [
      'create 201',
      'create 200',
      'create 409',
      'create 400',
      'create 201 id of another organization',
      'create 200 id of another organization',
      'create 409 id of another organization',
      'bulk item 201',
      'bulk item 201 id of another organization',
      'bulk item 200',
      'bulk item 409',
      'event 200',
      'event 200 redelivered',
      'event 200 named',
      'event 404',
      'event 404 of another organization',
      'event 409 ambiguous',
      'event 409',
      'event 422',
      'event 422 nothing left',
      'event 400',
      'search page (walk)',
      'search page with ties',
      'search page with ties on paymentId',
      'get 200',
      'get 200 named',
      'get 404',
      'get 404 of another organization',
      'get 409 ambiguous',
      'search 400',
      'stats series (day)',
      'stats 400',
    ];
    expect(required.filter((outcome) => (tally.outcomes[outcome] ?? 0) === 0)).toEqual([]);
  });
});
