import { Command } from '@nestjs/cqrs';
import { NewPayment, Payment } from '../payment';

/** Stores a new payment, or replays the stored one when the same paymentId comes again. */
export class CreatePaymentCommand extends Command<{ payment: Payment; created: boolean }> {
  constructor(readonly input: NewPayment) {
    super();
  }
}
