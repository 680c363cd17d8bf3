import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import request, { Response } from 'supertest';

/** Helpers shared by the e2e specs: request builders and the contract's common assertions. */

export type PaymentStatus = 'pending' | 'completed' | 'failed' | 'refunded';

/** The payment resource exactly as the contract lists it. */
export interface Payment {
  paymentId: string;
  organizationId: string;
  userId: string;
  amount: number;
  currency: string;
  status: PaymentStatus;
  description: string | null;
  metadata: Record<string, string>;
  refundedAmount: number;
  error: string | null;
  createdAt: string;
  updatedAt: string;
  completedAt: string | null;
  failedAt: string | null;
  refundedAt: string | null;
  version: number;
}

export const PAYMENT_FIELDS = [
  'paymentId',
  'organizationId',
  'userId',
  'amount',
  'currency',
  'status',
  'description',
  'metadata',
  'refundedAmount',
  'error',
  'createdAt',
  'updatedAt',
  'completedAt',
  'failedAt',
  'refundedAt',
  'version',
] as const;

/** The contract's time format: ISO-8601 in UTC with milliseconds. */
export const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

let sequence = 0;

/** A short id no other test (or test file) uses; well within the 64-char limit. */
export function uniqueId(prefix: string): string {
  sequence += 1;
  return `${prefix}-${sequence}-${randomUUID().slice(0, 8)}`;
}

export type Body = Record<string, unknown>;

/** A valid create body with fresh ids; `overrides` replace or add fields. */
export function paymentBody(overrides: Body = {}): Body {
  return {
    paymentId: uniqueId('pay'),
    organizationId: uniqueId('org'),
    userId: uniqueId('user'),
    amount: 10_000,
    currency: 'EUR',
    ...overrides,
  };
}

export function paymentPath(paymentId: string): string {
  return `/payments/${encodeURIComponent(paymentId)}`;
}

export async function createPayment(url: string, overrides: Body = {}): Promise<Payment> {
  const res = await request(url).post('/payments').send(paymentBody(overrides));
  expectStatus(res, 201);
  return res.body as Payment;
}

export async function getPayment(url: string, paymentId: string): Promise<Payment> {
  const res = await request(url).get(paymentPath(paymentId));
  expectStatus(res, 200);
  return res.body as Payment;
}

export function sendEvent(url: string, paymentId: string, event: Body): request.Test {
  return request(url).post(`${paymentPath(paymentId)}/events`).send(event);
}

/** Applies an event that must succeed and returns the payment after it. */
export async function applyEvent(url: string, paymentId: string, event: Body): Promise<Payment> {
  const res = await sendEvent(url, paymentId, event);
  expectStatus(res, 200);
  return res.body as Payment;
}

/** Brings a new payment to `status` through the lifecycle events. */
export async function moveTo(url: string, paymentId: string, status: PaymentStatus): Promise<Payment> {
  if (status === 'pending') return getPayment(url, paymentId);
  if (status === 'failed') return applyEvent(url, paymentId, { type: 'PaymentFailed', data: { error: 'card declined' } });
  const completed = await applyEvent(url, paymentId, { type: 'PaymentProcessed' });
  if (status === 'completed') return completed;
  return applyEvent(url, paymentId, { type: 'PaymentRefunded', data: { refundAmount: 1 } });
}

/** The status, shown beside the body when it is not the one expected. */
export function expectStatus(res: Response, status: number): void {
  expect({ status: res.status, body: res.body as unknown }).toMatchObject({ status });
}

/** Every error is RFC 9457 problem details served as application/problem+json. */
export function expectProblem(res: Response, status: number): void {
  expectStatus(res, status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json\b/);
  expect(res.body).toEqual(
    expect.objectContaining({
      type: expect.any(String),
      title: expect.stringMatching(/\S/),
      status,
      detail: expect.stringMatching(/\S/),
    }),
  );
}

/** A 400 whose `errors` name exactly `fields` (in any order), each once, each with a message. */
export function expectInvalidFields(res: Response, fields: string[]): void {
  expectProblem(res, 400);
  const errors = (res.body.errors ?? []) as { field: string; message: string }[];
  expect(errors.map((e) => e.field).sort()).toEqual([...fields].sort());
  for (const e of errors) expect(e.message).toMatch(/\S/);
}

/** The `field`s named by a validation problem, sorted. */
export function errorFields(res: Response): string[] {
  return ((res.body.errors ?? []) as { field: string }[]).map((e) => e.field).sort();
}

/** Total payments the store serves, through the public stats route. */
export async function storedTotal(url: string): Promise<number> {
  const res = await request(url).get('/payments/stats');
  expectStatus(res, 200);
  return res.body.total as number;
}

/** In the enclosing describe block: every test leaves the store holding as many payments as before. */
export function expectEachTestStoresNothing(url: () => string): void {
  let total: number;
  beforeEach(async () => {
    total = await storedTotal(url());
  });
  afterEach(async () => {
    expect(await storedTotal(url())).toBe(total);
  });
}

export async function expectNotStored(url: string, paymentId: string): Promise<void> {
  const res = await request(url).get(paymentPath(paymentId));
  expectProblem(res, 404);
}

/** Creates payments in one bulk request; each must be created (201). */
export async function importPayments(url: string, bodies: Body[]): Promise<void> {
  const res = await request(url).post('/payments/bulk').send({ payments: bodies });
  expectStatus(res, 200);
  expect({ created: res.body.created, failed: res.body.failed }).toEqual({ created: bodies.length, failed: 0 });
}

export function withoutKeys<T extends object>(value: T, keys: readonly string[]): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([k]) => !keys.includes(k))) as Partial<T>;
}

export function ids(items: { paymentId: string }[]): string[] {
  return items.map((p) => p.paymentId);
}

/**
 * Runs `check` with Date stopped, in this process and so in the app under test: a token's exp
 * and nbf are judged at the very second it was minted, however long minting and the request
 * take on a loaded machine. Timers keep running.
 */
export async function atOneInstant(check: () => Promise<void>): Promise<void> {
  jest.useFakeTimers({
    now: Date.now(),
    doNotFake: ['hrtime', 'nextTick', 'performance', 'queueMicrotask', 'setImmediate', 'clearImmediate', 'setInterval', 'clearInterval', 'setTimeout', 'clearTimeout'],
  });
  try {
    await check();
  } finally {
    jest.useRealTimers();
  }
}

/**
 * `Bearer <JWT>` for `org` with `scope`: HS256 with `secret`, subject `client-of-<org>`, issued
 * now and valid for an hour (inside the default AUTH_MAX_TOKEN_LIFETIME_SECONDS, and far longer
 * than any spec runs, however loaded the machine).
 */
export async function bearerFor(secret: string, org: string, scope: string): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const jwt = await new SignJWT({ org, scope })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(`client-of-${org}`)
    .setIssuedAt(now)
    .setExpirationTime(now + 3600)
    .sign(new TextEncoder().encode(secret));
  return `Bearer ${jwt}`;
}
