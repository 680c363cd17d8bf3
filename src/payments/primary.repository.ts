import { Injectable } from '@nestjs/common';
import { Payment } from './payment';
import { PaymentStore } from './store/payment.store';

export interface PrimaryHealth {
  up: boolean;
  details: Record<string, unknown>;
}

/**
 * Where payments are durable, as the operations side sees it: reload the store from it, read
 * one payment as it holds it, tell whether it can be reached. Memory mode: the store itself.
 */
export abstract class PrimaryRepository {
  abstract readonly kind: 'memory' | 'postgresql';
  /** Rebuilds the store (or one organization of it) from the primary; returns payments loaded. */
  abstract synchronize(organizationId?: string): Promise<number>;
  /**
   * The payment as the primary repository holds it: `paymentId` of `organizationId`, or of
   * every organization that has one when none is named (paymentIds are unique per organization).
   */
  abstract find(paymentId: string, organizationId?: string): Promise<Payment[]>;
  abstract health(): Promise<PrimaryHealth>;
}

/** Memory is the primary repository: the store is the truth, so it is always in sync with itself. */
@Injectable()
export class MemoryPrimaryRepository extends PrimaryRepository {
  readonly kind = 'memory' as const;

  constructor(private readonly store: PaymentStore) {
    super();
  }

  async synchronize(organizationId?: string): Promise<number> {
    if (organizationId === undefined) return this.store.size;
    return this.store.countOf(organizationId);
  }

  async find(paymentId: string, organizationId?: string): Promise<Payment[]> {
    if (organizationId === undefined) return this.store.withId(paymentId);
    const payment = this.store.get(organizationId, paymentId);
    return payment === undefined ? [] : [payment];
  }

  async health(): Promise<PrimaryHealth> {
    return { up: true, details: { repository: 'memory' } };
  }
}
