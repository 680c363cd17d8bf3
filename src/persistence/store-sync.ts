import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { ROOT_CONTEXT, Span } from '@opentelemetry/api';
import type { Pool } from 'pg';
import { setImmediate as yieldToEventLoop, setTimeout as sleep } from 'node:timers/promises';
import { AppConfig } from '../config';
import { MetricsService } from '../metrics/metrics.service';
import { EventBus } from '@nestjs/cqrs';
import { Payment } from '../payments/payment';
import { PaymentSynced } from '../payments/payment.events';
import { PrimaryHealth, PrimaryRepository } from '../payments/primary.repository';
import { PaymentStore } from '../payments/store/payment.store';
import { ChangeFeed } from './change-feed';
import { migrate } from './migrations';
import { PAYMENT_COLUMNS, paymentFromRow, PaymentRow } from './payment-rows';
import { checkout, createPool, isUnavailable, reasonOf } from './postgres';
import { DatabaseUnavailableError } from '../errors';
import { inSpan, tracingOn } from '../tracing/tracing';

/** Rows per FETCH when loading: the whole table never sits in one result set. */
export const LOAD_BATCH = 10_000;
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
 * PostgreSQL mode: keeps the in-memory store a faithful read model of the database.
 * - At start: migrations, then a streamed load of every payment from one consistent snapshot
 *   (the store is not "loaded", so /health/ready is 503 and /payments answers 503, until then).
 * - Then the change feed applies what any instance commits.
 * - synchronize() rebuilds the store aside and swaps it in, while reads go on from the old one.
 * Every change reaches the store through apply(), which is idempotent (payment versions).
 */
@Injectable()
export class StoreSync extends PrimaryRepository implements OnApplicationBootstrap, OnApplicationShutdown {
  readonly kind = 'postgresql' as const;
  readonly #logger = new Logger('StoreSync');
  readonly pool: Pool;
  readonly feed: ChangeFeed;
  #started: Promise<void> | undefined;
  #stopping = false;
  readonly #abort = new AbortController();
  /** While a rebuild runs: every payment applied to the live store, to replay into the new one. */
  #tee: Payment[] | null = null;
  #rebuild: Promise<unknown> = Promise.resolve();
  #lastLoad: LoadResult | undefined;

  constructor(
    readonly store: PaymentStore,
    private readonly config: AppConfig,
    private readonly metrics: MetricsService,
    private readonly eventBus: EventBus,
  ) {
    super();
    this.pool = createPool(config);
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
    this.#tee?.push(payment);
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

  /** With tracing on, an attempt is a `payments.initial_load` span (a trace of its own). */
  async #initialLoad(span?: Span): Promise<LoadResult> {
    const applied = await migrate(this.pool);
    if (applied.length > 0) this.#logger.log(`applied migrations ${applied.join(', ')}`);
    // Nothing is served before the load ends: the sorted indexes are built once at the end.
    this.store.beginBulkLoad();
    const load = await this.load(this.store);
    this.store.endBulkLoad();
    span?.setAttributes({ 'payments.load.rows': load.rows, 'payments.load.position': load.position });
    return load;
  }

  /**
   * Streams payments (all, or one organization's) into `into`, from one REPEATABLE READ
   * snapshot through a cursor, LOAD_BATCH rows at a time, yielding to the event loop between
   * batches. Returns the feed position of the snapshot: every later change has a greater seq.
   */
  async load(into: PaymentStore, organizationId?: string): Promise<LoadResult> {
    const started = performance.now();
    const { client, release } = await checkout(this.pool);
    let rows = 0;
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      const { rows: head } = await client.query<{ position: number }>('SELECT coalesce(max(seq), 0)::bigint AS position FROM payments');
      const where = organizationId === undefined ? '' : `WHERE organization_id = ${client.escapeLiteral(organizationId)}`;
      await client.query(`DECLARE snapshot NO SCROLL CURSOR FOR SELECT ${PAYMENT_COLUMNS} FROM payments ${where}`);
      for (;;) {
        const { rows: batch } = await client.query<PaymentRow>(`FETCH ${LOAD_BATCH} FROM snapshot`);
        // applied in slices, so that requests served meanwhile (a resync runs while the
        // service serves) never wait more than a few milliseconds
        for (let i = 0; i < batch.length; i += APPLY_SLICE) {
          const end = Math.min(i + APPLY_SLICE, batch.length);
          for (let j = i; j < end; j++) into.applyCommitted(paymentFromRow(batch[j]));
          await yieldToEventLoop();
        }
        rows += batch.length;
        if (batch.length < LOAD_BATCH) break;
      }
      await client.query('COMMIT');
      release();
      return { rows, position: head[0].position, ms: performance.now() - started };
    } catch (e) {
      release(e as Error);
      throw e;
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
    this.#tee = [];
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
      for (const payment of this.#tee) fresh.applyCommitted(payment);
      this.store.adopt(fresh);
      this.#logger.log(`synchronized ${rows} payments${organizationId ? ` of ${organizationId}` : ''} from PostgreSQL`);
      return rows;
    } finally {
      this.#tee = null;
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
