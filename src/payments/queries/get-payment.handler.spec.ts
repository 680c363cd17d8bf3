import { AppConfig } from '../../config';
import { PaymentIdAmbiguousError, PaymentNotFoundError } from '../../errors';
import { createPayment, transition } from '../payment';
import { PaymentStore } from '../store/payment.store';
import { GetPaymentHandler } from './get-payment.handler';
import { GetPaymentQuery } from './get-payment.query';

const NOW = '2026-03-05T00:00:00.000Z';

function setup() {
  const store = new PaymentStore(new AppConfig());
  const add = (organizationId: string, paymentId: string) =>
    store.insertIfAbsent(createPayment({ organizationId, userId: 'u', amount: 500, currency: 'EUR', createdAt: NOW }, paymentId, NOW)).payment;
  return { store, add, handler: new GetPaymentHandler(store) };
}

describe('GetPaymentHandler', () => {
  it('reads one payment by id, as it is now', async () => {
    const { store, add, handler } = setup();
    const p = add('org-a', 'p1');
    expect(await handler.execute(new GetPaymentQuery('p1'))).toEqual(p);
    const done = store.update('org-a', 'p1', undefined, (c) => transition(c, { type: 'PaymentProcessed', occurredAt: NOW }, NOW))!.payment;
    expect(done.status).toBe('completed');
    expect(await handler.execute(new GetPaymentQuery('p1'))).toEqual(done);
  });

  it('answers PAYMENT_NOT_FOUND for an id no payment has', async () => {
    const { add, handler } = setup();
    add('org-a', 'p1');
    await expect(handler.execute(new GetPaymentQuery('missing'))).rejects.toBeInstanceOf(PaymentNotFoundError);
  });

  it("answers PAYMENT_NOT_FOUND for another organization's payment: paymentIds are unique per organization", async () => {
    const { add, handler } = setup();
    const p = add('org-a', 'p1');
    await expect(handler.execute(new GetPaymentQuery('p1', 'org-b'))).rejects.toBeInstanceOf(PaymentNotFoundError);
    expect(await handler.execute(new GetPaymentQuery('p1', 'org-a'))).toEqual(p);
  });

  it('refuses an id alone that several organizations use, and reads each one when its organization is named', async () => {
    const { add, handler } = setup();
    const a = add('org-a', 'shared');
    const b = add('org-b', 'shared');
    await expect(handler.execute(new GetPaymentQuery('shared'))).rejects.toBeInstanceOf(PaymentIdAmbiguousError);
    expect(await handler.execute(new GetPaymentQuery('shared', 'org-a'))).toEqual(a);
    expect(await handler.execute(new GetPaymentQuery('shared', 'org-b'))).toEqual(b);
  });
});
