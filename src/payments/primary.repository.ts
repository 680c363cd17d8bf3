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
  /** The payment as the primary repository holds it. */
  abstract find(paymentId: string): Promise<Payment | undefined>;
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

  async find(paymentId: string): Promise<Payment | undefined> {
    return this.store.get(paymentId);
  }

  async health(): Promise<PrimaryHealth> {
    return { up: true, details: { repository: 'memory' } };
  }
}
