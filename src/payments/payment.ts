import { InvalidTransitionError, RefundExceedsAmountError } from '../errors';

export const PAYMENT_STATUSES = ['pending', 'completed', 'failed', 'refunded'] as const;
export type PaymentStatus = (typeof PAYMENT_STATUSES)[number];
/** How many statuses there are: the width of every array kept per status (cells, daily aggregates). */
export const PAYMENT_STATUS_COUNT = PAYMENT_STATUSES.length;
/** The index of 'refunded' in PAYMENT_STATUSES: the one status whose payments carry a refunded amount (see transition()). */
export const REFUNDED_STATUS_INDEX = PAYMENT_STATUSES.indexOf('refunded');

export const PAYMENT_EVENT_TYPES = ['PaymentProcessed', 'PaymentFailed', 'PaymentRefunded'] as const;
export type PaymentEventType = (typeof PAYMENT_EVENT_TYPES)[number];

/*
 * The limits of a payment's fields, as the API states them: the DTOs check them, the OpenAPI
 * document shows them, and the store's byte budget per payment relies on them.
 */
/** paymentId, organizationId and userId: 1 to this many characters. */
export const ID_MAX_LENGTH = 64;
/** The largest amount, in minor units (below 2^53: sums of many stay exact far longer). */
export const MAX_AMOUNT = 99_999_999_999;
export const DESCRIPTION_MAX_LENGTH = 1000;
/** metadata: at most this many keys, of 1 to METADATA_KEY_MAX_LENGTH characters, string values. */
export const METADATA_MAX_KEYS = 50;
export const METADATA_KEY_MAX_LENGTH = 40;
export const METADATA_VALUE_MAX_LENGTH = 500;
/** A PaymentFailed event's error text. */
export const EVENT_ERROR_MAX_LENGTH = 1000;
/** An imported createdAt may lie this far in the future (clock skew), no further. */
export const CREATED_AT_MAX_FUTURE_MS = 5 * 60_000;
/** paymentIds that name routes (/payments/search, /stats, /bulk) or path segments: never readable by id. */
export const RESERVED_PAYMENT_IDS: readonly string[] = ['search', 'stats', 'bulk', '.', '..'];

/** Money is an integer in the currency's minor unit; times are ISO-8601 UTC strings. */
export interface Payment {
  readonly paymentId: string;
  readonly organizationId: string;
  readonly userId: string;
  readonly amount: number;
  readonly currency: string;
  readonly status: PaymentStatus;
  readonly description: string | null;
  readonly metadata: Readonly<Record<string, string>>;
  readonly refundedAmount: number;
  readonly error: string | null;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly completedAt: string | null;
  readonly failedAt: string | null;
  readonly refundedAt: string | null;
  readonly version: number;
}

/** A create's outcome: the stored payment, and whether this call stored it (false: a replay). */
export type InsertResult = { payment: Payment; created: boolean };

/** What a client may say when it creates a payment (already validated). */
export interface NewPayment {
  paymentId?: string;
  organizationId: string;
  userId: string;
  amount: number;
  currency: string;
  description?: string | null;
  metadata?: Record<string, string> | null;
  createdAt?: string;
}

export interface PaymentEvent {
  type: PaymentEventType;
  occurredAt: string;
  error?: string;
  refundAmount?: number;
}

/** Builds the stored form of a new payment. Payments are frozen: an update is a new object. */
export function createPayment(input: NewPayment, paymentId: string, now: string): Payment {
  return Object.freeze({
    paymentId,
    organizationId: input.organizationId,
    userId: input.userId,
    amount: input.amount,
    currency: input.currency,
    status: 'pending',
    description: input.description ?? null,
    metadata: Object.freeze({ ...(input.metadata ?? {}) }),
    refundedAmount: 0,
    error: null,
    createdAt: input.createdAt ?? now,
    updatedAt: now,
    completedAt: null,
    failedAt: null,
    refundedAt: null,
    version: 1,
  });
}

/**
 * The fields in which a repeated create differs from the stored payment; empty means the
 * request is a safe retry. `createdAt` only counts when the retry states it.
 */
export function differingFields(stored: Payment, input: NewPayment): string[] {
  const diff: string[] = [];
  if (stored.organizationId !== input.organizationId) diff.push('organizationId');
  if (stored.userId !== input.userId) diff.push('userId');
  if (stored.amount !== input.amount) diff.push('amount');
  if (stored.currency !== input.currency) diff.push('currency');
  if (stored.description !== (input.description ?? null)) diff.push('description');
  if (!sameMetadata(stored.metadata, input.metadata ?? {})) diff.push('metadata');
  if (input.createdAt !== undefined && stored.createdAt !== input.createdAt) diff.push('createdAt');
  return diff;
}

/** Whether two metadata maps hold the same keys with the same values: key order is not data. O(keys). */
export function sameMetadata(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  return keys.every((k) => Object.prototype.hasOwnProperty.call(b, k) && a[k] === b[k]);
}

/**
 * The lifecycle state machine, pure: the next state of `payment` after `event`, or a typed
 * error. Only the fields of the event's row change, plus `updatedAt` and `version`.
 *
 *   PaymentProcessed: pending -> completed
 *   PaymentFailed:    pending -> failed
 *   PaymentRefunded:  completed | refunded -> refunded (refundedAmount never passes amount)
 */
export function transition(payment: Payment, event: PaymentEvent, now: string): Payment {
  switch (event.type) {
    case 'PaymentProcessed':
      requireStatus(payment, event.type, ['pending']);
      return withChanges(payment, now, { status: 'completed', completedAt: event.occurredAt });
    case 'PaymentFailed':
      requireStatus(payment, event.type, ['pending']);
      return withChanges(payment, now, { status: 'failed', error: event.error ?? null, failedAt: event.occurredAt });
    case 'PaymentRefunded': {
      requireStatus(payment, event.type, ['completed', 'refunded']);
      const remaining = payment.amount - payment.refundedAmount;
      const refund = event.refundAmount ?? remaining;
      if (refund > remaining || refund <= 0) throw new RefundExceedsAmountError(refund, remaining);
      return withChanges(payment, now, {
        status: 'refunded',
        refundedAmount: payment.refundedAmount + refund,
        refundedAt: event.occurredAt,
      });
    }
  }
}

type LifecycleFields = Pick<Payment, 'status'> &
  Partial<Pick<Payment, 'refundedAmount' | 'error' | 'completedAt' | 'failedAt' | 'refundedAt'>>;

/**
 * The next version of a payment. Written as one literal in the same field order as
 * createPayment(), so every stored payment shares one V8 hidden class (spreading an object and
 * then overriding fields gives each result a dictionary-like shape about 3x the size).
 */
function withChanges(p: Payment, now: string, c: LifecycleFields): Payment {
  return Object.freeze({
    paymentId: p.paymentId,
    organizationId: p.organizationId,
    userId: p.userId,
    amount: p.amount,
    currency: p.currency,
    status: c.status,
    description: p.description,
    metadata: p.metadata,
    refundedAmount: c.refundedAmount ?? p.refundedAmount,
    error: c.error === undefined ? p.error : c.error,
    createdAt: p.createdAt,
    updatedAt: now,
    completedAt: c.completedAt ?? p.completedAt,
    failedAt: c.failedAt ?? p.failedAt,
    refundedAt: c.refundedAt ?? p.refundedAt,
    version: p.version + 1,
  });
}

function requireStatus(payment: Payment, type: PaymentEventType, allowed: readonly PaymentStatus[]): void {
  if (!allowed.includes(payment.status)) throw new InvalidTransitionError(type, payment.status);
}
