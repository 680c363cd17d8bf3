import { DiagnosticSeverity, Parser } from '@asyncapi/parser';
import Ajv, { ErrorObject, ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import request from 'supertest';
import { INBOUND_TYPES, outboundMessage, OUTBOUND_TYPES, OutboundType, parseInbound } from '../src/messaging/cloud-events';
import { createPayment as newPayment, Payment as StoredPayment } from '../src/payments/payment';
import { applyEvent, createPayment, expectStatus, moveTo, Payment } from './e2e-helpers';
import { startTestApp, TestApp } from './test-app';

/**
 * The AsyncAPI document on /docs/asyncapi.json (npm run lint:asyncapi validates it the same
 * way): served publicly, valid for @asyncapi/parser, naming every message the code reads and
 * writes, and its schemas agreeing with the code: what parseInbound accepts and refuses, what
 * outboundMessage publishes.
 */

type Json = Record<string, unknown>;
interface Message {
  name: string;
  payload: Json;
  headers?: Json;
  examples?: { name?: string; payload?: Json; headers?: Json }[];
}
interface AsyncApi {
  asyncapi: string;
  servers: Record<string, { host: string; protocol: string }>;
  channels: Record<string, { address: string; messages: Record<string, { $ref: string }>; bindings: { amqp: Json } }>;
  operations: Record<string, { action: string; channel: { $ref: string } }>;
  components: { schemas: Record<string, Json>; messages: Record<string, Message> };
}
interface OpenApi {
  paths: Record<string, unknown>;
  components: { schemas: Record<string, Json & { properties?: Record<string, Json>; required?: string[] }> };
}

const BROKER_SOURCE = '/payments-under-test';
const BROKER_PREFIX = 'pay-e2e';
let t: TestApp;
let doc: AsyncApi;
let raw: string;
let openapi: OpenApi;

beforeAll(async () => {
  t = await startTestApp({ brokerSource: BROKER_SOURCE, brokerPrefix: BROKER_PREFIX });
  const res = await request(t.url).get('/docs/asyncapi.json');
  expectStatus(res, 200);
  expect(res.headers['content-type']).toMatch(/^application\/json\b/);
  raw = res.text;
  doc = JSON.parse(raw) as AsyncApi;
  const api = await request(t.url).get('/docs/json');
  expectStatus(api, 200);
  openapi = api.body as OpenApi;
});

afterAll(async () => {
  await t.close();
});

/** The document with every local $ref replaced by what it points to (there are no cycles). */
function resolved<T>(value: T, root: unknown = doc): T {
  if (Array.isArray(value)) return value.map((item) => resolved(item, root)) as T;
  if (value === null || typeof value !== 'object') return value;
  const { $ref } = value as { $ref?: unknown };
  if (typeof $ref === 'string' && $ref.startsWith('#/')) {
    const target = $ref
      .slice(2)
      .split('/')
      .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
      .reduce<unknown>((node, key) => (node as Json)[key], root);
    return resolved(target as T, root);
  }
  return Object.fromEntries(Object.entries(value).map(([key, child]) => [key, resolved(child, root)])) as T;
}

const ajv = addFormats(new Ajv({ allErrors: true, strict: true, strictTypes: false, strictRequired: false }));
const compiled = new Map<Json, ValidateFunction>();
function validator(schema: Json): ValidateFunction {
  let validate = compiled.get(schema);
  if (validate === undefined) compiled.set(schema, (validate = ajv.compile(resolved(schema))));
  return validate;
}
/** The errors the schema finds in `value`, as dotted field paths inside a CloudEvent's data (else of the envelope). */
function schemaFields(schema: Json, value: unknown): string[] {
  const validate = validator(schema);
  if (validate(value)) return [];
  return (validate.errors ?? []).map((e: ErrorObject) => {
    const extra = (e.params as { missingProperty?: string; additionalProperty?: string });
    const path = e.instancePath + (extra.missingProperty !== undefined ? `/${extra.missingProperty}` : '') +
      (extra.additionalProperty !== undefined ? `/${extra.additionalProperty}` : '');
    return (path.startsWith('/data/') ? path.slice('/data/'.length) : path.slice(1)).replace(/\//g, '.');
  });
}

/** The messages a channel carries, as message objects. */
function channelMessages(channel: string): Message[] {
  return Object.values(resolved(doc.channels[channel].messages)) as unknown as Message[];
}
const command = (type: string): Message => channelMessages('commands').find((m) => m.name === type)!;
const event = (type: string): Message => channelMessages('events').find((m) => m.name === type)!;
const exampleOf = (message: Message): Json => structuredClone(message.examples![0].payload!);
const inbound = (value: unknown) => parseInbound(Buffer.from(JSON.stringify(value)));
const refusedFields = (value: unknown): string[] => {
  const parsed = inbound(value);
  return parsed.ok ? [] : (parsed.error.errors ?? []).map((e) => e.field);
};

describe('GET /docs/asyncapi.json', () => {
  it('is AsyncAPI 3.0.0 that @asyncapi/parser validates with no error', async () => {
    expect(doc.asyncapi).toBe('3.0.0');
    const diagnostics = await new Parser().validate(raw);
    expect(diagnostics.filter((d) => d.severity === DiagnosticSeverity.Error)).toEqual([]);
  });

  it('is public when the API needs a token, as /docs/json is', async () => {
    const secured = await startTestApp({ authJwtSecret: 'asyncapi-e2e-secret-0123456789abcdef-0123456789abcdef' });
    try {
      expect((await request(secured.url).get('/payments/p')).status).toBe(401);
      const res = await request(secured.url).get('/docs/asyncapi.json');
      expectStatus(res, 200);
      expect((res.body as AsyncApi).asyncapi).toBe('3.0.0');
      expect(Object.keys((res.body as AsyncApi).channels)).toEqual(Object.keys(doc.channels));
    } finally {
      await secured.close();
    }
  });

  it('is not itself listed in the OpenAPI document (no /docs route is)', () => {
    expect(Object.keys(openapi.paths).filter((path) => path.startsWith('/docs'))).toEqual([]);
  });

  it('names a broker server (no credentials) and the channels of the topology, from BROKER_PREFIX', async () => {
    const parsed = await new Parser().parse(raw);
    const document = parsed.document!;
    expect(document.servers().all().map((s) => s.protocol())).toEqual(['amqp']);
    expect(doc.channels.commands.address).toBe(`${BROKER_PREFIX}.commands`);
    expect(doc.channels.commandsQueue.bindings.amqp).toMatchObject({ is: 'queue', queue: { name: `${BROKER_PREFIX}.commands`, durable: true } });
    expect(doc.channels.commandsQueue.bindings.amqp['x-arguments']).toMatchObject({ 'x-queue-type': 'quorum', 'x-single-active-consumer': true });
    expect(doc.channels.events.bindings.amqp).toMatchObject({ is: 'routingKey', exchange: { name: `${BROKER_PREFIX}.events`, type: 'topic', durable: true } });
    expect(doc.channels.deadLetter.bindings.amqp).toMatchObject({ exchange: { name: `${BROKER_PREFIX}.dead-letter`, type: 'fanout' } });
    expect(doc.channels.deadLetterQueue.address).toBe(`${BROKER_PREFIX}.commands.dead-letter`);
    const operations = document.operations().all().map((o) => [o.action(), o.channels().all().map((c) => c.address())]);
    expect(operations).toEqual(
      expect.arrayContaining([
        ['receive', [`${BROKER_PREFIX}.commands`]],
        ['send', [`${BROKER_PREFIX}.events`]],
        ['send', [`${BROKER_PREFIX}.dead-letter`]],
      ]),
    );
  });

  it('names every inbound type on the commands channels and every outbound type on the events channel', async () => {
    const document = (await new Parser().parse(raw)).document!;
    const names = (address: string) =>
      document
        .channels()
        .all()
        .filter((c) => c.address() === address)
        .flatMap((c) => c.messages().all().map((m) => m.name()))
        .sort();
    // the exchange and the queue of the commands share the name: each lists every type
    expect(names(`${BROKER_PREFIX}.commands`)).toEqual([...INBOUND_TYPES, ...INBOUND_TYPES].sort());
    expect(names(`${BROKER_PREFIX}.events`)).toEqual([...OUTBOUND_TYPES].sort());
    const receive = document.operations().all().find((o) => o.action() === 'receive')!;
    expect(receive.messages().all().map((m) => m.name()).sort()).toEqual([...INBOUND_TYPES].sort());
  });

  it.each(['CreatePaymentDto', 'PaymentEventDto', 'PaymentEventDataDto', 'PaymentResponse'])(
    'carries the OpenAPI document\'s %s schema, converted to JSON Schema (nullable and example only)',
    (name) => {
      const source = openapi.components.schemas[name];
      const schema = doc.components.schemas[name] as typeof source;
      expect(Object.keys(schema.properties ?? {})).toEqual(Object.keys(source.properties ?? {}));
      expect(schema.required).toEqual(source.required);
      expect(schema.additionalProperties).toEqual(source.additionalProperties);
      for (const [property, openapiSchema] of Object.entries(source.properties ?? {})) {
        const { example, nullable, ...rest } = openapiSchema;
        const expected = nullable === true ? { ...rest, type: [rest.type, 'null'] } : rest;
        expect({ property, schema: schema.properties![property] }).toEqual({
          property,
          schema: example === undefined ? expected : { ...expected, examples: [example] },
        });
      }
    },
  );
});

describe('the message schemas and the code', () => {
  it('every example of every message fits its payload and headers schemas', () => {
    const messages = Object.entries(doc.components.messages);
    expect(messages.length).toBe(INBOUND_TYPES.length + OUTBOUND_TYPES.length + 1);
    for (const [key, message] of messages) {
      expect({ key, examples: (message.examples?.length ?? 0) > 0 }).toEqual({ key, examples: true });
      for (const example of message.examples!) {
        expect({ key, payload: schemaFields(message.payload, example.payload) }).toEqual({ key, payload: [] });
        if (message.headers) expect({ key, headers: schemaFields(message.headers, example.headers) }).toEqual({ key, headers: [] });
      }
    }
  });

  it.each(INBOUND_TYPES)('the %s example is accepted by parseInbound, as the document describes it', (type) => {
    const example = exampleOf(command(type));
    const parsed = inbound(example);
    expect(parsed).toMatchObject({ ok: true, message: { type, id: example.id, paymentId: example.subject } });
    if (parsed.ok && parsed.message.kind === 'event') {
      const data = example.data as Json;
      // eventId defaults to the CloudEvent id; occurredAt to its time
      expect(parsed.message.eventId).toBe(data.eventId ?? example.id);
      expect(parsed.message.event.occurredAt).toBe(data.occurredAt ?? example.time);
      expect(parsed.message.organizationId).toBe(example.organizationid);
    }
  });

  it('the subject may be left out when data.paymentId names the payment', () => {
    const example = exampleOf(command('CreatePayment'));
    const { subject, ...withoutSubject } = example;
    const named = { ...withoutSubject, data: { ...(example.data as Json), paymentId: subject } };
    expect(schemaFields(command('CreatePayment').payload, named)).toEqual([]);
    expect(inbound(named)).toMatchObject({ ok: true, message: { paymentId: subject } });
  });

  /**
   * Changes to an example that the schema refuses, and the field parseInbound names for each
   * (the schema names the same one, except that the envelope's subject is the DTO's paymentId).
   */
  const refusals: [string, string, string, (message: Json) => void][] = [
    ['CreatePayment', 'amount -1', 'amount', (m) => ((m.data as Json).amount = -1)],
    ['CreatePayment', 'no userId', 'userId', (m) => delete (m.data as Json).userId],
    ['CreatePayment', 'amount 1.5', 'amount', (m) => ((m.data as Json).amount = 1.5)],
    ['CreatePayment', 'a lower-case currency', 'currency', (m) => ((m.data as Json).currency = 'eur')],
    ['CreatePayment', 'a property the DTO does not know', 'colour', (m) => ((m.data as Json).colour = 'red')],
    ['CreatePayment', 'a subject with a slash', 'paymentId', (m) => (m.subject = 'a/b')],
    ['CreatePayment', 'a data.paymentId with a space', 'paymentId', (m) => delete Object.assign(m, { data: { ...(m.data as Json), paymentId: 'a b' } }).subject],
    ['CreatePayment', 'no subject nor data.paymentId', 'subject', (m) => delete m.subject],
    ['CreatePayment', 'specversion 0.3', 'specversion', (m) => (m.specversion = '0.3')],
    ['CreatePayment', 'an empty source', 'source', (m) => (m.source = '')],
    ['PaymentFailed', 'no data.error', 'data.error', (m) => delete ((m.data as Json).data as Json).error],
    ['PaymentProcessed', 'a refundAmount', 'data.refundAmount', (m) => ((m.data as Json).data = { refundAmount: 5 })],
    ['PaymentProcessed', 'an error', 'data.error', (m) => ((m.data as Json).data = { error: 'no' })],
    ['PaymentFailed', 'a refundAmount', 'data.refundAmount', (m) => (((m.data as Json).data as Json).refundAmount = 5)],
    ['PaymentRefunded', 'an error', 'data.error', (m) => (((m.data as Json).data as Json).error = 'no')],
    ['PaymentRefunded', 'another data.type', 'type', (m) => ((m.data as Json).type = 'PaymentFailed')],
    ['PaymentRefunded', 'an occurredAt that is no time', 'occurredAt', (m) => ((m.data as Json).occurredAt = 'yesterday')],
    ['PaymentRefunded', 'refundAmount 0', 'data.refundAmount', (m) => ((m.data as Json).data = { refundAmount: 0 })],
    ['PaymentRefunded', 'an eventId of 65 characters', 'eventId', (m) => ((m.data as Json).eventId = 'e'.repeat(65))],
    ['PaymentProcessed', 'a subject of 65 characters', 'paymentId', (m) => (m.subject = 'p'.repeat(65))],
  ];

  it.each(refusals)('a %s with %s is refused by the schema and by parseInbound, on %s', (type, _change, field, change) => {
    const message = exampleOf(command(type));
    change(message);
    const schema = schemaFields(command(type).payload, message);
    const code = refusedFields(message);
    expect(inbound(message).ok).toBe(false);
    expect(schema.length).toBeGreaterThan(0);
    expect(code).toContain(field);
    expect(schema).toEqual(expect.arrayContaining([field === 'paymentId' && 'subject' in message ? 'subject' : field]));
  });

  it('the dead-letter example carries what parseInbound says of its message', () => {
    const message = channelMessages('deadLetter')[0];
    const example = message.examples![0];
    const parsed = inbound(example.payload);
    expect(parsed.ok).toBe(false);
    const problem = JSON.parse(String(example.headers!['x-problem'])) as Json & { errors: { field: string }[] };
    expect(problem).toMatchObject({ code: example.headers!['x-problem-code'], status: 400 });
    expect(problem.errors.map((e) => e.field).sort()).toEqual(['amount', 'userId']);
    expect(schemaFields(command('CreatePayment').payload, example.payload).sort()).toEqual(expect.arrayContaining(['amount', 'userId']));
    if (!parsed.ok) expect(problem.code).toBe(parsed.error.code);
  });

  it('what outboundMessage publishes for payments the service changed fits the events schemas', async () => {
    const created = await createPayment(t.url, { description: null, metadata: { k: 'v' } });
    const processed = await moveTo(t.url, created.paymentId, 'completed');
    const refunded = await applyEvent(t.url, created.paymentId, { type: 'PaymentRefunded', data: { refundAmount: 1 } });
    const failed = await moveTo(t.url, (await createPayment(t.url)).paymentId, 'failed');
    const payments: [OutboundType, Payment][] = [
      ['PaymentCreated', created],
      ['PaymentProcessed', processed],
      ['PaymentRefunded', refunded],
      ['PaymentFailed', failed],
    ];
    for (const [type, payment] of payments) {
      const body = JSON.parse(outboundMessage(type, payment as StoredPayment, BROKER_SOURCE).body) as Json;
      expect({ type, fields: schemaFields(event(type).payload, body) }).toEqual({ type, fields: [] });
      // another type's schema refuses it (status, and the type itself)
      const other = OUTBOUND_TYPES.find((o) => o !== type)!;
      expect(schemaFields(event(other).payload, body).length).toBeGreaterThan(0);
    }
  });

  it('the outbound id is <org>/<paymentId>/<version> with URI-encoded parts, which the schema allows', () => {
    const payment = newPayment({ organizationId: 'org/with slash', userId: 'u', amount: 1, currency: 'EUR' }, 'pay:1', '2026-03-01T12:00:00.000Z');
    const body = JSON.parse(outboundMessage('PaymentCreated', payment, BROKER_SOURCE).body) as Json;
    expect(body.id).toBe('org%2Fwith%20slash/pay%3A1/1');
    expect(schemaFields(event('PaymentCreated').payload, body)).toEqual([]);
    expect(schemaFields(event('PaymentCreated').payload, { ...body, source: '/someone-else' })).toEqual(['source']);
  });
});
