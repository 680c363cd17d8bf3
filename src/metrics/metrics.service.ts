import { Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * The Prometheus registry of one app instance (not prom-client's global one, so several apps
 * in one process, as in the tests, never collide).
 */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();

  readonly httpRequests = new Counter({
    name: 'http_requests_total',
    help: 'HTTP requests by method, route pattern and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  });

  readonly httpDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request latency by method, route pattern and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });

  readonly cacheHits = new Counter({
    name: 'payments_query_cache_hits_total',
    help: 'Query results served from the cache',
    labelNames: ['query'] as const,
    registers: [this.registry],
  });

  readonly cacheMisses = new Counter({
    name: 'payments_query_cache_misses_total',
    help: 'Query results computed from the store',
    labelNames: ['query'] as const,
    registers: [this.registry],
  });

  readonly paymentEvents = new Counter({
    name: 'payments_events_total',
    help: 'Payment domain events published (created, processed, failed, refunded)',
    labelNames: ['type'] as const,
    registers: [this.registry],
  });

  /** PostgreSQL mode: transactions of the group commit and the writes each one carried. */
  readonly commitBatches = new Histogram({
    name: 'payments_commit_batch_size',
    help: 'Writes grouped into one PostgreSQL transaction',
    buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500],
    registers: [this.registry],
  });

  readonly commitDuration = new Histogram({
    name: 'payments_commit_duration_seconds',
    help: 'Time of one group-commit transaction, BEGIN to COMMIT',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    registers: [this.registry],
  });

  /**
   * PostgreSQL mode: delay from a write being taken on another instance (its updatedAt, set
   * before the group commit) to its application here; the commit wait is included.
   */
  readonly syncDelay = new Histogram({
    name: 'payments_sync_delay_seconds',
    help: 'Delay between a payment update (updatedAt, before its commit) and its arrival here through the change feed',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  /** A gauge read when Prometheus scrapes (no timer, no work between scrapes). */
  gauge(name: string, help: string, read: () => number): void {
    new Gauge({
      name,
      help,
      registers: [this.registry],
      collect() {
        this.set(read());
      },
    });
  }
}
