import { AppConfig } from '../../config';
import { PaymentIdAmbiguousError, PaymentNotFoundError } from '../../errors';
import { createPayment, Payment, transition } from '../payment';
import { MemoryPrimaryRepository, PrimaryHealth, PrimaryRepository } from '../primary.repository';
import { PaymentStore } from '../store/payment.store';
import { CheckSyncHandler } from './check-sync.handler';
import { CheckSyncQuery } from './check-sync.query';

const NOW = '2026-03-05T00:00:00.000Z';
const payment = (organizationId: string, paymentId: string, metadata?: Record<string, string>) =>
  createPayment({ organizationId, userId: 'u', amount: 500, currency: 'EUR', createdAt: NOW, metadata }, paymentId, NOW);

/** A primary repository holding its own copies, as a database that memory may lag behind. */
class CopiesRepository extends PrimaryRepository {
  readonly kind = 'postgresql' as const;
  readonly copies: Payment[] = [];
  async synchronize(): Promise<number> {
    return this.copies.length;
  }
  async find(paymentId: string, organizationId?: string): Promise<Payment[]> {
    return this.copies.filter((p) => p.paymentId === paymentId && (organizationId === undefined || p.organizationId === organizationId));
  }
  async health(): Promise<PrimaryHealth> {
    return { up: true, details: {} };
  }
}

function setup() {
  const store = new PaymentStore(new AppConfig());
  const primary = new CopiesRepository();
  return { store, primary, handler: new CheckSyncHandler(store, primary) };
}

describe('CheckSyncHandler', () => {
  it('finds a payment in sync when both copies hold the same fields, metadata in any key order', async () => {
    const { store, primary, handler } = setup();
    store.insertIfAbsent(payment('org-a', 'p1', { a: '1', b: '2' }));
    primary.copies.push(payment('org-a', 'p1', { b: '2', a: '1' }));

    expect(await handler.execute(new CheckSyncQuery('p1'))).toEqual({
      paymentId: 'p1',
      organizationId: 'org-a',
      inSync: true,
      differingFields: [],
      memoryVersion: 1,
      primaryVersion: 1,
    });
  });

  it('names the fields in which memory lags behind the primary, with both versions', async () => {
    const { store, primary, handler } = setup();
    const created = store.insertIfAbsent(payment('org-a', 'p1')).payment;
    primary.copies.push(transition(created, { type: 'PaymentProcessed', occurredAt: NOW }, '2026-03-05T00:00:01.000Z'));

    const check = await handler.execute(new CheckSyncQuery('p1', 'org-a'));

    expect(check).toMatchObject({ inSync: false, memoryVersion: 1, primaryVersion: 2 });
    expect(check.differingFields).toEqual(expect.arrayContaining(['status', 'version', 'updatedAt']));
    expect(check.differingFields).not.toContain('amount');
  });

  it('lists every field of a payment one side does not hold, with null for its version there', async () => {
    const { store, primary, handler } = setup();
    primary.copies.push(payment('org-a', 'only-primary'));
    store.insertIfAbsent(payment('org-a', 'only-memory'));

    const missingInMemory = await handler.execute(new CheckSyncQuery('only-primary'));
    const missingInPrimary = await handler.execute(new CheckSyncQuery('only-memory'));

    expect(missingInMemory).toMatchObject({ inSync: false, memoryVersion: null, primaryVersion: 1 });
    expect(missingInMemory.differingFields).toEqual(Object.keys(payment('org-a', 'x')));
    expect(missingInPrimary).toMatchObject({ inSync: false, memoryVersion: 1, primaryVersion: null });
  });

  it('answers PAYMENT_NOT_FOUND when neither side holds the id, or only another organization does', async () => {
    const { store, handler } = setup();
    store.insertIfAbsent(payment('org-a', 'p1'));

    await expect(handler.execute(new CheckSyncQuery('missing'))).rejects.toBeInstanceOf(PaymentNotFoundError);
    await expect(handler.execute(new CheckSyncQuery('p1', 'org-b'))).rejects.toBeInstanceOf(PaymentNotFoundError);
  });

  it('refuses an id alone that two organizations use, counting both sides', async () => {
    const { store, primary, handler } = setup();
    store.insertIfAbsent(payment('org-a', 'shared'));
    primary.copies.push(payment('org-b', 'shared'));

    await expect(handler.execute(new CheckSyncQuery('shared'))).rejects.toBeInstanceOf(PaymentIdAmbiguousError);
    expect(await handler.execute(new CheckSyncQuery('shared', 'org-a'))).toMatchObject({ organizationId: 'org-a', primaryVersion: null });
  });

  it('finds memory always in sync with itself when memory is the primary repository', async () => {
    const store = new PaymentStore(new AppConfig());
    store.insertIfAbsent(payment('org-a', 'p1'));
    const handler = new CheckSyncHandler(store, new MemoryPrimaryRepository(store));

    expect(await handler.execute(new CheckSyncQuery('p1'))).toMatchObject({ inSync: true, differingFields: [] });
  });
});
