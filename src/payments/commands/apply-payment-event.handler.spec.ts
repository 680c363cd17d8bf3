import type { EventBus } from '@nestjs/cqrs';
import { AppConfig } from '../../config';
import { InvalidTransitionError, PaymentNotFoundError, RefundExceedsAmountError } from '../../errors';
import { createPayment, PaymentEvent } from '../payment';
import { PaymentFailed, PaymentProcessed, PaymentRefunded } from '../payment.events';
import { PaymentStore } from '../store/payment.store';
import { ApplyPaymentEventCommand } from './apply-payment-event.command';
import { ApplyPaymentEventHandler } from './apply-payment-event.handler';
import { MemoryPaymentWriter } from './payment.writer';

const AT = '2026-03-05T00:00:00.000Z';

/** The handler over a real store and its memory writer; the event bus records what is published. */
function setup() {
  const store = new PaymentStore(new AppConfig());
  const published: unknown[] = [];
  const eventBus = { publish: (event: unknown) => void published.push(event) } as unknown as EventBus;
  const handler = new ApplyPaymentEventHandler(new MemoryPaymentWriter(store), eventBus);
  store.insertIfAbsent(createPayment({ organizationId: 'org-a', userId: 'u', amount: 1_000, currency: 'EUR' }, 'pay-1', AT));
  const apply = (event: PaymentEvent, eventId?: string, organizationId?: string, paymentId = 'pay-1') =>
    handler.execute(new ApplyPaymentEventCommand(paymentId, eventId, event, organizationId));
  return { store, published, apply };
}

const PROCESSED: PaymentEvent = { type: 'PaymentProcessed', occurredAt: AT };

describe('ApplyPaymentEventHandler', () => {
  it('moves a pending payment to completed, stores it and publishes PaymentProcessed after the write', async () => {
    const { store, published, apply } = setup();
    const payment = await apply(PROCESSED);
    expect(payment).toMatchObject({ status: 'completed', completedAt: AT });
    expect(store.get('org-a', 'pay-1')).toEqual(payment);
    expect(published).toEqual([new PaymentProcessed(payment)]);
  });

  it('fails a pending payment with its error and publishes PaymentFailed', async () => {
    const { published, apply } = setup();
    const payment = await apply({ type: 'PaymentFailed', occurredAt: AT, error: 'declined' });
    expect(payment).toMatchObject({ status: 'failed', error: 'declined' });
    expect(published).toEqual([new PaymentFailed(payment)]);
  });

  it('publishes PaymentRefunded with the amount this refund added, not the running total', async () => {
    const { published, apply } = setup();
    await apply(PROCESSED);
    await apply({ type: 'PaymentRefunded', occurredAt: AT, refundAmount: 300 });
    const payment = await apply({ type: 'PaymentRefunded', occurredAt: AT, refundAmount: 200 });
    expect(payment).toMatchObject({ status: 'refunded', refundedAmount: 500 });
    expect(published.slice(1).map((e) => (e as PaymentRefunded).refundAmount)).toEqual([300, 200]);
  });

  it('serves a refund only up to the amount left, and changes nothing when it refuses', async () => {
    const { store, published, apply } = setup();
    await apply(PROCESSED);
    await apply({ type: 'PaymentRefunded', occurredAt: AT, refundAmount: 900 });
    const before = store.get('org-a', 'pay-1');
    await expect(apply({ type: 'PaymentRefunded', occurredAt: AT, refundAmount: 101 })).rejects.toBeInstanceOf(RefundExceedsAmountError);
    expect(store.get('org-a', 'pay-1')).toEqual(before);
    expect(published).toHaveLength(2);
  });

  it('refuses an event the status does not allow (INVALID_TRANSITION), publishing nothing', async () => {
    const { published, apply } = setup();
    await expect(apply({ type: 'PaymentRefunded', occurredAt: AT })).rejects.toBeInstanceOf(InvalidTransitionError);
    expect(published).toEqual([]);
  });

  it('applies a redelivered event id once: the repeat answers the payment as it is and publishes nothing', async () => {
    const { published, apply } = setup();
    const first = await apply(PROCESSED, 'evt-1');
    const again = await apply(PROCESSED, 'evt-1');
    expect(again).toEqual(first);
    expect(published).toHaveLength(1);
  });

  it("answers PAYMENT_NOT_FOUND for an unknown payment, and for another organization's", async () => {
    const { published, apply } = setup();
    await expect(apply(PROCESSED, undefined, undefined, 'missing')).rejects.toBeInstanceOf(PaymentNotFoundError);
    await expect(apply(PROCESSED, undefined, 'org-b')).rejects.toBeInstanceOf(PaymentNotFoundError);
    expect(published).toEqual([]);
  });
});
