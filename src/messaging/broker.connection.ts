import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import amqp, { AmqpConnectionManager, ChannelWrapper } from 'amqp-connection-manager';
import type { ConfirmChannel, Options } from 'amqplib';
import { AppConfig } from '../config';
import { MetricsService } from '../metrics/metrics.service';
import { assertTopology, BrokerNames, brokerNames } from './topology';

/**
 * The connection to RabbitMQ (amqp-connection-manager over amqplib): it reconnects on its own,
 * and every channel's setup (topology, consumer) runs again on each new connection.
 * `publish` goes through a confirm channel: it resolves when the broker has the message
 * (persistent, on a durable exchange), and a message not yet confirmed when the connection
 * drops is sent again after the reconnection.
 */
@Injectable()
export class BrokerConnection implements OnApplicationShutdown {
  readonly #logger = new Logger('Broker');
  readonly names: BrokerNames;
  readonly connection: AmqpConnectionManager;
  readonly #publisher: ChannelWrapper;
  #lastError: string | undefined;
  #declaring: Promise<void> = Promise.resolve();

  constructor(
    readonly config: AppConfig,
    metrics: MetricsService,
  ) {
    this.names = brokerNames(config.brokerPrefix);
    this.connection = amqp.connect([config.brokerUrl!], {
      heartbeatIntervalInSeconds: 5,
      reconnectTimeInSeconds: 1,
      connectionOptions: { clientProperties: { connection_name: `payments-service ${process.pid}` } },
    });
    this.connection.on('connect', () => {
      this.#lastError = undefined;
      this.#logger.log(`connected to the broker (${redact(config.brokerUrl!)})`);
    });
    this.connection.on('disconnect', ({ err }) => {
      this.#lastError = err?.message ?? 'disconnected';
      this.#logger.warn(`broker connection lost (${this.#lastError}); reconnecting`);
    });
    this.connection.on('connectFailed', ({ err }) => {
      this.#lastError = err?.message ?? 'cannot connect';
    });
    this.#publisher = this.connection.createChannel({
      name: 'publisher',
      confirm: true,
      // a publish not confirmed in this time fails (the outbox sends it again later)
      publishTimeout: PUBLISH_TIMEOUT_MS,
      json: false,
      setup: (channel: ConfirmChannel) => this.#declare(channel),
    });
    this.#publisher.on('error', (err) => this.#logger.warn(`publisher channel: ${(err as Error).message}`));
    metrics.gauge('payments_broker_connected', '1 while the broker connection is up', () => (this.connected ? 1 : 0));
  }

  /** Declares the topology, one channel at a time (two channels declaring one quorum queue at once can fail). */
  #declare(channel: ConfirmChannel): Promise<void> {
    const run = this.#declaring.catch(() => undefined).then(() => assertTopology(channel, this.names, this.config));
    this.#declaring = run;
    return run;
  }

  get connected(): boolean {
    return this.connection.isConnected();
  }

  get lastError(): string | undefined {
    return this.#lastError;
  }

  /** A channel of its own (a consumer); `setup` runs on every new channel, after the topology. */
  channel(name: string, setup: (channel: ConfirmChannel) => Promise<void>): ChannelWrapper {
    const wrapper = this.connection.createChannel({
      name,
      confirm: true,
      json: false,
      setup: async (channel: ConfirmChannel) => {
        await this.#declare(channel);
        await setup(channel);
      },
    });
    wrapper.on('error', (err) => this.#logger.warn(`${name} channel: ${(err as Error).message}`));
    return wrapper;
  }

  /** Resolves when the broker confirms the message; waits through reconnections. */
  async publish(exchange: string, routingKey: string, content: Buffer, options: Options.Publish): Promise<void> {
    await this.#publisher.publish(exchange, routingKey, content, { persistent: true, ...options });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.connection.close().catch(() => undefined);
  }
}

const PUBLISH_TIMEOUT_MS = 30_000;

/** The URL without its password, for logs. */
function redact(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@');
}
