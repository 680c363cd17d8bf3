import { IQueryHandler, QueryHandler } from '@nestjs/cqrs';
import { PaymentNotFoundError } from '../../errors';
import { Payment } from '../payment';
import { PaymentStore } from '../store/payment.store';
import { GetPaymentQuery } from './get-payment.query';

/** One payment as it is now: a single Map lookup, cheaper than any cache in front of it. */
@QueryHandler(GetPaymentQuery)
export class GetPaymentHandler implements IQueryHandler<GetPaymentQuery> {
  constructor(private readonly store: PaymentStore) {}

  async execute({ paymentId, organizationId }: GetPaymentQuery): Promise<Payment> {
    // see PaymentStore.resolve: `organizationId` undefined addresses the only payment with this id
    const payment = this.store.resolve(paymentId, organizationId);
    if (payment === undefined) throw new PaymentNotFoundError(paymentId);
    return payment;
  }
}
