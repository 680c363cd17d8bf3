import { Injectable } from '@nestjs/common';
import { Payment } from '../payment';
import { InsertResult } from '../payment';
import { PaymentStore } from '../store/payment.store';

/** One lifecycle change: `next` is the state machine, run on the payment's current state. */
export interface LifecycleChange {
  paymentId: string;
  /** An event id already applied to this payment makes the change a no-op. */
  eventId: string | undefined;
  /** PaymentProcessed, PaymentFailed or PaymentRefunded (recorded with the event id). */
  eventType: string;
  /**
   * The payment's organization (paymentIds are unique per organization): the caller's tenant
   * with auth on; in open mode the one the request names, or undefined to address the only
   * payment with this paymentId (PAYMENT_ID_AMBIGUOUS when several organizations have one).
   */
  organizationId: string | undefined;
  /** May throw an AppError to refuse the change; then nothing is written. */
  next: (current: Payment) => Payment;
}

/** undefined: no such payment (for this caller). */
export type ChangeResult = { payment: Payment; before: Payment; applied: boolean } | undefined;

/**
 * The command side's one way to write. Memory mode writes the store directly; PostgreSQL mode
 * commits to the database first and applies to the store after the commit. Either way a
 * check and the write it guards are atomic: no lost update, no double apply.
 */
export abstract class PaymentWriter {
  /** Stores `candidate` unless its paymentId is taken; then returns the stored payment. */
  abstract create(candidate: Payment): Promise<InsertResult>;
  abstract change(change: LifecycleChange): Promise<ChangeResult>;
}

/** Memory is the primary repository: every write is one synchronous store call. */
@Injectable()
export class MemoryPaymentWriter extends PaymentWriter {
  constructor(private readonly store: PaymentStore) {
    super();
  }

  async create(candidate: Payment): Promise<InsertResult> {
    return this.store.insertIfAbsent(candidate);
  }

  async change({ paymentId, eventId, organizationId, next }: LifecycleChange): Promise<ChangeResult> {
    // A payment's organization never changes, so the one resolved here is the one updated below.
    const owner = this.store.resolve(paymentId, organizationId)?.organizationId;
    if (owner === undefined) return undefined;
    let before: Payment | undefined;
    // The read of the current state and the write happen in one synchronous store call, so
    // two refunds can never both see the same refundedAmount.
    const result = this.store.update(owner, paymentId, eventId, (current) => {
      before = current;
      return next(current);
    });
    if (result === undefined) return undefined;
    return { payment: result.payment, before: before ?? result.payment, applied: result.applied };
  }
}
