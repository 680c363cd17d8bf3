import { randomUUID } from 'node:crypto';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { TestBroker, until } from './broker-helpers';
import { createTestDatabase, TEST_MODE, TestDatabase } from './test-app';
import type { SpanRecord } from './tracing/traced-service';
import { ancestry, caller, startTracedService, TracedService } from './tracing/traced-process';

/**
 * Traces follow the messages (in memory and PostgreSQL modes): a command's CloudEvent carries
 * its publisher's trace (the distributed-tracing extension, `traceparent`) into the consumer's
 * spans, and each event the service publishes carries the trace of the change that made it.
 * The service runs with the real instrumentations in a child process (test/tracing), on a
 * broker prefix of its own.
 */

let service: TracedService;
let broker: TestBroker;
let database: TestDatabase | undefined;

beforeAll(async () => {
  broker = await TestBroker.open();
  if (TEST_MODE === 'postgres') database = await createTestDatabase();
  service = await startTracedService({
    BROKER_URL: broker.url,
    BROKER_PREFIX: broker.prefix,
    ...(database ? { DATABASE_URL: database.url } : {}),
  });
  await broker.waitForConsumer();
});

afterAll(async () => {
  await service?.stop();
  await broker?.remove();
  await database?.drop();
});

const traceparentOf = (s: SpanRecord) => `00-${s.traceId}-${s.spanId}-01`;

/** A CreatePayment command as a processor publishes it, with its trace attributes when given. */
function publishCreate(paymentId: string, amount: number, trace: Record<string, string> = {}): Promise<void> {
  return broker.publish({ type: 'CreatePayment', subject: paymentId, ...trace, data: { organizationId: 'org-trace-msg', userId: 'u1', amount, currency: 'EUR' } });
}

/** The events published for `paymentId` so far, once `count` of them have arrived. */
async function eventsOf(paymentId: string, count: number) {
  const seen: Awaited<ReturnType<TestBroker['take']>> = [];
  return until(async () => {
    seen.push(...(await broker.take(broker.eventsQueue)).filter((m) => m.body.subject === paymentId));
    return seen.length >= count && seen;
  });
}

describe(`tracing through the broker (${TEST_MODE} mode)`, () => {
  it("joins a command message's trace: a consumer span under the publisher's, the command's span beneath it, and the event it causes in the same trace", async () => {
    const publisher = caller();
    const paymentId = randomUUID();
    await publishCreate(paymentId, 990, { traceparent: publisher.traceparent, tracestate: 'vendor=x' });

    const command = await until(async () =>
      (await service.spans()).find((s) => s.name === 'CreatePaymentCommand' && s.attributes['payments.payment_id'] === paymentId),
    );
    const spans = await service.spans();
    const chain = ancestry(spans, command);
    const consumer = chain[chain.length - 1];
    expect(consumer).toMatchObject({
      name: `process ${broker.names.commandsQueue}`,
      kind: SpanKind.CONSUMER,
      traceId: publisher.traceId,
      parentSpanId: publisher.spanId,
      status: { code: SpanStatusCode.UNSET },
    });
    expect(consumer.attributes).toMatchObject({
      'messaging.system': 'rabbitmq',
      'messaging.destination.name': broker.names.commandsQueue,
      'cloudevents.event_type': 'CreatePayment',
      'cloudevents.event_subject': paymentId,
    });
    expect(chain.every((s) => s.traceId === publisher.traceId)).toBe(true);
    if (TEST_MODE === 'postgres') {
      const commit = spans.find((s) => s.name === 'payments.group_commit' && s.links.some((l) => l.spanId === command.spanId));
      expect(commit?.traceId).toBe(publisher.traceId);
    }

    // the PaymentCreated it caused: in the same trace, its traceparent the command's span
    const [created] = await eventsOf(paymentId, 1);
    expect(created.body).toMatchObject({ type: 'PaymentCreated', traceparent: traceparentOf(command) });
    const send = await until(async () => (await service.spans()).find((s) => s.kind === SpanKind.PRODUCER && s.attributes['cloudevents.event_id'] === created.body.id));
    expect(send).toMatchObject({ name: `send ${broker.names.events}`, traceId: publisher.traceId, parentSpanId: command.spanId });
  });

  it("carries an HTTP request's trace into the events it publishes, a lifecycle event's too", async () => {
    const client = caller();
    const paymentId = randomUUID();
    const created = await fetch(`${service.url}/payments`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', traceparent: client.traceparent },
      body: JSON.stringify({ paymentId, organizationId: 'org-trace-msg', userId: 'u1', amount: 120, currency: 'EUR' }),
    });
    expect(created.status).toBe(201);
    const other = caller();
    const processed = await fetch(`${service.url}/payments/${paymentId}/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', traceparent: other.traceparent },
      body: JSON.stringify({ type: 'PaymentProcessed' }),
    });
    expect(processed.status).toBe(200);

    const events = await eventsOf(paymentId, 2);
    const spans = await service.spans();
    const commandOf = (name: string) => spans.find((s) => s.name === name && s.attributes['payments.payment_id'] === paymentId)!;
    const byType = Object.fromEntries(events.map((e) => [e.body.type, e.body]));
    expect(byType.PaymentCreated.traceparent).toBe(traceparentOf(commandOf('CreatePaymentCommand')));
    expect(commandOf('CreatePaymentCommand').traceId).toBe(client.traceId);
    expect(byType.PaymentProcessed.traceparent).toBe(traceparentOf(commandOf('ApplyPaymentEventCommand')));
    expect(commandOf('ApplyPaymentEventCommand').traceId).toBe(other.traceId);
  });

  it('marks the consumer span of a refused message ERROR with its problem code; a message without traceparent starts a trace of its own', async () => {
    const publisher = caller();
    const paymentId = randomUUID();
    await publishCreate(paymentId, -1, { traceparent: publisher.traceparent });
    const refused = await until(async () => (await service.spans()).find((s) => s.kind === SpanKind.CONSUMER && s.traceId === publisher.traceId));
    expect(refused).toMatchObject({ status: { code: SpanStatusCode.ERROR }, attributes: { 'payments.problem_code': 'VALIDATION_FAILED' } });
    expect((await broker.takeUntil(broker.names.deadLetterQueue, (all) => all.length >= 1))[0].body).toMatchObject({ subject: paymentId });

    const untraced = randomUUID();
    await publishCreate(untraced, 5);
    const consumer = await until(async () => (await service.spans()).find((s) => s.kind === SpanKind.CONSUMER && s.attributes['cloudevents.event_subject'] === untraced));
    const spans = await service.spans();
    // no publisher's span: the consumer span is a root, or the child of amqplib's own delivery span
    const parent = spans.find((s) => s.spanId === consumer.parentSpanId);
    expect(parent === undefined ? consumer.parentSpanId : parent.kind).toBe(parent === undefined ? undefined : SpanKind.CONSUMER);
    expect(consumer.status.code).toBe(SpanStatusCode.UNSET);
  });
});
