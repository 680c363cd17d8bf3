import { AppConfig } from '../config';
import { MetricsService } from '../metrics/metrics.service';
import { createPayment, transition } from '../payments/payment';
import { PaymentCreated, PaymentProcessed } from '../payments/payment.events';
import { MessagingMetrics } from './messaging.metrics';
import { MemoryOutbox } from './outbox';

const payment = (id: string) => createPayment({ organizationId: 'org', userId: 'u', amount: 100, currency: 'EUR' }, id, '2026-01-01T00:00:00.000Z');

describe('MemoryOutbox', () => {
  it('hands out events oldest first and forgets them once sent', async () => {
    const outbox = new MemoryOutbox(new AppConfig({ brokerUrl: 'amqp://x' }), new MessagingMetrics(new MetricsService()));
    let added = 0;
    outbox.onAdded = () => (added += 1);
    const p = payment('p1');
    outbox.handle(new PaymentCreated(p));
    outbox.handle(new PaymentProcessed(transition(p, { type: 'PaymentProcessed', occurredAt: '2026-01-01T00:00:01.000Z' }, '2026-01-01T00:00:01.000Z')));
    outbox.handle(new PaymentCreated(payment('p2')));
    expect(added).toBe(3);
    const first = await outbox.take(2);
    expect(first.map((e) => [e.type, e.id])).toEqual([
      ['PaymentCreated', 'org/p1/1'],
      ['PaymentProcessed', 'org/p1/2'],
    ]);
    expect(await outbox.take(2)).toEqual(first); // not sent yet: the same again
    await outbox.sent(first);
    expect(await outbox.backlog()).toBe(1);
    expect((await outbox.take(10)).map((e) => e.id)).toEqual(['org/p2/1']);
  });

  it('drops the oldest past OUTBOX_MEMORY_MAX and counts them', async () => {
    const metrics = new MessagingMetrics(new MetricsService());
    const outbox = new MemoryOutbox(new AppConfig({ brokerUrl: 'amqp://x', outboxMemoryMax: 2 }), metrics);
    const batch = await (async () => {
      outbox.handle(new PaymentCreated(payment('a')));
      return outbox.take(1);
    })();
    for (const id of ['b', 'c']) outbox.handle(new PaymentCreated(payment(id)));
    expect((await outbox.take(10)).map((e) => e.id)).toEqual(['org/b/1', 'org/c/1']);
    expect((await metrics.dropped.get()).values[0].value).toBe(1);
    await outbox.sent(batch); // an entry dropped meanwhile: nothing else is marked sent
    expect(await outbox.backlog()).toBe(2);
  });
});
