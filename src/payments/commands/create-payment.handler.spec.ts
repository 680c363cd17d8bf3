import type { EventBus } from '@nestjs/cqrs';
import { AppConfig } from '../../config';
import { PaymentIdConflictError } from '../../errors';
import { NewPayment } from '../payment';
import { PaymentCreated } from '../payment.events';
import { PaymentStore } from '../store/payment.store';
import { CreatePaymentCommand } from './create-payment.command';
import { CreatePaymentHandler } from './create-payment.handler';
import { MemoryPaymentWriter } from './payment.writer';

/** The handler over a real store and its memory writer; the event bus records what is published. */
function setup() {
  const store = new PaymentStore(new AppConfig());
  const published: unknown[] = [];
  const eventBus = { publish: (event: unknown) => void published.push(event) } as unknown as EventBus;
  const handler = new CreatePaymentHandler(new MemoryPaymentWriter(store), eventBus);
  const create = (input: NewPayment) => handler.execute(new CreatePaymentCommand(input));
  return { store, published, create };
}

const INPUT: NewPayment = { paymentId: 'pay-1', organizationId: 'org-a', userId: 'u1', amount: 10_000, currency: 'EUR', metadata: { order: '42', channel: 'web' } };

describe('CreatePaymentHandler', () => {
  it('stores a new payment as pending, answers created, and publishes PaymentCreated with it', async () => {
    const { store, published, create } = setup();
    const { payment, created } = await create(INPUT);
    expect(created).toBe(true);
    expect(payment).toMatchObject({ ...INPUT, status: 'pending', refundedAmount: 0 });
    expect(store.get('org-a', 'pay-1')).toEqual(payment);
    expect(published).toEqual([new PaymentCreated(payment)]);
  });

  it('gives a payment sent without a paymentId a fresh one each time', async () => {
    const { store, create } = setup();
    const { paymentId: _omitted, ...withoutId } = INPUT;
    void _omitted;
    const first = await create(withoutId);
    const second = await create(withoutId);
    expect(first.payment.paymentId).not.toBe(second.payment.paymentId);
    expect(store.size).toBe(2);
  });

  it('replays the stored payment for a repeat with the same fields, publishing nothing more', async () => {
    const { store, published, create } = setup();
    const first = await create(INPUT);
    // metadata key order is not data
    const again = await create({ ...INPUT, metadata: { channel: 'web', order: '42' } });
    expect(again).toEqual({ payment: first.payment, created: false });
    expect(store.size).toBe(1);
    expect(published).toHaveLength(1);
  });

  it('refuses the same paymentId with other fields (PAYMENT_ID_CONFLICT), naming them, and keeps the stored payment', async () => {
    const { store, published, create } = setup();
    const { payment } = await create(INPUT);
    const attempt = create({ ...INPUT, amount: 9_999, currency: 'USD' });
    await expect(attempt).rejects.toBeInstanceOf(PaymentIdConflictError);
    await expect(attempt).rejects.toMatchObject({ code: 'PAYMENT_ID_CONFLICT', message: expect.stringContaining('amount, currency') });
    expect(store.get('org-a', 'pay-1')).toEqual(payment);
    expect(published).toHaveLength(1);
  });

  it('creates the same paymentId in another organization as a payment of its own: ids are unique per organization', async () => {
    const { store, create } = setup();
    await create(INPUT);
    const other = await create({ ...INPUT, organizationId: 'org-b' });
    expect(other.created).toBe(true);
    expect(store.withId('pay-1').map((p) => p.organizationId).sort()).toEqual(['org-a', 'org-b']);
  });
});
