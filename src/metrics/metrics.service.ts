import { Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { ERROR_CATALOGUE, ErrorCode } from '../errors';

/** prom-client's per-series state (v15), reached only by recordRequest below. */
type CounterEntry = { value: number; labels: Record<string, string> };
type HistogramEntry = { labels: Record<string, string>; sum: number; count: number; bucketValues: Record<number, number> };
type Internals<E> = { hashMap?: Record<string, E>; upperBounds?: number[] };
const internals = <E>(metric: object) => metric as Internals<E>;

interface RequestSeries {
  counterMap: object;
  histogramMap: object;
  counter: CounterEntry;
  histogram: HistogramEntry;
  bounds: number[];
}

/**
 * prom-client's default gauges that break the naming convention (a `_total` suffix on a gauge,
 * which `promtool check metrics` reports). Each is the sum of the gauge of the same name without
 * `_total`, labelled by type (`nodejs_active_handles{type="Socket"}`), which stays:
 * `sum without (type) (nodejs_active_handles)` is the total.
 */
const NON_CONVENTIONAL_DEFAULT_METRICS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

/** The labels of each code's series in payments_http_problems_total (its status is the catalogue's). */
const PROBLEM_LABELS = Object.fromEntries(
  Object.entries(ERROR_CATALOGUE).map(([code, { status }]) => [code, { code, status: String(status) }]),
) as Record<ErrorCode, { code: ErrorCode; status: string }>;

const sameLabels = (a: Record<string, string>, b: Record<string, string>) =>
  a.method === b.method && a.route === b.route && a.status === b.status;

/** The series of one label set, or undefined when prom-client's internals are not as expected. */
function findSeries(counter: object, histogram: object, labels: Record<string, string>): RequestSeries | undefined {
  const c = internals<CounterEntry>(counter);
  const h = internals<HistogramEntry>(histogram);
  if (!c.hashMap || !h.hashMap || !Array.isArray(h.upperBounds)) return undefined;
  const counterEntry = Object.values(c.hashMap).find((e) => e && typeof e.value === 'number' && e.labels && sameLabels(e.labels, labels));
  const histogramEntry = Object.values(h.hashMap).find(
    (e) => e && typeof e.sum === 'number' && typeof e.count === 'number' && e.bucketValues && e.labels && sameLabels(e.labels, labels),
  );
  if (!counterEntry || !histogramEntry) return undefined;
  const bounds = h.upperBounds.filter((b) => Object.prototype.hasOwnProperty.call(histogramEntry.bucketValues, b));
  if (bounds.length !== h.upperBounds.length) return undefined;
  return { counterMap: c.hashMap, histogramMap: h.hashMap, counter: counterEntry, histogram: histogramEntry, bounds };
}

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

  /**
   * Every problem+json answer by its catalogue code. Each code's series exists from the start
   * at 0, so a rate over it (an alert's signal) has data before the first error.
   */
  readonly httpProblems = new Counter({
    name: 'payments_http_problems_total',
    help: 'HTTP answers that were application/problem+json, by error code (see the error catalogue) and status',
    labelNames: ['code', 'status'] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    for (const name of NON_CONVENTIONAL_DEFAULT_METRICS) this.registry.removeSingleMetric(name);
    for (const labels of Object.values(PROBLEM_LABELS)) this.httpProblems.inc(labels, 0);
  }

  readonly #requestSeries = new Map<string, RequestSeries>();

  /**
   * Counts one HTTP request in http_requests_total and http_request_duration_seconds: the same
   * samples as `httpRequests.inc(labels)` + `httpDuration.observe(labels, seconds)`, without
   * hashing and validating the labels on every request. The first request of a label set goes
   * through prom-client's API, which creates its series; later ones add to those series
   * directly (metrics.service.spec.ts checks that the exposition is the same either way).
   */
  recordRequest(method: string, route: string, status: number, seconds: number): void {
    const key = `${method} ${status} ${route}`;
    const series = this.#requestSeries.get(key);
    if (
      series !== undefined &&
      series.counterMap === internals(this.httpRequests).hashMap &&
      series.histogramMap === internals(this.httpDuration).hashMap
    ) {
      series.counter.value += 1;
      const h = series.histogram;
      h.sum += seconds;
      h.count += 1;
      const bounds = series.bounds;
      for (let i = 0; i < bounds.length; i++) {
        if (seconds <= bounds[i]) {
          h.bucketValues[bounds[i]] += 1;
          break;
        }
      }
      return;
    }
    const labels = { method, route, status: String(status) };
    this.httpRequests.inc(labels);
    this.httpDuration.observe(labels, seconds);
    const found = findSeries(this.httpRequests, this.httpDuration, labels);
    if (found) this.#requestSeries.set(key, found);
    else this.#requestSeries.delete(key);
  }

  /** Counts one problem+json answer (the error path only: the success path never gets here). */
  recordProblem(code: ErrorCode): void {
    this.httpProblems.inc(PROBLEM_LABELS[code]);
  }

  /**
   * A 1/0 gauge read when Prometheus scrapes: 1 when `check` resolves true, 0 when it resolves
   * false or fails. Never the last value: a check that cannot answer is a 0, not a stale 1.
   * `check` must bound its own wait (the scrape waits for it).
   */
  upGauge(name: string, help: string, check: () => Promise<boolean>): void {
    // a read that never fails: asyncGauge's keep-the-last-value never applies
    this.asyncGauge(name, help, () => check().then((up) => (up ? 1 : 0), () => 0));
  }

  /** A gauge read when Prometheus scrapes, from a source that answers later (a database); a failed read keeps the last value. */
  asyncGauge(name: string, help: string, read: () => Promise<number>): void {
    new Gauge({
      name,
      help,
      registers: [this.registry],
      async collect() {
        try {
          this.set(await read());
        } catch {
          // unreachable now: the last value stays
        }
      },
    });
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
