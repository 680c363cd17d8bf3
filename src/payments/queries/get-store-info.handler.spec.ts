import { AppConfig } from '../../config';
import { createPayment } from '../payment';
import { PaymentStore } from '../store/payment.store';
import { GetStoreInfoHandler } from './get-store-info.handler';
import { GetStoreInfoQuery } from './get-store-info.query';

const AT = '2026-03-05T00:00:00.000Z';

function setup() {
  const store = new PaymentStore(new AppConfig({ maxPayments: 1_000, orgMaxPayments: 10 }));
  const add = (id: string, organizationId: string, currency: string) =>
    store.insertIfAbsent(createPayment({ organizationId, userId: `u-${id}`, amount: 100, currency }, id, AT));
  add('a1', 'org-a', 'EUR');
  add('a2', 'org-a', 'USD');
  add('b1', 'org-b', 'EUR');
  return { store, handler: new GetStoreInfoHandler(store) };
}

describe('GetStoreInfoHandler', () => {
  it('describes the whole store: its payments, its indexes, its capacity against the limits and the process memory', async () => {
    const { store, handler } = setup();
    const info = await handler.execute(new GetStoreInfoQuery());
    expect(info.payments).toBe(3);
    expect(info.indexes).toMatchObject({ organizationId: 2, currency: 2, userId: 3 });
    expect(info.capacity).toEqual({ payments: 3, maxPayments: 1_000, bytes: store.capacity.bytes, maxBytes: store.capacity.limits.maxBytes });
    expect(info.capacity.bytes).toBeGreaterThan(0);
    expect(info.memory?.heapUsed).toBeGreaterThan(0);
  });

  it("shows an organization's admin only its own payments and its quota, without the process's memory", async () => {
    const { store, handler } = setup();
    const info = await handler.execute(new GetStoreInfoQuery('org-a'));
    expect(info.payments).toBe(2);
    expect(info.capacity).toEqual({
      payments: 2,
      maxPayments: 10,
      bytes: store.capacity.usageOf('org-a').bytes,
      maxBytes: store.capacity.limits.orgMaxBytes,
    });
    expect(info.capacity.bytes).toBeLessThan(store.capacity.bytes);
    expect(info).not.toHaveProperty('memory');
  });

  it('answers an organization without payments with zero of them', async () => {
    const { handler } = setup();
    const info = await handler.execute(new GetStoreInfoQuery('org-none'));
    expect(info.payments).toBe(0);
    expect(info.capacity.payments).toBe(0);
  });
});
