import { Query } from '@nestjs/cqrs';
import { Payment } from '../payment';

export class GetPaymentQuery extends Query<Payment> {
  constructor(readonly paymentId: string) {
    super();
  }
}
