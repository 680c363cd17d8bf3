import { CloudEvent, ValidationError } from 'cloudevents';
import secureJson from 'secure-json-parse';
import { AppError, FieldError, RequestValidationError } from '../errors';
import { NewPayment, Payment, PAYMENT_EVENT_TYPES, PaymentEvent, PaymentEventType } from '../payments/payment';
import { CreatePaymentDto } from '../payments/create-payment.dto';
import { PaymentEventDto } from '../payments/payment-event.dto';
import { validateDto } from '../validation.pipe';

/** What the service accepts on its command queue: a create, or a lifecycle event a processor reports. */
export const INBOUND_TYPES = ['CreatePayment', ...PAYMENT_EVENT_TYPES] as const;
export type InboundType = (typeof INBOUND_TYPES)[number];
/** What it publishes after a change is committed: the routing key is the type. */
export const OUTBOUND_TYPES = ['PaymentCreated', ...PAYMENT_EVENT_TYPES] as const;
export type OutboundType = (typeof OUTBOUND_TYPES)[number];

/** CloudEvents extension attribute naming the payment's organization (lower case: the spec's rule). */
export const ORGANIZATION_ATTRIBUTE = 'organizationid';
/** Structured content mode of the CloudEvents AMQP binding: the whole event is the JSON body. */
export const CLOUDEVENTS_JSON = 'application/cloudevents+json';

/**
 * The CloudEvents distributed-tracing extension: W3C `traceparent` and `tracestate` as event
 * attributes, so a trace follows the event whatever carries it.
 */
export interface TraceAttributes {
  traceparent: string;
  tracestate?: string;
}

export type InboundMessage = (
  | { kind: 'create'; id: string; type: 'CreatePayment'; paymentId: string; input: NewPayment }
  | {
      kind: 'event';
      id: string;
      type: PaymentEventType;
      paymentId: string;
      /** Addresses the payment as the HTTP route's organization does; absent: the paymentId alone. */
      organizationId: string | undefined;
      /** The data's eventId, else the CloudEvent id: a redelivered message is always a no-op. */
      eventId: string;
      event: PaymentEvent;
    }
) & {
  /** The publisher's trace (distributed-tracing extension), when it sent one: the handling joins it. */
  trace?: Partial<TraceAttributes>;
};

/** A message that can never succeed, with the problem it is dead-lettered with. */
export type Parsed = { ok: true; message: InboundMessage } | { ok: false; error: AppError; type?: string };

/**
 * Reads one inbound message: a CloudEvents 1.0 JSON document (structured mode) whose `data` is
 * the HTTP body of the same command. The data is validated by the same DTOs as HTTP, so a field
 * refused there is refused here, with the same field name.
 */
export function parseInbound(content: Buffer, maxDepth = 32): Parsed {
  let raw: unknown;
  try {
    raw = secureJson.parse(content.toString('utf8'), undefined, { protoAction: 'error', constructorAction: 'error' });
  } catch {
    return { ok: false, error: new AppError('MALFORMED_JSON', 'The message body is not valid JSON (a CloudEvent in structured mode is expected)') };
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    return { ok: false, error: RequestValidationError.field('specversion', 'The message must be a CloudEvent: a JSON object with specversion, id, source and type') };
  }
  if (depthOf(raw, maxDepth) > maxDepth) return { ok: false, error: RequestValidationError.field('data', `The message nests deeper than ${maxDepth} levels`) };
  const envelope = raw as Record<string, unknown>;
  const type = typeof envelope.type === 'string' ? envelope.type : undefined;
  const errors = envelopeErrors(envelope);
  if (errors.length > 0) return { ok: false, error: new RequestValidationError(errors), type };
  let event: CloudEvent<unknown>;
  try {
    event = new CloudEvent(envelope as Partial<CloudEvent<unknown>>, true);
  } catch (e) {
    const detail = e instanceof ValidationError ? e.message : 'The CloudEvent is not valid';
    return { ok: false, error: RequestValidationError.field('specversion', detail), type };
  }
  if (!(INBOUND_TYPES as readonly string[]).includes(event.type)) {
    return {
      ok: false,
      error: new AppError('UNKNOWN_MESSAGE_TYPE', `type '${event.type}' is not one of ${INBOUND_TYPES.join(', ')}`, [
        { field: 'type', message: `type must be one of ${INBOUND_TYPES.join(', ')}` },
      ]),
      type,
    };
  }
  const data = event.data;
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    return { ok: false, error: RequestValidationError.field('data', 'data must be a JSON object (the HTTP body of the same command)'), type };
  }
  const body = data as Record<string, unknown>;
  const organizationId = envelope[ORGANIZATION_ATTRIBUTE] as string | undefined;
  // subject and data.paymentId name the payment; either will do, both must agree
  if (body.paymentId !== undefined && event.subject !== undefined && body.paymentId !== event.subject) {
    return { ok: false, error: RequestValidationError.field('paymentId', 'data.paymentId and subject name different payments'), type };
  }
  const paymentId = body.paymentId ?? event.subject;
  if (paymentId === undefined) {
    return {
      ok: false,
      error: RequestValidationError.field('subject', 'subject (the paymentId) is required: without it a redelivered message could not be recognised'),
      type,
    };
  }
  if (event.type === 'CreatePayment') {
    const valid = validateDto(CreatePaymentDto, { ...body, paymentId });
    if (!valid.ok) return { ok: false, error: new RequestValidationError(valid.errors), type };
    if (organizationId !== undefined && organizationId !== valid.value.organizationId) {
      return { ok: false, error: RequestValidationError.field(ORGANIZATION_ATTRIBUTE, `${ORGANIZATION_ATTRIBUTE} and data.organizationId differ`), type };
    }
    return { ok: true, message: { kind: 'create', id: event.id, type: 'CreatePayment', paymentId: valid.value.paymentId!, input: valid.value, trace: traceOf(envelope) } };
  }
  if (typeof paymentId !== 'string' || paymentId.length === 0 || paymentId.length > 64) {
    return { ok: false, error: RequestValidationError.field('paymentId', 'paymentId must be a string of 1 to 64 characters'), type };
  }
  if (body.type !== undefined && body.type !== event.type) {
    return { ok: false, error: RequestValidationError.field('type', 'data.type and the CloudEvent type differ'), type };
  }
  const { paymentId: _omitted, ...eventBody } = body;
  void _omitted;
  const valid = validateDto(PaymentEventDto, { ...eventBody, type: event.type });
  if (!valid.ok) return { ok: false, error: new RequestValidationError(valid.errors), type };
  const dto = valid.value;
  return {
    ok: true,
    message: {
      kind: 'event',
      id: event.id,
      type: dto.type,
      paymentId,
      organizationId,
      eventId: dto.eventId ?? event.id,
      event: { type: dto.type, occurredAt: dto.occurredAt ?? event.time ?? new Date().toISOString(), error: dto.data?.error, refundAmount: dto.data?.refundAmount },
      trace: traceOf(envelope),
    },
  };
}

/** The trace a CloudEvent in JSON carries, if any (an outbound one as stored, an inbound one the parse refused). */
export function traceOfBody(body: string): TraceAttributes | undefined {
  try {
    const trace = traceOf(JSON.parse(body) as Record<string, unknown>);
    return trace?.traceparent === undefined ? undefined : (trace as TraceAttributes);
  } catch {
    return undefined;
  }
}

/** The tracing extension's attributes when present as strings (the W3C propagator ignores a malformed one). */
function traceOf(envelope: Record<string, unknown>): Partial<TraceAttributes> | undefined {
  const { traceparent, tracestate } = envelope;
  if (typeof traceparent !== 'string') return undefined;
  return typeof tracestate === 'string' ? { traceparent, tracestate } : { traceparent };
}

/** The CloudEvents attributes this service requires, as field errors (the package fills some in when missing). */
function envelopeErrors(envelope: Record<string, unknown>): FieldError[] {
  const errors: FieldError[] = [];
  if (envelope.specversion !== '1.0') errors.push({ field: 'specversion', message: "specversion must be '1.0'" });
  for (const name of ['id', 'source', 'type'] as const) {
    const value = envelope[name];
    if (typeof value !== 'string' || value.length === 0) errors.push({ field: name, message: `${name} must be a non-empty string` });
  }
  if (typeof envelope.id === 'string' && envelope.id.length > 256) errors.push({ field: 'id', message: 'id may hold at most 256 characters' });
  for (const name of ['subject', ORGANIZATION_ATTRIBUTE] as const) {
    const value = envelope[name];
    if (value !== undefined && (typeof value !== 'string' || value.length === 0)) errors.push({ field: name, message: `${name} must be a non-empty string` });
  }
  if (envelope.datacontenttype !== undefined && !/^application\/(.+\+)?json(;.*)?$/.test(String(envelope.datacontenttype))) {
    errors.push({ field: 'datacontenttype', message: 'datacontenttype must be application/json' });
  }
  return errors;
}

function depthOf(value: unknown, limit: number, depth = 0): number {
  if (depth > limit || value === null || typeof value !== 'object') return depth;
  let deepest = depth;
  for (const child of Object.values(value as object)) {
    deepest = Math.max(deepest, depthOf(child, limit, depth + 1));
    if (deepest > limit) break;
  }
  return deepest;
}

/**
 * The stable id of the event a payment's version was committed as: a republished event has the
 * same id, so consumers de-duplicate on (source, id). Encoded: ids and organizations may hold '/'.
 */
export function outboundEventId(payment: Payment): string {
  return `${encodeURIComponent(payment.organizationId)}/${encodeURIComponent(payment.paymentId)}/${payment.version}`;
}

/** One event to publish: routing key `type`, body the CloudEvent (structured mode). */
export interface OutboundMessage {
  id: string;
  type: OutboundType;
  organizationId: string;
  paymentId: string;
  body: string;
}

/**
 * The CloudEvent published when `payment` (after the change) has been committed. With tracing
 * on, `trace` is the context of the change (its command's span), carried by the
 * distributed-tracing extension.
 */
export function outboundMessage(type: OutboundType, payment: Payment, source: string, trace?: TraceAttributes): OutboundMessage {
  const id = outboundEventId(payment);
  const event = new CloudEvent<Payment>(
    {
      specversion: '1.0',
      id,
      source,
      type,
      subject: payment.paymentId,
      time: payment.updatedAt,
      datacontenttype: 'application/json',
      [ORGANIZATION_ATTRIBUTE]: payment.organizationId,
      ...trace,
      data: payment,
    },
    false,
  );
  return { id, type, organizationId: payment.organizationId, paymentId: payment.paymentId, body: event.toString() };
}
