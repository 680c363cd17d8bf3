import Loki from 'lokijs';
import type { Payment } from '../src/payments/payment';
import { Engine, foldStats, SearchAnswer, SearchQuery, StatsAnswer, StatsQuery } from './queries';

type Doc = Payment & { $loki?: number };

/** The fields the LokiJS reference indexed (binary indices), plus a unique paymentId. */
export const LOKI_INDICES = ['organizationId', 'userId', 'status', 'currency', 'amount', 'createdAt'] as const;

/**
 * LokiJS 1.5 in memory, used the way its docs suggest: binary indices on the filtered fields,
 * adaptive (kept up to date on every insert), a unique index on paymentId, and queries written
 * in the natural order (organization first; Loki uses the index of the first clause only).
 * Loki writes `$loki` into each document, so it holds its own copies of the payments.
 */
export class LokiEngine implements Engine {
  readonly name = 'LokiJS';
  readonly #coll: Collection<Doc>;

  constructor(payments: readonly Payment[]) {
    const db = new Loki('bench.db', { autosave: false });
    this.#coll = db.addCollection<Doc>('payments', { unique: ['paymentId'], disableMeta: true });
    // bulk load first, then build each binary index once (O(n log n)), instead of n adaptive inserts
    this.#coll.insert(payments.map((p) => ({ ...p })));
    for (const field of LOKI_INDICES) this.#coll.ensureIndex(field, true);
  }

  get size(): number {
    return this.#coll.count();
  }

  /** Adaptive binary indices: every index is updated in place (an array splice, O(n)). */
  insert(p: Payment): void {
    this.#coll.insert({ ...p });
  }

  /** Bulk insert with the adaptive indices off, then one rebuild: for catching up untimed. */
  insertManyUntimed(payments: readonly Payment[]): void {
    this.#coll.adaptiveBinaryIndices = false;
    this.#coll.insert(payments.map((p) => ({ ...p })));
    this.#coll.configureOptions({ adaptiveBinaryIndices: true });
    this.#coll.ensureAllIndexes(true);
  }

  search(q: SearchQuery): SearchAnswer {
    const rs =
      q.from === undefined && q.to === undefined
        ? this.#coll.chain().find({
            organizationId: q.organizationId,
            status: { $in: q.statuses },
            currency: { $in: q.currencies },
            amount: { $between: [q.minAmount ?? -Infinity, q.maxAmount ?? Infinity] },
          } as LokiQuery<Doc>)
        : // a createdAt window [from, to): $between would include `to`
          this.#coll.chain().find({
            $and: [
              { organizationId: q.organizationId },
              { status: { $in: q.statuses } },
              { currency: { $in: q.currencies } },
              ...(q.minAmount === undefined ? [] : [{ amount: { $gte: q.minAmount } }]),
              ...(q.maxAmount === undefined ? [] : [{ amount: { $lte: q.maxAmount } }]),
              ...(q.from === undefined ? [] : [{ createdAt: { $gte: q.from } }]),
              ...(q.to === undefined ? [] : [{ createdAt: { $lt: q.to } }]),
            ],
          } as LokiQuery<Doc>);
    const total = rs.count();
    const docs = rs.simplesort('createdAt', { desc: true }).limit(q.size).data();
    return { ids: docs.map((d) => d.paymentId), total };
  }

  stats(q: StatsQuery): StatsAnswer {
    const docs = this.#coll
      .chain()
      .find({
        $and: [{ organizationId: q.organizationId }, { createdAt: { $gte: q.from } }, { createdAt: { $lt: q.to } }],
      } as LokiQuery<Doc>)
      .data();
    return foldStats(docs);
  }
}
