import { Injectable, Logger, OnModuleDestroy, Optional } from '@nestjs/common';
import { EventsHandler, IEventHandler, QueryBus } from '@nestjs/cqrs';
import { AppConfig } from '../../config';
import { StreamsFullError, TooManyStreamsError } from '../../errors';
import { PaymentCreated, PaymentFailed, PaymentProcessed, PaymentRefunded, PaymentSynced } from '../payment.events';
import { PaymentStats } from '../payment-query';
import { GetPaymentStatsQuery } from './get-payment-stats.query';
import { StreamSlot, StreamSlots } from './stream-slots';

type StoreChangeEvent = PaymentCreated | PaymentProcessed | PaymentFailed | PaymentRefunded | PaymentSynced;

/** Where a stream writes: the HTTP response of one subscriber. */
export interface StatsSink {
  send(stats: PaymentStats): void;
  /** A comment line, so that proxies and clients see the connection alive. */
  ping(): void;
  end(): void;
}

/**
 * The time the streams run on: a clock in milliseconds, a one-shot timer and a repeating one
 * (each returns its cancel function). The service runs on the system's; a spec passes its own
 * and drives time itself.
 */
export interface StreamTimers {
  now(): number;
  once(ms: number, run: () => void): () => void;
  /** Never keeps the process alive. */
  every(ms: number, run: () => void): () => void;
}

export const SYSTEM_TIMERS: StreamTimers = {
  now: () => Date.now(),
  once: (ms, run) => {
    const timer = setTimeout(run, ms);
    return () => clearTimeout(timer);
  },
  every: (ms, run) => {
    const timer = setInterval(run, ms);
    timer.unref();
    return () => clearInterval(timer);
  },
};

interface Subscriber {
  query: GetPaymentStatsQuery;
  organizationId: string | undefined;
  sink: StatsSink;
  slot: StreamSlot;
  /** A matching payment changed since the last document. */
  dirty: boolean;
  lastSent: number;
  /** Cancels the flush scheduled for this subscriber, while one is. */
  cancel: (() => void) | undefined;
  computing: boolean;
}

/** At most one document per subscriber per this many milliseconds. */
export const STREAM_MIN_INTERVAL_MS = 1000;
export const PING_INTERVAL_MS = 15_000;

/**
 * Live stats (GET /payments/stats/stream), on the query side: driven by the EventBus events
 * of every write (this instance's, and in PostgreSQL mode the other instances' through
 * PaymentSynced), never by polling the store. A write marks the subscribers of its
 * organization dirty; a dirty subscriber gets a fresh document through the QueryBus (the
 * same query as GET /payments/stats, so the same cache and the same answer) at most once per
 * second. Nothing is computed for a subscriber nothing changed for.
 *
 * Streams are capped per caller and in all (STATS_STREAMS_PER_CALLER, STATS_STREAMS_MAX): a
 * stream takes its slot before it opens (reserve: past a cap, a 429 or 503 problem answer while
 * the request is still an ordinary one) and gives it back when it closes, however it closes.
 */
@Injectable()
@EventsHandler(PaymentCreated, PaymentProcessed, PaymentFailed, PaymentRefunded, PaymentSynced)
export class StatsStreams implements IEventHandler<StoreChangeEvent>, OnModuleDestroy {
  readonly #logger = new Logger('StatsStreams');
  readonly #subscribers = new Set<Subscriber>();
  readonly #slots: StreamSlots;
  /** Resolved, and emptied, whenever a stream closes (see nextClose). */
  readonly #closeWaiters: (() => void)[] = [];
  /** Stops the pings; set while anyone is subscribed. */
  #stopPinging: (() => void) | undefined;

  constructor(
    private readonly queryBus: QueryBus,
    config: AppConfig,
    // no provider gives timers: Nest passes nothing (@Optional), so the service runs on the system's
    @Optional() private readonly timers: StreamTimers = SYSTEM_TIMERS,
  ) {
    this.#slots = new StreamSlots(config.statsStreamsPerCaller, config.statsStreamsMax);
  }

  /** How many streams are open. */
  get subscribers(): number {
    return this.#subscribers.size;
  }

  /** Streams of `owner` that hold a slot (open, or about to open). */
  openBy(owner: string): number {
    return this.#slots.openBy(owner);
  }

  /**
   * A slot for a stream of `owner` (the verified caller, else the client address), to pass to
   * open(); throws TooManyStreamsError past the owner's cap, StreamsFullError past the total.
   * Release it if the stream is not opened after all.
   */
  reserve(owner: string): StreamSlot {
    const slot = this.#slots.take(owner);
    if (slot === 'owner') throw new TooManyStreamsError(this.#slots.perOwner);
    if (slot === 'total') throw new StreamsFullError(this.#slots.max);
    return slot;
  }

  /** Resolves when a stream next closes, its slot free by then. */
  nextClose(): Promise<void> {
    return new Promise((resolve) => this.#closeWaiters.push(resolve));
  }

  /**
   * Subscribes `sink` to the stats of `query`, in the `slot` reserve() gave; returns the
   * unsubscribe function (which releases the slot; a second call does nothing).
   */
  open(query: GetPaymentStatsQuery, sink: StatsSink, slot: StreamSlot, sentAt = this.timers.now()): () => void {
    const subscriber: Subscriber = {
      query,
      organizationId: query.request.filter.organizationId,
      sink,
      slot,
      dirty: false,
      lastSent: sentAt,
      cancel: undefined,
      computing: false,
    };
    this.#subscribers.add(subscriber);
    this.#stopPinging ??= this.timers.every(PING_INTERVAL_MS, () => this.#subscribers.forEach((s) => s.sink.ping()));
    return () => this.#close(subscriber);
  }

  handle(event: StoreChangeEvent): void {
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
    if (s.cancel !== undefined || s.computing) return;
    const wait = Math.max(0, s.lastSent + STREAM_MIN_INTERVAL_MS - this.timers.now());
    s.cancel = this.timers.once(wait, () => void this.#flush(s));
  }

  async #flush(s: Subscriber): Promise<void> {
    s.cancel = undefined;
    if (!s.dirty || !this.#subscribers.has(s)) return;
    s.dirty = false;
    s.computing = true;
    try {
      const stats = await this.queryBus.execute(s.query);
      if (!this.#subscribers.has(s)) return;
      s.lastSent = this.timers.now();
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
    s.cancel?.();
    s.cancel = undefined;
    if (!this.#subscribers.delete(s)) return;
    s.slot.release();
    if (this.#subscribers.size === 0) {
      this.#stopPinging?.();
      this.#stopPinging = undefined;
    }
    for (const resolve of this.#closeWaiters.splice(0)) resolve();
  }
}
