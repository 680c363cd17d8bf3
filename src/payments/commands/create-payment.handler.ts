import { randomUUID } from 'node:crypto';
import { CommandHandler, EventBus, ICommandHandler } from '@nestjs/cqrs';
import { PaymentIdConflictError } from '../../errors';
import { createPayment, differingFields } from '../payment';
import { PaymentCreated } from '../payment.events';
import { CreatePaymentCommand } from './create-payment.command';
import { PaymentWriter } from './payment.writer';

@CommandHandler(CreatePaymentCommand)
export class CreatePaymentHandler implements ICommandHandler<CreatePaymentCommand> {
  constructor(
    private readonly writer: PaymentWriter,
    private readonly eventBus: EventBus,
  ) {}

  async execute({ input }: CreatePaymentCommand) {
    const candidate = createPayment(input, input.paymentId ?? randomUUID(), new Date().toISOString());
    // The check and the insert are one atomic step of the writer: a race on one paymentId
    // yields exactly one `created`, every other caller sees the stored payment.
    const { payment, created } = await this.writer.create(candidate);
    if (created) {
      this.eventBus.publish(new PaymentCreated(payment));
      return { payment, created };
    }
    const diff = differingFields(payment, input);
    if (diff.length > 0) throw new PaymentIdConflictError(payment.paymentId, diff);
    return { payment, created };
  }
}
