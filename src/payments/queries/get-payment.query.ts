import { Query } from '@nestjs/cqrs';
import { Payment } from '../payment';

export class GetPaymentQuery extends Query<Payment> {
  /**
   * `organizationId`: the payment's organization (paymentIds are unique per organization): the
   * caller's tenant with auth on; in open mode the one the request names, or undefined for the
   * only payment with this paymentId.
   */
  constructor(
    readonly paymentId: string,
    readonly organizationId?: string,
  ) {
    super();
  }
}
