import { Injectable } from '@nestjs/common';
import { EventsHandler, IEventHandler } from '@nestjs/cqrs';
import { MetricsService } from '../metrics/metrics.service';
import { PaymentCreated, PaymentFailed, PaymentProcessed, PaymentRefunded } from './payment.events';
import { PaymentStore } from './store/payment.store';

type PaymentDomainEvent = PaymentCreated | PaymentProcessed | PaymentFailed | PaymentRefunded;

/** Counts the domain events; also exposes the store size. Reacts only, never answers a request. */
@Injectable()
@EventsHandler(PaymentCreated, PaymentProcessed, PaymentFailed, PaymentRefunded)
export class PaymentEventsMetrics implements IEventHandler<PaymentDomainEvent> {
  constructor(
    private readonly metrics: MetricsService,
    store: PaymentStore,
  ) {
    metrics.gauge('payments_store_size', 'Payments held in the in-memory store', () => store.size);
  }

  handle(event: PaymentDomainEvent): void {
    this.metrics.paymentEvents.inc({ type: event.constructor.name });
  }
}
