import { Injectable } from '@nestjs/common';
import { Context, context, Link, trace, TraceFlags } from '@opentelemetry/api';
import { Pool, PoolClient } from 'pg';
import { AppConfig } from '../config';
import { AppError, DatabaseUnavailableError, PaymentIdAmbiguousError } from '../errors';
import { MetricsService } from '../metrics/metrics.service';
import { ChangeResult, LifecycleChange, PaymentWriter } from '../payments/commands/payment.writer';
import { Payment } from '../payments/payment';
import { InsertResult } from '../payments/payment';
import { PaymentStore } from '../payments/store/payment.store';
import { OutboundMessage, outboundMessage, OutboundType } from '../messaging/cloud-events';
import { INSERT_PAYMENTS, insertParams, PAYMENT_COLUMNS, paymentFromRow, PaymentRow, UPDATE_PAYMENTS, updateParams } from './payment-rows';
import { CHANGES_CHANNEL, checkout, COMMIT_LOCK, isUnavailable, reasonOf } from './postgres';
import { PostgresPrimaryRepository } from './postgres-primary.repository';
import { inSpan, traceHeaders, tracingOn } from '../tracing/tracing';

/** `origin`: with tracing on, the context of the write's caller (its command's span). */
type Pending = { origin?: Context } & (
  | { kind: 'create'; payment: Payment; resolve: (r: InsertResult) => void; reject: (e: unknown) => void }
  | { kind: 'change'; change: LifecycleChange; resolve: (r: ChangeResult) => void; reject: (e: unknown) => void }
);

type Outcome = { ok: true; value: InsertResult | ChangeResult } | { ok: false; error: unknown };

/**
 * PostgreSQL is the primary repository: a write is answered only after its transaction has
 * committed, and only then applied to the in-memory store (so this instance reads it back at
 * once; the others get it through the change feed).
 *
 * Group commit: writes that arrive while a transaction is in flight wait for it, then go
 * together in the next one (at most `groupCommitMaxBatch`). Under load a transaction carries
 * many writes for the price of one round trip sequence and one fsync; alone, a write waits for
 * nothing. Inside a batch each write is checked on its own: a refused one (409, 422, 404)
 * never fails the others.
 *
 * Safety across instances: a transaction first locks the rows it touches (SELECT ... FOR
 * UPDATE, in paymentId order), so the checks (refund within the amount? event id seen?) run on
 * rows nobody else can change before the commit: no lost update, no double apply. A create
 * whose paymentId another instance inserted meanwhile finds it at INSERT (ON CONFLICT DO
 * NOTHING) and the batch runs again, reading it. Only then COMMIT_LOCK, held for the writes
 * and the commit: change-feed positions are assigned in commit order. No deadlock: row locks
 * are all taken before the commit lock, and after it only rows already locked are changed.
 */
@Injectable()
export class PostgresPaymentWriter extends PaymentWriter {
  #queue: Pending[] = [];
  #draining = false;

  constructor(
    private readonly pool: Pool,
    private readonly store: PaymentStore,
    /** Its apply() is the one way a committed payment reaches the store (a rebuild replays it). */
    private readonly primary: PostgresPrimaryRepository,
    private readonly config: AppConfig,
    private readonly metrics: MetricsService,
  ) {
    super();
  }

  create(payment: Payment): Promise<InsertResult> {
    return new Promise((resolve, reject) => this.#enqueue({ kind: 'create', payment, resolve, reject }));
  }

  change(change: LifecycleChange): Promise<ChangeResult> {
    return new Promise((resolve, reject) => this.#enqueue({ kind: 'change', change, resolve, reject }));
  }

  #enqueue(op: Pending): void {
    if (tracingOn()) op.origin = context.active();
    this.#queue.push(op);
    if (this.#draining) return;
    this.#draining = true;
    // Writes of the same tick (a bulk import, parallel requests) go in the first batch.
    setImmediate(() => void this.#drain());
  }

  async #drain(): Promise<void> {
    try {
      while (this.#queue.length > 0) {
        const batch = this.#queue.splice(0, this.config.groupCommitMaxBatch);
        await this.#commitIsolated(batch);
      }
    } finally {
      this.#draining = false;
    }
  }

  /** Commits a batch; when the database refuses it (not unreachable), each write is retried alone. */
  async #commitIsolated(batch: Pending[], attempt = 1): Promise<void> {
    let outcomes: Outcome[];
    try {
      outcomes = await this.#commit(batch);
    } catch (error) {
      // Another instance created one of these paymentIds between our read and our insert:
      // run the batch again, which now reads that payment (a replay or a 409).
      if (error instanceof CreateRaceLost && attempt < MAX_ATTEMPTS) return this.#commitIsolated(batch, attempt + 1);
      if (isUnavailable(error)) {
        const unavailable = new DatabaseUnavailableError(reasonOf(error));
        for (const op of batch) op.reject(unavailable);
        return;
      }
      if (batch.length === 1) {
        batch[0].reject(error);
        return;
      }
      for (const op of batch) await this.#commitIsolated([op]);
      return;
    }
    batch.forEach((op, i) => {
      const outcome = outcomes[i];
      if (!outcome.ok) op.reject(outcome.error);
      else if (op.kind === 'create') op.resolve(outcome.value as InsertResult);
      else op.resolve(outcome.value as ChangeResult);
    });
  }

  /**
   * With tracing on, a transaction is a `payments.group_commit` span: a child of its first
   * sampled write's span (its pg queries are then in that write's trace) and linked to every write's.
   */
  #commit(batch: Pending[]): Promise<Outcome[]> {
    if (!tracingOn()) return this.#transact(batch);
    const links: Link[] = [];
    for (const op of batch) {
      const spanContext = op.origin && trace.getSpanContext(op.origin);
      if (spanContext !== undefined) links.push({ context: spanContext });
    }
    const options = { attributes: { 'payments.batch_size': batch.length }, links };
    // the first write whose trace is sampled, so that a sampled write keeps its transaction's spans
    const sampled = batch.find((op) => ((op.origin && trace.getSpanContext(op.origin)?.traceFlags) ?? 0) & TraceFlags.SAMPLED);
    return inSpan('payments.group_commit', options, (sampled ?? batch[0]).origin ?? context.active(), () => this.#transact(batch));
  }

  async #transact(batch: Pending[]): Promise<Outcome[]> {
    const started = performance.now();
    const { client, release } = await checkout(this.pool);
    let state: Map<string, Payment>;
    let outcomes: Outcome[];
    try {
      await client.query('BEGIN');
      ({ state, outcomes } = await this.#writeBatch(client, batch));
      await client.query('COMMIT');
      release();
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      release(isUnavailable(error) ? (error as Error) : undefined);
      throw error;
    }
    this.metrics.commitBatches.observe(batch.length);
    this.metrics.commitDuration.observe((performance.now() - started) / 1000);
    // Committed: now memory. Rows only read (replays, events on payments another instance
    // wrote) are applied too, so this instance never answers from older state than it saw.
    for (const payment of state.values()) this.primary.apply(payment);
    return outcomes;
  }

  async #writeBatch(client: PoolClient, batch: Pending[]) {
    // An id with U+0000 (possible in a path) cannot be in PostgreSQL text: it is simply not found.
    const ids = [...new Set(batch.map((op) => (op.kind === 'create' ? op.payment.paymentId : op.change.paymentId)))].filter(storable);
    /** (organizationId, paymentId) -> the payment as this transaction sees it. */
    const state = new Map<string, Payment>();
    // Row locks on the payments the batch touches (every organization's payment under these
    // paymentIds: a change may name no organization, in open mode), taken in key order (two
    // batches never wait on each other in a cycle): until the commit nobody else changes them
    // or records an event id on them, so the checks below stay true.
    const locked = await client.query<PaymentRow>(
      `SELECT ${PAYMENT_COLUMNS} FROM payments WHERE payment_id = ANY($1::text[]) ORDER BY organization_id, payment_id FOR UPDATE`,
      [ids],
    );
    for (const row of locked.rows) {
      const payment = paymentFromRow(row);
      state.set(keyOf(payment), payment);
    }
    /** The payment a change addresses: by its organization, or by paymentId alone when unique. */
    const addressed = ({ paymentId, organizationId }: LifecycleChange): Payment | undefined => {
      if (organizationId !== undefined) return state.get(keyOf({ organizationId, paymentId }));
      const found = [...state.values()].filter((p) => p.paymentId === paymentId);
      if (found.length > 1) throw new PaymentIdAmbiguousError(paymentId, found.length);
      return found[0];
    };
    const changes = batch.filter((op) => op.kind === 'change' && op.change.eventId !== undefined && storable(op.change.eventId)) as Extract<Pending, { kind: 'change' }>[];
    const withEvent: { organizationId: string; paymentId: string; eventId: string }[] = [];
    for (const op of changes) {
      let target: Payment | undefined;
      try {
        target = addressed(op.change);
      } catch {
        continue; // ambiguous: refused below
      }
      if (target !== undefined) withEvent.push({ organizationId: target.organizationId, paymentId: target.paymentId, eventId: op.change.eventId! });
    }
    const seen = new Set<string>();
    if (withEvent.length > 0) {
      const { rows } = await client.query<{ organization_id: string; payment_id: string; event_id: string }>(
        `SELECT e.organization_id, e.payment_id, e.event_id FROM payment_events e
           JOIN unnest($1::text[], $2::text[], $3::text[]) AS t(organization_id, payment_id, event_id)
           USING (organization_id, payment_id, event_id)`,
        [withEvent.map((e) => e.organizationId), withEvent.map((e) => e.paymentId), withEvent.map((e) => e.eventId)],
      );
      for (const r of rows) seen.add(eventKey(r.organization_id, r.payment_id, r.event_id));
    }

    const created = new Set<string>();
    const changed = new Set<string>();
    /** What the batch commits, change by change, in order: the outbox's events (with messaging on). */
    const committed: OutboundMessage[] = [];
    const source = this.config.brokerUrl === undefined ? undefined : this.config.brokerSource;
    const events: { organizationId: string; paymentId: string; eventId: string; type: string }[] = [];
    // The store mirrors the database: its capacity is the one to keep (each create admitted
    // counts for the next; the store records them when it applies the commit, and never refuses).
    const admit = this.store.capacityBatch();
    const outcomes = batch.map((op): Outcome => {
      try {
        if (op.kind === 'create') {
          const key = keyOf(op.payment);
          const existing = state.get(key);
          if (existing !== undefined) return { ok: true, value: { payment: existing, created: false } };
          admit(op.payment);
          state.set(key, op.payment);
          created.add(key);
          if (source !== undefined) committed.push(outboundMessage('PaymentCreated', op.payment, source, traceOf(op)));
          return { ok: true, value: { payment: op.payment, created: true } };
        }
        const { eventId, eventType, next } = op.change;
        const current = addressed(op.change);
        if (current === undefined) return { ok: true, value: undefined };
        const { organizationId, paymentId } = current;
        const key = keyOf(current);
        if (eventId !== undefined && seen.has(eventKey(organizationId, paymentId, eventId))) {
          return { ok: true, value: { payment: current, before: current, applied: false } };
        }
        const updated = next(current);
        state.set(key, updated);
        if (!created.has(key)) changed.add(key);
        if (source !== undefined) committed.push(outboundMessage(eventType as OutboundType, updated, source, traceOf(op)));
        if (eventId !== undefined) {
          seen.add(eventKey(organizationId, paymentId, eventId));
          events.push({ organizationId, paymentId, eventId, type: eventType });
        }
        return { ok: true, value: { payment: updated, before: current, applied: true } };
      } catch (error) {
        if (!(error instanceof AppError)) throw error;
        return { ok: false, error };
      }
    });

    const inserts = [...created].map((id) => state.get(id) as Payment);
    const updates = [...changed].map((id) => state.get(id) as Payment);
    if (inserts.length + updates.length === 0) return { state, outcomes };
    // The commit lock only around what assigns change-feed positions (nextval) and the commit:
    // seq order is then commit order, while the reads and checks above overlap across instances.
    await client.query('SELECT pg_advisory_xact_lock($1)', [COMMIT_LOCK]);
    if (inserts.length > 0) {
      const { rowCount } = await client.query(INSERT_PAYMENTS, insertParams(inserts));
      if (rowCount !== inserts.length) throw new CreateRaceLost();
    }
    if (updates.length > 0) {
      const { rowCount } = await client.query(UPDATE_PAYMENTS, updateParams(updates));
      if (rowCount !== updates.length) throw new Error('locked payments changed before the commit');
    }
    if (events.length > 0) {
      await client.query(
        `INSERT INTO payment_events (organization_id, payment_id, event_id, type)
           SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[])`,
        [events.map((e) => e.organizationId), events.map((e) => e.paymentId), events.map((e) => e.eventId), events.map((e) => e.type)],
      );
    }
    if (committed.length > 0) {
      // the transactional outbox: these rows exist if and only if the changes commit
      await client.query(
        `INSERT INTO outbox (event_id, type, organization_id, payment_id, body)
           SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[])`,
        [committed.map((m) => m.id), committed.map((m) => m.type), committed.map((m) => m.organizationId), committed.map((m) => m.paymentId), committed.map((m) => m.body)],
      );
    }
    await client.query(`NOTIFY ${CHANGES_CHANNEL}`);
    return { state, outcomes };
  }
}

/** The trace an outbox event carries: its write's (undefined with tracing off). */
const traceOf = (op: Pending) => (op.origin === undefined ? undefined : traceHeaders(op.origin));

const storable = (text: string): boolean => !text.includes('\u0000');

/** A paymentId of the batch was inserted by another instance after this batch read it. */
class CreateRaceLost extends Error {}
const MAX_ATTEMPTS = 5;

/** A payment's key: paymentIds are unique per organization. U+0000 is in neither (storable). */
const keyOf = (p: { organizationId: string; paymentId: string }) => `${p.organizationId}\u0000${p.paymentId}`;
const eventKey = (organizationId: string, paymentId: string, eventId: string) => `${organizationId}\u0000${paymentId}\u0000${eventId}`;
