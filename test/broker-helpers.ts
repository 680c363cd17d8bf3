import amqplib, { Channel, ChannelModel, ConfirmChannel, Message } from 'amqplib';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { brokerNames, BrokerNames } from '../src/messaging/topology';

/** The RabbitMQ the tests use: the local one (guest/guest), unless TEST_BROKER_URL names another. */
export const TEST_BROKER_URL = process.env.TEST_BROKER_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

/** Pause between two looks at an outcome the test waits for: pacing only, never a deadline. */
const POLL_PAUSE_MS = 15;

/**
 * Waits for an outcome that happens asynchronously (a message consumed, an outbox drained):
 * calls `probe` until it returns something other than undefined or false, and returns that.
 * No deadline but jest's: a wait never depends on how fast the machine is.
 */
export async function until<T>(probe: () => Promise<T | undefined | false> | T | undefined | false): Promise<T> {
  for (;;) {
    const found = await probe();
    if (found !== undefined && found !== false) return found;
    await sleep(POLL_PAUSE_MS);
  }
}

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
  raw: Message;
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

  private constructor(
    readonly prefix: string,
    /** The broker (and vhost) this test talks to. */
    readonly url: string,
  ) {
    this.names = brokerNames(prefix);
    this.eventsQueue = `${prefix}.test-events`;
  }

  static async open(prefix = uniquePrefix(), url = TEST_BROKER_URL): Promise<TestBroker> {
    const broker = new TestBroker(prefix, url);
    await broker.#connect();
    return broker;
  }

  /** The connection_name the broker lists this test's connection under (see closeBrokerConnections). */
  get connectionName(): string {
    return `test-broker ${this.prefix}`;
  }

  async #connect(): Promise<void> {
    this.#connection = await amqplib.connect(this.url, { clientProperties: { connection_name: this.connectionName } });
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
    await until(async () => {
      const channel = await this.#connection.createChannel();
      channel.on('error', () => undefined);
      const found = await channel.checkQueue(this.names.commandsQueue).catch(() => undefined);
      await channel.close().catch(() => undefined);
      return found !== undefined && found.consumerCount > 0;
    });
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
      out.push({ body: parseOrEmpty(message.content), headers: message.properties.headers ?? {}, routingKey: message.fields.routingKey, raw: message });
    }
  }

  /** Reads `queue` until `done(all so far)` holds, polling (no deadline but jest's). */
  async takeUntil(queue: string, done: (all: Received[]) => boolean): Promise<Received[]> {
    const all: Received[] = [];
    return until(async () => {
      all.push(...(await this.take(queue)));
      return done(all) && all;
    });
  }

  /**
   * Everything in `queue` now, faster than take() for thousands (a consumer instead of one
   * basic.get per message): at least the messages the queue held when called.
   */
  async takeAll(queue: string): Promise<Received[]> {
    const channel = await this.#connection.createChannel();
    channel.on('error', () => undefined);
    try {
      const { messageCount } = await channel.checkQueue(queue);
      const out: Received[] = [];
      let enough!: () => void;
      const done = new Promise<void>((resolve) => (enough = resolve));
      if (messageCount === 0) enough();
      const { consumerTag } = await channel.consume(
        queue,
        (message) => {
          if (message === null) return;
          out.push({ body: parseOrEmpty(message.content), headers: message.properties.headers ?? {}, routingKey: message.fields.routingKey, raw: message });
          if (out.length >= messageCount) enough();
        },
        { noAck: true },
      );
      await done;
      await channel.cancel(consumerTag);
      return out;
    } finally {
      await channel.close().catch(() => undefined);
    }
  }

  async count(queue: string): Promise<number> {
    return (await this.#reader.checkQueue(queue)).messageCount;
  }

  /** Messages ready in `queue` and its consumers (a passive declare on a channel of its own: safe when the queue is missing). */
  async queueState(queue: string): Promise<{ messageCount: number; consumerCount: number } | undefined> {
    const channel = await this.#connection.createChannel();
    channel.on('error', () => undefined);
    const state = await channel.checkQueue(queue).catch(() => undefined);
    await channel.close().catch(() => undefined);
    return state;
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

const run = promisify(execFile);

/**
 * `rabbitmqctl close_all_connections` on one vhost: the broker drops every connection to it, as
 * it does to all of them when it restarts (the other vhosts' users, other test runs on the same
 * broker, keep theirs).
 */
export async function closeAllBrokerConnections(vhost: string, reason = 'test'): Promise<void> {
  await run('rabbitmqctl', ['close_all_connections', '--vhost', vhost, '--limit', '100000', reason]);
}

export interface TestVhost {
  name: string;
  /** TEST_BROKER_URL on this vhost. */
  url: string;
  drop(): Promise<void>;
}

/** A vhost of the test's own on the local broker (rabbitmqctl, as root), guest allowed everything on it. */
export async function createVhost(name = uniquePrefix()): Promise<TestVhost> {
  await run('rabbitmqctl', ['add_vhost', name]);
  const user = decodeURIComponent(new URL(TEST_BROKER_URL).username || 'guest');
  await run('rabbitmqctl', ['set_permissions', '--vhost', name, user, '.*', '.*', '.*']);
  const url = new URL(TEST_BROKER_URL);
  url.pathname = `/${encodeURIComponent(name)}`;
  return { name, url: url.toString(), drop: () => run('rabbitmqctl', ['delete_vhost', name]).then(() => undefined) };
}

/** A body as JSON, or {} when it is not (a dead-lettered message may be anything). */
function parseOrEmpty(content: Buffer): Record<string, unknown> {
  try {
    return JSON.parse(content.toString());
  } catch {
    return {};
  }
}
