import { Injectable } from '@nestjs/common';
import { AppConfig } from '../../config';
import { PaymentIdAmbiguousError } from '../../errors';
import { InsertResult, Payment, PAYMENT_STATUSES } from '../payment';
import { capacityLimits, StoreCapacity, StoreCapacityView } from './capacity';
import { ColumnDictionaries, ColumnDictionariesView, Dictionary } from './columns';
import { DailyAggregates, DailyAggregatesView } from './daily-aggregates';
import { processHeapGauge } from './heap-gauge';
import { IdTable } from './id-table';
import { PaymentCells, PaymentCellsView } from './payment-cells';
import { PaymentColumns } from './payment-columns';
import { PostingIndex } from './posting.index';
import { eventIdBytes, grownBytes, NEW_ORGANIZATION_BYTES, NEW_USER_BYTES, paymentBytes } from './payment-bytes';
import { PaymentIndexesView } from './query-planner';
import { BulkLoad, LoadedPayment } from './bulk-load';
import { orderTies, RadixWorkspace, sortByKey, tiePrefix } from './radix-sort';
import { SortedIndex } from './sorted.index';
import { timeMs } from '../../iso-time';

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
 *
 * The one writer: its structures are `#private`, and what it hands out (`indexes`, `cells`,
 * `dictionaries`, `aggregates`, `capacity`) is typed as views without their mutators, so the
 * query side cannot write through them (the compiler checks it: payment.store.spec.ts). The
 * views are the structures themselves, typed narrower: no copy, no wrapper, no cost per read.
 */
@Injectable()
export class PaymentStore {
  // Not readonly: adopt() swaps a rebuilt store's state in, in one synchronous step.
  /**
   * Row id -> the payment's own fields (paymentId, lifecycle times, version, description,
   * metadata, error) in columns; the cells hold the rest. No payment object is kept: row()
   * builds one when it is read.
   */
  #columns = new PaymentColumns();
  /**
   * paymentId -> row id of the first payment stored under that paymentId: a hash table of row
   * ids only (it reads the ids back from #columns' bytes). paymentIds are unique per
   * organization, not globally, so the same paymentId in another organization is kept in #sameId.
   */
  #rowOf = new IdTable(this.#columns);
  /**
   * The row in #rowOf -> organizationId -> row, for the other organizations' payments under the
   * same paymentId. Empty unless two organizations chose the same id (each pays a Map entry
   * then; the common case pays nothing).
   */
  #sameId = new Map<number, Map<string, number>>();
  /**
   * The organizationId, status and currency index and the column store in one: rows grouped
   * by organization x status x currency, with amount and createdAt in typed arrays (see
   * PaymentCells). What search and stats scan: never a payment object, never a string.
   */
  #cells = new PaymentCells();
  /** userId never changes: an append-only posting list per user code (4 B/row). */
  #userId = new PostingIndex<number>();
  /** Sorted (key, paymentId) -> row; keys are read from the cells, ids from the payments. */
  #amount = new SortedIndex({
    key: (row) => this.#cells.amount(row),
    id: (row) => this.#columns.paymentId(row),
    org: (row) => this.#organizationOf(row),
    compare: (a, b) => this.compareRowTies(a, b),
  });
  #createdAt = new SortedIndex(this.#createdAtKeys());
  /**
   * The same per organization (by code): the payments of one organization in a time window
   * without visiting other organizations' (the ragged ends of a stats window, a dated search).
   */
  #orgCreatedAt: SortedIndex[] = [];
  #dicts: ColumnDictionaries = {
    organization: new Dictionary(),
    user: new Dictionary(),
    currency: new Dictionary(),
  };
  #aggregates = new DailyAggregates();
  /** What `indexes` answers: built over the structures above, again whenever adopt() swaps them. */
  #indexes: PaymentIndexesView;
  /**
   * Row id -> event ids already applied to it (at-least-once delivery is deduplicated): the id
   * itself while there is one, a set from the second on.
   */
  #eventIds = new Map<number, string | Set<string>>();
  #version = 0;
  #orgVersions = new Map<string, number>();
  /** Payments and their estimated bytes, in all and per organization, against the limits (see StoreCapacity). */
  #capacity: StoreCapacity;

  #loaded: boolean;
  /** During a bulk load the two sorted indexes are built once at the end (see beginBulkLoad). */
  #deferSorted = false;
  #bulk: BulkLoad | undefined;

  constructor(private readonly config: AppConfig) {
    // Memory is the primary repository unless a database is configured: then the store is
    // loaded from it at start, and not ready before.
    this.#loaded = !config.databaseUrl;
    this.#indexes = this.#indexViews();
    const heap = processHeapGauge();
    this.#capacity = new StoreCapacity(capacityLimits(config, heap.limitBytes), heap);
  }

  #createdAtKeys() {
    return {
      key: (row: number) => this.#cells.createdAt(row),
      id: (row: number) => this.#columns.paymentId(row),
      org: (row: number) => this.#organizationOf(row),
      compare: (a: number, b: number) => this.compareRowTies(a, b),
    };
  }

  #indexViews(): PaymentIndexesView {
    const byOrg = this.#orgCreatedAt;
    return {
      createdAtIndexOf: (org) => byOrg[org],
      cells: this.#cells,
      userId: this.#userId,
      amount: this.#amount,
      createdAt: this.#createdAt,
      dictionaries: this.#dicts,
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
    return this.#columns.size;
  }

  get version(): number {
    return this.#version;
  }

  versionOf(organizationId: string): number {
    return this.#orgVersions.get(organizationId) ?? 0;
  }

  /** The payment `paymentId` of `organizationId` (paymentIds are unique per organization). O(1). */
  get(organizationId: string, paymentId: string): Payment | undefined {
    const row = this.#rowIn(organizationId, paymentId);
    return row === undefined ? undefined : this.row(row);
  }

  /**
   * The payments stored under `paymentId`, whatever their organization: none, one, or (when
   * organizations chose the same id) one per organization. For addressing without a tenant.
   */
  withId(paymentId: string): Payment[] {
    const row = this.#rowOf.get(paymentId);
    if (row === undefined) return [];
    const others = this.#sameId.get(row);
    const found = [this.row(row)];
    if (others !== undefined) for (const other of others.values()) found.push(this.row(other));
    return found;
  }

  /**
   * The payment a request addresses: `paymentId` of `organizationId` when one is named (always,
   * with auth on: the token's), else the only payment with that paymentId. Throws
   * PaymentIdAmbiguousError when several organizations have one and none is named.
   */
  resolve(paymentId: string, organizationId: string | undefined): Payment | undefined {
    if (organizationId !== undefined) return this.get(organizationId, paymentId);
    const row = this.#rowOf.get(paymentId);
    if (row === undefined) return undefined;
    const others = this.#sameId.get(row);
    if (others !== undefined) throw new PaymentIdAmbiguousError(paymentId, others.size + 1);
    return this.row(row);
  }

  #rowIn(organizationId: string, paymentId: string): number | undefined {
    const row = this.#rowOf.get(paymentId);
    if (row === undefined || this.#organizationOf(row) === organizationId) return row;
    return this.#sameId.get(row)?.get(organizationId);
  }

  /** Payments stored for one organization. O(1). */
  countOf(organizationId: string): number {
    const org = this.#dicts.organization.find(organizationId);
    return org < 0 ? 0 : this.#cells.orgCount(org);
  }

  /** What the store holds against its limits (the store is its only writer: see capacityBatch). */
  get capacity(): StoreCapacityView {
    return this.#capacity;
  }

  /**
   * For a writer that commits creates elsewhere before applying them here (PostgreSQL): admits
   * one batch's creates against the capacity, each admitted one counted for the next.
   */
  capacityBatch(): (payment: Payment) => void {
    const batch = this.#capacity.batch();
    return (payment) => batch.admit(payment, this.#dicts.user.find(payment.userId) >= 0);
  }

  /** The payment stored at `row`, built from the columns and cells (a new frozen object each time). */
  row(row: number): Payment {
    const cells = this.#cells;
    const cell = cells.cellOf(row);
    const slot = cells.slotOf(row);
    const dicts = this.#dicts;
    return this.#columns.payment(row, {
      organizationId: dicts.organization.value(cell.org),
      userId: dicts.user.value(cells.user(row)),
      amount: cell.amount[slot],
      currency: dicts.currency.value(cell.currency),
      status: PAYMENT_STATUSES[cell.status],
      refundedAmount: cell.refundedAmountAt(slot),
      createdAtMs: cell.createdAt[slot],
    });
  }

  #organizationOf(row: number): string {
    return this.#dicts.organization.value(this.#cells.cellOf(row).org);
  }

  /** tieOf() of a stored row (a cursor's position), without building its payment. */
  tieOfRow(row: number): string {
    return `${this.#columns.paymentId(row)}\u0000${this.#organizationOf(row)}`;
  }

  /** compareTies() of two stored rows, reading their paymentIds' bytes (no payment, no string built). */
  compareRowTies(a: number, b: number): number {
    return this.#columns.compareIds(a, b) || compareIds(this.#organizationOf(a), this.#organizationOf(b));
  }

  /**
   * Read-only views of the indexes, for the query side (planner and reader). A getter: adopt()
   * swaps a rebuilt store's indexes in, so a reader takes them afresh for each read.
   */
  get indexes(): PaymentIndexesView {
    return this.#indexes;
  }

  /** The column store (organization x status x currency cells), for scans. */
  get cells(): PaymentCellsView {
    return this.#cells;
  }

  get dictionaries(): ColumnDictionariesView {
    return this.#dicts;
  }

  /**
   * Stores `payment` unless its paymentId is taken; then returns the stored one untouched.
   * O(log n) (the two sorted indexes).
   */
  insertIfAbsent(payment: Payment): InsertResult {
    const existing = this.get(payment.organizationId, payment.paymentId);
    if (existing !== undefined) return { payment: existing, created: false };
    // a replay never meets a limit; a refusal (507) happens before anything changes
    const bytes = this.#capacity.admit(payment, this.#dicts.user.find(payment.userId) >= 0);
    this.#insert(payment, bytes);
    return { payment, created: true };
  }

  #insert(payment: Payment, bytes = this.#capacity.bytesOf(payment, this.#dicts.user.find(payment.userId) >= 0)): void {
    const createdAtMs = timeMs(payment.createdAt);
    // checked before any index changes: a write is all or nothing (the API validates it first)
    if (!Number.isFinite(createdAtMs)) throw new Error(`PaymentStore: createdAt ${payment.createdAt} is not a time`);
    const row = this.#columns.append(payment);
    const first = this.#rowOf.get(payment.paymentId);
    if (first === undefined) this.#rowOf.set(payment.paymentId, row);
    else {
      let others = this.#sameId.get(first);
      if (others === undefined) this.#sameId.set(first, (others = new Map()));
      others.set(payment.organizationId, row);
    }
    const org = this.#dicts.organization.intern(payment.organizationId);
    const user = this.#dicts.user.intern(payment.userId);
    const currency = this.#dicts.currency.intern(payment.currency);
    const status = PAYMENT_STATUSES.indexOf(payment.status);
    this.#cells.add(row, org, user, status, currency, payment.amount, createdAtMs, payment.refundedAmount);
    this.#userId.add(user, row);
    if (!this.#deferSorted) {
      this.#amount.insert(row);
      this.#createdAt.insert(row);
      this.#orgIndex(org).insert(row);
    }
    this.#aggregates.apply(1, org, createdAtMs, status, currency, payment.amount, payment.refundedAmount);
    this.#capacity.add(payment.organizationId, 1, bytes);
    this.#bump(payment.organizationId);
  }

  #orgIndex(org: number): SortedIndex {
    // small chunks: an organization may hold a handful of payments
    return (this.#orgCreatedAt[org] ??= new SortedIndex(this.#createdAtKeys(), ORG_CHUNK));
  }

  /**
   * Replaces a payment by `next(current)`; `next` may throw to refuse the change, and then
   * nothing changes. An `eventId` already applied to this payment returns it unchanged.
   * Returns undefined when there is no such payment. Only `status` can change among the
   * indexed fields (the state machine keeps the rest), and only its index is touched.
   */
  update(organizationId: string, paymentId: string, eventId: string | undefined, next: (current: Payment) => Payment): UpdateResult {
    const row = this.#rowIn(organizationId, paymentId);
    if (row === undefined) return undefined;
    const current = this.row(row);
    const seen = this.#eventIds.get(row);
    if (eventId !== undefined && (seen === eventId || (typeof seen === 'object' && seen.has(eventId)))) {
      return { payment: current, applied: false };
    }
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
    // An event only grows a payment a little, but each new event id is kept: the heap, not a
    // quota, limits that (a store full of payments still serves their events).
    const grown = grownBytes(current, updated);
    const kept = eventId === undefined ? 0 : eventIdBytes(eventId);
    if (grown + kept > 0) this.#capacity.admitGrowth(grown + kept);
    this.#replace(row, updated, current, grown);
    if (kept > 0) this.#capacity.add(updated.organizationId, 0, kept);
    if (eventId !== undefined) {
      if (seen === undefined) this.#eventIds.set(row, eventId);
      else if (typeof seen === 'string') this.#eventIds.set(row, new Set([seen, eventId]));
      else seen.add(eventId);
    }
    return { payment: updated, applied: true };
  }

  /** Replaces the payment of `row` (same identity and indexed fields but status). */
  #replace(row: number, updated: Payment, current: Payment, grown = grownBytes(current, updated)): void {
    this.#aggregate(-1, row);
    this.#columns.update(row, updated);
    if (updated.status !== current.status) this.#cells.setStatus(row, PAYMENT_STATUSES.indexOf(updated.status));
    this.#cells.setRefunded(row, updated.refundedAmount);
    this.#aggregate(1, row);
    this.#capacity.add(updated.organizationId, 0, grown);
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
    const row = this.#rowIn(payment.organizationId, payment.paymentId);
    if (row === undefined) {
      this.#insert(payment);
      return true;
    }
    if (payment.version <= this.#columns.version(row)) return false;
    this.#replace(row, payment, this.row(row));
    return true;
  }

  /**
   * For the load at start, into a store that serves nothing yet: the amount and createdAt
   * indexes are left out of each insert and built by endBulkLoad() (a random-order insert into a
   * sorted index is the dearest part of an insert), and payments may come through
   * appendLoaded(). `expectedRows` (an estimate) sizes the paymentId table once, instead of
   * doubling it and moving its entries ~log2(n) times. Returns false, and changes nothing, when
   * the store already holds payments.
   */
  beginBulkLoad(expectedRows = 0): boolean {
    if (this.size > 0 || this.#deferSorted) return false;
    this.#deferSorted = true;
    this.#bulk = new BulkLoad();
    this.#bulk.prefixRoom(expectedRows);
    this.#cells.reserve(expectedRows);
    this.#columns.reserve(expectedRows);
    if (expectedRows > 0) {
      // the table grows past 3/4 full: room for 4/3 of the rows, rounded up to a power of two
      this.#rowOf = new IdTable(this.#columns, Math.min(Math.ceil((expectedRows * 4) / 3) + 1, 1 << 30));
    }
    return true;
  }

  /**
   * Appends a payment during a bulk load, as applyCommitted would insert it, for a source in
   * which each payment appears once (one snapshot of the primary repository): nothing is looked
   * up but its paymentId, and the object is not kept (see LoadedPayment). Throws, changing
   * nothing, outside a bulk load, on a createdAt that is not a time, and on a payment the store
   * already holds. O(1): the sorted indexes wait for endBulkLoad.
   */
  appendLoaded(p: LoadedPayment): void {
    const bulk = this.#bulk;
    if (bulk === undefined) throw new Error('PaymentStore.appendLoaded: not in a bulk load (see beginBulkLoad)');
    const createdAtMs = p.createdAtMs;
    if (!Number.isFinite(createdAtMs)) throw new Error(`PaymentStore: createdAt ${p.createdAt} is not a time`);
    // the row first (its id bytes are what the id table hashes and compares), given back if refused
    const row = this.#columns.appendLoaded(p);
    const first = this.#rowOf.addRow(row);
    if (first !== undefined) {
      if (this.#organizationOf(first) === p.organizationId || this.#sameId.get(first)?.has(p.organizationId)) {
        this.#columns.dropLast();
        throw new Error(`PaymentStore.appendLoaded: payment ${p.paymentId} of ${p.organizationId} is already stored`);
      }
      let others = this.#sameId.get(first);
      if (others === undefined) this.#sameId.set(first, (others = new Map()));
      others.set(p.organizationId, row);
    }
    const dicts = this.#dicts;
    // a code interned now is new when it is the dictionary's last
    const orgs = dicts.organization.size;
    let org = bulk.organizationCodes.get(p.organizationKey);
    if (org < 0) org = bulk.organizationCodes.set(p.organizationKey, dicts.organization.intern(p.organizationId));
    const users = dicts.user.size;
    let user = bulk.userCodes.get(p.userKey);
    if (user < 0) user = bulk.userCodes.set(p.userKey, dicts.user.intern(p.userId));
    let currency = bulk.currencyCodes.get(p.currencyKey);
    if (currency < 0) currency = bulk.currencyCodes.set(p.currencyKey, dicts.currency.intern(p.currency));
    const bytes = this.#loadedBytes(p, bulk, user < users, org < orgs);
    this.#cells.add(row, org, user, p.statusCode, currency, p.amount, createdAtMs, p.refundedAmount);
    this.#userId.add(user, row);
    this.#aggregates.apply(1, org, createdAtMs, p.statusCode, currency, p.amount, p.refundedAmount);
    this.#capacity.add(p.organizationId, 1, bytes);
    bulk.writes[org] = (bulk.writes[org] ?? 0) + 1;
    bulk.prefixRoom(row + 1);
    bulk.prefixes[row] = this.#columns.tiePrefix(row);
  }

  /**
   * capacity.bytesOf(p) without re-reading every field of every row: a canonical payment without
   * description or metadata costs what the first one of its kind (id length, null times, error)
   * costs; the rest is estimated as any write is.
   */
  #loadedBytes(p: LoadedPayment, bulk: BulkLoad, userKnown: boolean, orgKnown: boolean): number {
    if (!p.canonical || p.description !== null || !isEmpty(p.metadata)) return this.#capacity.bytesOf(p, userKnown);
    let byKind = bulk.plainBytes.get(p.error);
    if (byKind === undefined) bulk.plainBytes.set(p.error, (byKind = []));
    const idLength = p.idBytes === undefined ? p.paymentId.length : p.idEnd - p.idStart;
    const kind = idLength * 8 + (p.completedAtMs === p.completedAtMs ? 1 : 0) + (p.failedAtMs === p.failedAtMs ? 2 : 0) + (p.refundedAtMs === p.refundedAtMs ? 4 : 0);
    const own = (byKind[kind] ??= paymentBytes(p));
    return own + (userKnown ? 0 : NEW_USER_BYTES) + (orgKnown ? 0 : NEW_ORGANIZATION_BYTES);
  }

  /**
   * Builds the sorted indexes of a bulk load, and adds its writes to the versions. Synchronous.
   * Each index is a radix sort of its keys (O(n) per pass, two to four passes), then each run
   * of equal keys is put in tie order (paymentId, then organizationId), by the first six
   * characters of the paymentIds where they differ, else by compareRowTies: the comparator
   * only sees rows whose key and id prefix are both equal. The per-organization createdAt
   * indexes take their rows from the createdAt order by one counting pass.
   */
  endBulkLoad(): void {
    const steps = this.endBulkLoadSteps();
    while (!steps.next().done);
  }

  /**
   * endBulkLoad() in steps, each one sort or pass over the rows (at 10M about a second or less):
   * a caller may give the event loop back between two, so that the process still answers
   * /health/live. Nothing may use the store until the last step is done (a load builds a store
   * of its own, adopted once whole).
   */
  *endBulkLoadSteps(): Generator<void, void, undefined> {
    if (!this.#deferSorted) return;
    this.#deferSorted = false;
    const bulk = this.#bulk!;
    this.#bulk = undefined;
    const n = this.size;
    const cells = this.#cells;
    bulk.prefixRoom(n);
    const prefixes = bulk.prefixes;
    for (let row = 0; row < n; row++) {
      if (prefixes[row] !== prefixes[row]) prefixes[row] = tiePrefix(this.#columns.paymentId(row));
    }
    yield;
    const tie = (a: number, b: number) => prefixes[a] - prefixes[b] || this.compareRowTies(a, b);
    // one set of work arrays for both sorts and the per-organization split (see RadixWorkspace)
    const ws = new RadixWorkspace(n);
    const keys = new Float64Array(n);
    // keys by row, read cell by cell (sequential reads; a read by row is three dependent loads)
    for (const cell of cells.cells) for (let slot = 0; slot < cell.length; slot++) keys[cell.rows[slot]] = cell.amount[slot];
    const byAmount = sortByKey(keys, undefined, ws);
    yield;
    orderTies(byAmount.rows, byAmount.keys, tie);
    yield;
    this.#amount.load(byAmount.rows, byAmount.keys);
    yield;
    for (const cell of cells.cells) for (let slot = 0; slot < cell.length; slot++) keys[cell.rows[slot]] = cell.createdAt[slot];
    const byTime = sortByKey(keys, undefined, ws);
    yield;
    orderTies(byTime.rows, byTime.keys, tie);
    yield;
    this.#createdAt.load(byTime.rows, byTime.keys);
    yield;
    // each organization's rows, in the same order, by one counting pass (the counts are the
    // cells'); the tie prefixes are done with, and their array holds each row's organization
    const orgOf = prefixes;
    const counts: number[] = [];
    for (const cell of cells.cells) {
      counts[cell.org] = (counts[cell.org] ?? 0) + cell.length;
      for (let slot = 0; slot < cell.length; slot++) orgOf[cell.rows[slot]] = cell.org;
    }
    const starts: number[] = [];
    let sum = 0;
    for (let org = 0; org < counts.length; org++) {
      starts[org] = sum;
      sum += counts[org] ?? 0;
    }
    yield;
    const next = starts.slice();
    const rows = ws.otherRows(byTime.rows);
    const times = byTime.keys === keys ? ws.keys : keys;
    for (let i = 0; i < n; i++) {
      const row = byTime.rows[i];
      const at = next[orgOf[row]]++;
      rows[at] = row;
      times[at] = byTime.keys[i];
    }
    for (let org = 0; org < counts.length; org++) {
      const count = counts[org] ?? 0;
      if (count > 0) this.#orgIndex(org).load(rows.subarray(starts[org], starts[org] + count), times.subarray(starts[org], starts[org] + count));
    }
    bulk.writes.forEach((count, org) => {
      const name = this.#dicts.organization.value(org);
      this.#version += count;
      this.#orgVersions.set(name, (this.#orgVersions.get(name) ?? 0) + count);
    });
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
    this.#columns = rebuilt.#columns;
    this.#rowOf = rebuilt.#rowOf;
    this.#sameId = rebuilt.#sameId;
    this.#cells = rebuilt.#cells;
    this.#userId = rebuilt.#userId;
    this.#amount = rebuilt.#amount;
    this.#createdAt = rebuilt.#createdAt;
    this.#orgCreatedAt = rebuilt.#orgCreatedAt;
    this.#dicts = rebuilt.#dicts;
    this.#aggregates = rebuilt.#aggregates;
    this.#eventIds = rebuilt.#eventIds;
    this.#capacity = rebuilt.#capacity;
    this.#orgVersions = versions;
    this.#version += rebuilt.#version + 1;
    this.#indexes = this.#indexViews();
  }

  /** Every stored payment, in row order (for rebuilding a store without one organization). */
  *payments(): IterableIterator<Payment> {
    for (let row = 0; row < this.size; row++) yield this.row(row);
  }

  /**
   * Distinct values per index, for /admin/store: of the whole store in O(cells), or of one
   * organization (its admin's view) in O(its payments), read from its cells' columns.
   */
  describeIndexes(organizationId?: string): Record<string, number> {
    if (organizationId !== undefined) return this.#describeOrganization(organizationId);
    const cells = this.#cells.cells;
    const distinct = (of: (c: (typeof cells)[number]) => number) => new Set(cells.filter((c) => c.length > 0).map(of)).size;
    return {
      organizationId: distinct((c) => c.org),
      userId: this.#userId.distinctValues,
      status: distinct((c) => c.status),
      currency: distinct((c) => c.currency),
      amount: this.#amount.distinctKeys(),
      createdAt: this.#createdAt.distinctKeys(),
    };
  }

  #describeOrganization(organizationId: string): Record<string, number> {
    const org = this.#dicts.organization.find(organizationId);
    const cells = this.#cells.cells.filter((c) => c.org === org && c.length > 0);
    const users = new Set<number>();
    const amounts = new Set<number>();
    const times = new Set<number>();
    for (const cell of cells) {
      for (let slot = 0; slot < cell.length; slot++) {
        users.add(this.#cells.user(cell.rows[slot]));
        amounts.add(cell.amount[slot]);
        times.add(cell.createdAt[slot]);
      }
    }
    return {
      organizationId: cells.length > 0 ? 1 : 0,
      userId: users.size,
      status: new Set(cells.map((c) => c.status)).size,
      currency: new Set(cells.map((c) => c.currency)).size,
      amount: amounts.size,
      createdAt: times.size,
    };
  }

  /** Pre-aggregated stats per organization x day x status x currency (see DailyAggregates). */
  get aggregates(): DailyAggregatesView {
    return this.#aggregates;
  }

  #aggregate(sign: 1 | -1, row: number): void {
    const cell = this.#cells.cellOf(row);
    const slot = this.#cells.slotOf(row);
    this.#aggregates.apply(sign, cell.org, cell.createdAt[slot], cell.status, cell.currency, cell.amount[slot], cell.refundedAmountAt(slot));
  }

  #bump(organizationId: string): void {
    this.#version += 1;
    this.#orgVersions.set(organizationId, (this.#orgVersions.get(organizationId) ?? 0) + 1);
  }
}

const ORG_CHUNK = 256;

/**
 * The tie-breaker of the sorted indexes and of the search order on equal keys: paymentId, then
 * organizationId (paymentIds are unique per organization only). paymentIds hold no character
 * below '-', so comparing these strings compares (paymentId, organizationId) pairs.
 */
export function tieOf(payment: Pick<Payment, 'paymentId' | 'organizationId'>): string {
  return `${payment.paymentId}\u0000${payment.organizationId}`;
}

/** The order of tieOf(a) and tieOf(b), without building either string. */
export function compareTies(a: Pick<Payment, 'paymentId' | 'organizationId'>, b: Pick<Payment, 'paymentId' | 'organizationId'>): number {
  return compareIds(a.paymentId, b.paymentId) || compareIds(a.organizationId, b.organizationId);
}

/** String order of two ids (UTF-16 code units, as `<` compares): the tie order of the indexes and of search cursors. */
export function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function isEmpty(o: Readonly<Record<string, string>>): boolean {
  for (const _ in o) return false;
  return true;
}
