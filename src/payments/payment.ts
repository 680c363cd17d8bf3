import { InvalidTransitionError, RefundExceedsAmountError } from '../errors';

export const PAYMENT_STATUSES = ['pending', 'completed', 'failed', 'refunded'] as const;
export type PaymentStatus = (typeof PAYMENT_STATUSES)[number];

export const PAYMENT_EVENT_TYPES = ['PaymentProcessed', 'PaymentFailed', 'PaymentRefunded'] as const;
export type PaymentEventType = (typeof PAYMENT_EVENT_TYPES)[number];

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

function sameMetadata(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
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
  const next = { ...payment, updatedAt: now, version: payment.version + 1 };
  switch (event.type) {
    case 'PaymentProcessed':
      requireStatus(payment, event.type, ['pending']);
      return Object.freeze({ ...next, status: 'completed', completedAt: event.occurredAt });
    case 'PaymentFailed':
      requireStatus(payment, event.type, ['pending']);
      return Object.freeze({ ...next, status: 'failed', error: event.error ?? null, failedAt: event.occurredAt });
    case 'PaymentRefunded': {
      requireStatus(payment, event.type, ['completed', 'refunded']);
      const remaining = payment.amount - payment.refundedAmount;
      const refund = event.refundAmount ?? remaining;
      if (refund > remaining || refund <= 0) throw new RefundExceedsAmountError(refund, remaining);
      return Object.freeze({
        ...next,
        status: 'refunded',
        refundedAmount: payment.refundedAmount + refund,
        refundedAt: event.occurredAt,
      });
    }
  }
}

function requireStatus(payment: Payment, type: PaymentEventType, allowed: readonly PaymentStatus[]): void {
  if (!allowed.includes(payment.status)) throw new InvalidTransitionError(type, payment.status);
}
