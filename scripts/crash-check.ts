/**
 * Crash-durability check of the PostgreSQL mode: the service runs as a real process (the way
 * `npm start` runs it), takes a concurrent write load, is killed with SIGKILL in the middle
 * of it, restarts on the same database, and every answer the clients got is checked against
 * what survived, through the HTTP API and directly in SQL.
 *
 * The model. A payment is (organizationId, paymentId): paymentIds are unique per organization,
 * so the same paymentId in another organization is another payment (a create of it is a 201,
 * and both must survive the kills), and event ids are deduplicated per payment of an
 * organization. Every read and event names the payment's organization (`?organizationId=`).
 * Writes to one payment are issued one at a time (a payment is locked while a
 * request on it is in flight), except in deliberate races (two identical creates of one
 * new id; creates of one new id in two organizations; three refunds on one payment of which
 * exactly two fit). So every answer is
 * predictable from the last acknowledged state: its status code (201/200/400/404/409/422) and
 * its body are checked as the load runs. A request that gets no answer (the kill) makes its
 * payment "uncertain" for the rest of the round: after the restart its stored state must be
 * either the last acknowledged one, or that state with the in-flight request applied, and
 * nothing else. Then the stored state becomes the baseline of the next round.
 *
 * Checked after every restart:
 * - lost = 0: every acknowledged payment is stored with exactly the fields of its latest
 *   acknowledged answer (deep equality, metadata key order free), or with a later version
 *   that only a request in flight at the kill can explain (exactly that request applied);
 * - refused writes left no trace: a 400 create is absent (in every organization; reserved
 *   paymentIds too), a 409 re-create changed nothing, a 422 refund moved no money and recorded
 *   no event id, a 404 event (an unknown id, or an id known only in other organizations)
 *   created nothing and touched no other organization's payment;
 * - no (organizationId, paymentId) the clients never sent (or only sent in a refused create) is stored;
 * - the applied-event table agrees with the payments: every acknowledged event id is recorded
 *   (else a redelivery would apply twice), none of a refused request is, and an in-flight
 *   event is recorded if and only if its payment change was committed (one transaction);
 * - GET /payments/:id?organizationId= and the SQL row agree field by field; /admin/store counts
 *   the rows; GET /payments/:id without organizationId is the only organization's payment, a 409
 *   PAYMENT_ID_AMBIGUOUS when several organizations have that paymentId, a 404 when none has;
 * - in later rounds, redelivered event ids (acknowledged before a kill) change nothing.
 *
 * Run from jest (test/crash.pg-spec.ts), or on its own:
 *   npx ts-node --transpile-only scripts/crash-check.ts
 * which makes a database of its own on TEST_PG_URL's server (default
 * postgres://postgres@127.0.0.1:5432/test) and drops it at the end. Environment: ROUNDS (3),
 * CLIENTS (32), SEED, KILL_AFTER_WRITES (the kill comes when this many writes of the round are
 * answered; default seeded random in 2000-2800 per round), CRASH_UNSAFE_TEXT=1 to
 * put lone UTF-16 surrogates in some texts and event ids: valid JSON (`\ud800`) the service
 * accepts and acknowledges as sent, but PostgreSQL text stores U+FFFD instead, so this mode
 * reports "lost" writes as long as the service does not refuse such strings with a 400.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { Client } from 'pg';
import { mulberry32 } from '../bench/dataset';
import type { Payment } from '../test/e2e-helpers';

const ROOT = join(__dirname, '..');
const MAX_AMOUNT = 99_999_999_999;

// ---------------------------------------------------------------------------------------
// The service as a child process

const children = new Set<ChildProcess>();

/** Kills (SIGKILL, by pid) every service process this module started that is still running. */
export function killStrayServices(): void {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class ServiceProcess {
  #output = '';
  readonly exited: Promise<void>;

  private constructor(
    readonly child: ChildProcess,
    readonly port: number,
  ) {
    const keep = (chunk: Buffer) => {
      this.#output = (this.#output + chunk.toString('utf8')).slice(-20_000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
  }

  /** The last 20 kB the process wrote (shown when it fails). */
  get output(): string {
    return this.#output;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /**
   * Starts src/main.ts on a free port with DATABASE_URL and waits for /health/ready = 200
   * (`readyTimeoutMs` only guards against a service that never gets there).
   */
  static async start(databaseUrl: string, logLevel: string, readyTimeoutMs = 120_000): Promise<ServiceProcess> {
    const port = await freePort();
    const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', 'src/main.ts'], {
      cwd: ROOT,
      // MAX_EVENT_LOOP_DELAY_MS=0: shedding by event-loop delay measures how loaded the machine
      // is; a 503 from it is not what this check is about (it would report it as unexpected)
      env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: String(port), LOG_LEVEL: logLevel, DATABASE_URL: databaseUrl, MAX_EVENT_LOOP_DELAY_MS: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.add(child);
    child.once('exit', () => children.delete(child));
    const service = new ServiceProcess(child, port);
    const deadline = Date.now() + readyTimeoutMs;
    for (;;) {
      if (!service.running) throw new Error(`the service exited before it was ready:\n${service.output}`);
      const answer = await call(undefined, port, 'GET', '/health/ready', undefined, 2000);
      if (answer.status === 200) return service;
      if (Date.now() > deadline) {
        service.kill9();
        throw new Error(`the service was not ready within ${readyTimeoutMs} ms:\n${service.output}`);
      }
      await sleep(50);
    }
  }

  /** kill -9: no handler runs, nothing is flushed. */
  kill9(): void {
    if (this.running && this.child.pid !== undefined) process.kill(this.child.pid, 'SIGKILL');
  }

  /** SIGTERM (drain and exit 0), SIGKILL if it takes longer than `graceMs`. */
  async stop(graceMs = 10_000): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.kill9(), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}

// ---------------------------------------------------------------------------------------
// HTTP

/** status 0: no answer (connection refused or reset, timeout, truncated body). */
export type Outcome = { status: number; body: unknown; error?: undefined } | { status: 0; body?: undefined; error: string };

export function call(
  agent: http.Agent | undefined,
  port: number,
  method: string,
  path: string,
  body?: unknown,
  timeoutMs = 20_000,
): Promise<Outcome> {
  return new Promise((resolve) => {
    let settled = false;
    const done = (outcome: Outcome) => {
      if (!settled) {
        settled = true;
        resolve(outcome);
      }
    };
    const payload = body === undefined ? undefined : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body), 'utf8');
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        agent: agent ?? false,
        headers: payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {},
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('aborted', () => done({ status: 0, error: 'response aborted' }));
        res.on('error', (e) => done({ status: 0, error: `response: ${(e as NodeJS.ErrnoException).code ?? e.message}` }));
        res.on('end', () => {
          if (!res.complete) return done({ status: 0, error: 'response incomplete' });
          const text = Buffer.concat(chunks).toString('utf8');
          try {
            done({ status: res.statusCode ?? 0, body: text === '' ? undefined : JSON.parse(text) });
          } catch {
            done({ status: 0, error: `unparseable body (${res.statusCode}): ${text.slice(0, 100)}` });
          }
        });
      },
    );
    req.setTimeout(timeoutMs, () => req.destroy(new Error('timeout')));
    req.on('error', (e) => done({ status: 0, error: (e as NodeJS.ErrnoException).code ?? e.message }));
    req.end(payload);
  });
}

// ---------------------------------------------------------------------------------------
// Payments, expectations and comparison

type Body = Record<string, unknown>;
/** An expected payment: ANY_TIME where the server chose the time (its clock). */
type Expected = Record<string, unknown>;

const ANY_TIME = '<any ISO time>';
const ISO_UTC = /^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z$/;
const PAYMENT_KEYS = [
  'paymentId', 'organizationId', 'userId', 'amount', 'currency', 'status', 'description', 'metadata',
  'refundedAmount', 'error', 'createdAt', 'updatedAt', 'completedAt', 'failedAt', 'refundedAt', 'version',
];

/** The canonical UTC form the service stores (the same as its normalizeIsoTime, derived independently). */
const norm = (time: string): string => new Date(Date.parse(time)).toISOString();

/** Fields of `actual` that differ from `expected` (key order of metadata does not matter). */
function differences(actual: unknown, expected: Expected): string[] {
  if (actual === null || typeof actual !== 'object') return ['(not an object)'];
  const a = actual as Record<string, unknown>;
  const keys = new Set([...Object.keys(a), ...Object.keys(expected)]);
  const diff: string[] = [];
  for (const k of keys) {
    const e = expected[k];
    if (e === ANY_TIME ? !(typeof a[k] === 'string' && ISO_UTC.test(a[k] as string)) : !isDeepStrictEqual(a[k], e)) {
      diff.push(`${k}: ${show(a[k])} (expected ${show(e)})`);
    }
  }
  return diff;
}

const show = (v: unknown): string => {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
};

function isPayment(v: unknown): v is Payment {
  return v !== null && typeof v === 'object' && PAYMENT_KEYS.every((k) => k in (v as object));
}

function expectedCreated(body: Body): Expected {
  return {
    paymentId: body.paymentId,
    organizationId: body.organizationId,
    userId: body.userId,
    amount: body.amount,
    currency: body.currency,
    status: 'pending',
    description: body.description ?? null,
    metadata: body.metadata ?? {},
    refundedAmount: 0,
    error: null,
    createdAt: typeof body.createdAt === 'string' ? norm(body.createdAt) : ANY_TIME,
    updatedAt: ANY_TIME,
    completedAt: null,
    failedAt: null,
    refundedAt: null,
    version: 1,
  };
}

/** The payment after an event the state machine accepts (what the answer and the row must be). */
function afterEvent(p: Payment, event: Body): Expected {
  const at = typeof event.occurredAt === 'string' ? norm(event.occurredAt) : ANY_TIME;
  const data = (event.data ?? {}) as { error?: string; refundAmount?: number };
  const next: Expected = { ...p, updatedAt: ANY_TIME, version: p.version + 1 };
  switch (event.type) {
    case 'PaymentProcessed':
      return { ...next, status: 'completed', completedAt: at };
    case 'PaymentFailed':
      return { ...next, status: 'failed', error: data.error, failedAt: at };
    default: {
      const refund = data.refundAmount ?? p.amount - p.refundedAmount;
      return { ...next, status: 'refunded', refundedAmount: p.refundedAmount + refund, refundedAt: at };
    }
  }
}

// ---------------------------------------------------------------------------------------
// Generators (seeded: the sequence of operations of each client is the same on every run)


type Rng = () => number;
const pick = <T>(rng: Rng, items: readonly T[]): T => items[Math.floor(rng() * items.length)];
const int = (rng: Rng, min: number, max: number): number => min + Math.floor(rng() * (max - min + 1));

const ORGS = ['org-a', 'org-b', 'org-c', 'org-ü', '組織-1', `org-${'x'.repeat(60)}`];
const CURRENCIES = ['EUR', 'USD', 'JPY', 'GBP', 'CHF', 'BHD', 'KWD', 'SEK'];
const TEXTS = [
  'Test payment',
  '',
  'Zahlung für Bestellung #42 — “quoted” \\ backslash \'single\'',
  'emoji 😀🎉 and combining e\u0301 and ZWJ 👩‍👩‍👧',
  'RTL עברית العربية',
  'newline\nand\ttab\r\n',
  '\u2028\u2029 line separators',
  '{"not": "json", "a": [1, 2]}',
  '<script>alert(1)</script> & %s %d ${x}',
  'x'.repeat(1000),
  '😀'.repeat(1000), // 2000 UTF-16 units, 1000 characters for the validator
];
/** Lone surrogates: valid JSON (as \ud800 escapes), valid UTF-16 for JavaScript, not Unicode. */
const UNSAFE_TEXTS = ['lone high \ud800 surrogate', 'lone low \udfff surrogate'];
const META_KEYS = ['source', 'order_id', 'ключ', '鍵', 'emoji😀', 'with space', 'a.b', '$dollar', 'toString', 'x'.repeat(40)];
const META_VALUES = ['', 'v', 'значение 😀', '"quotes" \\ and \n', 'x'.repeat(500), '0', 'null', 'true'];
const VALID_TIMES = [
  '2026-03-01T12:00:00.000Z',
  '2024-02-29T23:59:59.999Z',
  '1999-12-31T23:59:59.5Z',
  '2000-01-01',
  '2026-03-01T12:00+05:30',
  '2026-03-01T12:00:00.123456789-08:00',
  '1970-01-01T00:00:00Z',
  '1969-12-31T23:59:59.999Z',
  '0001-01-01T00:00:00.000Z',
  '0000-03-01T12:34:56.789Z',
];

function genTime(rng: Rng): string {
  const r = rng();
  if (r < 0.5) return pick(rng, VALID_TIMES);
  if (r < 0.9) return new Date(Date.now() - Math.floor(rng() * 5e10)).toISOString();
  return new Date(Date.now() + 60_000).toISOString(); // in the future, within the 5 minutes allowed
}

function genText(rng: Rng, unsafe: boolean): string {
  return unsafe && rng() < 0.1 ? pick(rng, UNSAFE_TEXTS) : pick(rng, TEXTS);
}

function genMetadata(rng: Rng): Record<string, string> {
  const n = rng() < 0.05 ? 50 : int(rng, 0, 5);
  const m: Record<string, string> = {};
  for (let i = 0; i < n; i++) m[i < META_KEYS.length && rng() < 0.7 ? META_KEYS[i] : `k${i}`] = pick(rng, META_VALUES);
  return m;
}

function genAmount(rng: Rng): number {
  const r = rng();
  if (r < 0.15) return pick(rng, [1, 2, 3, 4, 5, 99, 100, 2 ** 31 - 1, 2 ** 31, 2 ** 32 + 1, MAX_AMOUNT - 1, MAX_AMOUNT]);
  if (r < 0.6) return int(rng, 1, 10_000);
  return int(rng, 1, 1_000_000_000);
}

function genPaymentId(rng: Rng, tag: string): string {
  switch (int(rng, 0, 3)) {
    case 0:
      return `pay-${tag}`;
    case 1:
      return `P_${tag}.x:y`;
    case 2:
      return `id-${tag}-`.padEnd(64, 'z');
    default:
      return `${tag}`;
  }
}

function genCreate(rng: Rng, paymentId: string, unsafe: boolean): Body {
  const body: Body = {
    paymentId,
    organizationId: pick(rng, ORGS),
    userId: rng() < 0.8 ? `user-${int(rng, 1, 200)}` : pick(rng, ['ユーザー', 'user ü', 'u'.repeat(64)]),
    amount: genAmount(rng),
    currency: pick(rng, CURRENCIES),
  };
  const d = rng();
  if (d < 0.6) body.description = genText(rng, unsafe);
  else if (d < 0.7) body.description = null;
  const m = rng();
  if (m < 0.6) body.metadata = genMetadata(rng);
  else if (m < 0.65) body.metadata = null;
  if (rng() < 0.6) body.createdAt = genTime(rng);
  return body;
}

/** paymentIds that name routes or path segments: a create with one is a 400 (never GET: they are routes). */
const RESERVED_IDS = ['search', 'stats', 'bulk', '.', '..'];

/** A create that must be refused with 400 (one defect each). */
function genInvalidCreate(rng: Rng, paymentId: string): Body {
  const base: Body = { paymentId, organizationId: 'org-a', userId: 'u', amount: 100, currency: 'EUR' };
  const defects: Body[] = [
    { amount: 0 },
    { amount: -5 },
    { amount: 1.5 },
    { amount: MAX_AMOUNT + 1 },
    { amount: '100' },
    { currency: 'eur' },
    { currency: 'XXXX' },
    { userId: '' },
    { organizationId: 'o'.repeat(65) },
    { status: 'completed' },
    { version: 7 },
    { refundedAmount: 0 },
    { metadata: Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, 'v'])) },
    { metadata: { k: 'x'.repeat(501) } },
    { metadata: { k: { nested: 'object' } } },
    { metadata: { '': 'empty key' } },
    { metadata: ['not', 'an', 'object'] },
    { description: 'x'.repeat(1001) },
    { createdAt: '2026-02-30T00:00:00Z' },
    { createdAt: '2026-03-01T12:00:00' },
    { createdAt: new Date(Date.now() + 86_400_000).toISOString() },
  ];
  const defect = pick(rng, defects);
  const body = { ...base, ...defect };
  if (rng() < 0.1) delete body.userId; // a required field absent
  return body;
}

// ---------------------------------------------------------------------------------------
// The model

/** A request in flight at the kill, or several of one race. */
type InFlight =
  | { kind: 'create' } // the create of a payment never acknowledged
  | { kind: 'inert'; what: string } // a replay, a conflict, a refusal: may change nothing
  | { kind: 'event'; eventId?: string; body: Body; expected: Expected }
  | { kind: 'race'; base: Payment; x: number; eventIds: string[]; occurredAt: string; applied: number; unknown: number };

interface Tracked {
  /** paymentId; the payment is (org, id). */
  id: string;
  org: string;
  /** keyOf(org, id): its key in Load.payments. */
  key: string;
  /** id@org, in reports. */
  name: string;
  /** The create body (the valid one; a 409 re-create differs from it). */
  body: Body;
  /** The latest state acknowledged (or verified after a restart): certain while no request is in flight. */
  known?: Payment;
  busy: boolean;
  /** A request on it got no answer this round: no more requests until verified. */
  inFlight?: InFlight;
  /** Event ids applied to it, with their bodies (redelivered later: must change nothing). */
  applied: { eventId: string; body: Body }[];
  /** Every event id ever sent for it (a new event never reuses one by accident). */
  sentEventIds: Set<string>;
}

interface RoundStats {
  round: number;
  acknowledged: number;
  refused: number;
  unknown: number;
  refusedByStatus: Record<string, number>;
  /** The kill came as the round's killAfterWrites-th write was answered. */
  killAfterWrites: number;
  /** How long the load had run then (shown, never judged: it is how fast the machine is). */
  killedAtMs: number;
  inFlightAtKill: number;
  checked: number;
  lost: number;
}

export interface CrashCheckOptions {
  /** An empty database or schema (the url may carry options=-c search_path=...). */
  databaseUrl: string;
  rounds?: number;
  clients?: number;
  seed?: number;
  /**
   * Kill as this many writes of the round are answered (acknowledged or refused), at once, with
   * the other clients' requests in flight: a slow, cold or shared machine gets the same load,
   * only over a longer time. Default: seeded random in 2000-2800 per round.
   */
  killAfterWrites?: number;
  /** Guard: a load that has not got there after this long is killed anyway and reported; default 120 s. */
  maxLoadMs?: number;
  logLevel?: string;
  /** Put lone UTF-16 surrogates in some texts (the service mangles them: see the report). */
  unsafeText?: boolean;
}

export interface CrashCheckResult {
  rounds: RoundStats[];
  acknowledged: number;
  refused: number;
  unknown: number;
  checked: number;
  /** Acknowledged writes not found as acknowledged (or explained by an in-flight request). */
  lost: string[];
  /** Every other broken invariant (traces of refused writes, phantom ids, SQL vs HTTP...). */
  problems: string[];
  /** Answers during the load that the contract does not allow (wrong status or body, 5xx). */
  unexpected: string[];
  ms: number;
  summary: string;
}

/** A payment's identity: paymentIds are unique per organization. */
const keyOf = (organizationId: string, paymentId: string) => `${organizationId}\u0000${paymentId}`;
const eventKey = (organizationId: string, paymentId: string, eventId: string) => `${organizationId}\u0000${paymentId}\u0000${eventId}`;
const nameOf = (organizationId: string, paymentId: string) => `${paymentId}@${organizationId}`;
/** The URL of one payment of one organization (GET, or its events with suffix '/events'). */
const paymentPath = (organizationId: string, paymentId: string, suffix = '') =>
  `/payments/${encodeURIComponent(paymentId)}${suffix}?organizationId=${encodeURIComponent(organizationId)}`;
const track = (organizationId: string, id: string, body: Body): Tracked => ({
  id,
  org: organizationId,
  key: keyOf(organizationId, id),
  name: nameOf(organizationId, id),
  body,
  busy: true,
  applied: [],
  sentEventIds: new Set(),
});

class Load {
  /** By keyOf(organizationId, paymentId). */
  readonly payments = new Map<string, Tracked>();
  /** Keys of idle payments with a known state, free for the next request. */
  idle: string[] = [];
  /** Payments (by key) that must never be stored: events on unknown payments, unresolved creates found absent. */
  readonly mustBeAbsent = new Map<string, { org: string; id: string }>();
  /** paymentIds no organization may hold: refused creates (reserved ids too), events on ids no one has. */
  readonly absentIds = new Set<string>();
  /** (organizationId, paymentId, eventId) acknowledged as applied: must be in payment_events. */
  readonly appliedEvents = new Set<string>();
  /** (organizationId, paymentId, eventId) of requests acknowledged or in flight: payment_events may only hold these. */
  readonly possibleEvents = new Set<string>();
  readonly unexpected: string[] = [];
  stats!: RoundStats;
  stop = false;
  agent!: http.Agent;
  port = 0;
  round = 0;
  inFlightRequests = 0;
  /** The round's kill: run synchronously as the `writes`-th answer of the round is counted. */
  killAt: { writes: number; kill: () => void } | undefined;

  constructor(private readonly unsafe: boolean) {}

  pickIdle(rng: Rng): Tracked | undefined {
    if (this.idle.length === 0) return undefined;
    const i = Math.floor(rng() * this.idle.length);
    const key = this.idle[i];
    this.idle[i] = this.idle[this.idle.length - 1];
    this.idle.pop();
    const p = this.payments.get(key) as Tracked;
    p.busy = true;
    return p;
  }

  release(p: Tracked): void {
    p.busy = false;
    if (p.inFlight === undefined && p.known !== undefined) this.idle.push(p.key);
  }

  async send(method: string, path: string, body: unknown): Promise<Outcome> {
    this.inFlightRequests++;
    const outcome = await call(this.agent, this.port, method, path, body);
    this.inFlightRequests--;
    if (outcome.status >= 200 && outcome.status < 300) this.stats.acknowledged++;
    else if (outcome.status >= 400 && outcome.status < 500) {
      this.stats.refused++;
      this.stats.refusedByStatus[outcome.status] = (this.stats.refusedByStatus[outcome.status] ?? 0) + 1;
    } else {
      this.stats.unknown++;
      // no answer is what the kill does; a 5xx under this load is a fault of its own
      if (outcome.status >= 500) this.note(`${method} ${path}: ${outcome.status} ${show(outcome.body)}`);
      else if (!this.stop) this.note(`${method} ${path}: no answer before the kill (${outcome.error})`);
    }
    if (!this.stop && this.killAt !== undefined && this.stats.acknowledged + this.stats.refused >= this.killAt.writes) this.killAt.kill();
    return outcome;
  }

  note(message: string): void {
    if (this.unexpected.length < 200) this.unexpected.push(`round ${this.round}: ${message}`);
  }

  /** The answer had a status; was it the expected one? */
  expectStatus(outcome: Outcome, expected: number, what: string): boolean {
    if (outcome.status === 0 || outcome.status >= 500) return false;
    if (outcome.status !== expected) {
      this.note(`${what}: expected ${expected}, got ${outcome.status} ${show(outcome.body)}`);
      return false;
    }
    return true;
  }

  /** A 2xx answer: the payment as the service says it is now. */
  adopt(p: Tracked, outcome: Outcome, what: string): void {
    if (outcome.status < 200 || outcome.status >= 300) return;
    if (!isPayment(outcome.body)) {
      this.note(`${what}: a ${outcome.status} without a payment: ${show(outcome.body)}`);
      return;
    }
    if (outcome.body.paymentId !== p.id || outcome.body.organizationId !== p.org) {
      this.note(`${what}: answered for ${nameOf(outcome.body.organizationId, outcome.body.paymentId)}`);
    }
    if (p.known === undefined || outcome.body.version >= p.known.version) p.known = outcome.body;
  }

  checkBody(outcome: Outcome, expected: Expected, what: string): void {
    if (outcome.status < 200 || outcome.status >= 300) return;
    const diff = differences(outcome.body, expected);
    if (diff.length > 0) this.note(`${what}: wrong answer: ${diff.join('; ')}`);
  }

  // -- operations -------------------------------------------------------------------------

  async step(rng: Rng, tag: string): Promise<void> {
    const r = rng();
    if (r < 0.3 || this.idle.length === 0) return this.create(rng, tag);
    if (r < 0.33) return this.invalidCreate(rng, tag);
    if (r < 0.34) return this.ghostEvent(rng, tag);
    if (r < 0.35) return this.racingCreates(rng, tag);
    const p = this.pickIdle(rng) as Tracked;
    try {
      const k = p.known as Payment;
      const remaining = k.amount - k.refundedAmount;
      const refundable = k.status === 'completed' || k.status === 'refunded';
      if (r < 0.37 && refundable && remaining >= 4) return await this.racingRefunds(p, rng, tag);
      if (r < 0.4) return await this.replay(p);
      if (r < 0.43) return await this.conflict(p, rng);
      if (r < 0.46 && p.applied.length > 0) return await this.redeliver(p, rng);
      if (r < 0.49 && refundable && remaining + 1 <= MAX_AMOUNT) return await this.overRefund(p, rng, tag);
      if (r < 0.51) return await this.invalidTransition(p, rng, tag);
      if (r < 0.525) return await this.invalidEvent(p, rng);
      if (r < 0.55) return await this.otherOrganization(p, rng);
      if (k.status === 'pending' || (refundable && remaining > 0)) return await this.lifecycle(p, rng, tag);
      return await this.invalidTransition(p, rng, tag);
    } finally {
      this.release(p);
    }
  }

  /** Organizations where paymentId `id` is free: neither tracked nor bound to stay absent (never reused). */
  freeOrganizations(id: string, except?: string): string[] {
    return ORGS.filter((o) => o !== except && !this.payments.has(keyOf(o, id)) && !this.mustBeAbsent.has(keyOf(o, id)));
  }

  /** A new payment, tracked before it is sent (its key is taken: no other request reuses it). */
  newPayment(body: Body): Tracked {
    const p = track(body.organizationId as string, body.paymentId as string, body);
    this.payments.set(p.key, p);
    return p;
  }

  /** The create of a new payment: 201 with it, as sent. */
  async sendCreate(p: Tracked, what: string): Promise<void> {
    const outcome = await this.send('POST', '/payments', p.body);
    if (outcome.status === 0 || outcome.status >= 500) p.inFlight = { kind: 'create' };
    else if (this.expectStatus(outcome, 201, `${what} ${p.name}`)) {
      this.checkBody(outcome, expectedCreated(p.body), `${what} ${p.name}`);
      const answer = outcome.body as Payment;
      if (p.body.createdAt === undefined && answer.createdAt !== answer.updatedAt) this.note(`${what} ${p.name}: createdAt differs from updatedAt`);
      this.adopt(p, outcome, `${what} ${p.name}`);
    }
    this.release(p);
  }

  async create(rng: Rng, tag: string): Promise<void> {
    const id = genPaymentId(rng, tag);
    await this.sendCreate(this.newPayment(genCreate(rng, id, this.unsafe)), 'create');
  }

  /**
   * The paymentId of an existing payment, created in another organization (the same fields but
   * the organization, or others): a new payment, 201; the first one must not change (it is
   * held busy meanwhile, so any change to it shows).
   */
  async otherOrganization(p: Tracked, rng: Rng): Promise<void> {
    const free = this.freeOrganizations(p.id, p.org);
    if (free.length === 0) return this.replay(p);
    const org = pick(rng, free);
    const body = rng() < 0.5 ? { ...p.body, organizationId: org } : { ...genCreate(rng, p.id, this.unsafe), organizationId: org };
    await this.sendCreate(this.newPayment(body), `create (its paymentId held in ${p.org} too)`);
  }

  async racingCreates(rng: Rng, tag: string): Promise<void> {
    const id = `race-${tag}`;
    const body = genCreate(rng, id, this.unsafe);
    if (rng() < 0.5) {
      // one new paymentId in two organizations at once: two payments, two 201s
      const other = { ...(rng() < 0.5 ? body : genCreate(rng, id, this.unsafe)), organizationId: pick(rng, this.freeOrganizations(id, body.organizationId as string)) };
      await Promise.all([this.sendCreate(this.newPayment(body), 'racing create'), this.sendCreate(this.newPayment(other), 'racing create')]);
      return;
    }
    const p = this.newPayment(body);
    const outcomes = await Promise.all([this.send('POST', '/payments', body), this.send('POST', '/payments', body)]);
    const answered = outcomes.filter((o) => o.status >= 200 && o.status < 300);
    for (const o of outcomes) this.checkBody(o, expectedCreated(body), `racing create ${p.name}`);
    if (answered.length === 2) {
      const statuses = outcomes.map((o) => o.status).sort();
      if (statuses[0] !== 200 || statuses[1] !== 201) this.note(`racing creates ${p.name}: expected 200 and 201, got ${statuses.join(', ')}`);
      if (!isDeepStrictEqual(outcomes[0].body, outcomes[1].body)) this.note(`racing creates ${p.name}: the two answers differ`);
    }
    for (const o of outcomes) if (o.status >= 300 && o.status < 500) this.note(`racing create ${p.name}: ${o.status} ${show(o.body)}`);
    for (const o of answered) this.adopt(p, o, `racing create ${p.name}`);
    if (answered.length < 2 && outcomes.some((o) => o.status === 0 || o.status >= 500)) {
      p.inFlight = answered.length > 0 ? { kind: 'inert', what: 'replay of an acknowledged create' } : { kind: 'create' };
    }
    this.release(p);
  }

  /** A create with one defect, or a reserved paymentId: 400, stored in no organization. */
  async invalidCreate(rng: Rng, tag: string): Promise<void> {
    let body: Body;
    if (rng() < 0.15) body = { ...genCreate(rng, pick(rng, RESERVED_IDS), this.unsafe) };
    else body = genInvalidCreate(rng, `bad-${tag}`);
    this.absentIds.add(body.paymentId as string);
    const outcome = await this.send('POST', '/payments', body);
    this.expectStatus(outcome, 400, `invalid create ${show(body.paymentId)} (${show(body)})`);
  }

  /**
   * An event on a payment that does not exist: a paymentId no one has, or (half the time) one
   * that other organizations have, addressed to an organization that has not: 404, nothing
   * created, and the other organizations' payments unchanged.
   */
  async ghostEvent(rng: Rng, tag: string): Promise<void> {
    let org = pick(rng, ORGS);
    let id = `ghost-${tag}`;
    const held = this.idle.length > 0 && rng() < 0.5 ? this.payments.get(this.idle[Math.floor(rng() * this.idle.length)]) : undefined;
    const free = held ? this.freeOrganizations(held.id) : [];
    if (held !== undefined && free.length > 0) {
      id = held.id;
      org = pick(rng, free);
    } else this.absentIds.add(id);
    this.mustBeAbsent.set(keyOf(org, id), { org, id });
    const outcome = await this.send('POST', paymentPath(org, id, '/events'), { eventId: `ev-${tag}`, type: 'PaymentProcessed' });
    this.expectStatus(outcome, 404, `event on unknown ${nameOf(org, id)}`);
  }

  /** The same body again: 200 with the stored payment, unchanged. */
  async replay(p: Tracked): Promise<void> {
    const outcome = await this.send('POST', '/payments', p.body);
    if (outcome.status === 0 || outcome.status >= 500) p.inFlight = { kind: 'inert', what: 'replay' };
    else if (this.expectStatus(outcome, 200, `replay ${p.name}`)) this.checkBody(outcome, { ...(p.known as Payment) }, `replay ${p.name}`);
  }

  /** The same paymentId in the same organization with other fields: 409 PAYMENT_ID_CONFLICT, nothing changes. */
  async conflict(p: Tracked, rng: Rng): Promise<void> {
    const k = p.known as Payment;
    const changes: Body[] = [
      { amount: k.amount === MAX_AMOUNT ? 1 : k.amount + 1 },
      { currency: k.currency === 'EUR' ? 'USD' : 'EUR' },
      { userId: `${k.userId.slice(0, 50)}-other` },
      { description: k.description === 'Test payment' ? 'Other payment' : 'Test payment' },
      { metadata: Object.keys(k.metadata).length < 50 ? { ...k.metadata, extra: 'key' } : { ...k.metadata, k49: 'changed value' } },
      { createdAt: new Date(Date.parse(k.createdAt) + 1).toISOString() },
    ];
    const outcome = await this.send('POST', '/payments', { ...p.body, ...pick(rng, changes) });
    if (outcome.status === 0 || outcome.status >= 500) p.inFlight = { kind: 'inert', what: 'conflicting re-create' };
    else if (!this.expectStatus(outcome, 409, `conflicting re-create ${p.name}`)) this.adopt(p, outcome, `conflicting re-create ${p.name}`);
    else if ((outcome.body as { type?: unknown } | undefined)?.type !== '/problems/payment-id-conflict') this.note(`conflicting re-create ${p.name}: ${show(outcome.body)}`);
  }

  /** An event id already applied, delivered again: 200 with the payment as it is, no change. */
  async redeliver(p: Tracked, rng: Rng): Promise<void> {
    const { eventId, body } = pick(rng, p.applied);
    const outcome = await this.send('POST', paymentPath(p.org, p.id, '/events'), body);
    if (outcome.status === 0 || outcome.status >= 500) p.inFlight = { kind: 'inert', what: `redelivery of ${eventId}` };
    else if (this.expectStatus(outcome, 200, `redelivery of ${eventId} to ${p.name}`)) {
      this.checkBody(outcome, { ...(p.known as Payment) }, `redelivery of ${eventId} to ${p.name}`);
      this.adopt(p, outcome, `redelivery to ${p.name}`);
    }
  }

  newEventId(p: Tracked, rng: Rng, tag: string): string | undefined {
    const r = rng();
    if (r < 0.15) return undefined;
    let id = r < 0.25 ? `shared-${int(rng, 0, 15)}` : r < 0.3 ? `évènement-${tag}` : r < 0.33 ? `e-${tag}-`.padEnd(64, '0') : `ev-${tag}`;
    if (this.unsafe && rng() < 0.05) id = `lone-\ud800-${tag}`;
    // an event id the payment with this paymentId in another organization has applied: a new
    // event here (event ids are deduplicated per payment of an organization)
    if (rng() < 0.2) id = this.siblingEventId(p, rng) ?? id;
    if (p.sentEventIds.has(id)) id = `ev-${tag}-b`;
    p.sentEventIds.add(id);
    return id;
  }

  /** An event id applied to a payment with p's paymentId in another organization, never sent to p. */
  siblingEventId(p: Tracked, rng: Rng): string | undefined {
    const ids: string[] = [];
    for (const o of ORGS) {
      const sibling = o === p.org ? undefined : this.payments.get(keyOf(o, p.id));
      for (const a of sibling?.applied ?? []) if (!p.sentEventIds.has(a.eventId)) ids.push(a.eventId);
    }
    return ids.length > 0 ? pick(rng, ids) : undefined;
  }

  /** An event the state machine accepts: 200 with the payment after it. */
  async lifecycle(p: Tracked, rng: Rng, tag: string): Promise<void> {
    const k = p.known as Payment;
    const event: Body = {};
    const eventId = this.newEventId(p, rng, tag);
    if (eventId !== undefined) event.eventId = eventId;
    if (k.status === 'pending') {
      if (rng() < 0.7) event.type = 'PaymentProcessed';
      else {
        event.type = 'PaymentFailed';
        event.data = { error: rng() < 0.5 ? 'card_declined' : genText(rng, this.unsafe) || 'e' };
      }
    } else {
      const remaining = k.amount - k.refundedAmount;
      event.type = 'PaymentRefunded';
      const r = rng();
      if (r < 0.1) {
        // no amount: all that remains
      } else if (r < 0.2) event.data = { refundAmount: remaining };
      else if (r < 0.6) event.data = { refundAmount: int(rng, 1, Math.min(remaining, 1000)) };
      else event.data = { refundAmount: int(rng, 1, remaining) };
    }
    if (rng() < 0.8) event.occurredAt = genTime(rng);
    const expected = afterEvent(k, event);
    const what = `${event.type} ${eventId ?? '(no id)'} on ${p.name}`;
    const outcome = await this.send('POST', paymentPath(p.org, p.id, '/events'), event);
    if (outcome.status === 0 || outcome.status >= 500) {
      p.inFlight = { kind: 'event', eventId, body: event, expected };
      if (eventId !== undefined) this.possibleEvents.add(eventKey(p.org, p.id, eventId));
    } else if (this.expectStatus(outcome, 200, what)) {
      this.checkBody(outcome, expected, what);
      this.adopt(p, outcome, what);
      if (eventId !== undefined) {
        p.applied.push({ eventId, body: event });
        this.appliedEvents.add(eventKey(p.org, p.id, eventId));
        this.possibleEvents.add(eventKey(p.org, p.id, eventId));
      }
    }
  }

  /** A refund of one more than remains: 422, no money moves, the event id is not recorded. */
  async overRefund(p: Tracked, rng: Rng, tag: string): Promise<void> {
    const k = p.known as Payment;
    const remaining = k.amount - k.refundedAmount;
    const eventId = this.newEventId(p, rng, tag);
    const event: Body = { type: 'PaymentRefunded', ...(eventId ? { eventId } : {}) };
    // with nothing left, "all that remains" (no amount) is a refund of 0: refused as well
    if (remaining > 0 || rng() < 0.5) event.data = { refundAmount: remaining + 1 };
    const outcome = await this.send('POST', paymentPath(p.org, p.id, '/events'), event);
    if (outcome.status === 0 || outcome.status >= 500) p.inFlight = { kind: 'inert', what: `refund over the amount (${show(event)})` };
    else if (!this.expectStatus(outcome, 422, `refund over the amount on ${p.name} (${show(event)})`)) this.adopt(p, outcome, 'over-refund');
  }

  /** An event its status does not allow: 409, nothing changes. */
  async invalidTransition(p: Tracked, rng: Rng, tag: string): Promise<void> {
    const k = p.known as Payment;
    const eventId = this.newEventId(p, rng, tag);
    const options: Body[] =
      k.status === 'pending'
        ? [{ type: 'PaymentRefunded' }, { type: 'PaymentRefunded', data: { refundAmount: 1 } }]
        : k.status === 'failed'
          ? [{ type: 'PaymentProcessed' }, { type: 'PaymentFailed', data: { error: 'again' } }, { type: 'PaymentRefunded' }]
          : [{ type: 'PaymentProcessed' }, { type: 'PaymentFailed', data: { error: 'late' } }];
    const event = { ...pick(rng, options), ...(eventId ? { eventId } : {}) };
    const outcome = await this.send('POST', paymentPath(p.org, p.id, '/events'), event);
    if (outcome.status === 0 || outcome.status >= 500) p.inFlight = { kind: 'inert', what: `invalid transition ${show(event)}` };
    else if (!this.expectStatus(outcome, 409, `${show(event)} on ${k.status} ${p.name}`)) this.adopt(p, outcome, 'invalid transition');
  }

  /** A malformed event: 400, nothing changes. */
  async invalidEvent(p: Tracked, rng: Rng): Promise<void> {
    const bodies: Body[] = [
      { type: 'PaymentVoided' },
      { type: 'PaymentRefunded', data: { refundAmount: 0 } },
      { type: 'PaymentRefunded', data: { refundAmount: -1 } },
      { type: 'PaymentProcessed', data: { error: 'not allowed here' } },
      { type: 'PaymentFailed' },
      { type: 'PaymentProcessed', status: 'completed' },
      { type: 'PaymentProcessed', occurredAt: 'yesterday' },
      { type: 'PaymentProcessed', eventId: '' },
    ];
    const outcome = await this.send('POST', paymentPath(p.org, p.id, '/events'), pick(rng, bodies));
    if (outcome.status === 0 || outcome.status >= 500) p.inFlight = { kind: 'inert', what: 'malformed event' };
    else if (!this.expectStatus(outcome, 400, `malformed event on ${p.name}`)) this.adopt(p, outcome, 'malformed event');
  }

  /**
   * Three refunds at once on one payment, each of floor(remaining / 3) + 1: exactly two fit,
   * so two 200s (versions +1 and +2) and one 422, whatever the order the commits take.
   */
  async racingRefunds(p: Tracked, rng: Rng, tag: string): Promise<void> {
    const base = p.known as Payment;
    const x = Math.floor((base.amount - base.refundedAmount) / 3) + 1;
    const occurredAt = genTime(rng);
    const eventIds = [0, 1, 2].map((i) => `race-${tag}-${i}`);
    for (const id of eventIds) p.sentEventIds.add(id);
    const events = eventIds.map((eventId) => ({ eventId, type: 'PaymentRefunded', occurredAt, data: { refundAmount: x } }));
    const outcomes = await Promise.all(events.map((e) => this.send('POST', paymentPath(p.org, p.id, '/events'), e)));
    const what = `racing refunds of ${x} on ${p.name} (${base.refundedAmount} of ${base.amount} refunded)`;
    let applied = 0;
    let unknown = 0;
    outcomes.forEach((o, i) => {
      const key = eventKey(p.org, p.id, eventIds[i]);
      if (o.status === 0 || o.status >= 500) {
        unknown++;
        this.possibleEvents.add(key);
      } else if (o.status === 200 && isPayment(o.body)) {
        applied++;
        const n = o.body.version - base.version;
        this.checkBody(o, { ...base, status: 'refunded', refundedAmount: base.refundedAmount + n * x, refundedAt: norm(occurredAt), updatedAt: ANY_TIME, version: base.version + n }, what);
        this.adopt(p, o, what);
        p.applied.push({ eventId: eventIds[i], body: events[i] });
        this.appliedEvents.add(key);
        this.possibleEvents.add(key);
      } else if (o.status !== 422) this.note(`${what}: got ${o.status} ${show(o.body)}`);
    });
    if (unknown > 0) p.inFlight = { kind: 'race', base, x, eventIds, occurredAt: norm(occurredAt), applied, unknown };
    else if (applied !== 2) this.note(`${what}: ${applied} applied, expected exactly 2`);
  }
}

// ---------------------------------------------------------------------------------------
// Verification after a restart

const SQL_PAYMENTS = `
  SELECT payment_id, organization_id, user_id, amount::text AS amount, currency, status, description, metadata,
    refunded_amount::text AS refunded_amount, error, version,
    (extract(epoch FROM created_at) * 1000)::text AS created_at, (extract(epoch FROM updated_at) * 1000)::text AS updated_at,
    (extract(epoch FROM completed_at) * 1000)::text AS completed_at, (extract(epoch FROM failed_at) * 1000)::text AS failed_at,
    (extract(epoch FROM refunded_at) * 1000)::text AS refunded_at
  FROM payments`;

interface SqlRow {
  payment_id: string;
  organization_id: string;
  user_id: string;
  amount: string;
  currency: string;
  status: string;
  description: string | null;
  metadata: Record<string, string>;
  refunded_amount: string;
  error: string | null;
  version: number;
  created_at: string;
  updated_at: string;
  completed_at: string | null;
  failed_at: string | null;
  refunded_at: string | null;
}

const isoOf = (ms: string | null): string | null => (ms === null ? null : new Date(Math.round(Number(ms))).toISOString());

function paymentOfRow(r: SqlRow): Payment {
  return {
    paymentId: r.payment_id,
    organizationId: r.organization_id,
    userId: r.user_id,
    amount: Number(r.amount),
    currency: r.currency,
    status: r.status as Payment['status'],
    description: r.description,
    metadata: r.metadata,
    refundedAmount: Number(r.refunded_amount),
    error: r.error,
    createdAt: isoOf(r.created_at) as string,
    updatedAt: isoOf(r.updated_at) as string,
    completedAt: isoOf(r.completed_at),
    failedAt: isoOf(r.failed_at),
    refundedAt: isoOf(r.refunded_at),
    version: r.version,
  };
}

async function mapLimit<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]);
    }),
  );
}

/** Judges one tracked payment against what is stored; returns [lost, problems]. */
function judge(p: Tracked, stored: Payment | undefined, events: Set<string>): { lost: string[]; problems: string[] } {
  const lost: string[] = [];
  const problems: string[] = [];
  const k = p.known;
  const f = p.inFlight;
  if (k === undefined) {
    if (stored === undefined) return { lost, problems };
    if (f?.kind !== 'create') problems.push(`${p.name}: stored, but its create was neither acknowledged nor in flight`);
    else {
      const diff = differences(stored, expectedCreated(p.body));
      if (diff.length > 0) problems.push(`${p.name}: created by the request in flight, but not as sent: ${diff.join('; ')}`);
    }
    return { lost, problems };
  }
  if (stored === undefined) {
    lost.push(`${p.name}: acknowledged (v${k.version}) but absent`);
    return { lost, problems };
  }
  if (stored.version < k.version) {
    lost.push(`${p.name}: acknowledged v${k.version}, stored v${stored.version}: ${differences(stored, { ...k }).join('; ')}`);
    return { lost, problems };
  }
  if (stored.version === k.version) {
    const diff = differences(stored, { ...k });
    if (diff.length > 0) lost.push(`${p.name}: v${k.version} stored with other fields than acknowledged: ${diff.join('; ')}`);
  } else if (f === undefined || f.kind === 'create' || f.kind === 'inert') {
    problems.push(`${p.name}: stored v${stored.version} is past the acknowledged v${k.version}, and no request in flight could make it (${f ? f.kind + ' ' + ('what' in f ? f.what : '') : 'none'})`);
  } else if (f.kind === 'event') {
    const diff = differences(stored, f.expected);
    if (diff.length > 0) problems.push(`${p.name}: stored v${stored.version} is not v${k.version} with the in-flight event applied: ${diff.join('; ')}`);
  }
  // the event table moves with the payment, in one transaction
  if (f?.kind === 'event' && f.eventId !== undefined) {
    const recorded = events.has(eventKey(p.org, p.id, f.eventId));
    const appliedNow = stored.version > k.version;
    if (recorded !== appliedNow) problems.push(`${p.name}: in-flight event ${f.eventId} ${recorded ? 'recorded' : 'not recorded'} but the payment ${appliedNow ? 'changed' : 'did not change'}`);
  }
  if (f?.kind === 'race') {
    const n = stored.version - f.base.version;
    if (n > f.applied + f.unknown) problems.push(`${p.name}: ${n} racing refunds applied, at most ${f.applied + f.unknown} possible`);
    const expected = n === 0 ? f.base : { ...f.base, status: 'refunded', refundedAmount: f.base.refundedAmount + n * f.x, refundedAt: f.occurredAt, updatedAt: ANY_TIME, version: f.base.version + n };
    const diff = differences(stored, { ...expected });
    if (diff.length > 0) problems.push(`${p.name}: after the racing refunds: ${diff.join('; ')}`);
    const recorded = f.eventIds.filter((e) => events.has(eventKey(p.org, p.id, e))).length;
    if (recorded !== n) problems.push(`${p.name}: ${n} racing refunds applied but ${recorded} of their event ids recorded`);
  }
  return { lost, problems };
}

async function verify(load: Load, service: ServiceProcess, databaseUrl: string): Promise<{ lost: string[]; problems: string[]; checked: number }> {
  const lost: string[] = [];
  const problems: string[] = [];
  const sql = new Client({ connectionString: databaseUrl });
  await sql.connect();
  let rows: SqlRow[];
  let eventRows: { organization_id: string; payment_id: string; event_id: string }[];
  try {
    rows = (await sql.query<SqlRow>(SQL_PAYMENTS)).rows;
    eventRows = (await sql.query<{ organization_id: string; payment_id: string; event_id: string }>('SELECT organization_id, payment_id, event_id FROM payment_events')).rows;
  } finally {
    await sql.end();
  }
  const inSql = new Map(rows.map((r) => [keyOf(r.organization_id, r.payment_id), paymentOfRow(r)]));
  /** paymentId -> its stored payments, one per organization */
  const sqlById = new Map<string, Payment[]>();
  for (const row of inSql.values()) sqlById.set(row.paymentId, [...(sqlById.get(row.paymentId) ?? []), row]);
  const events = new Set(eventRows.map((r) => eventKey(r.organization_id, r.payment_id, r.event_id)));

  // every stored payment was sent in a create that was acknowledged or in flight
  for (const [key, row] of inSql) {
    const p = load.payments.get(key);
    if (p === undefined || (p.known === undefined && p.inFlight?.kind !== 'create')) {
      const why = load.absentIds.has(row.paymentId) ? ' (its create was refused, or it was sent no create)' : load.mustBeAbsent.has(key) ? ' (never created in this organization)' : '';
      problems.push(`${nameOf(row.organizationId, row.paymentId)}: stored, but never acknowledged nor in flight as a create${why}`);
    }
  }
  for (const id of load.absentIds) {
    for (const row of sqlById.get(id) ?? []) problems.push(`${nameOf(row.organizationId, id)}: must not exist in any organization (refused create, or an event on an unknown id), but it is stored`);
  }
  for (const key of events) if (!load.possibleEvents.has(key)) problems.push(`event ${show(key.split('\u0000'))} recorded, but it was refused or never sent`);
  for (const key of load.appliedEvents) if (!events.has(key)) lost.push(`event ${show(key.split('\u0000'))} acknowledged as applied, but not recorded (a redelivery would apply it again)`);

  // over HTTP: every payment ever addressed, in its organization
  const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });
  const viaHttp = new Map<string, Payment | undefined>();
  const addressed = [...[...load.payments.values()].map((p) => ({ org: p.org, id: p.id })), ...load.mustBeAbsent.values()];
  await mapLimit(addressed, 32, async ({ org, id }) => {
    const o = await call(agent, service.port, 'GET', paymentPath(org, id));
    if (o.status === 200 && isPayment(o.body)) viaHttp.set(keyOf(org, id), o.body);
    else if (o.status === 404) viaHttp.set(keyOf(org, id), undefined);
    else problems.push(`GET ${nameOf(org, id)}: ${o.status} ${o.error ?? show(o.body)}`);
  });
  // and every paymentId ever sent (but the reserved ones: they are routes), without organizationId
  const ids = new Set([...addressed.map((a) => a.id), ...load.absentIds].filter((id) => !RESERVED_IDS.includes(id)));
  await mapLimit([...ids], 32, async (id) => {
    const o = await call(agent, service.port, 'GET', `/payments/${encodeURIComponent(id)}`);
    const stored = sqlById.get(id) ?? [];
    const what = `GET ${id} without organizationId (stored in ${stored.length === 0 ? 'no organization' : stored.map((r) => r.organizationId).join(', ')})`;
    if (stored.length === 0 ? o.status !== 404 : stored.length === 1 ? o.status !== 200 || !isDeepStrictEqual(o.body, stored[0]) : o.status !== 409 || (o.body as { type?: unknown } | undefined)?.type !== '/problems/payment-id-ambiguous') {
      problems.push(`${what}: ${o.status} ${o.error ?? show(o.body)}`);
    }
  });
  const info = await call(agent, service.port, 'GET', '/admin/store');
  agent.destroy();
  const storeSize = (info.body as { payments?: number } | undefined)?.payments;
  if (storeSize !== rows.length) problems.push(`/admin/store counts ${storeSize} payments, the table holds ${rows.length}`);

  let checked = 0;
  for (const [key, { org, id }] of load.mustBeAbsent) {
    checked++;
    if (viaHttp.get(key) !== undefined || inSql.has(key)) problems.push(`${nameOf(org, id)}: must not exist (an event on a payment unknown in this organization, or an unresolved create found absent), but it is stored`);
  }
  for (const p of load.payments.values()) {
    if (!viaHttp.has(p.key)) continue; // the GET failed: reported above
    checked++;
    const stored = viaHttp.get(p.key);
    const row = inSql.get(p.key);
    if (!isDeepStrictEqual(stored, row)) {
      problems.push(`${p.name}: HTTP and SQL disagree: ${stored && row ? differences(stored, { ...row }).join('; ') : `${stored ? 'present' : 'absent'} over HTTP, ${row ? 'present' : 'absent'} in SQL`}`);
    }
    const verdict = judge(p, stored, events);
    lost.push(...verdict.lost);
    problems.push(...verdict.problems);

    // the stored state is the baseline of the next round
    if (stored === undefined) {
      if (p.known === undefined) {
        load.payments.delete(p.key);
        load.mustBeAbsent.set(p.key, { org: p.org, id: p.id });
      }
      continue;
    }
    const f = p.inFlight;
    if (f?.kind === 'event' && f.eventId !== undefined && stored.version > (p.known?.version ?? 0)) {
      // the in-flight event was committed: from now on it is one to redeliver
      p.applied.push({ eventId: f.eventId, body: f.body });
      load.appliedEvents.add(eventKey(p.org, p.id, f.eventId));
    }
    if (f?.kind === 'race') {
      f.eventIds.forEach((e) => {
        const key = eventKey(p.org, p.id, e);
        if (!events.has(key) || load.appliedEvents.has(key)) return;
        load.appliedEvents.add(key);
        p.applied.push({ eventId: e, body: { eventId: e, type: 'PaymentRefunded', occurredAt: f.occurredAt, data: { refundAmount: f.x } } });
      });
    }
    p.known = stored;
    p.inFlight = undefined;
    p.busy = false;
  }
  load.idle = [...load.payments.values()].filter((p) => p.known !== undefined).map((p) => p.key);
  return { lost, problems, checked };
}

// ---------------------------------------------------------------------------------------
// The rounds

/** How many paymentIds are known in two organizations or more (that the per-organization case ran). */
function sharedIds(load: Load): number {
  const orgs = new Map<string, number>();
  for (const p of load.payments.values()) if (p.known) orgs.set(p.id, (orgs.get(p.id) ?? 0) + 1);
  return [...orgs.values()].filter((n) => n > 1).length;
}

export async function runCrashCheck(options: CrashCheckOptions): Promise<CrashCheckResult> {
  const started = Date.now();
  const rounds = options.rounds ?? 3;
  const clients = options.clients ?? 32;
  const seed = options.seed ?? 20260301;
  const logLevel = options.logLevel ?? 'warn';
  const load = new Load(options.unsafeText ?? false);
  const lost: string[] = [];
  const problems: string[] = [];
  const stats: RoundStats[] = [];
  const timing = mulberry32(seed);

  let service = await ServiceProcess.start(options.databaseUrl, logLevel);
  try {
    for (let round = 1; round <= rounds; round++) {
      load.round = round;
      load.stop = false;
      load.port = service.port;
      load.agent = new http.Agent({ keepAlive: true, maxSockets: clients * 4 });
      const killAfterWrites = options.killAfterWrites ?? 2000 + Math.floor(timing() * 800);
      load.stats = { round, acknowledged: 0, refused: 0, unknown: 0, refusedByStatus: {}, killAfterWrites, killedAtMs: 0, inFlightAtKill: 0, checked: 0, lost: 0 };
      const loadStarted = Date.now();
      const victim = service;
      const killed = new Promise<void>((resolve) => {
        load.killAt = {
          writes: killAfterWrites,
          kill: () => {
            load.stats.killedAtMs = Date.now() - loadStarted;
            load.stop = true;
            load.stats.inFlightAtKill = load.inFlightRequests;
            victim.kill9();
            resolve();
          },
        };
      });
      const guard = setTimeout(() => {
        load.note(`only ${load.stats.acknowledged + load.stats.refused} of ${killAfterWrites} writes answered after ${options.maxLoadMs ?? 120_000} ms: killed then`);
        load.killAt?.kill();
      }, options.maxLoadMs ?? 120_000);

      const workers = Array.from({ length: clients }, async (_, w) => {
        const rng = mulberry32(seed + round * 7919 + w * 104_729);
        for (let n = 0; !load.stop; n++) await load.step(rng, `${round}-${w}-${n}`);
      });
      await killed;
      clearTimeout(guard);
      load.killAt = undefined;
      await Promise.all(workers);
      await service.exited;
      load.agent.destroy();

      service = await ServiceProcess.start(options.databaseUrl, logLevel);
      const verdict = await verify(load, service, options.databaseUrl);
      load.stats.checked = verdict.checked;
      load.stats.lost = verdict.lost.length;
      lost.push(...verdict.lost.map((l) => `round ${round}: ${l}`));
      problems.push(...verdict.problems.map((p) => `round ${round}: ${p}`));
      stats.push(load.stats);
    }
  } finally {
    await service.stop();
  }

  const sum = (f: (s: RoundStats) => number) => stats.reduce((a, s) => a + f(s), 0);
  const result = {
    rounds: stats,
    acknowledged: sum((s) => s.acknowledged),
    refused: sum((s) => s.refused),
    unknown: sum((s) => s.unknown),
    checked: sum((s) => s.checked),
    lost,
    problems,
    unexpected: load.unexpected,
    ms: Date.now() - started,
  };
  const refusedBy: Record<string, number> = {};
  for (const s of stats) for (const [k, v] of Object.entries(s.refusedByStatus)) refusedBy[k] = (refusedBy[k] ?? 0) + v;
  const summary =
    `crash durability: rounds=${stats.length} acknowledged=${result.acknowledged} refused=${result.refused} ` +
    `(${Object.entries(refusedBy).map(([k, v]) => `${k}:${v}`).join(' ')}) unknown(in flight at kill)=${result.unknown} ` +
    `checked=${result.checked} lost=${lost.length} problems=${problems.length} unexpected=${load.unexpected.length} ` +
    `payments=${[...load.payments.values()].filter((p) => p.known).length} (paymentIds held by several organizations=${sharedIds(load)}) ` +
    `per round [ack/refused/unknown, killed at the Nth answer after ms]=${stats.map((s) => `${s.acknowledged}/${s.refused}/${s.unknown}@${s.killAfterWrites}/${s.killedAtMs}ms`).join(', ')} ` +
    `time=${((Date.now() - started) / 1000).toFixed(1)}s`;
  return { ...result, summary };
}

// ---------------------------------------------------------------------------------------
// On its own: a database of its own, dropped at the end

async function main(): Promise<void> {
  const server = process.env.TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  const name = `crash_check_${process.pid}_${randomBytes(3).toString('hex')}`;
  const admin = async (sql: string) => {
    const c = new Client({ connectionString: server });
    await c.connect();
    try {
      await c.query(sql);
    } finally {
      await c.end();
    }
  };
  await admin(`CREATE DATABASE ${name}`);
  const url = new URL(server);
  url.pathname = `/${name}`;
  const onSignal = () => killStrayServices();
  process.once('SIGINT', onSignal);
  try {
    const result = await runCrashCheck({
      databaseUrl: url.toString(),
      rounds: Number(process.env.ROUNDS ?? 3),
      clients: Number(process.env.CLIENTS ?? 32),
      seed: process.env.SEED ? Number(process.env.SEED) : undefined,
      killAfterWrites: process.env.KILL_AFTER_WRITES ? Number(process.env.KILL_AFTER_WRITES) : undefined,
      unsafeText: process.env.CRASH_UNSAFE_TEXT === '1',
      logLevel: process.env.LOG_LEVEL ?? 'warn',
    });
    console.log(result.summary);
    for (const line of [...result.lost, ...result.problems, ...result.unexpected].slice(0, 50)) console.log(`  ${line}`);
    process.exitCode = result.lost.length + result.problems.length + result.unexpected.length === 0 ? 0 : 1;
  } finally {
    killStrayServices();
    await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  }
}

if (require.main === module) {
  main().catch((e) => {
    killStrayServices();
    console.error(e);
    process.exit(2);
  });
}
