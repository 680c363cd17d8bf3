import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { ROOT_CONTEXT, Span } from '@opentelemetry/api';
import { Pool } from 'pg';
import { setImmediate as yieldToEventLoop, setTimeout as sleep } from 'node:timers/promises';
import { AppConfig } from '../config';
import { MetricsService } from '../metrics/metrics.service';
import { EventBus } from '@nestjs/cqrs';
import { Payment } from '../payments/payment';
import { PaymentSynced } from '../payments/payment.events';
import { PrimaryHealth, PrimaryRepository } from '../payments/primary.repository';
import { PaymentStore } from '../payments/store/payment.store';
import { ChangeFeed } from './change-feed';
import { copyOut } from './copy-out';
import { migrate } from './migrations';
import { PAYMENT_COPY_COLUMNS, PaymentCopyDecoder, paymentOf } from './payment-copy';
import { PAYMENT_COLUMNS, paymentFromRow, PaymentRow } from './payment-rows';
import { createClient, isUnavailable, reasonOf } from './postgres';
import { StallWatchdog, WatchdogClock } from './stall-watchdog';
import { DatabaseUnavailableError } from '../errors';
import { inSpan, tracingOn } from '../tracing/tracing';

/** Rows applied to the store between two yields to the event loop. */
const APPLY_SLICE = 1000;

export interface LoadResult {
  /** Payments read from the database. */
  rows: number;
  /** The change-feed position the loaded state corresponds to. */
  position: number;
  ms: number;
}

/**
 * PostgreSQL is the primary repository: this keeps the in-memory store a faithful read model
 * of the database.
 * - At start: migrations, then a streamed load of every payment from one consistent snapshot
 *   (the store is not "loaded", so /health/ready is 503 and /payments answers 503, until then).
 * - Then the change feed applies what any instance commits.
 * - synchronize() rebuilds the store aside and swaps it in, while reads go on from the old one.
 * Every change reaches the store through apply(), which is idempotent (payment versions).
 */
@Injectable()
export class PostgresPrimaryRepository extends PrimaryRepository implements OnApplicationBootstrap, OnApplicationShutdown {
  readonly kind = 'postgresql' as const;
  readonly #logger = new Logger('PostgresPrimaryRepository');
  readonly feed: ChangeFeed;
  #started: Promise<void> | undefined;
  #stopping = false;
  readonly #abort = new AbortController();
  /** While a rebuild runs: every payment applied to the live store, to replay into the new one. */
  #appliedDuringRebuild: Payment[] | null = null;
  #rebuild: Promise<unknown> = Promise.resolve();
  #lastLoad: LoadResult | undefined;

  constructor(
    readonly store: PaymentStore,
    /** Ended here, after the feed that queries it: Nest runs one module's shutdown hooks concurrently. */
    readonly pool: Pool,
    private readonly config: AppConfig,
    private readonly metrics: MetricsService,
    private readonly eventBus: EventBus,
    /** The time the load's stall watchdog reads (a spec drives its own). */
    private readonly clock: WatchdogClock,
  ) {
    super();
    // What the feed brings that this instance did not have: another instance's write, which
    // reaches this instance's reactions (live stats) as a PaymentSynced event.
    this.feed = new ChangeFeed(config, this.pool, (p) => this.#applyFromFeed(p), metrics);
    metrics.gauge('payments_sync_position', 'Change-feed sequence number applied to this instance', () => this.feed.position);
  }

  onApplicationBootstrap(): void {
    // Not awaited: the HTTP server starts and answers (live, ready = 503) while this loads.
    this.#started = this.#start();
  }

  /** Resolves when the store is loaded (tests and tools wait on it). */
  async whenLoaded(): Promise<void> {
    await this.#started;
  }

  get lastLoad(): LoadResult | undefined {
    return this.#lastLoad;
  }

  async onApplicationShutdown(): Promise<void> {
    this.#stopping = true;
    this.#abort.abort();
    await this.#started?.catch(() => undefined);
    await this.feed.stop();
    await this.pool.end().catch(() => undefined);
  }

  #applyFromFeed(payment: Payment): boolean {
    const changed = this.apply(payment);
    if (changed) this.eventBus.publish(new PaymentSynced(payment));
    return changed;
  }

  /** The one way a committed payment reaches the store. */
  apply(payment: Payment): boolean {
    this.#appliedDuringRebuild?.push(payment);
    return this.store.applyCommitted(payment);
  }

  async #start(): Promise<void> {
    let backoffMs = 250;
    while (!this.#stopping) {
      try {
        const load = await (tracingOn()
          ? inSpan('payments.initial_load', { root: true }, ROOT_CONTEXT, (span) => this.#initialLoad(span))
          : this.#initialLoad());
        this.#lastLoad = load;
        this.store.markLoaded();
        this.#logger.log(`loaded ${load.rows} payments from PostgreSQL in ${load.ms.toFixed(0)} ms (seq ${load.position})`);
        this.feed.start(load.position);
        return;
      } catch (e) {
        this.#logger.warn(`cannot load from PostgreSQL yet (${reasonOf(e)}); retrying in ${backoffMs} ms`);
        await sleep(backoffMs, undefined, { signal: this.#abort.signal }).catch(() => undefined);
        backoffMs = Math.min(backoffMs * 2, 5000);
      }
    }
  }

  /**
   * With tracing on, an attempt is a `payments.initial_load` span (a trace of its own). The
   * payments are loaded into a store of their own, adopted once whole: an attempt that fails
   * half-way leaves nothing behind for the next one.
   */
  async #initialLoad(span?: Span): Promise<LoadResult> {
    const applied = await migrate(this.pool);
    if (applied.length > 0) this.#logger.log(`applied migrations ${applied.join(', ')}`);
    const fresh = new PaymentStore(this.config);
    const load = await this.load(fresh, undefined, true);
    this.store.adopt(fresh);
    span?.setAttributes({ 'payments.load.rows': load.rows, 'payments.load.position': load.position });
    return load;
  }

  /**
   * Loads payments (all, or one organization's) into `into` from one REPEATABLE READ snapshot:
   * `COPY ... TO STDOUT (FORMAT binary)`, decoded as the bytes arrive (PaymentCopyDecoder).
   * `bulk` (the load at start, into an empty store that serves nothing yet): a bulk load
   * (PaymentStore.beginBulkLoad), each row appended as it is decoded, the sorted indexes built
   * at the end in one synchronous step (about a second per 5M rows here); else each row is
   * applied as a committed change, so a store that serves meanwhile never stalls. Returns the
   * feed position of the snapshot: every later change has a greater seq. Requests are served
   * between two chunks of the stream (~400 rows each).
   *
   * On a connection of its own: the COPY is one statement that runs as long as the table takes
   * (the pool's connections end a statement after databaseTimeoutMs), watched instead for a
   * stall: no byte for databaseTimeoutMs ends it, and the caller tries again.
   */
  async load(into: PaymentStore, organizationId?: string, bulk = false): Promise<LoadResult> {
    const started = performance.now();
    const client = createClient(this.config);
    // its failures reach the pending query; without a listener one would crash the process
    client.on('error', () => undefined);
    // a stall: no progress (a statement answered, a row copied) for databaseTimeoutMs
    const watchdog = new StallWatchdog(this.config.databaseTimeoutMs, () => client.connection.stream.destroy(), this.clock);
    try {
      await client.connect();
      watchdog.progress();
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      // the decoder reads text as UTF-8, whatever the database's encoding
      await client.query("SET LOCAL client_encoding = 'UTF8'");
      const { rows: head } = await client.query<{ position: number; estimate: number }>(
        `SELECT (SELECT coalesce(max(seq), 0) FROM payments)::bigint AS position,
                (SELECT greatest(reltuples, 0) FROM pg_class WHERE oid = 'payments'::regclass)::bigint AS estimate`,
      );
      const estimate = organizationId === undefined ? Math.min(head[0].estimate, this.config.maxPayments) : 0;
      if (bulk && !into.beginBulkLoad(estimate)) throw new Error('PostgresPrimaryRepository.load: a bulk load needs a store that holds no payment');
      const decoder = new PaymentCopyDecoder(bulk ? (p) => into.appendLoaded(p) : (p) => into.applyCommitted(paymentOf(p)));
      const where = organizationId === undefined ? '' : ` WHERE organization_id = ${client.escapeLiteral(organizationId)}`;
      const copied = await copyOut(client, `COPY (SELECT ${PAYMENT_COPY_COLUMNS} FROM payments${where}) TO STDOUT (FORMAT binary)`, (bytes, start, end) => {
        watchdog.progress();
        decoder.write(bytes, start, end);
      });
      decoder.end();
      if (decoder.rows !== copied) throw new Error(`PostgresPrimaryRepository.load: decoded ${decoder.rows} payments of the ${copied} copied`);
      await client.query('COMMIT');
      if (bulk) {
        // the index builds, a step at a time (at 10M several seconds in all): /health/live still answers
        const steps = into.endBulkLoadSteps();
        while (!steps.next().done) {
          watchdog.progress();
          await yieldToEventLoop();
        }
      }
      return { rows: decoder.rows, position: head[0].position, ms: performance.now() - started };
    } finally {
      watchdog.stop();
      await client.end().catch(() => undefined);
    }
  }

  /**
   * Rebuilds the store from the database without making the service unavailable: the new
   * state is built aside (all payments, or one organization's from the database plus the
   * others' from memory) while the old one serves; changes applied meanwhile are replayed into
   * it; then one synchronous swap. Rebuilds run one at a time.
   */
  synchronize(organizationId?: string): Promise<number> {
    const run = this.#rebuild.catch(() => undefined).then(() => this.#synchronize(organizationId));
    this.#rebuild = run;
    return run.catch(unavailable('Nothing was reloaded; the store keeps serving its current state'));
  }

  async #synchronize(organizationId: string | undefined): Promise<number> {
    await this.#started;
    this.#appliedDuringRebuild = [];
    try {
      const fresh = new PaymentStore(this.config);
      fresh.markLoaded();
      if (organizationId !== undefined) {
        let copied = 0;
        for (const payment of this.store.payments()) {
          if (payment.organizationId !== organizationId) fresh.applyCommitted(payment);
          if (++copied % APPLY_SLICE === 0) await yieldToEventLoop();
        }
      }
      const { rows } = await this.load(fresh, organizationId);
      for (const payment of this.#appliedDuringRebuild) fresh.applyCommitted(payment);
      this.store.adopt(fresh);
      this.#logger.log(`synchronized ${rows} payments${organizationId ? ` of ${organizationId}` : ''} from PostgreSQL`);
      return rows;
    } finally {
      this.#appliedDuringRebuild = null;
    }
  }

  async find(paymentId: string, organizationId?: string): Promise<Payment[]> {
    // not storable in PostgreSQL text
    if (paymentId.includes('\u0000') || organizationId?.includes('\u0000')) return [];
    const { rows } = await (organizationId === undefined
      ? this.pool.query<PaymentRow>(`SELECT ${PAYMENT_COLUMNS} FROM payments WHERE payment_id = $1`, [paymentId])
      : this.pool.query<PaymentRow>(`SELECT ${PAYMENT_COLUMNS} FROM payments WHERE organization_id = $1 AND payment_id = $2`, [
          organizationId,
          paymentId,
        ])
    ).catch(unavailable('The comparison needs it'));
    return rows.map(paymentFromRow);
  }

  async health(): Promise<PrimaryHealth> {
    try {
      await this.pool.query('SELECT 1');
      return { up: true, details: { repository: 'postgresql', position: this.feed.position, listening: this.feed.listening } };
    } catch (e) {
      return { up: false, details: { repository: 'postgresql', message: `unreachable (${reasonOf(e)})` } };
    }
  }
}

/** Maps "cannot reach the database" to a 503 problem; other errors stay what they are. */
function unavailable(consequence: string) {
  return (error: unknown): never => {
    throw isUnavailable(error) ? new DatabaseUnavailableError(reasonOf(error), consequence) : error;
  };
}
