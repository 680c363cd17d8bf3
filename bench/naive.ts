import type { Payment } from '../src/payments/payment';
import { Engine, foldStats, SearchAnswer, SearchQuery, StatsAnswer, StatsQuery } from './queries';

/**
 * The baseline written for clarity, not speed: a Map of payments, and every query is a full
 * scan. Search = filter + sort + slice; stats = one loop. Deliberately independent of the
 * engine's code (its own predicate and comparator), so that it can catch the engine's bugs.
 */
export class NaiveEngine implements Engine {
  readonly name = 'naive';
  readonly #byId = new Map<string, Payment>();

  constructor(payments: Iterable<Payment>) {
    for (const p of payments) this.#byId.set(p.paymentId, p);
  }

  get size(): number {
    return this.#byId.size;
  }

  insert(p: Payment): void {
    if (!this.#byId.has(p.paymentId)) this.#byId.set(p.paymentId, p);
  }

  search(q: SearchQuery): SearchAnswer {
    const matches = [...this.#byId.values()].filter(
      (p) =>
        p.organizationId === q.organizationId &&
        q.statuses.includes(p.status) &&
        q.currencies.includes(p.currency) &&
        (q.minAmount === undefined || p.amount >= q.minAmount) &&
        (q.maxAmount === undefined || p.amount <= q.maxAmount) &&
        (q.from === undefined || p.createdAt >= q.from) &&
        (q.to === undefined || p.createdAt < q.to),
    );
    // newest first, then paymentId ascending
    matches.sort((a, b) =>
      a.createdAt !== b.createdAt ? (a.createdAt < b.createdAt ? 1 : -1) : a.paymentId < b.paymentId ? -1 : 1,
    );
    return { ids: matches.slice(0, q.size).map((p) => p.paymentId), total: matches.length };
  }

  stats(q: StatsQuery): StatsAnswer {
    return foldStats(
      this.#byId.values(),
      (p) => p.organizationId === q.organizationId && p.createdAt >= q.from && p.createdAt < q.to,
    );
  }
}
