import { CommandHandler, EventBus, ICommandHandler } from '@nestjs/cqrs';
import { PaymentNotFoundError } from '../../errors';
import { Payment, PaymentEventType, transition } from '../payment';
import { PaymentFailed, PaymentProcessed, PaymentRefunded } from '../payment.events';
import { ApplyPaymentEventCommand } from './apply-payment-event.command';
import { PaymentWriter } from './payment.writer';

@CommandHandler(ApplyPaymentEventCommand)
export class ApplyPaymentEventHandler implements ICommandHandler<ApplyPaymentEventCommand> {
  constructor(
    private readonly writer: PaymentWriter,
    private readonly eventBus: EventBus,
  ) {}

  /** The 200/409/422 answer comes from here; events are published only after the write. */
  async execute({ paymentId, eventId, event, organizationId }: ApplyPaymentEventCommand): Promise<Payment> {
    const result = await this.writer.change({
      paymentId,
      eventId: eventId ?? undefined, // an explicit null is no event id
      eventType: event.type,
      organizationId,
      next: (current) => transition(current, event, new Date().toISOString()),
    });
    if (result === undefined) throw new PaymentNotFoundError(paymentId);
    const { payment, before, applied } = result;
    if (applied) this.eventBus.publish(toDomainEvent(event.type, payment, payment.refundedAmount - before.refundedAmount));
    return payment;
  }
}

function toDomainEvent(type: PaymentEventType, payment: Payment, refunded: number) {
  switch (type) {
    case 'PaymentProcessed':
      return new PaymentProcessed(payment);
    case 'PaymentFailed':
      return new PaymentFailed(payment);
    case 'PaymentRefunded':
      return new PaymentRefunded(payment, refunded);
  }
}
