import { Query } from '@nestjs/cqrs';
import { Payment } from '../payment';

export class GetPaymentQuery extends Query<Payment> {
  /** `organizationId`: the caller's tenant; a payment of another one is "not found". */
  constructor(
    readonly paymentId: string,
    readonly organizationId?: string,
  ) {
    super();
  }
}
