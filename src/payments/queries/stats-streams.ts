import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { EventsHandler, IEventHandler, QueryBus } from '@nestjs/cqrs';
import { PaymentCreated, PaymentFailed, PaymentProcessed, PaymentRefunded, PaymentSynced } from '../payment.events';
import { PaymentStats } from '../store/stats';
import { GetPaymentStatsQuery } from './get-payment-stats.query';

type PaymentChange = PaymentCreated | PaymentProcessed | PaymentFailed | PaymentRefunded | PaymentSynced;

/** Where a stream writes: the HTTP response of one subscriber. */
export interface StatsSink {
  send(stats: PaymentStats): void;
  /** A comment line, so that proxies and clients see the connection alive. */
  ping(): void;
  end(): void;
}

interface Subscriber {
  query: GetPaymentStatsQuery;
  organizationId: string | undefined;
  sink: StatsSink;
  /** A matching payment changed since the last document. */
  dirty: boolean;
  lastSent: number;
  timer: NodeJS.Timeout | undefined;
  computing: boolean;
}

/** At most one document per subscriber per this many milliseconds. */
const STREAM_MIN_INTERVAL_MS = 1000;
const PING_INTERVAL_MS = 15_000;

/**
 * Live stats (GET /payments/stats/stream), on the query side: driven by the EventBus events
 * of every write (this instance's, and in PostgreSQL mode the other instances' through
 * PaymentSynced), never by polling the store. A write marks the subscribers of its
 * organization dirty; a dirty subscriber gets a fresh document through the QueryBus (the
 * same query as GET /payments/stats, so the same cache and the same answer) at most once per
 * second. Nothing is computed for a subscriber nothing changed for.
 */
@Injectable()
@EventsHandler(PaymentCreated, PaymentProcessed, PaymentFailed, PaymentRefunded, PaymentSynced)
export class StatsStreams implements IEventHandler<PaymentChange>, OnModuleDestroy {
  readonly #logger = new Logger('StatsStreams');
  readonly #subscribers = new Set<Subscriber>();
  #pinger: NodeJS.Timeout | undefined;

  constructor(private readonly queryBus: QueryBus) {}

  /** Subscribes `sink` to the stats of `query`; returns the unsubscribe function. */
  open(query: GetPaymentStatsQuery, sink: StatsSink, sentAt = Date.now()): () => void {
    const subscriber: Subscriber = {
      query,
      organizationId: query.request.filter.organizationId,
      sink,
      dirty: false,
      lastSent: sentAt,
      timer: undefined,
      computing: false,
    };
    this.#subscribers.add(subscriber);
    if (this.#pinger === undefined) {
      this.#pinger = setInterval(() => this.#subscribers.forEach((s) => s.sink.ping()), PING_INTERVAL_MS);
      this.#pinger.unref();
    }
    return () => this.#close(subscriber);
  }

  handle(event: PaymentChange): void {
    const org = event.payment.organizationId;
    for (const s of this.#subscribers) {
      if (s.organizationId === undefined || s.organizationId === org) {
        s.dirty = true;
        this.#schedule(s);
      }
    }
  }

  /** Shutdown: every stream ends, so that the HTTP server can close. */
  onModuleDestroy(): void {
    for (const s of [...this.#subscribers]) {
      s.sink.end();
      this.#close(s);
    }
  }

  #schedule(s: Subscriber): void {
    if (s.timer !== undefined || s.computing) return;
    const wait = Math.max(0, s.lastSent + STREAM_MIN_INTERVAL_MS - Date.now());
    s.timer = setTimeout(() => void this.#flush(s), wait);
  }

  async #flush(s: Subscriber): Promise<void> {
    s.timer = undefined;
    if (!s.dirty || !this.#subscribers.has(s)) return;
    s.dirty = false;
    s.computing = true;
    try {
      const stats = await this.queryBus.execute(s.query);
      if (!this.#subscribers.has(s)) return;
      s.lastSent = Date.now();
      s.sink.send(stats);
    } catch (e) {
      this.#logger.error(`stats stream: ${String(e)}`);
      s.sink.end();
      this.#close(s);
      return;
    } finally {
      s.computing = false;
    }
    if (s.dirty) this.#schedule(s); // changed again while computing
  }

  #close(s: Subscriber): void {
    clearTimeout(s.timer);
    this.#subscribers.delete(s);
    if (this.#subscribers.size === 0 && this.#pinger !== undefined) {
      clearInterval(this.#pinger);
      this.#pinger = undefined;
    }
  }
}
