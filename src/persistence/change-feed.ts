import { Logger } from '@nestjs/common';
import { context, ROOT_CONTEXT, Span, trace } from '@opentelemetry/api';
import type { Client, Pool } from 'pg';
import { setTimeout as sleep } from 'node:timers/promises';
import { AppConfig } from '../config';
import { MetricsService } from '../metrics/metrics.service';
import { Payment } from '../payments/payment';
import { PAYMENT_COLUMNS, paymentFromRow, PaymentRow } from './payment-rows';
import { CHANGES_CHANNEL, createClient, reasonOf } from './postgres';
import { timeMs } from '../iso-time';
import { recordFailure, tracer, tracingOn } from '../tracing/tracing';

const CATCH_UP_BATCH = 2000;

/**
 * Follows the writes of every instance. Each committed write carries a new `seq`, and seq
 * order is commit order (COMMIT_LOCK), so "everything with seq > position" is exactly what
 * this instance has not seen. LISTEN/NOTIFY only says when to look: a missed notification, a
 * dropped connection or a restart of PostgreSQL loses nothing, because the catch-up query
 * runs again on reconnect and on a slow safety-net timer.
 */
export class ChangeFeed {
  readonly #logger = new Logger('ChangeFeed');
  #position = 0;
  #stopped = true;
  #running: Promise<void> | null = null;
  #again = false;
  #timer: NodeJS.Timeout | undefined;
  #listener: Client | undefined;
  #listening: Promise<void> | undefined;
  #listenerUp = false;
  readonly #abort = new AbortController();

  constructor(
    private readonly config: AppConfig,
    private readonly pool: Pool,
    /** Applies one committed payment; true when it changed the store (not seen before). */
    private readonly apply: (payment: Payment) => boolean,
    private readonly metrics: MetricsService,
  ) {}

  /** Sequence number of the last change applied. */
  get position(): number {
    return this.#position;
  }

  /** True while the LISTEN connection is up (else changes arrive by the timer only). */
  get listening(): boolean {
    return this.#listenerUp;
  }

  start(position: number): void {
    this.#position = position;
    this.#stopped = false;
    this.#timer = setInterval(() => this.poke(), this.config.syncPollMs);
    this.#timer.unref();
    this.#listening = this.#listen();
    this.poke();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    this.#abort.abort();
    // A connection still being opened is not ended here (pg may then never settle its connect):
    // the loop sees #stopped as soon as it is open and closes it.
    if (this.#listenerUp) await this.#listener?.end().catch(() => undefined);
    await this.#listening;
    await this.#running;
  }

  /** Runs a catch-up now, or right after the one in flight. */
  poke(): void {
    if (this.#stopped) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#running = this.#catchUp().finally(() => {
      this.#running = null;
      if (this.#again) {
        this.#again = false;
        this.poke();
      }
    });
  }

  /** Resolves once every change committed before this call has been applied. */
  async drain(): Promise<void> {
    await this.#running;
    this.poke();
    await this.#running;
  }

  /**
   * With tracing on, a catch-up that changes the store is a `payments.change_feed.catch_up` span
   * (a trace of its own), from its start. One that changes nothing (every poll of an idle
   * service, the echo of this instance's own commits) makes no trace: the span begins once a
   * row applies, so the queries before that have no pg span.
   */
  async #catchUp(): Promise<void> {
    const from = this.#position;
    const startTime = tracingOn() ? performance.timeOrigin + performance.now() : undefined;
    let span: Span | undefined;
    let read = 0;
    let applied = 0;
    const query = () =>
      this.pool.query<PaymentRow>(`SELECT ${PAYMENT_COLUMNS} FROM payments WHERE seq > $1 ORDER BY seq LIMIT ${CATCH_UP_BATCH}`, [
        this.#position,
      ]);
    try {
      for (;;) {
        const { rows } = await (span === undefined ? query() : context.with(trace.setSpan(ROOT_CONTEXT, span), query));
        const now = Date.now();
        for (const row of rows) {
          const payment = paymentFromRow(row);
          if (this.apply(payment)) {
            applied++;
            this.metrics.syncDelay.observe(Math.max(0, now - timeMs(payment.updatedAt)) / 1000);
          }
          this.#position = row.seq;
        }
        read += rows.length;
        if (startTime !== undefined && span === undefined && applied > 0) {
          span = tracer.startSpan('payments.change_feed.catch_up', { startTime, root: true });
        }
        if (rows.length < CATCH_UP_BATCH) return;
      }
    } catch (e) {
      if (span !== undefined) recordFailure(span, e);
      // Unreachable database: the next poke (timer or reconnect) tries again from the same position.
      this.#logger.warn(`catch-up from seq ${this.#position} failed: ${reasonOf(e)}`);
    } finally {
      span?.setAttributes({
        'payments.change_feed.rows_read': read,
        'payments.change_feed.rows_applied': applied,
        'payments.change_feed.position_from': from,
        'payments.change_feed.position_to': this.#position,
      });
      span?.end();
    }
  }

  async #listen(): Promise<void> {
    let backoffMs = 100;
    while (!this.#stopped) {
      const client = createClient(this.config);
      this.#listener = client;
      try {
        const closed = new Promise<void>((resolve) => {
          client.on('error', () => resolve());
          client.on('end', () => resolve());
        });
        await client.connect();
        if (this.#stopped) return;
        client.on('notification', () => this.poke());
        await client.query(`LISTEN ${CHANGES_CHANNEL}`);
        this.#listenerUp = true;
        if (this.#stopped) return;
        backoffMs = 100;
        this.poke(); // whatever was committed while we were not listening
        await closed;
      } catch (e) {
        if (!this.#stopped) this.#logger.warn(`LISTEN connection failed: ${reasonOf(e)}`);
      } finally {
        this.#listenerUp = false;
        await client.end().catch(() => undefined);
      }
      if (this.#stopped) return;
      await sleep(backoffMs, undefined, { signal: this.#abort.signal }).catch(() => undefined);
      backoffMs = Math.min(backoffMs * 2, 5000);
    }
  }
}
