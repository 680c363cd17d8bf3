import { Injectable } from '@nestjs/common';
import { MetricsService } from '../metrics/metrics.service';
import { PrimaryRepository } from '../payments/primary.repository';
import { PaymentStore } from '../payments/store/payment.store';

/**
 * The gauges an operator alerts on beside readiness: how full the store is against its limits
 * (a full store answers creates with 507) and, with PostgreSQL, whether the database answers.
 * All read at scrape time; nothing runs between scrapes.
 */
@Injectable()
export class HealthMetrics {
  constructor(metrics: MetricsService, store: PaymentStore, primary: PrimaryRepository) {
    // store.capacity is read at each scrape: a rebuild (POST /admin/sync) swaps it
    metrics.gauge('payments_store_max_payments', 'Payments the store may hold (MAX_PAYMENTS), beside payments_store_size', () => store.capacity.limits.maxPayments);
    metrics.gauge('payments_store_bytes', 'Estimated bytes of what the store holds, counted against payments_store_max_bytes', () => store.capacity.bytes);
    metrics.gauge(
      'payments_store_max_bytes',
      'Estimated bytes the store may hold (MAX_STORE_BYTES, or a share of the heap when it is 0)',
      () => store.capacity.limits.maxBytes,
    );
    if (primary.kind === 'postgresql') {
      // readiness' own check (SELECT 1), bounded by DATABASE_TIMEOUT_MS (the pool's connect and query timeouts)
      metrics.upGauge('payments_database_up', '1 when PostgreSQL answered SELECT 1 at this scrape, else 0', async () => (await primary.health()).up);
    }
  }
}
