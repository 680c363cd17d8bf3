import type { Cache } from 'cache-manager';
import { AppConfig } from '../src/config';
import { MetricsService } from '../src/metrics/metrics.service';
import type { Payment } from '../src/payments/payment';
import { GetPaymentStatsHandler } from '../src/payments/queries/get-payment-stats.handler';
import { GetPaymentStatsQuery } from '../src/payments/queries/get-payment-stats.query';
import { QueryCache } from '../src/payments/queries/query-cache';
import { SearchCalculator } from '../src/payments/queries/search-calculator';
import { SearchPaymentsHandler } from '../src/payments/queries/search-payments.handler';
import { SearchPaymentsQuery } from '../src/payments/queries/search-payments.query';
import { StatsCalculator } from '../src/payments/queries/stats-calculator';
import { PaymentStore } from '../src/payments/store/payment.store';
import { loadStore } from './dataset';
import { Engine, SearchAnswer, SearchQuery, StatsAnswer, StatsQuery } from './queries';

/** Cache off: every query is computed, as it is on the first request after any write. */
export const BENCH_CONFIG = new AppConfig({ cacheTtlSeconds: 0, logLevel: 'silent' });

/** A cache that must never be reached (the query cache is built turned off). */
const unreachableCache = new Proxy({} as Cache, {
  get(_target, prop) {
    throw new Error(`the bench built the query cache turned off, yet it called cache.${String(prop)}`);
  },
});

/**
 * This project's engine: a PaymentStore filled through its write API (insertIfAbsent, update)
 * and queried through the search and stats handlers the service uses, as the controller calls them.
 */
export class ProjectEngine implements Engine {
  readonly name = 'this project';
  readonly store: PaymentStore;
  readonly searchHandler: SearchPaymentsHandler;
  readonly statsHandler: GetPaymentStatsHandler;

  /** Filled from `payments`, or queried over a store filled elsewhere (one loaded from PostgreSQL). */
  constructor(source: readonly Payment[] | PaymentStore) {
    if (source instanceof PaymentStore) {
      this.store = source;
    } else {
      this.store = new PaymentStore(BENCH_CONFIG);
      loadStore(this.store, source);
    }
    const cache = new QueryCache(this.store, unreachableCache, new MetricsService(), BENCH_CONFIG);
    const stats = new StatsCalculator(this.store);
    this.searchHandler = new SearchPaymentsHandler(cache, new SearchCalculator(this.store, stats));
    this.statsHandler = new GetPaymentStatsHandler(cache, stats);
  }

  get size(): number {
    return this.store.size;
  }

  insert(p: Payment): void {
    this.store.insertIfAbsent(p);
  }

  async search(q: SearchQuery): Promise<SearchAnswer> {
    const r = await this.searchHandler.execute(
      new SearchPaymentsQuery({
        filter: {
          organizationId: q.organizationId,
          statuses: q.statuses,
          currencies: q.currencies,
          minAmount: q.minAmount,
          maxAmount: q.maxAmount,
          from: q.from,
          to: q.to,
        },
        sort: '-createdAt',
        size: q.size,
      }),
    );
    return { ids: r.items.map((p) => p.paymentId), total: r.total };
  }

  stats(q: StatsQuery): Promise<StatsAnswer> {
    return this.statsHandler.execute(new GetPaymentStatsQuery({ filter: { organizationId: q.organizationId, from: q.from, to: q.to } }));
  }
}
