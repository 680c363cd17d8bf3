import type { EventBus } from '@nestjs/cqrs';
import { AppConfig } from '../../config';
import { OrganizationForbiddenError, RequestValidationError } from '../../errors';
import { PaymentStore } from '../store/payment.store';
import { CreatePaymentHandler } from './create-payment.handler';
import { ImportPaymentsCommand } from './import-payments.command';
import { ImportPaymentsHandler } from './import-payments.handler';
import { MemoryPaymentWriter } from './payment.writer';

/** The handler over a real store and the real CreatePaymentHandler, whose event bus records what is published. */
function setup(config = new AppConfig()) {
  const store = new PaymentStore(config);
  const published: unknown[] = [];
  const eventBus = { publish: (event: unknown) => void published.push(event) } as unknown as EventBus;
  const create = new CreatePaymentHandler(new MemoryPaymentWriter(store), eventBus);
  const handler = new ImportPaymentsHandler(create, config);
  return { store, published, handler };
}

const item = (paymentId: string, amount = 100, organizationId = 'org-a') => ({ paymentId, organizationId, userId: 'u', amount, currency: 'EUR' });

describe('ImportPaymentsHandler', () => {
  it('creates each new item, replays a repeated one, and counts both', async () => {
    const { store, published, handler } = setup();
    const result = await handler.execute(new ImportPaymentsCommand([item('p1'), item('p2'), item('p1')]));
    expect(result).toMatchObject({ created: 2, replayed: 1, failed: 0 });
    expect(result.results.map((r) => [r.index, r.paymentId, r.status])).toEqual([
      [0, 'p1', 201],
      [1, 'p2', 201],
      [2, 'p1', 200],
    ]);
    expect(store.size).toBe(2);
    expect(published).toHaveLength(2);
  });

  it('fails an invalid item alone with the problem it would have alone, and creates the others', async () => {
    const { store, handler } = setup();
    const result = await handler.execute(new ImportPaymentsCommand([item('p1'), item('bad', -1), item('p3')]));
    expect(result).toMatchObject({ created: 2, replayed: 0, failed: 1 });
    const failed = result.results[1];
    expect(failed).toMatchObject({ index: 1, paymentId: 'bad', status: 400 });
    expect(failed.error).toMatchObject({ status: 400, instance: '/payments' });
    expect(JSON.stringify(failed.error)).toContain('amount');
    expect(store.size).toBe(2);
  });

  it('fails an item with the paymentId of a stored payment and other fields as a conflict (409)', async () => {
    const { handler } = setup();
    await handler.execute(new ImportPaymentsCommand([item('p1')]));
    const result = await handler.execute(new ImportPaymentsCommand([item('p1', 999)]));
    expect(result.results).toEqual([expect.objectContaining({ index: 0, paymentId: 'p1', status: 409 })]);
  });

  it('fails an item the edge refused with its error, before looking at it', async () => {
    const { store, handler } = setup();
    const refused = new Map([[0, new OrganizationForbiddenError('organizationId')]]);
    const result = await handler.execute(new ImportPaymentsCommand([item('p1', 100, 'org-b'), item('p2')], refused));
    expect(result.results.map((r) => r.status)).toEqual([403, 201]);
    expect(store.withId('p1')).toEqual([]);
  });

  it('refuses a file of more items than the configured bulk limit as a whole, writing nothing', async () => {
    const { store, handler } = setup(new AppConfig({ bulkMaxItems: 2 }));
    await expect(handler.execute(new ImportPaymentsCommand([item('p1'), item('p2'), item('p3')]))).rejects.toBeInstanceOf(RequestValidationError);
    expect(store.size).toBe(0);
  });
});
