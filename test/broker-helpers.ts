import amqplib, { Channel, ChannelModel, ConfirmChannel, ConsumeMessage } from 'amqplib';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { brokerNames, BrokerNames } from '../src/messaging/topology';

/** The RabbitMQ the tests use: the local one (guest/guest), unless TEST_BROKER_URL names another. */
export const TEST_BROKER_URL = process.env.TEST_BROKER_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

/** A BROKER_PREFIX of this test's own: its exchanges and queues collide with nobody's. */
export function uniquePrefix(): string {
  return `test-${process.pid}-${randomBytes(4).toString('hex')}`;
}

export interface CloudEventInput {
  type: string;
  subject?: string;
  id?: string;
  data?: unknown;
  organizationid?: string;
  [attribute: string]: unknown;
}

/** A received message: its CloudEvent (parsed body) and AMQP headers. */
export interface Received {
  body: Record<string, unknown>;
  headers: Record<string, unknown>;
  routingKey: string;
  raw: ConsumeMessage;
}

/**
 * The test's side of the broker: publishes commands as a processor would, and reads the events
 * exchange and the dead-letter queue as a subscriber would. `remove()` deletes everything under
 * the prefix.
 */
export class TestBroker {
  readonly names: BrokerNames;
  /** A durable queue of the test's own, bound to every event the service publishes. */
  readonly eventsQueue: string;
  #connection!: ChannelModel;
  #channel!: ConfirmChannel;
  #reader!: Channel;

  private constructor(readonly prefix: string) {
    this.names = brokerNames(prefix);
    this.eventsQueue = `${prefix}.test-events`;
  }

  static async open(prefix = uniquePrefix()): Promise<TestBroker> {
    const broker = new TestBroker(prefix);
    await broker.#connect();
    return broker;
  }

  async #connect(): Promise<void> {
    this.#connection = await amqplib.connect(TEST_BROKER_URL);
    this.#connection.on('error', () => undefined);
    this.#channel = await this.#connection.createConfirmChannel();
    this.#channel.on('error', () => undefined);
    this.#reader = await this.#connection.createChannel();
    this.#reader.on('error', () => undefined);
    // the service declares the rest; the test's subscriber queue and its binding are the test's
    await this.#channel.assertExchange(this.names.events, 'topic', { durable: true });
    await this.#channel.assertQueue(this.eventsQueue, { durable: true });
    await this.#channel.bindQueue(this.eventsQueue, this.names.events, '#');
  }

  /** Waits until the service has declared its topology and consumes the command queue. */
  async waitForConsumer(): Promise<void> {
    for (;;) {
      const channel = await this.#connection.createChannel();
      channel.on('error', () => undefined);
      const found = await channel.checkQueue(this.names.commandsQueue).catch(() => undefined);
      await channel.close().catch(() => undefined);
      if (found !== undefined && found.consumerCount > 0) return;
      await sleep(20);
    }
  }

  /** After the broker closed every connection: a new one. */
  async reconnect(): Promise<void> {
    await this.#connection.close().catch(() => undefined);
    await this.#connect();
  }

  /** A CloudEvent in structured mode, as a processor would publish it (confirmed). */
  async publish(event: CloudEventInput): Promise<void> {
    const body = { specversion: '1.0', source: '/test/processor', id: event.id ?? randomBytes(8).toString('hex'), ...event };
    await this.publishRaw(Buffer.from(JSON.stringify(body)), event.type);
  }

  async publishRaw(content: Buffer, routingKey: string): Promise<void> {
    this.#channel.publish(this.names.commands, routingKey, content, { persistent: true, contentType: 'application/cloudevents+json' });
    await this.#channel.waitForConfirms();
  }

  /** Publishes many, waiting for the confirms once at the end. */
  async publishAll(events: CloudEventInput[]): Promise<void> {
    for (const event of events) {
      const body = { specversion: '1.0', source: '/test/processor', id: event.id ?? randomBytes(8).toString('hex'), ...event };
      const ok = this.#channel.publish(this.names.commands, event.type, Buffer.from(JSON.stringify(body)), { persistent: true });
      if (!ok) await new Promise((resolve) => this.#channel.once('drain', resolve));
    }
    await this.#channel.waitForConfirms();
  }

  /** Everything in `queue` now (acknowledged: taken off it). */
  async take(queue: string): Promise<Received[]> {
    const out: Received[] = [];
    for (;;) {
      const message = await this.#reader.get(queue, { noAck: true });
      if (message === false) return out;
      out.push({ body: JSON.parse(message.content.toString()), headers: message.properties.headers ?? {}, routingKey: message.fields.routingKey, raw: message });
    }
  }

  /** Reads `queue` until `done(all so far)` holds, polling (no deadline but jest's). */
  async takeUntil(queue: string, done: (all: Received[]) => boolean): Promise<Received[]> {
    const all: Received[] = [];
    for (;;) {
      all.push(...(await this.take(queue)));
      if (done(all)) return all;
      await sleep(20);
    }
  }

  async count(queue: string): Promise<number> {
    return (await this.#reader.checkQueue(queue)).messageCount;
  }

  /** Deletes the prefix's queues and exchanges (the service's and the test's). */
  async remove(): Promise<void> {
    const channel = await this.#connection.createChannel().catch(() => undefined);
    if (channel) {
      channel.on('error', () => undefined);
      for (const queue of [this.eventsQueue, this.names.commandsQueue, this.names.deadLetterQueue]) await channel.deleteQueue(queue).catch(() => undefined);
      for (const exchange of [this.names.events, this.names.commands, this.names.deadLetter]) await channel.deleteExchange(exchange).catch(() => undefined);
    }
    await this.#connection.close().catch(() => undefined);
  }
}
