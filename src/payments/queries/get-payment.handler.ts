import { IQueryHandler, QueryHandler } from '@nestjs/cqrs';
import { PaymentNotFoundError } from '../../errors';
import { Payment } from '../payment';
import { GetPaymentQuery } from './get-payment.query';
import { PaymentReader } from './payment.reader';

@QueryHandler(GetPaymentQuery)
export class GetPaymentHandler implements IQueryHandler<GetPaymentQuery> {
  constructor(private readonly reader: PaymentReader) {}

  async execute({ paymentId, organizationId }: GetPaymentQuery): Promise<Payment> {
    const payment = this.reader.get(paymentId, organizationId);
    if (payment === undefined) throw new PaymentNotFoundError(paymentId);
    return payment;
  }
}
