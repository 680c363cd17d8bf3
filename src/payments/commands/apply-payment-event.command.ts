import { Command } from '@nestjs/cqrs';
import { Payment, PaymentEvent } from '../payment';

/** Applies one lifecycle event through the state machine; answers with the payment after it. */
export class ApplyPaymentEventCommand extends Command<Payment> {
  constructor(
    readonly paymentId: string,
    readonly eventId: string | undefined,
    readonly event: PaymentEvent,
    /** The caller's tenant: a payment of another one is "not found". */
    readonly organizationId?: string,
  ) {
    super();
  }
}
