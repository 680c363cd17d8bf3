import { Injectable } from '@nestjs/common';
import { Counter, Histogram } from 'prom-client';
import { ERROR_CATALOGUE } from '../errors';
import { MetricsService } from '../metrics/metrics.service';

/** The messaging series of /metrics (registered only when BROKER_URL is set). */
@Injectable()
export class MessagingMetrics {
  readonly consumed: Counter<'type'>;
  readonly acked: Counter<'type'>;
  readonly retried: Counter<'code'>;
  readonly deadLettered: Counter<'code'>;
  readonly published: Counter<'type'>;
  readonly dropped: Counter;
  readonly publishLatency: Histogram;

  constructor(readonly metrics: MetricsService) {
    const registers = [metrics.registry];
    this.consumed = new Counter({ name: 'payments_messages_consumed_total', help: 'Inbound messages received from the command queue, by CloudEvent type', labelNames: ['type'], registers });
    this.acked = new Counter({ name: 'payments_messages_acked_total', help: 'Inbound messages acknowledged after their outcome was final (applied, or a no-op replay)', labelNames: ['type'], registers });
    this.retried = new Counter({
      name: 'payments_messages_retried_total',
      help: 'Attempts of an inbound message retried after a transient outcome (database unavailable, overloaded, loading), by problem code',
      labelNames: ['code'],
      registers,
    });
    this.deadLettered = new Counter({ name: 'payments_messages_dead_lettered_total', help: 'Inbound messages sent to the dead-letter queue, by problem code', labelNames: ['code'], registers });
    // every code at 0 from the start: the first dead letter of a code is then an increase that
    // rate() and the PaymentsDeadLetters alert see (a series born at 1 shows no increase)
    for (const code of Object.keys(ERROR_CATALOGUE)) this.deadLettered.inc({ code }, 0);
    this.published = new Counter({ name: 'payments_events_published_total', help: 'Domain events published and confirmed by the broker, by type', labelNames: ['type'], registers });
    this.dropped = new Counter({ name: 'payments_outbox_dropped_total', help: 'Memory mode: events dropped because the in-memory outbox was full (OUTBOX_MEMORY_MAX)', registers });
    this.publishLatency = new Histogram({
      name: 'payments_events_publish_latency_seconds',
      help: 'From the commit of a change to the broker confirming its event',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10, 60],
      registers,
    });
  }
}
