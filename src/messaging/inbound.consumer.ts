import { BeforeApplicationShutdown, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import type { ChannelWrapper } from 'amqp-connection-manager';
import type { ConfirmChannel, ConsumeMessage } from 'amqplib';
import { setTimeout as sleep } from 'node:timers/promises';
import { AppConfig } from '../config';
import { AppError } from '../errors';
import { ApplyPaymentEventCommand } from '../payments/commands/apply-payment-event.command';
import { CreatePaymentCommand } from '../payments/commands/create-payment.command';
import { heavyLane } from '../http/heavy-lane';
import { PaymentStore } from '../payments/store/payment.store';
import { toProblem } from '../problem.filter';
import { BrokerConnection } from './broker.connection';
import { context, Span, SpanStatusCode, trace } from '@opentelemetry/api';
import { contextFromTraceHeaders, tracingOn } from '../tracing/tracing';
import { startMessageSpan } from './message-spans';
import { InboundMessage, Parsed, parseInbound, traceOfBody } from './cloud-events';
import { MessagingMetrics } from './messaging.metrics';

/** Problem codes whose outcome may change by itself: the message is tried again, never dead-lettered. */
const TRANSIENT = new Set(['DATABASE_UNAVAILABLE', 'STORE_LOADING', 'OVERLOADED', 'SERVICE_UNAVAILABLE']);
const FIRST_RETRY_MS = 100;
const LOADED_POLL_MS = 100;

/**
 * Consumes the command queue: each message goes through the same CommandBus commands as HTTP
 * (same validation, tenancy and idempotency) and is acknowledged only once its outcome is final:
 * - applied, or a no-op replay (a known paymentId with the same fields, a known eventId): ack;
 * - refused for good (bad JSON, unknown type, invalid fields, conflict, invalid transition,
 *   refund past the amount, unknown payment): published to the dead-letter exchange with its
 *   problem document (confirmed), then ack. It never blocks the messages behind it;
 * - transient (database unavailable, overloaded, store loading): kept unacknowledged and tried
 *   again after a growing pause (100 ms doubling, at most BROKER_RETRY_MAX_MS). It keeps its
 *   place: the payment's later messages wait for it.
 * A payment's messages run one after another, in delivery order (a chain per paymentId); other
 * payments' run side by side, up to the prefetch. An ack is sent on the channel the message
 * came on; if that channel has closed the broker redelivers the message, and applying it again
 * is a no-op (paymentId and eventId idempotency).
 */
@Injectable()
export class InboundConsumer implements OnApplicationBootstrap, BeforeApplicationShutdown {
  readonly #logger = new Logger('InboundConsumer');
  #channel: ChannelWrapper | undefined;
  readonly #chains = new Map<string, Promise<void>>();
  readonly #inFlight = new Set<Promise<void>>();
  /** With tracing on: the consumer span of each delivery being handled. */
  readonly #spans = new WeakMap<ConsumeMessage, Span>();
  #stopping = false;
  readonly #abort = new AbortController();

  constructor(
    private readonly broker: BrokerConnection,
    private readonly commandBus: CommandBus,
    private readonly config: AppConfig,
    private readonly metrics: MessagingMetrics,
    private readonly store: PaymentStore,
  ) {}

  onApplicationBootstrap(): void {
    this.#channel = this.broker.channel('consumer', async (channel) => {
      // PostgreSQL mode: no message is taken before the store has loaded (HTTP answers 503 until then)
      while (!this.store.loaded && !this.#stopping) await sleep(LOADED_POLL_MS, undefined, { signal: this.#abort.signal }).catch(() => undefined);
      if (this.#stopping) return;
      await channel.prefetch(this.config.brokerPrefetch);
      await channel.consume(this.broker.names.commandsQueue, (message) => message && this.#receive(channel, message), { noAck: false });
    });
  }

  /** Stops taking messages, lets those in flight finish (their acks go out), then the connection closes. */
  async beforeApplicationShutdown(): Promise<void> {
    this.#stopping = true;
    this.#abort.abort();
    await this.#channel?.cancelAll().catch(() => undefined);
    await Promise.allSettled([...this.#inFlight]);
    await this.#channel?.close().catch(() => undefined);
  }

  /**
   * A delivery waits for its turn in the heavy lane (the one search and stats take turns in):
   * the consumer's work then yields to HTTP after about a millisecond per event-loop iteration,
   * so a backlog drained at full speed never holds a GET for long. The lane is FIFO: deliveries
   * keep their order.
   */
  #receive(channel: ConfirmChannel, message: ConsumeMessage): void {
    void heavyLane.turn().then(() => this.#dispatch(channel, message));
  }

  #dispatch(channel: ConfirmChannel, message: ConsumeMessage): void {
    const parsed = parseInbound(message.content, this.config.maxJsonDepth);
    const type = parsed.ok ? parsed.message.type : (parsed.type ?? 'unknown');
    this.metrics.consumed.inc({ type: label(type) });
    // messages of one payment in order; one that cannot be read has no payment to wait for
    const key = parsed.ok ? parsed.message.paymentId : `\u0000${message.fields.deliveryTag}`;
    const previous = this.#chains.get(key) ?? Promise.resolve();
    const work = () => (parsed.ok ? this.#handle(channel, message, parsed.message) : this.#deadLetter(channel, message, parsed.error, type));
    const run = previous.then(tracingOn() ? this.#traced(message, parsed, work) : work);
    this.#chains.set(key, run);
    this.#inFlight.add(run);
    void run.finally(() => {
      this.#inFlight.delete(run);
      if (this.#chains.get(key) === run) this.#chains.delete(key);
    });
  }

  /**
   * With tracing on: `work` inside a consumer span (`process <queue>`) that joins the publisher's
   * trace from the CloudEvent's traceparent (else the delivery's context), and ends when the
   * message's outcome is final. Its commands' spans are its children.
   */
  #traced(message: ConsumeMessage, parsed: Parsed, work: () => Promise<void>): () => Promise<void> {
    const queue = this.broker.names.commandsQueue;
    // a refused message's trace too, when its envelope can be read (a rare, second parse)
    const parent = contextFromTraceHeaders((parsed.ok ? parsed.message.trace : traceOfBody(message.content.toString('utf8'))) ?? {});
    const span = startMessageSpan(
      'process',
      queue,
      message.fields.routingKey,
      parent,
      parsed.ok ? { id: parsed.message.id, type: parsed.message.type, subject: parsed.message.paymentId } : undefined,
    );
    this.#spans.set(message, span);
    return () =>
      context.with(trace.setSpan(parent, span), work).finally(() => {
        this.#spans.delete(message);
        span.end();
      });
  }

  async #handle(channel: ConfirmChannel, message: ConsumeMessage, inbound: InboundMessage): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      if (this.#stopping) return; // unacknowledged: the broker gives it to the next consumer
      try {
        await this.#execute(inbound);
        this.metrics.acked.inc({ type: inbound.type });
        ack(channel, message);
        return;
      } catch (error) {
        if (error instanceof AppError && TRANSIENT.has(error.code)) {
          this.metrics.retried.inc({ code: error.code });
          const pause = Math.min(FIRST_RETRY_MS * 2 ** Math.min(attempt, 16), this.config.brokerRetryMaxMs);
          if (attempt === 0) this.#logger.warn(`${inbound.type} ${inbound.paymentId}: ${error.code}; retrying`);
          await sleep(pause * (0.75 + Math.random() / 2), undefined, { signal: this.#abort.signal }).catch(() => undefined);
          continue;
        }
        if (!(error instanceof AppError)) this.#logger.error(`${inbound.type} ${inbound.paymentId}: ${(error as Error)?.stack ?? String(error)}`);
        return this.#deadLetter(channel, message, error, inbound.type);
      }
    }
  }

  /** The same commands as HTTP. A create that finds the same payment stored is a replay (no-op). */
  async #execute(inbound: InboundMessage): Promise<void> {
    if (inbound.kind === 'create') {
      // a stored payment with other fields is a 409 PAYMENT_ID_CONFLICT: dead-lettered
      await this.commandBus.execute(new CreatePaymentCommand(inbound.input));
      return;
    }
    await this.commandBus.execute(new ApplyPaymentEventCommand(inbound.paymentId, inbound.eventId, inbound.event, inbound.organizationId));
  }

  /**
   * Publishes the message, as it came, to the dead-letter exchange with its problem document
   * (header x-problem, JSON), and acks it once the broker has confirmed that copy.
   */
  async #deadLetter(channel: ConfirmChannel, message: ConsumeMessage, error: unknown, type: string): Promise<void> {
    const { headers: _headers, ...problem } = toProblem(error);
    void _headers;
    this.metrics.deadLettered.inc({ code: problem.code });
    const span = this.#spans.get(message);
    span?.setAttribute('payments.problem_code', problem.code);
    span?.setStatus({ code: SpanStatusCode.ERROR, message: `dead-lettered: ${problem.code}` });
    this.#logger.warn(`dead-lettered a ${label(type)} message: ${problem.code} (${problem.detail})`);
    try {
      await this.broker.publish(this.broker.names.deadLetter, message.fields.routingKey, message.content, {
        ...message.properties,
        headers: {
          ...message.properties.headers,
          'x-problem': JSON.stringify(problem),
          'x-problem-code': problem.code,
          'x-original-exchange': message.fields.exchange,
          'x-original-routing-key': message.fields.routingKey,
        },
      });
    } catch {
      return; // not acknowledged: redelivered, and dead-lettered again
    }
    ack(channel, message);
  }
}

function ack(channel: ConfirmChannel, message: ConsumeMessage): void {
  try {
    channel.ack(message);
  } catch {
    // the channel closed since the delivery: the broker redelivers it, and it is a no-op then
  }
}

/** A metric label from a type a publisher chose: known ones as they are, anything else as 'other'. */
function label(type: string): string {
  return /^(CreatePayment|PaymentProcessed|PaymentFailed|PaymentRefunded)$/.test(type) ? type : 'other';
}
