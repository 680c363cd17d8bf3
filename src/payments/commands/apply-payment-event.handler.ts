import { CommandHandler, EventBus, ICommandHandler } from '@nestjs/cqrs';
import { PaymentNotFoundError } from '../../errors';
import { Payment, PaymentEventType, transition } from '../payment';
import { PaymentFailed, PaymentProcessed, PaymentRefunded } from '../payment.events';
import { PaymentStore } from '../store/payment.store';
import { ApplyPaymentEventCommand } from './apply-payment-event.command';

@CommandHandler(ApplyPaymentEventCommand)
export class ApplyPaymentEventHandler implements ICommandHandler<ApplyPaymentEventCommand> {
  constructor(
    private readonly store: PaymentStore,
    private readonly eventBus: EventBus,
  ) {}

  /** The 200/409/422 answer comes from here; events are published only after the write. */
  async execute({ paymentId, eventId, event, organizationId }: ApplyPaymentEventCommand): Promise<Payment> {
    // A payment's organization never changes, so this check holds for the update below.
    const owner = this.store.get(paymentId)?.organizationId;
    if (owner === undefined || (organizationId !== undefined && owner !== organizationId)) {
      throw new PaymentNotFoundError(paymentId);
    }
    let before: Payment | undefined;
    // The read of the current state and the write happen in one synchronous store call, so
    // two refunds can never both see the same refundedAmount.
    const result = this.store.update(paymentId, eventId, (current) => {
      before = current;
      return transition(current, event, new Date().toISOString());
    });
    if (result === undefined) throw new PaymentNotFoundError(paymentId);
    const { payment, applied } = result;
    if (applied) this.eventBus.publish(toDomainEvent(event.type, payment, payment.refundedAmount - (before?.refundedAmount ?? 0)));
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
