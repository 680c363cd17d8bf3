import { Injectable } from '@nestjs/common';
import { EventsHandler, IEventHandler } from '@nestjs/cqrs';
import { MetricsService } from '../metrics/metrics.service';
import { PaymentCreated, PaymentFailed, PaymentProcessed, PaymentRefunded } from './payment.events';
import { StatsStreams } from './queries/stats-streams';
import { PaymentStore } from './store/payment.store';

type PaymentDomainEvent = PaymentCreated | PaymentProcessed | PaymentFailed | PaymentRefunded;

/**
 * Counts the domain events; also exposes the store size and the live stats streams open.
 * Reacts only, never answers a request.
 */
@Injectable()
@EventsHandler(PaymentCreated, PaymentProcessed, PaymentFailed, PaymentRefunded)
export class PaymentEventsMetrics implements IEventHandler<PaymentDomainEvent> {
  constructor(
    private readonly metrics: MetricsService,
    store: PaymentStore,
    streams: StatsStreams,
  ) {
    metrics.gauge('payments_store_size', 'Payments held in the in-memory store', () => store.size);
    metrics.gauge('payments_stats_streams_open', 'Live stats streams (GET /payments/stats/stream, Server-Sent Events) open now', () => streams.subscribers);
  }

  handle(event: PaymentDomainEvent): void {
    this.metrics.paymentEvents.inc({ type: event.constructor.name });
  }
}
