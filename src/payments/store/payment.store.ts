import { Injectable } from '@nestjs/common';
import { AppConfig } from '../../config';
import { StoreFullError } from '../../errors';
import { Payment, PAYMENT_STATUSES, PaymentStatus } from '../payment';
import { Column, ColumnDictionaries, ColumnView, Dictionary } from './columns';
import { DailyAggregates } from './daily-aggregates';
import { HashIndex, HashIndexView } from './hash.index';
import { OrgPartitions } from './org-partitions';
import { PostingIndex } from './posting.index';
import { PaymentIndexes } from './query-planner';
import { SortedIndex } from './sorted.index';

export type InsertResult = { payment: Payment; created: boolean };
export type UpdateResult = { payment: Payment; applied: boolean } | undefined;

/**
 * The in-memory store and the only code that mutates payments. Every method runs to
 * completion synchronously, so on Node's single thread each write is atomic: a check and the
 * write it guards can never interleave with another request (this is what makes parallel
 * creates, idempotent retries and concurrent refunds safe by construction).
 *
 * Invariants kept here:
 * - every stored payment is in every index exactly once, under its current values;
 * - a write is visible to every read as soon as the method returns (no buffer);
 * - `version` grows on every write, and `versionOf(org)` on every write in that organization,
 *   so a cache keyed on them can never serve an answer from before a write.
 */
@Injectable()
export class PaymentStore {
  // Not readonly: adopt() swaps a rebuilt store's state in, in one synchronous step.
  /** Row id -> payment. Payments are frozen; an update replaces the row's object. */
  #rows: Payment[] = [];
  #rowOf = new Map<string, number>();
  // organizationId, userId and currency never change: append-only posting lists (4 B/row);
  // status changes: a set per value.
  #partitions = new OrgPartitions();
  #userId = new PostingIndex<string>();
  #status = new HashIndex<PaymentStatus>();
  #currency = new PostingIndex<string>();
  #amount = new SortedIndex();
  #createdAt = new SortedIndex();
  /**
   * The filterable fields again, as typed-array columns by row id (strings interned as codes):
   * what search and stats scan, so a scan never touches a payment object or compares strings.
   * About 40 bytes per payment.
   */
  #dicts: ColumnDictionaries = {
    organization: new Dictionary(),
    user: new Dictionary(),
    currency: new Dictionary(),
  };
  #cols = {
    organization: new Column((n) => new Int32Array(n)),
    user: new Column((n) => new Int32Array(n)),
    status: new Column((n) => new Uint8Array(n)),
    currency: new Column((n) => new Uint16Array(n)),
    amount: new Column((n) => new Float64Array(n)),
    createdAt: new Column((n) => new Float64Array(n)),
    refundedAmount: new Column((n) => new Float64Array(n)),
  };
  #aggregates = new DailyAggregates();
  /** Row id -> event ids already applied to it (at-least-once delivery is deduplicated). */
  #eventIds = new Map<number, Set<string>>();
  #version = 0;
  #orgVersions = new Map<string, number>();

  #loaded: boolean;
  /** During a bulk load the two sorted indexes are built once at the end (see beginBulkLoad). */
  #deferSorted = false;

  constructor(private readonly config: AppConfig) {
    // Memory is the primary repository unless a database is configured: then the store is
    // loaded from it at start, and not ready before.
    this.#loaded = !config.databaseUrl;
    this.indexes = this.#indexViews();
  }

  #indexViews(): PaymentIndexes {
    const rows = this.#rows;
    const partitions = this.#partitions;
    const orgs = this.#dicts.organization;
    const organizationId: HashIndexView<string> = {
      get: (org) => (orgs.find(org) < 0 ? undefined : partitions.get(orgs.find(org))),
      count: (org) => (orgs.find(org) < 0 ? 0 : partitions.count(orgs.find(org))),
      forEachRow: (org, visit) => {
        if (orgs.find(org) >= 0) partitions.forEachRow(orgs.find(org), visit);
      },
      get distinctValues() {
        return partitions.distinctValues;
      },
    };
    return {
      organizationId,
      userId: this.#userId,
      status: this.#status,
      currency: this.#currency,
      amount: this.#amount,
      createdAt: this.#createdAt,
      get rowCount() {
        return rows.length;
      },
      *allRows() {
        for (let i = 0; i < rows.length; i++) yield i;
      },
    };
  }

  /** True once the store holds everything it should serve (memory mode: from the start). */
  get loaded(): boolean {
    return this.#loaded;
  }

  markLoaded(): void {
    this.#loaded = true;
  }

  get size(): number {
    return this.#rows.length;
  }

  get version(): number {
    return this.#version;
  }

  versionOf(organizationId: string): number {
    return this.#orgVersions.get(organizationId) ?? 0;
  }

  get(paymentId: string): Payment | undefined {
    const row = this.#rowOf.get(paymentId);
    return row === undefined ? undefined : this.#rows[row];
  }

  row(rowId: number): Payment {
    return this.#rows[rowId];
  }

  /** Read-only views of the indexes, for the query side (planner and reader). */
  indexes: PaymentIndexes;

  /** Current views of the columns; valid until the next write (a column may grow). */
  columns(): ColumnView {
    const c = this.#cols;
    return {
      organization: c.organization.array,
      user: c.user.array,
      status: c.status.array,
      currency: c.currency.array,
      amount: c.amount.array,
      createdAt: c.createdAt.array,
      refundedAmount: c.refundedAmount.array,
    };
  }

  /** Per-organization copies of the filterable fields, for sequential scans (OrgPartitions). */
  get partitions(): OrgPartitions {
    return this.#partitions;
  }

  get dictionaries(): ColumnDictionaries {
    return this.#dicts;
  }

  /**
   * Stores `payment` unless its paymentId is taken; then returns the stored one untouched.
   * O(log n) (the two sorted indexes).
   */
  insertIfAbsent(payment: Payment): InsertResult {
    const existing = this.get(payment.paymentId);
    if (existing !== undefined) return { payment: existing, created: false };
    if (this.#rows.length >= this.config.maxPayments) throw new StoreFullError(this.config.maxPayments);
    this.#insert(payment);
    return { payment, created: true };
  }

  #insert(payment: Payment): void {
    const row = this.#rows.length;
    this.#rows.push(payment);
    this.#rowOf.set(payment.paymentId, row);
    this.#userId.add(payment.userId, row);
    this.#status.add(payment.status, row);
    this.#currency.add(payment.currency, row);
    const createdAtMs = Date.parse(payment.createdAt);
    if (!this.#deferSorted) {
      this.#amount.insert(payment.amount, payment.paymentId, row);
      this.#createdAt.insert(createdAtMs, payment.paymentId, row);
    }
    const c = this.#cols;
    const org = this.#dicts.organization.intern(payment.organizationId);
    const user = this.#dicts.user.intern(payment.userId);
    const currency = this.#dicts.currency.intern(payment.currency);
    const status = PAYMENT_STATUSES.indexOf(payment.status);
    c.organization.set(row, org);
    c.user.set(row, user);
    c.currency.set(row, currency);
    c.status.set(row, status);
    this.#partitions.add(org, row, user, status, currency, payment.amount, createdAtMs);
    c.amount.set(row, payment.amount);
    c.createdAt.set(row, createdAtMs);
    c.refundedAmount.set(row, payment.refundedAmount);
    this.#aggregate(1, row);
    this.#bump(payment.organizationId);
  }

  /**
   * Replaces a payment by `next(current)`; `next` may throw to refuse the change, and then
   * nothing changes. An `eventId` already applied to this payment returns it unchanged.
   * Returns undefined when there is no such payment. Only `status` can change among the
   * indexed fields (the state machine keeps the rest), and only its index is touched.
   */
  update(paymentId: string, eventId: string | undefined, next: (current: Payment) => Payment): UpdateResult {
    const row = this.#rowOf.get(paymentId);
    if (row === undefined) return undefined;
    const current = this.#rows[row];
    const seen = this.#eventIds.get(row);
    if (eventId !== undefined && seen?.has(eventId)) return { payment: current, applied: false };
    const updated = next(current);
    if (
      updated.paymentId !== current.paymentId ||
      updated.organizationId !== current.organizationId ||
      updated.userId !== current.userId ||
      updated.currency !== current.currency ||
      updated.amount !== current.amount ||
      updated.createdAt !== current.createdAt ||
      updated.refundedAmount < current.refundedAmount
    ) {
      throw new Error('PaymentStore.update: an update may only change status, refundedAmount (upwards) and unindexed fields');
    }
    this.#replace(row, updated);
    if (eventId !== undefined) {
      if (seen) seen.add(eventId);
      else this.#eventIds.set(row, new Set([eventId]));
    }
    return { payment: updated, applied: true };
  }

  /** Replaces the payment of `row` (same identity and indexed fields but status). */
  #replace(row: number, updated: Payment): void {
    const current = this.#rows[row];
    this.#aggregate(-1, row);
    this.#rows[row] = updated;
    if (updated.status !== current.status) {
      this.#status.remove(current.status, row);
      this.#status.add(updated.status, row);
      this.#cols.status.set(row, PAYMENT_STATUSES.indexOf(updated.status));
      this.#partitions.setStatus(this.#cols.organization.array[row], row, PAYMENT_STATUSES.indexOf(updated.status));
    }
    this.#cols.refundedAmount.set(row, updated.refundedAmount);
    this.#aggregate(1, row);
    this.#bump(updated.organizationId);
  }

  /**
   * Applies a payment as the primary repository holds it (a committed write, ours or another
   * instance's, or a row loaded at start): inserted when absent, replacing the stored one when
   * its version is newer, ignored when it is not (a change can arrive twice, or late: the
   * change feed and the writer both apply it). Never refused for capacity: the database is
   * the truth and memory must mirror it. Returns true when something changed.
   */
  applyCommitted(payment: Payment): boolean {
    const row = this.#rowOf.get(payment.paymentId);
    if (row === undefined) {
      this.#insert(payment);
      return true;
    }
    if (payment.version <= this.#rows[row].version) return false;
    this.#replace(row, payment);
    return true;
  }

  /**
   * For the load at start, into a store that serves nothing yet: the amount and createdAt
   * indexes are left out of each insert and built by endBulkLoad() with one sort each (a
   * random-order insert into a sorted index is the dearest part of an insert). Returns false,
   * and changes nothing, when the store already holds payments.
   */
  beginBulkLoad(): boolean {
    if (this.#rows.length > 0 || this.#deferSorted) return false;
    this.#deferSorted = true;
    return true;
  }

  /** Builds the sorted indexes of a bulk load. Synchronous: O(n log n). */
  endBulkLoad(): void {
    if (!this.#deferSorted) return;
    this.#deferSorted = false;
    const rows = this.#rows;
    const ids = rows.map((p) => p.paymentId);
    const build = (index: SortedIndex, key: Float64Array) => {
      const order = new Uint32Array(rows.length);
      for (let i = 0; i < order.length; i++) order[i] = i;
      order.sort((a, b) => key[a] - key[b] || (ids[a] < ids[b] ? -1 : ids[a] > ids[b] ? 1 : 0));
      index.load(
        Array.from(order, (r) => key[r]),
        Array.from(order, (r) => ids[r]),
        order,
      );
    };
    build(this.#amount, this.#cols.amount.array as Float64Array);
    build(this.#createdAt, this.#cols.createdAt.array as Float64Array);
  }

  /**
   * Takes over the whole state of `rebuilt` (a store loaded afresh from the primary
   * repository) in one synchronous step: reads before it see the old state, reads after it the
   * new one, never a mix. Versions only grow, so no cached answer of the old state is served.
   */
  adopt(rebuilt: PaymentStore): void {
    const versions = new Map<string, number>();
    for (const [org, v] of this.#orgVersions) versions.set(org, v + 1);
    for (const [org, v] of rebuilt.#orgVersions) versions.set(org, (versions.get(org) ?? 1) + v);
    this.#rows = rebuilt.#rows;
    this.#rowOf = rebuilt.#rowOf;
    this.#partitions = rebuilt.#partitions;
    this.#userId = rebuilt.#userId;
    this.#status = rebuilt.#status;
    this.#currency = rebuilt.#currency;
    this.#amount = rebuilt.#amount;
    this.#createdAt = rebuilt.#createdAt;
    this.#dicts = rebuilt.#dicts;
    this.#cols = rebuilt.#cols;
    this.#aggregates = rebuilt.#aggregates;
    this.#eventIds = rebuilt.#eventIds;
    this.#orgVersions = versions;
    this.#version += rebuilt.#version + 1;
    this.indexes = this.#indexViews();
  }

  /** Every stored payment, in row order (for rebuilding a store without one organization). */
  *payments(): IterableIterator<Payment> {
    for (const p of this.#rows) yield p;
  }

  /** Distinct values per index, for /admin/store. O(n) for the sorted indexes. */
  describeIndexes(): Record<string, number> {
    return {
      organizationId: this.#partitions.distinctValues,
      userId: this.#userId.distinctValues,
      status: this.#status.distinctValues,
      currency: this.#currency.distinctValues,
      amount: this.#amount.distinctKeys(),
      createdAt: this.#createdAt.distinctKeys(),
    };
  }

  /** Pre-aggregated stats per organization x day x status x currency (see DailyAggregates). */
  get aggregates(): DailyAggregates {
    return this.#aggregates;
  }

  #aggregate(sign: 1 | -1, row: number): void {
    const c = this.#cols;
    this.#aggregates.apply(
      sign,
      c.organization.array[row],
      c.createdAt.array[row],
      c.status.array[row],
      c.currency.array[row],
      c.amount.array[row],
      c.refundedAmount.array[row],
    );
  }

  #bump(organizationId: string): void {
    this.#version += 1;
    this.#orgVersions.set(organizationId, (this.#orgVersions.get(organizationId) ?? 0) + 1);
  }
}
