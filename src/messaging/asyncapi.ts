import type { OpenAPIObject } from '@nestjs/swagger';
import { AppConfig } from '../config';
import { ERROR_CATALOGUE } from '../errors';
import { createPayment, NewPayment, Payment, PaymentEvent, PaymentEventType, transition } from '../payments/payment';
import { toProblem } from '../problem.filter';
import { CLOUDEVENTS_JSON, INBOUND_TYPES, InboundType, ORGANIZATION_ATTRIBUTE, OUTBOUND_TYPES, OutboundType, outboundMessage, parseInbound } from './cloud-events';
import { brokerNames } from './topology';

/**
 * The AsyncAPI 3.0 document of the service's messaging, served at GET /docs/asyncapi.json beside
 * the OpenAPI document (and checked by npm run lint:asyncapi and test/asyncapi.e2e-spec.ts).
 *
 * The payload schemas are the OpenAPI document's own component schemas (the ones @nestjs/swagger
 * builds from the DTOs HTTP validates with, and parseInbound validates `data` with), converted
 * from OpenAPI 3.0 Schema Objects to AsyncAPI Schema Objects (JSON Schema draft 07): `nullable`
 * becomes a 'null' type, `example` becomes `examples`; references keep their names. AsyncAPI
 * tools, including @asyncapi/parser, validate schemas of the default format only, which is why
 * they are converted rather than marked `application/vnd.oai.openapi`.
 *
 * The examples are made by the code itself: the outbound ones by createPayment, transition and
 * outboundMessage; the dead-lettered one by parseInbound and toProblem.
 */

type Schema = Record<string, unknown>;
type Json = Record<string, unknown>;

export const ASYNCAPI_PATH = '/docs/asyncapi.json';
const BINDING_VERSION = '0.3.0';
/** The OpenAPI components the messages carry: create body, event body, payment, problem. */
const COMPONENTS = { create: 'CreatePaymentDto', event: 'PaymentEventDto', eventData: 'PaymentEventDataDto', payment: 'PaymentResponse', problem: 'ProblemResponse' } as const;
const OPENAPI_REF = '#/components/schemas/';
const ref = (name: string): Schema => ({ $ref: `${OPENAPI_REF}${name}` });
const EXAMPLE_TIME = '2026-03-01T12:00:00.000Z';
const EXAMPLE_SOURCE = '/payment-processor';
/** The status each outbound type leaves the payment in (see transition in payment.ts). */
const STATUS_AFTER: Record<OutboundType, Payment['status']> = {
  PaymentCreated: 'pending',
  PaymentProcessed: 'completed',
  PaymentFailed: 'failed',
  PaymentRefunded: 'refunded',
};

/** Builds the document from the app's OpenAPI document (after app.setup.ts amended it) and its configuration. */
export function asyncApiDocument(openapi: OpenAPIObject, config: AppConfig): Json {
  const names = brokerNames(config.brokerPrefix);
  const server = brokerServer(config.brokerUrl);
  const schemas = convertComponents(openapi, Object.values(COMPONENTS));
  const create = schemas[COMPONENTS.create] as Schema;
  const eventDto = schemas[COMPONENTS.event] as Schema;
  const createProps = create.properties as Record<string, Schema>;
  const exchange = (name: string, type: 'topic' | 'fanout') => ({
    is: 'routingKey',
    exchange: { name, type, durable: true, autoDelete: false, vhost: server.vhost },
    bindingVersion: BINDING_VERSION,
  });
  const queue = (name: string, args: Json) => ({
    is: 'queue',
    queue: { name, durable: true, exclusive: false, autoDelete: false, vhost: server.vhost },
    'x-arguments': args,
    bindingVersion: BINDING_VERSION,
  });
  const examples = exampleMessages(createProps, config.brokerSource, names.commands);

  const messages: Json = {};
  for (const type of INBOUND_TYPES) messages[`command.${type}`] = inboundMessage(type, createProps, eventDto, examples.inbound[type]);
  for (const type of OUTBOUND_TYPES) messages[`event.${type}`] = outboundMessageObject(type, config.brokerSource, examples.outbound[type]);
  messages['deadLetter.Command'] = deadLetterMessage(names.commands, examples.deadLetter);

  const commandMessages = Object.fromEntries(INBOUND_TYPES.map((type) => [type, { $ref: `#/components/messages/command.${type}` }]));
  const channelRefs = (channel: string, keys: readonly string[]) => keys.map((key) => ({ $ref: `#/channels/${channel}/messages/${key}` }));
  const inboundList = INBOUND_TYPES.join(', ');

  return {
    asyncapi: '3.0.0',
    info: {
      title: `${openapi.info.title}: messaging`,
      version: openapi.info.version,
      description:
        'RabbitMQ messaging of the payments service (on when BROKER_URL is set). Every message is a CloudEvents 1.0 event in ' +
        'structured mode (the whole event is the JSON body, content type application/cloudevents+json). Commands come in on ' +
        `the ${names.commands} exchange; the changes the service commits go out on the ${names.events} exchange (through an ` +
        `outbox: at least once, in commit order, the same id when repeated); a command that can never succeed goes to ` +
        `${names.deadLetter} with its problem document. The data of a message is the body of the same HTTP request or answer ` +
        `(see the OpenAPI document at /docs/json): the schemas below are its component schemas. Names depend on BROKER_PREFIX ` +
        `(here '${config.brokerPrefix}').`,
      ...(openapi.info.license ? { license: { name: openapi.info.license.name, ...(openapi.info.license.url ? { url: openapi.info.license.url } : {}) } } : {}),
    },
    defaultContentType: CLOUDEVENTS_JSON,
    servers: {
      broker: {
        host: server.host,
        protocol: server.protocol,
        protocolVersion: '0.9.1',
        description: server.description,
        security: [{ $ref: '#/components/securitySchemes/brokerCredentials' }],
      },
    },
    channels: {
      commands: {
        address: names.commands,
        title: 'Commands exchange',
        description:
          `Topic exchange (durable) to publish commands to, routing key = the CloudEvent type (${inboundList}). ` +
          `Every routing key ('#') is bound to the ${names.commandsQueue} queue: a message of another type is dead-lettered ` +
          'with UNKNOWN_MESSAGE_TYPE, not dropped.',
        messages: commandMessages,
        bindings: { amqp: exchange(names.commands, 'topic') },
      },
      commandsQueue: {
        address: names.commandsQueue,
        title: 'Commands queue',
        description:
          `Quorum queue (durable, replicated) bound to ${names.commands} with '#'. Single active consumer: of several instances ` +
          'one consumes, in queue order, and another takes over when it goes. A message is acknowledged once its outcome is ' +
          'final: applied or a no-op replay (a known paymentId with the same fields, a known eventId): ack; refused for good: ' +
          `published to ${names.deadLetter} with its problem, then ack; transient (DATABASE_UNAVAILABLE, STORE_LOADING, ` +
          'OVERLOADED, SERVICE_UNAVAILABLE): kept and tried again after a growing pause, keeping its place. A message ' +
          `redelivered more than ${config.brokerDeliveryLimit} times (x-delivery-limit: it crashed its consumers) is ` +
          `dead-lettered by the broker to ${names.deadLetter}.`,
        messages: commandMessages,
        bindings: {
          amqp: queue(names.commandsQueue, {
            'x-queue-type': 'quorum',
            'x-single-active-consumer': true,
            'x-dead-letter-exchange': names.deadLetter,
            'x-delivery-limit': config.brokerDeliveryLimit,
          }),
        },
      },
      events: {
        address: names.events,
        title: 'Events exchange',
        description:
          `Topic exchange (durable) the service publishes its committed changes to, routing key = the type (${OUTBOUND_TYPES.join(', ')}). ` +
          'Published with publisher confirms, persistent, AMQP properties messageId = the CloudEvent id, type = the CloudEvent type, ' +
          `contentType ${CLOUDEVENTS_JSON}, timestamp = the commit time (seconds). At least once: consumers de-duplicate on (source, id). ` +
          'Bind your own queue to it.',
        messages: Object.fromEntries(OUTBOUND_TYPES.map((type) => [type, { $ref: `#/components/messages/event.${type}` }])),
        bindings: { amqp: exchange(names.events, 'topic') },
      },
      deadLetter: {
        address: names.deadLetter,
        title: 'Dead-letter exchange',
        description: `Fanout exchange (durable) for the commands that can never succeed, bound to ${names.deadLetterQueue}.`,
        messages: { DeadLetteredCommand: { $ref: '#/components/messages/deadLetter.Command' } },
        bindings: { amqp: exchange(names.deadLetter, 'fanout') },
      },
      deadLetterQueue: {
        address: names.deadLetterQueue,
        title: 'Dead-letter queue',
        description: `Quorum queue (durable) bound to ${names.deadLetter}: the dead-lettered commands, for an operator to read, mend and publish again.`,
        messages: { DeadLetteredCommand: { $ref: '#/components/messages/deadLetter.Command' } },
        bindings: { amqp: queue(names.deadLetterQueue, { 'x-queue-type': 'classic' }) },
      },
    },
    operations: {
      receiveCommand: {
        action: 'receive',
        channel: { $ref: '#/channels/commandsQueue' },
        title: 'Apply a command',
        summary: 'Creates a payment or applies a lifecycle event, through the same commands as HTTP.',
        description:
          'Same validation, tenancy and idempotency as POST /payments and POST /payments/{id}/events. A payment\'s messages are ' +
          'applied one after another in delivery order; other payments\' side by side, up to BROKER_PREFETCH.',
        messages: channelRefs('commandsQueue', INBOUND_TYPES),
        bindings: { amqp: { ack: true, bindingVersion: BINDING_VERSION } },
      },
      publishEvent: {
        action: 'send',
        channel: { $ref: '#/channels/events' },
        title: 'Publish a committed change',
        summary: 'The payment after each committed change, from the outbox.',
        messages: channelRefs('events', OUTBOUND_TYPES),
        bindings: { amqp: { deliveryMode: 2, timestamp: true, bindingVersion: BINDING_VERSION } },
      },
      deadLetterCommand: {
        action: 'send',
        channel: { $ref: '#/channels/deadLetter' },
        title: 'Dead-letter a command',
        summary: 'A command refused for good, as it came, with its problem document; acknowledged once the broker confirmed the copy.',
        messages: channelRefs('deadLetter', ['DeadLetteredCommand']),
      },
    },
    components: {
      schemas,
      messages,
      securitySchemes: {
        brokerCredentials: { type: 'userPassword', description: 'The user and password of BROKER_URL (AMQP PLAIN).' },
      },
    },
  };
}

/** The broker as BROKER_URL names it, without credentials; a placeholder when messaging is off. */
function brokerServer(brokerUrl: string | undefined): { host: string; protocol: string; vhost: string; description: string } {
  if (brokerUrl === undefined) {
    return { host: 'rabbitmq:5672', protocol: 'amqp', vhost: '/', description: 'The RabbitMQ broker of BROKER_URL (not set on this instance: messaging is off; the host is a placeholder).' };
  }
  const url = new URL(brokerUrl);
  const protocol = url.protocol === 'amqps:' ? 'amqps' : 'amqp';
  const host = url.port === '' ? `${url.hostname}:${protocol === 'amqps' ? 5671 : 5672}` : url.host;
  const vhost = url.pathname.length > 1 ? decodeURIComponent(url.pathname.slice(1)) : '/';
  return { host, protocol, vhost, description: `The RabbitMQ broker of BROKER_URL (virtual host '${vhost}').` };
}

/** The named component schemas and every one they refer to, as AsyncAPI schemas under the same names. */
function convertComponents(openapi: OpenAPIObject, wanted: readonly string[]): Record<string, Schema> {
  const source = (openapi.components?.schemas ?? {}) as Record<string, unknown>;
  const out: Record<string, Schema> = {};
  const pending = [...wanted];
  while (pending.length > 0) {
    const name = pending.pop()!;
    if (name in out) continue;
    if (!(name in source)) throw new Error(`The OpenAPI document has no component schema ${name}`);
    const refs: string[] = [];
    out[name] = {
      ...(convertSchema(source[name], refs) as Schema),
      $comment: `The OpenAPI document's #/components/schemas/${name} (GET /docs/json), as JSON Schema draft 07`,
    };
    pending.push(...refs);
  }
  return Object.fromEntries(Object.keys(out).sort().map((name) => [name, out[name]]));
}

/**
 * An OpenAPI 3.0 Schema Object as an AsyncAPI (JSON Schema draft 07) one: `nullable` becomes a
 * 'null' type, `example` becomes `examples`, a boolean exclusiveMinimum/Maximum becomes the bound,
 * `xml` is dropped; the names of referred components are collected in `refs`.
 */
function convertSchema(value: unknown, refs: string[]): unknown {
  if (Array.isArray(value)) return value.map((item) => convertSchema(item, refs));
  if (value === null || typeof value !== 'object') return value;
  const schema = value as Schema;
  if (typeof schema.$ref === 'string') {
    if (!schema.$ref.startsWith(OPENAPI_REF)) throw new Error(`Cannot convert the reference ${schema.$ref}`);
    refs.push(schema.$ref.slice(OPENAPI_REF.length));
    return { $ref: schema.$ref };
  }
  const out: Schema = {};
  for (const [key, child] of Object.entries(schema)) {
    switch (key) {
      case 'nullable':
      case 'xml':
        break;
      case 'example':
        out.examples = [child];
        break;
      case 'exclusiveMinimum':
      case 'exclusiveMaximum':
        if (child === true) out[key] = schema[key === 'exclusiveMinimum' ? 'minimum' : 'maximum'];
        else if (typeof child === 'number') out[key] = child;
        break;
      case 'properties':
        out.properties = Object.fromEntries(Object.entries(child as Schema).map(([name, s]) => [name, convertSchema(s, refs)]));
        break;
      case 'items':
      case 'additionalProperties':
      case 'not':
      case 'allOf':
      case 'anyOf':
      case 'oneOf':
        out[key] = convertSchema(child, refs);
        break;
      default:
        out[key] = child;
    }
  }
  if (out.exclusiveMinimum !== undefined) delete out.minimum;
  if (out.exclusiveMaximum !== undefined) delete out.maximum;
  if (schema.nullable === true) {
    if (typeof out.type === 'string') out.type = [out.type, 'null'];
    if (Array.isArray(out.enum) && !out.enum.includes(null)) out.enum = [...(out.enum as unknown[]), null];
    if (out.type === undefined) return { anyOf: [out, { type: 'null' }] };
  }
  return out;
}

/** The CloudEvents 1.0 attributes every inbound message may carry, as parseInbound reads them. */
function envelopeProperties(type: string): Record<string, Schema> {
  return {
    specversion: { type: 'string', const: '1.0' },
    id: {
      type: 'string',
      minLength: 1,
      maxLength: 256,
      description: 'Unique per message of this source. For a lifecycle event it is the eventId when data.eventId is absent: a redelivered message is a no-op.',
    },
    source: { type: 'string', format: 'uri-reference', minLength: 1, description: 'Who sent it (a URI reference), e.g. /payment-processor.' },
    type: { type: 'string', const: type, description: 'The command; also the routing key on the commands exchange.' },
    time: { type: 'string', format: 'date-time', description: 'When it happened (RFC 3339).' },
    datacontenttype: { type: 'string', pattern: '^application\\/(.+\\+)?json(;.*)?$', description: 'JSON only (default application/json).' },
    dataschema: { type: 'string', format: 'uri', minLength: 1 },
  };
}

const ENVELOPE_REQUIRED = ['specversion', 'id', 'source', 'type', 'data'];
/** CloudEvents attribute names, extensions included: lower-case letters and digits. */
const ATTRIBUTE_NAMES = { pattern: '^[a-z0-9]+$' };
/** The payment is named by subject or by data.paymentId (both: they must agree). */
const NAMED_PAYMENT = [{ required: ['subject'] }, { required: ['data'], properties: { data: { required: ['paymentId'] } } }];

function inboundMessage(type: InboundType, createProps: Record<string, Schema>, eventDto: Schema, example: Json): Json {
  const common = {
    name: type,
    contentType: CLOUDEVENTS_JSON,
    examples: [{ name: type, summary: `A ${type} CloudEvent`, payload: example }],
  };
  if (type === 'CreatePayment') {
    return {
      ...common,
      title: 'Create a payment',
      summary: 'POST /payments as a message: data is its body (CreatePaymentDto), validated by the same DTO.',
      description:
        'The paymentId is the subject or data.paymentId (either will do; both must agree) and is required: without it a ' +
        'redelivered message could not be recognised. A payment already stored with the same fields is a no-op replay; ' +
        `with other fields it is dead-lettered (PAYMENT_ID_CONFLICT). ${ORGANIZATION_ATTRIBUTE}, when present, must equal data.organizationId.`,
      payload: {
        type: 'object',
        description: `CloudEvents 1.0, structured mode. Refused as a whole unless: ${ENVELOPE_REQUIRED.join(', ')} are present, subject or data.paymentId is.`,
        required: ENVELOPE_REQUIRED,
        anyOf: NAMED_PAYMENT,
        propertyNames: ATTRIBUTE_NAMES,
        properties: {
          ...envelopeProperties(type),
          subject: { ...createProps.paymentId, description: 'The paymentId (the same rules as data.paymentId).' },
          [ORGANIZATION_ATTRIBUTE]: { type: 'string', minLength: 1, description: 'Extension attribute: must equal data.organizationId.' },
          data: ref(COMPONENTS.create),
        },
      },
    };
  }
  return {
    ...common,
    title: `Report ${type}`,
    summary: `POST /payments/{id}/events as a message: data is its body (PaymentEventDto), validated by the same DTO.`,
    description:
      'The payment is the subject or data.paymentId (either will do; both must agree), within the organization of the ' +
      `${ORGANIZATION_ATTRIBUTE} extension when present (as the HTTP route's organizationId; absent: the paymentId alone). ` +
      'data.type may be left out (the CloudEvent type is used; present, it must be the same). data.eventId defaults to the ' +
      'CloudEvent id and data.occurredAt to the CloudEvent time (else now). An eventId already applied is a no-op; an event ' +
      'the payment\'s status does not allow, a refund past what remains or an unknown payment is dead-lettered.',
    payload: {
      type: 'object',
      description: `CloudEvents 1.0, structured mode. Refused as a whole unless: ${ENVELOPE_REQUIRED.join(', ')} are present, subject or data.paymentId is.`,
      required: ENVELOPE_REQUIRED,
      anyOf: NAMED_PAYMENT,
      propertyNames: ATTRIBUTE_NAMES,
      properties: {
        ...envelopeProperties(type),
        subject: { type: 'string', minLength: 1, maxLength: 64, description: 'The paymentId.' },
        [ORGANIZATION_ATTRIBUTE]: { type: 'string', minLength: 1, description: 'Extension attribute: the payment\'s organizationId.' },
        data: inboundEventData(type, eventDto),
      },
    },
  };
}

/**
 * PaymentEventDto as parseInbound applies it to a message's data: `type` may be left out (it is
 * the CloudEvent's), `paymentId` may name the payment, and the DTO's cross-field checks for this
 * type hold (data.error only and always for PaymentFailed, data.refundAmount only for PaymentRefunded).
 */
function inboundEventData(type: PaymentEventType, dto: Schema): Schema {
  const properties = dto.properties as Record<string, Schema>;
  const forbidden = (field: string, onlyFor: PaymentEventType): Schema => ({ not: {}, description: `data.${field} is only allowed for ${onlyFor}.` });
  const rules: Record<PaymentEventType, Schema> = {
    PaymentProcessed: { properties: { error: forbidden('error', 'PaymentFailed'), refundAmount: forbidden('refundAmount', 'PaymentRefunded') } },
    PaymentFailed: { required: ['error'], properties: { refundAmount: forbidden('refundAmount', 'PaymentRefunded') } },
    PaymentRefunded: { properties: { error: forbidden('error', 'PaymentFailed') } },
  };
  const required = ((dto.required as string[] | undefined) ?? []).filter((name) => name !== 'type');
  if (type === 'PaymentFailed') required.push('data');
  const { required: _dtoRequired, ...rest } = dto;
  void _dtoRequired;
  return {
    ...rest,
    $comment: `${COMPONENTS.event} (#/components/schemas/${COMPONENTS.event}) as a ${type} message's data: type optional, paymentId allowed, the checks of its type`,
    properties: {
      ...properties,
      type: { ...properties.type, const: type, description: 'Optional: the CloudEvent type; present, it must be the same.' },
      paymentId: { type: 'string', minLength: 1, maxLength: 64, description: 'Optional: names the payment as the subject does; both present, they must agree.' },
      data: { allOf: [properties.data, rules[type]] },
    },
    ...(required.length > 0 ? { required } : {}),
  };
}

function outboundMessageObject(type: OutboundType, source: string, example: Json): Json {
  const after = STATUS_AFTER[type];
  return {
    name: type,
    title: type,
    summary: `The payment after a committed ${type === 'PaymentCreated' ? 'create' : type}: data is the payment as GET /payments/{id} answers it (status ${after}).`,
    contentType: CLOUDEVENTS_JSON,
    payload: {
      type: 'object',
      description: 'CloudEvents 1.0, structured mode; every attribute is always present.',
      required: ['specversion', 'id', 'source', 'type', 'subject', 'time', 'datacontenttype', ORGANIZATION_ATTRIBUTE, 'data'],
      additionalProperties: false,
      properties: {
        specversion: { type: 'string', const: '1.0' },
        id: {
          type: 'string',
          pattern: '^[^/]+/[^/]+/[1-9][0-9]*$',
          description:
            'Stable: `<organizationId>/<paymentId>/<version>`, the first two URI-encoded (encodeURIComponent). A republished event has ' +
            'the same id; de-duplicate on (source, id). Also the AMQP messageId.',
        },
        source: { type: 'string', const: source, description: 'BROKER_SOURCE.' },
        type: { type: 'string', const: type, description: 'Also the routing key and the AMQP type property.' },
        subject: { type: 'string', description: 'The paymentId.' },
        time: { type: 'string', format: 'date-time', description: 'The payment\'s updatedAt: when the change was committed.' },
        datacontenttype: { type: 'string', const: 'application/json' },
        [ORGANIZATION_ATTRIBUTE]: { type: 'string', description: 'Extension attribute: the payment\'s organizationId.' },
        data: {
          allOf: [
            ref(COMPONENTS.payment),
            { properties: { status: { const: after }, ...(type === 'PaymentCreated' ? { version: { const: 1 } } : {}) } },
          ],
        },
      },
    },
    examples: [{ name: type, summary: `A ${type} event`, payload: example }],
    bindings: { amqp: { messageType: type, bindingVersion: BINDING_VERSION } },
  };
}

function deadLetterMessage(commandsExchange: string, example: { headers: Json; payload: Json }): Json {
  return {
    name: 'DeadLetteredCommand',
    title: 'A command that can never succeed',
    summary: 'The original message, body and properties as they came, with the problem it was refused for in its headers.',
    description:
      'Dead-lettered by the service (bad JSON, not a CloudEvent, unknown type, invalid fields, conflict, invalid transition, ' +
      'refund past the amount, unknown payment): the headers below are set. Dead-lettered by the broker (redelivered past ' +
      'x-delivery-limit): RabbitMQ\'s x-death and x-first-death-* headers instead.',
    headers: {
      type: 'object',
      description: 'AMQP headers: the original message\'s, plus these.',
      properties: {
        'x-problem': {
          type: 'string',
          contentMediaType: 'application/problem+json',
          description:
            `The problem document (RFC 9457) as JSON text: type, title, status, detail, code and, for invalid fields, errors ` +
            `[{ field, message }] naming the data's fields as HTTP does (see #/components/schemas/${COMPONENTS.problem}; no instance).`,
        },
        'x-problem-code': { type: 'string', enum: Object.keys(ERROR_CATALOGUE), description: 'The problem\'s code.' },
        'x-original-exchange': { type: 'string', description: `The exchange it was published to (${commandsExchange}).` },
        'x-original-routing-key': { type: 'string', description: 'Its routing key.' },
        'x-first-death-reason': { type: 'string', description: 'Broker dead-lettering only, e.g. delivery_limit.' },
        'x-death': { type: 'array', description: 'Broker dead-lettering only.' },
      },
    },
    payload: { description: 'The original body, as it came: a CloudEvent of the commands channel, or whatever was published there.' },
    examples: [{ name: 'invalidCreate', summary: 'A CreatePayment with amount -1 and no userId', ...example }],
  };
}

/** Examples made by the code: what parseInbound accepts, what outboundMessage publishes, what a refusal carries. */
function exampleMessages(createProps: Record<string, Schema>, source: string, commandsExchange: string) {
  const exampleOf = (name: string) => (createProps[name]?.examples as unknown[] | undefined)?.[0];
  const input = Object.fromEntries(
    Object.keys(createProps)
      .filter((name) => name !== 'paymentId' && exampleOf(name) !== undefined)
      .map((name) => [name, exampleOf(name)]),
  ) as unknown as NewPayment;
  const paymentId = String(exampleOf('paymentId') ?? 'pay_0001');
  const envelope = (type: InboundType, id: string, time: string, data: Json) => ({
    specversion: '1.0',
    id,
    source: EXAMPLE_SOURCE,
    type,
    subject: paymentId,
    time,
    datacontenttype: 'application/json',
    [ORGANIZATION_ATTRIBUTE]: input.organizationId,
    data,
  });
  const times = { processed: '2026-03-01T12:00:05.000Z', failed: '2026-03-01T12:00:06.000Z', refunded: '2026-03-02T09:30:00.000Z' };
  const inbound: Record<InboundType, Json> = {
    CreatePayment: envelope('CreatePayment', 'cmd-0001', EXAMPLE_TIME, { ...input }),
    PaymentProcessed: envelope('PaymentProcessed', 'evt-0001', times.processed, {}),
    PaymentFailed: envelope('PaymentFailed', 'evt-0002', times.failed, { data: { error: 'card declined' } }),
    PaymentRefunded: envelope('PaymentRefunded', 'evt-0003', times.refunded, { eventId: 'refund-0001', data: { refundAmount: 2500 } }),
  };
  const created = createPayment(input, paymentId, EXAMPLE_TIME);
  const after = (event: PaymentEvent, base: Payment = created) => transition(base, event, event.occurredAt);
  const processed = after({ type: 'PaymentProcessed', occurredAt: times.processed });
  const payments: Record<OutboundType, Payment> = {
    PaymentCreated: created,
    PaymentProcessed: processed,
    PaymentFailed: after({ type: 'PaymentFailed', occurredAt: times.failed, error: 'card declined' }),
    PaymentRefunded: after({ type: 'PaymentRefunded', occurredAt: times.refunded, refundAmount: 2500 }, processed),
  };
  const outbound = Object.fromEntries(
    OUTBOUND_TYPES.map((type) => [type, JSON.parse(outboundMessage(type, payments[type], source).body) as Json]),
  ) as Record<OutboundType, Json>;

  // a refused command: what parseInbound says of it is what the dead-letter headers carry
  const { userId: _userId, ...withoutUser } = input as unknown as Json;
  void _userId;
  const invalid = envelope('CreatePayment', 'cmd-0002', EXAMPLE_TIME, { ...withoutUser, amount: -1 });
  const parsed = parseInbound(Buffer.from(JSON.stringify(invalid)));
  if (parsed.ok) throw new Error('The invalid example command was accepted');
  const { headers: _headers, ...problem } = toProblem(parsed.error);
  void _headers;
  const deadLetter = {
    headers: {
      'x-problem': JSON.stringify(problem),
      'x-problem-code': problem.code,
      'x-original-exchange': commandsExchange,
      'x-original-routing-key': 'CreatePayment',
    },
    payload: invalid,
  };
  return { inbound, outbound, deadLetter };
}
