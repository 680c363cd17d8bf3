/** What the crash check expects of a payment: after a create, after an accepted event, and how a stored one differs. */
import { isDeepStrictEqual } from 'node:util';
import type { Payment } from '../e2e-helpers';

export type Body = Record<string, unknown>;
/** An expected payment: ANY_TIME where the server chose the time (its clock). */
export type Expected = Record<string, unknown>;

export const ANY_TIME = '<any ISO time>';
const ISO_UTC = /^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z$/;
const PAYMENT_KEYS = [
  'paymentId', 'organizationId', 'userId', 'amount', 'currency', 'status', 'description', 'metadata',
  'refundedAmount', 'error', 'createdAt', 'updatedAt', 'completedAt', 'failedAt', 'refundedAt', 'version',
];

/** The canonical UTC form the service stores (the same as its normalizeIsoTime, derived independently). */
export const norm = (time: string): string => new Date(Date.parse(time)).toISOString();

/** Fields of `actual` that differ from `expected` (key order of metadata does not matter). */
export function differences(actual: unknown, expected: Expected): string[] {
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

export const show = (v: unknown): string => {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
};

export function isPayment(v: unknown): v is Payment {
  return v !== null && typeof v === 'object' && PAYMENT_KEYS.every((k) => k in (v as object));
}

export function expectedCreated(body: Body): Expected {
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
export function afterEvent(p: Payment, event: Body): Expected {
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
