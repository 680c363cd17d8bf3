import { randomUUID } from 'node:crypto';
import { CommandHandler, EventBus, ICommandHandler } from '@nestjs/cqrs';
import { PaymentIdConflictError } from '../../errors';
import { createPayment, differingFields } from '../payment';
import { PaymentCreated } from '../payment.events';
import { PaymentStore } from '../store/payment.store';
import { CreatePaymentCommand } from './create-payment.command';

@CommandHandler(CreatePaymentCommand)
export class CreatePaymentHandler implements ICommandHandler<CreatePaymentCommand> {
  constructor(
    private readonly store: PaymentStore,
    private readonly eventBus: EventBus,
  ) {}

  async execute({ input }: CreatePaymentCommand) {
    const candidate = createPayment(input, input.paymentId ?? randomUUID(), new Date().toISOString());
    // Check and insert happen in one synchronous store call: a race on one paymentId
    // yields exactly one `created`, every other caller sees the stored payment.
    const { payment, created } = this.store.insertIfAbsent(candidate);
    if (created) {
      this.eventBus.publish(new PaymentCreated(payment));
      return { payment, created };
    }
    const diff = differingFields(payment, input);
    if (diff.length > 0) throw new PaymentIdConflictError(payment.paymentId, diff);
    return { payment, created };
  }
}
