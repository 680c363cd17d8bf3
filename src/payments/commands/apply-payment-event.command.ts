import { Command } from '@nestjs/cqrs';
import { Payment, PaymentEvent } from '../payment';

/** Applies one lifecycle event through the state machine; answers with the payment after it. */
export class ApplyPaymentEventCommand extends Command<Payment> {
  constructor(
    readonly paymentId: string,
    readonly eventId: string | undefined,
    readonly event: PaymentEvent,
    /**
     * The payment's organization, as an address (paymentIds are unique per organization): with
     * auth on, the caller's, decided at the edge (see tenancy.ts); undefined for the only payment
     * with this paymentId.
     */
    readonly organizationId?: string,
  ) {
    super();
  }
}
