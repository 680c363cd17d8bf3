import { IQueryHandler, QueryHandler } from '@nestjs/cqrs';
import { PaymentNotFoundError } from '../../errors';
import { Payment } from '../payment';
import { PrimaryRepository } from '../primary.repository';
import { PaymentStore } from '../store/payment.store';
import { CheckSyncQuery, SyncCheck } from './check-sync.query';

const ALL_FIELDS = (p: Payment) => Object.keys(p);

@QueryHandler(CheckSyncQuery)
export class CheckSyncHandler implements IQueryHandler<CheckSyncQuery> {
  constructor(
    private readonly store: PaymentStore,
    private readonly primary: PrimaryRepository,
  ) {}

  async execute({ paymentId }: CheckSyncQuery): Promise<SyncCheck> {
    const stored = await this.primary.find(paymentId);
    const held = this.store.get(paymentId);
    if (stored === undefined && held === undefined) throw new PaymentNotFoundError(paymentId);
    const differingFields =
      stored === undefined ? ALL_FIELDS(held as Payment) : held === undefined ? ALL_FIELDS(stored) : differingPaymentFields(held, stored);
    return {
      paymentId,
      inSync: differingFields.length === 0,
      differingFields,
      memoryVersion: held?.version ?? null,
      primaryVersion: stored?.version ?? null,
    };
  }
}

/** Fields in which two copies of a payment differ (metadata compared as a map: key order is not data). */
export function differingPaymentFields(a: Payment, b: Payment): string[] {
  const fields: string[] = [];
  for (const key of Object.keys(a) as (keyof Payment)[]) {
    if (key === 'metadata') {
      const keys = Object.keys(a.metadata);
      const same =
        keys.length === Object.keys(b.metadata).length &&
        keys.every((k) => Object.prototype.hasOwnProperty.call(b.metadata, k) && a.metadata[k] === b.metadata[k]);
      if (!same) fields.push(key);
    } else if (a[key] !== b[key]) {
      fields.push(key);
    }
  }
  return fields;
}
