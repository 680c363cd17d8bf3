import { AppConfig } from '../../config';
import { createPayment } from '../payment';
import { MemoryPrimaryRepository } from '../primary.repository';
import { PaymentStore } from '../store/payment.store';
import { SynchronizeStoreCommand } from './synchronize-store.command';
import { SynchronizeStoreHandler } from './synchronize-store.handler';

const AT = '2026-03-05T00:00:00.000Z';

describe('SynchronizeStoreHandler', () => {
  function setup() {
    const store = new PaymentStore(new AppConfig());
    for (const [org, n] of [['org-a', 3], ['org-b', 2]] as const) {
      for (let i = 0; i < n; i++) store.insertIfAbsent(createPayment({ organizationId: org, userId: 'u', amount: 1, currency: 'EUR' }, `${org}-${i}`, AT));
    }
    return { store, handler: new SynchronizeStoreHandler(new MemoryPrimaryRepository(store)) };
  }

  it('answers how many payments the store holds after a synchronization from memory, its own primary', async () => {
    const { store, handler } = setup();
    expect(await handler.execute(new SynchronizeStoreCommand())).toEqual({ synchronized: 5 });
    expect(store.size).toBe(5);
  });

  it("synchronizes one organization: the count is that organization's payments", async () => {
    const { handler } = setup();
    expect(await handler.execute(new SynchronizeStoreCommand('org-b'))).toEqual({ synchronized: 2 });
    expect(await handler.execute(new SynchronizeStoreCommand('org-none'))).toEqual({ synchronized: 0 });
  });
});
