import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { AppConfig } from '../config';
import { heavyLane } from '../http/heavy-lane';
import { reasonOf } from '../persistence/postgres';
import { BrokerConnection } from './broker.connection';
import { context, ROOT_CONTEXT, SpanStatusCode, trace } from '@opentelemetry/api';
import { contextFromTraceHeaders, tracingOn } from '../tracing/tracing';
import { startMessageSpan } from './message-spans';
import { CLOUDEVENTS_JSON, TraceAttributes } from './cloud-events';
import { MessagingMetrics } from './messaging.metrics';
import { Outbox, OutboxEntry } from './outbox';

/** How often an idle relay looks again (an instance not holding the relay lock tries to take it). */
const IDLE_POLL_MS = 1000;
const MAX_BACKOFF_MS = 5000;
/** At shutdown, how long a batch in flight may take to be confirmed. */
const SHUTDOWN_WAIT_MS = 2000;

/**
 * Publishes the outbox to the events exchange: the oldest OUTBOX_BATCH entries, all sent on the
 * confirm channel, then, once the broker has confirmed every one, marked sent. A batch that
 * fails (broker gone, channel closed) is sent again whole: at least once, in order, and the
 * CloudEvent id of a repeat is the same. Woken at once by a new entry, else every second.
 */
@Injectable()
export class OutboxRelay implements OnApplicationBootstrap, OnApplicationShutdown {
  readonly #logger = new Logger('OutboxRelay');
  #stopping = false;
  #wake: (() => void) | undefined;
  #pending = false;
  #running: Promise<void> | undefined;
  readonly #abort = new AbortController();

  constructor(
    private readonly outbox: Outbox,
    private readonly broker: BrokerConnection,
    private readonly config: AppConfig,
    private readonly metrics: MessagingMetrics,
  ) {
    outbox.onAdded = () => this.kick();
    metrics.metrics.asyncGauge('payments_outbox_backlog', 'Committed changes whose event is not yet confirmed by the broker', () => outbox.backlog());
  }

  onApplicationBootstrap(): void {
    this.#running = this.#run();
  }

  async onApplicationShutdown(): Promise<void> {
    this.#stopping = true;
    this.#abort.abort();
    this.kick();
    // a batch the broker has not confirmed stays in the outbox (PostgreSQL) and goes out later
    await Promise.race([this.#running, sleep(SHUTDOWN_WAIT_MS, undefined, { ref: false })]);
  }

  kick(): void {
    this.#pending = true;
    this.#wake?.();
  }

  async #run(): Promise<void> {
    let backoff = 100;
    while (!this.#stopping) {
      let published = 0;
      try {
        published = await this.#round();
        backoff = 100;
      } catch (e) {
        if (this.#stopping) return;
        this.#logger.warn(`cannot relay the outbox yet (${reasonOf(e)}); retrying in ${backoff} ms`);
        await sleep(backoff, undefined, { signal: this.#abort.signal }).catch(() => undefined);
        backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
        continue;
      }
      if (published === 0) await this.#idle();
    }
  }

  /** One batch: returns how many events it published (0: nothing to do, or not this instance's turn). */
  async #round(): Promise<number> {
    this.#pending = false;
    if (!(await this.outbox.claim())) return 0;
    const batch = await this.outbox.take(this.config.outboxBatch);
    if (batch.length === 0) return 0;
    // each publish (encoding, framing) takes its turn in the heavy lane, in order: a large
    // batch never holds HTTP requests for long
    await Promise.all(batch.map((entry) => heavyLane.turn().then(() => this.#publish(entry))));
    await this.outbox.sent(batch);
    return batch.length;
  }

  async #publish(entry: OutboxEntry): Promise<void> {
    const send = () =>
      this.broker.publish(this.broker.names.events, entry.type, Buffer.from(entry.body), {
        messageId: entry.id,
        type: entry.type,
        contentType: CLOUDEVENTS_JSON,
        timestamp: Math.floor(entry.committedAt / 1000),
      });
    await (tracingOn() && entry.trace !== undefined ? this.#traced(entry, entry.trace, send) : send());
    this.metrics.published.inc({ type: entry.type });
    this.metrics.publishLatency.observe(Math.max(0, Date.now() - entry.committedAt) / 1000);
  }

  /**
   * With tracing on: the publish inside a producer span (`send <exchange>`) in the trace of the
   * change that made the event (its CloudEvent's traceparent), ended when the broker confirms.
   */
  async #traced(entry: OutboxEntry, origin: TraceAttributes, send: () => Promise<void>): Promise<void> {
    const exchange = this.broker.names.events;
    const parent = contextFromTraceHeaders(origin, ROOT_CONTEXT);
    const span = startMessageSpan('send', exchange, entry.type, parent, { id: entry.id, type: entry.type });
    try {
      await context.with(trace.setSpan(parent, span), send);
    } catch (e) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: reasonOf(e) });
      throw e;
    } finally {
      span.end();
    }
  }

  async #idle(): Promise<void> {
    if (this.#pending || this.#stopping) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, IDLE_POLL_MS);
      this.#wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.#wake = undefined;
  }
}
