import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { EventsHandler, IEventHandler } from '@nestjs/cqrs';
import type { Client } from 'pg';
import { Pool } from 'pg';
import { AppConfig } from '../config';
import { PaymentCreated, PaymentFailed, PaymentProcessed, PaymentRefunded, PaymentSynced } from '../payments/payment.events';
import { createClient, OUTBOX_LOCK, reasonOf } from '../persistence/postgres';
import { traceHeaders, tracingOn } from '../tracing/tracing';
import { outboundMessage, OutboundType, TraceAttributes, traceOfBody } from './cloud-events';
import { MessagingMetrics } from './messaging.metrics';

/** One event waiting to be published: `seq` orders it, `committedAt` (epoch ms) is when its change committed. */
export interface OutboxEntry {
  seq: number;
  id: string;
  type: string;
  body: string;
  committedAt: number;
  /** With tracing on: the trace of the change (the CloudEvent's traceparent), which the relay's publish joins. */
  trace?: TraceAttributes;
}

/**
 * Where committed changes wait for the broker. The relay takes the oldest first, publishes them
 * with confirms, then marks them sent: at least once, in commit order.
 */
export abstract class Outbox {
  /** May this instance publish now? (PostgreSQL: only the one holding the relay lock.) */
  abstract claim(): Promise<boolean>;
  abstract take(limit: number): Promise<OutboxEntry[]>;
  abstract sent(entries: OutboxEntry[]): Promise<void>;
  abstract backlog(): Promise<number>;
  /** Called by the relay when an entry is added or may be: set by the relay. */
  onAdded: () => void = () => undefined;
}

/**
 * The statement taking the relay's lock (with OUTBOX_LOCK as $1): per schema (its outbox), so
 * that services on different schemas of one database each relay their own.
 */
export function outboxLockSql(take: 'pg_advisory_lock' | 'pg_try_advisory_lock'): string {
  return `SELECT ${take}($1, hashtext(current_schema())) AS held`;
}

type DomainEvent = PaymentCreated | PaymentProcessed | PaymentFailed | PaymentRefunded;

/**
 * Memory mode: the events of the changes this process applied, in an in-memory queue, in the
 * order they were applied. Not durable: a crash loses what was not yet confirmed, and past
 * OUTBOX_MEMORY_MAX waiting events (a long broker outage) the oldest are dropped and counted.
 */
@Injectable()
@EventsHandler(PaymentCreated, PaymentProcessed, PaymentFailed, PaymentRefunded)
export class MemoryOutbox extends Outbox implements IEventHandler<DomainEvent> {
  #entries: OutboxEntry[] = [];
  #head = 0;
  #seq = 0;

  constructor(
    private readonly config: AppConfig,
    private readonly metrics: MessagingMetrics,
  ) {
    super();
  }

  handle(event: DomainEvent): void {
    const type = (event instanceof PaymentCreated ? 'PaymentCreated' : event.constructor.name) as OutboundType;
    // handled as the change is published, inside its command: the active trace is the change's
    const trace = tracingOn() ? traceHeaders() : undefined;
    const message = outboundMessage(type, event.payment, this.config.brokerSource, trace);
    this.#entries.push({ seq: ++this.#seq, id: message.id, type, body: message.body, committedAt: Date.now(), trace });
    if (this.#entries.length - this.#head > this.config.outboxMemoryMax) {
      this.#head++;
      this.metrics.dropped.inc();
    }
    this.onAdded();
  }

  async claim(): Promise<boolean> {
    return true;
  }

  async take(limit: number): Promise<OutboxEntry[]> {
    return this.#entries.slice(this.#head, this.#head + limit);
  }

  async sent(entries: OutboxEntry[]): Promise<void> {
    const last = entries.at(-1)?.seq;
    if (last === undefined) return;
    // entries dropped meanwhile are behind the head already
    while (this.#head < this.#entries.length && this.#entries[this.#head].seq <= last) this.#head++;
    if (this.#head > 4096 && this.#head * 2 > this.#entries.length) {
      this.#entries = this.#entries.slice(this.#head);
      this.#head = 0;
    }
  }

  async backlog(): Promise<number> {
    return this.#entries.length - this.#head;
  }
}

/**
 * PostgreSQL mode: the transactional outbox. The writer inserts an event row in the same
 * transaction as the change (so an event exists if and only if its change committed), with a
 * seq taken under the commit lock (commit order). One instance at a time relays: the one that
 * holds a session advisory lock (outboxLockSql) on a connection of its own; when it dies its session ends and
 * another instance takes over where it stopped.
 */
@Injectable()
@EventsHandler(PaymentCreated, PaymentProcessed, PaymentFailed, PaymentRefunded, PaymentSynced)
export class PostgresOutbox extends Outbox implements IEventHandler<DomainEvent | PaymentSynced>, OnApplicationShutdown {
  readonly #logger = new Logger('Outbox');
  #lock: Client | undefined;
  #leader = false;

  constructor(
    /** PersistenceModule's pool: closed by PostgresPrimaryRepository, after this relay has stopped. */
    private readonly pool: Pool,
    private readonly config: AppConfig,
  ) {
    super();
  }

  /** A change committed (here, or by another instance: through the change feed): rows may wait. */
  handle(): void {
    this.onAdded();
  }

  async claim(): Promise<boolean> {
    if (this.#leader && this.#lock !== undefined) return true;
    try {
      if (this.#lock === undefined) {
        const client = createClient(this.config);
        client.on('error', () => this.#lose(client));
        client.on('end', () => this.#lose(client));
        this.#lock = client;
        await client.connect();
      }
      const { rows } = await this.#lock.query<{ held: boolean }>(outboxLockSql('pg_try_advisory_lock'), [OUTBOX_LOCK]);
      if (rows[0].held && !this.#leader) this.#logger.log('this instance relays the outbox');
      this.#leader = rows[0].held;
    } catch (e) {
      if (this.#lock !== undefined) this.#lose(this.#lock);
      this.#logger.warn(`cannot claim the outbox relay (${reasonOf(e)})`);
    }
    return this.#leader;
  }

  #lose(client: Client): void {
    if (this.#lock !== client) return;
    this.#lock = undefined;
    this.#leader = false;
    client.end().catch(() => undefined);
  }

  async take(limit: number): Promise<OutboxEntry[]> {
    const { rows } = await this.pool.query<{ seq: string; event_id: string; type: string; body: string; committed_at: number }>(
      'SELECT seq, event_id, type, body, (extract(epoch FROM created_at) * 1000)::float8 AS committed_at FROM outbox ORDER BY seq LIMIT $1',
      [limit],
    );
    // with tracing on, the change's trace is read back from the CloudEvent the writer stored
    const traced = tracingOn();
    return rows.map((r) => ({ seq: Number(r.seq), id: r.event_id, type: r.type, body: r.body, committedAt: r.committed_at, trace: traced ? traceOfBody(r.body) : undefined }));
  }

  async sent(entries: OutboxEntry[]): Promise<void> {
    await this.pool.query('DELETE FROM outbox WHERE seq = ANY($1::bigint[])', [entries.map((e) => e.seq)]);
  }

  async backlog(): Promise<number> {
    const { rows } = await this.pool.query<{ n: string }>('SELECT count(*) AS n FROM outbox');
    return Number(rows[0].n);
  }

  async onApplicationShutdown(): Promise<void> {
    const lock = this.#lock;
    this.#lock = undefined;
    this.#leader = false;
    await lock?.end().catch(() => undefined);
  }
}
