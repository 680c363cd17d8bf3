import type { CommandBus } from '@nestjs/cqrs';
import type { ConfirmChannel, ConsumeMessage } from 'amqplib';
import { AppConfig } from '../config';
import { DatabaseUnavailableError, InvalidTransitionError } from '../errors';
import { MetricsService } from '../metrics/metrics.service';
import { ApplyPaymentEventCommand } from '../payments/commands/apply-payment-event.command';
import type { BrokerConnection } from './broker.connection';
import { InboundConsumer } from './inbound.consumer';
import type { PaymentStore } from '../payments/store/payment.store';
import { MessagingMetrics } from './messaging.metrics';
import { brokerNames } from './topology';

/** A consumer over a fake channel and a fake CommandBus: what it acks, retries and dead-letters. */
async function harness(execute: (command: unknown) => Promise<unknown>, publish: () => Promise<void> = async () => undefined) {
  let deliver!: (message: ConsumeMessage | null) => void;
  const acked: number[] = [];
  const channel = {
    prefetch: jest.fn(async () => undefined),
    consume: jest.fn(async (_queue: string, onMessage: (m: ConsumeMessage | null) => void) => {
      deliver = onMessage;
      return { consumerTag: 'c' };
    }),
    ack: jest.fn((m: ConsumeMessage) => acked.push(m.fields.deliveryTag)),
  };
  const published: { exchange: string; routingKey: string; headers: Record<string, unknown> }[] = [];
  const broker = {
    names: brokerNames('t'),
    channel: (_name: string, setup: (c: ConfirmChannel) => Promise<void>) => {
      void setup(channel as unknown as ConfirmChannel);
      return { cancelAll: async () => undefined, close: async () => undefined };
    },
    publish: jest.fn(async (exchange: string, routingKey: string, _content: Buffer, options: { headers: Record<string, unknown> }) => {
      await publish();
      published.push({ exchange, routingKey, headers: options.headers });
    }),
  } as unknown as BrokerConnection;
  const metrics = new MessagingMetrics(new MetricsService());
  const store = { loaded: true } as PaymentStore;
  const consumer = new InboundConsumer(broker, { execute } as unknown as CommandBus, new AppConfig({ brokerRetryMaxMs: 100 }), metrics, store);
  consumer.onApplicationBootstrap();
  while (channel.consume.mock.calls.length === 0) await new Promise((r) => setImmediate(r)); // the channel's setup has run
  let tag = 0;
  const send = (event: Record<string, unknown>) => {
    const message = {
      content: Buffer.from(JSON.stringify({ specversion: '1.0', source: '/test', id: `ce-${tag + 1}`, ...event })),
      fields: { deliveryTag: ++tag, routingKey: String(event.type), exchange: 't.commands', redelivered: false, consumerTag: 'c' },
      properties: { headers: {} },
    } as unknown as ConsumeMessage;
    deliver(message);
    return tag;
  };
  /** Resolves once `n` messages are settled (acked), by polling the fake channel. */
  const settled = async (n: number) => {
    while (acked.length < n) await new Promise((r) => setImmediate(r));
  };
  return { consumer, send, acked, published, settled, metrics };
}

const processed = (paymentId: string) => ({ type: 'PaymentProcessed', subject: paymentId, data: {} });

describe('InboundConsumer', () => {
  it('acks a message once its command has succeeded', async () => {
    const h = await harness(async () => ({}));
    const tag = h.send(processed('pay_1'));
    await h.settled(1);
    expect(h.acked).toEqual([tag]);
    expect(h.published).toEqual([]);
  });

  it('retries a transient outcome in place, without acking, until it succeeds', async () => {
    let calls = 0;
    const h = await harness(async () => {
      calls += 1;
      if (calls <= 2) throw new DatabaseUnavailableError('connection refused');
      return {};
    });
    h.send(processed('pay_1'));
    await h.settled(1);
    expect(calls).toBe(3);
    expect((await h.metrics.retried.get()).values.map((v) => [v.labels.code, v.value])).toEqual([['DATABASE_UNAVAILABLE', 2]]);
    expect(h.published).toEqual([]);
  });

  it('dead-letters a refused command with its problem, then acks it', async () => {
    const h = await harness(async () => {
      throw new InvalidTransitionError('PaymentProcessed', 'failed');
    });
    const tag = h.send(processed('pay_1'));
    await h.settled(1);
    expect(h.acked).toEqual([tag]);
    expect(h.published).toHaveLength(1);
    expect(h.published[0]).toMatchObject({ exchange: 't.dead-letter', routingKey: 'PaymentProcessed', headers: { 'x-problem-code': 'INVALID_TRANSITION' } });
    expect(JSON.parse(String(h.published[0].headers['x-problem']))).toMatchObject({ code: 'INVALID_TRANSITION', status: 409, type: '/problems/invalid-transition' });
  });

  it('dead-letters an unexpected error as INTERNAL_ERROR instead of retrying it forever', async () => {
    const h = await harness(async () => {
      throw new TypeError('bug');
    });
    h.send(processed('pay_1'));
    await h.settled(1);
    expect(h.published[0].headers['x-problem-code']).toBe('INTERNAL_ERROR');
  });

  it('does not ack a poison message whose dead-letter copy the broker did not confirm (it is redelivered)', async () => {
    const h = await harness(
      async () => ({}),
      async () => {
        throw new Error('channel closed');
      },
    );
    h.send({ type: 'Nope', subject: 'pay_1' });
    const ok = h.send(processed('pay_2'));
    await h.settled(1);
    expect(h.acked).toEqual([ok]);
  });

  it("runs a payment's messages one after another in delivery order, other payments' beside them", async () => {
    const started: string[] = [];
    const finish = new Map<string, () => void>();
    const h = await harness((command) => {
      const { paymentId, eventId } = command as ApplyPaymentEventCommand;
      started.push(`${paymentId}:${eventId}`);
      return new Promise((resolve) => finish.set(`${paymentId}:${eventId}`, () => resolve({})));
    });
    h.send({ ...processed('pay_1'), id: 'a' });
    h.send({ type: 'PaymentRefunded', subject: 'pay_1', id: 'b', data: {} });
    h.send({ ...processed('pay_2'), id: 'c' });
    while (started.length < 2) await new Promise((r) => setImmediate(r));
    expect(started).toEqual(['pay_1:a', 'pay_2:c']); // b waits for a
    finish.get('pay_2:c')!();
    await h.settled(1);
    expect(started).toHaveLength(2);
    finish.get('pay_1:a')!();
    while (started.length < 3) await new Promise((r) => setImmediate(r));
    expect(started[2]).toBe('pay_1:b');
    finish.get('pay_1:b')!();
    await h.settled(3);
    expect(h.acked).toEqual([3, 1, 2]);
  });

  it('leaves a message that is still being retried unacknowledged at shutdown (the broker gives it to the next consumer)', async () => {
    let calls = 0;
    const h = await harness(async () => {
      calls += 1;
      throw new DatabaseUnavailableError('connection refused');
    });
    h.send(processed('pay_1'));
    while (calls < 1) await new Promise((r) => setImmediate(r));
    await h.consumer.beforeApplicationShutdown();
    expect(h.acked).toEqual([]);
    expect(h.published).toEqual([]);
  });
});
