import { IQueryHandler, QueryHandler } from '@nestjs/cqrs';
import { PaymentIdAmbiguousError, PaymentNotFoundError } from '../../errors';
import { Payment, sameMetadata } from '../payment';
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

  async execute({ paymentId, organizationId }: CheckSyncQuery): Promise<SyncCheck> {
    const inPrimary = await this.primary.find(paymentId, organizationId);
    const inMemory = organizationId === undefined ? this.store.withId(paymentId) : [this.store.get(organizationId, paymentId)].filter((p) => p !== undefined);
    // paymentIds are unique per organization: without one named, the id must name one payment
    const organizations = new Set([...inPrimary, ...inMemory].map((p) => p.organizationId));
    if (organizations.size === 0) throw new PaymentNotFoundError(paymentId);
    if (organizations.size > 1) throw new PaymentIdAmbiguousError(paymentId, organizations.size);
    const stored = inPrimary[0];
    const held = inMemory[0];
    const differingFields =
      stored === undefined ? ALL_FIELDS(held as Payment) : held === undefined ? ALL_FIELDS(stored) : differingPaymentFields(held, stored);
    return {
      paymentId,
      organizationId: [...organizations][0],
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
      if (!sameMetadata(a.metadata, b.metadata)) fields.push(key);
    } else if (a[key] !== b[key]) {
      fields.push(key);
    }
  }
  return fields;
}
