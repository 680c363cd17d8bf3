import { Attributes, Context, Span, SpanKind } from '@opentelemetry/api';
import { tracer } from '../tracing/tracing';

/**
 * A span of OpenTelemetry's messaging conventions, named `<operation> <destination>`: `process`
 * (CONSUMER) for a delivery the consumer handles, `send` (PRODUCER) for an event the relay
 * publishes. `event` adds the CloudEvent's attributes.
 */
export function startMessageSpan(
  operation: 'process' | 'send',
  destination: string,
  routingKey: string,
  parent: Context,
  event?: { id: string; type: string; subject?: string },
): Span {
  const attributes: Attributes = {
    'messaging.system': 'rabbitmq',
    'messaging.operation.type': operation,
    'messaging.operation.name': operation,
    'messaging.destination.name': destination,
    'messaging.rabbitmq.destination.routing_key': routingKey,
  };
  if (event !== undefined) {
    attributes['messaging.message.id'] = event.id;
    attributes['cloudevents.event_id'] = event.id;
    attributes['cloudevents.event_type'] = event.type;
    if (event.subject !== undefined) attributes['cloudevents.event_subject'] = event.subject;
  }
  return tracer.startSpan(`${operation} ${destination}`, { kind: operation === 'send' ? SpanKind.PRODUCER : SpanKind.CONSUMER, attributes }, parent);
}
