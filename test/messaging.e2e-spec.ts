import net from 'node:net';
import { once } from 'node:events';
import request from 'supertest';
import { TestBroker, TEST_BROKER_URL, Received, until } from './broker-helpers';
import { Payment, paymentBody, uniqueId } from './e2e-helpers';
import { startTestApp, TestApp, TEST_MODE } from './test-app';

/**
 * Messaging against the real RabbitMQ (memory and PostgreSQL modes): commands in through the
 * broker, the committed changes out as CloudEvents, poison messages dead-lettered with their
 * problem while the valid ones behind them flow, the broker's loss survived.
 */

/** Polls GET /payments/:id until `done` holds for the payment (404 counts as not yet). */
function paymentWhen(url: string, paymentId: string, organizationId: string, done: (p: Payment) => boolean): Promise<Payment> {
  return until(async () => {
    const res = await request(url).get(`/payments/${encodeURIComponent(paymentId)}`).query({ organizationId });
    return res.status === 200 && done(res.body as Payment) && (res.body as Payment);
  });
}

/** Polls /health/ready until its broker check satisfies `done`. */
const brokerHealthWhen = (url: string, done: (broker: { connected: boolean; outboxBacklog: number | null }) => boolean) =>
  until(async () => {
    const res = await request(url).get('/health/ready');
    return res.body.details?.broker !== undefined && done(res.body.details.broker);
  });

const eventsOf = (received: Received[], paymentId: string) => received.filter((r) => r.body.subject === paymentId);

describe(`messaging (${TEST_MODE} mode)`, () => {
  let app: TestApp;
  let broker: TestBroker;
  let received: Received[] = [];

  /** Reads the events queue until `done` holds for everything read so far in this file. */
  const eventsUntil = async (done: (all: Received[]) => boolean) => {
    received = await broker.takeUntil(broker.eventsQueue, (fresh) => done([...received, ...fresh])).then((fresh) => [...received, ...fresh]);
    return received;
  };

  beforeAll(async () => {
    broker = await TestBroker.open();
    app = await startTestApp({ brokerUrl: TEST_BROKER_URL, brokerPrefix: broker.prefix, logLevel: process.env.TEST_LOG ?? 'silent' });
    await broker.waitForConsumer();
  });

  afterAll(async () => {
    await app?.close();
    await broker?.remove();
  });

  it('creates a payment from a CreatePayment message and publishes PaymentCreated as a CloudEvent', async () => {
    const body = paymentBody();
    await broker.publish({ type: 'CreatePayment', subject: body.paymentId as string, data: { ...body, paymentId: undefined } });
    const payment = await paymentWhen(app.url, body.paymentId as string, body.organizationId as string, () => true);
    expect(payment).toMatchObject({ ...body, status: 'pending', version: 1 });
    const [created] = eventsOf(await eventsUntil((all) => eventsOf(all, payment.paymentId).length >= 1), payment.paymentId);
    expect(created.routingKey).toBe('PaymentCreated');
    expect(created.raw.properties.messageId).toBe(`${encodeURIComponent(payment.organizationId)}/${encodeURIComponent(payment.paymentId)}/1`);
    expect(created.raw.properties.contentType).toBe('application/cloudevents+json');
    expect(created.raw.properties.deliveryMode).toBe(2); // persistent
    expect(created.body).toEqual({
      specversion: '1.0',
      id: created.raw.properties.messageId,
      source: '/payments-service',
      type: 'PaymentCreated',
      subject: payment.paymentId,
      time: payment.updatedAt,
      datacontenttype: 'application/json',
      organizationid: payment.organizationId,
      data: payment,
    });
  });

  it('applies lifecycle events in order and publishes each change with its version; HTTP writes publish too', async () => {
    const body = paymentBody({ amount: 1000 });
    const paymentId = body.paymentId as string;
    const org = body.organizationId as string;
    // over HTTP, then the rest through the broker, all at once: a payment's messages are applied in publish order
    await request(app.url).post('/payments').send(body).expect(201);
    await broker.publishAll([
      { type: 'PaymentProcessed', subject: paymentId, organizationid: org, data: {} },
      { type: 'PaymentRefunded', subject: paymentId, organizationid: org, data: { data: { refundAmount: 300 } } },
      { type: 'PaymentRefunded', subject: paymentId, organizationid: org, data: { data: { refundAmount: 700 } } },
    ]);
    const final = await paymentWhen(app.url, paymentId, org, (p) => p.version === 4);
    expect(final).toMatchObject({ status: 'refunded', refundedAmount: 1000 });
    const events = eventsOf(await eventsUntil((all) => eventsOf(all, paymentId).length >= 4), paymentId);
    expect(events.map((e) => [e.routingKey, (e.body.data as Payment).version])).toEqual([
      ['PaymentCreated', 1],
      ['PaymentProcessed', 2],
      ['PaymentRefunded', 3],
      ['PaymentRefunded', 4],
    ]);
    expect((events[3].body.data as Payment).refundedAmount).toBe(1000);
  });

  it('treats a redelivered create or event as a no-op: nothing applied twice, nothing dead-lettered', async () => {
    const body = paymentBody({ amount: 1000 });
    const paymentId = body.paymentId as string;
    const org = body.organizationId as string;
    const refund = { id: uniqueId('ce'), type: 'PaymentRefunded', subject: paymentId, data: { data: { refundAmount: 100 } } };
    await broker.publishAll([
      { id: uniqueId('ce'), type: 'CreatePayment', subject: paymentId, data: body },
      { id: uniqueId('ce'), type: 'CreatePayment', subject: paymentId, data: body }, // same fields: a replay
      { type: 'PaymentProcessed', subject: paymentId, data: { eventId: 'processed-1' } },
      { type: 'PaymentProcessed', subject: paymentId, data: { eventId: 'processed-1' } }, // a known eventId
      refund,
      refund, // the same CloudEvent again: its id is the eventId
      { type: 'PaymentRefunded', subject: paymentId, data: { data: { refundAmount: 1 } } }, // the last: all above were handled
    ]);
    const final = await paymentWhen(app.url, paymentId, org, (p) => p.refundedAmount === 101);
    expect(final).toMatchObject({ status: 'refunded', refundedAmount: 101, version: 4 });
    const events = eventsOf(await eventsUntil((all) => eventsOf(all, paymentId).length >= 4), paymentId);
    expect(events.map((e) => e.routingKey)).toEqual(['PaymentCreated', 'PaymentProcessed', 'PaymentRefunded', 'PaymentRefunded']);
    expect(await broker.count(broker.names.deadLetterQueue)).toBe(0);
  });

  it('dead-letters every kind of poison message with its problem, while the valid messages behind each flow', async () => {
    const org = uniqueId('org');
    const stored = paymentBody({ organizationId: org, amount: 500 });
    const failed = paymentBody({ organizationId: org, amount: 500 });
    await broker.publishAll([
      { type: 'CreatePayment', subject: stored.paymentId as string, data: stored },
      { type: 'PaymentProcessed', subject: stored.paymentId as string, data: {} },
      { type: 'CreatePayment', subject: failed.paymentId as string, data: failed },
      { type: 'PaymentFailed', subject: failed.paymentId as string, data: { data: { error: 'card declined' } } },
    ]);
    await paymentWhen(app.url, failed.paymentId as string, org, (p) => p.status === 'failed');
    await paymentWhen(app.url, stored.paymentId as string, org, (p) => p.status === 'completed');

    const poison: { send: () => Promise<void>; code: string; fields?: string[] }[] = [
      { send: () => broker.publishRaw(Buffer.from('{"specversion": "1.0", '), 'CreatePayment'), code: 'MALFORMED_JSON' },
      { send: () => broker.publish({ type: 'PaymentCaptured', subject: stored.paymentId as string, data: {} }), code: 'UNKNOWN_MESSAGE_TYPE', fields: ['type'] },
      { send: () => broker.publish({ type: 'CreatePayment', subject: uniqueId('pay'), data: { ...paymentBody({ organizationId: org }), paymentId: undefined, amount: -1 } }), code: 'VALIDATION_FAILED', fields: ['amount'] },
      { send: () => broker.publish({ type: 'CreatePayment', subject: stored.paymentId as string, data: { ...stored, amount: 999 } }), code: 'PAYMENT_ID_CONFLICT' },
      { send: () => broker.publish({ type: 'PaymentProcessed', subject: failed.paymentId as string, data: {} }), code: 'INVALID_TRANSITION' },
      { send: () => broker.publish({ type: 'PaymentRefunded', subject: failed.paymentId as string, data: { data: { refundAmount: 1 } } }), code: 'INVALID_TRANSITION' },
      { send: () => broker.publish({ type: 'PaymentRefunded', subject: stored.paymentId as string, data: { data: { refundAmount: 501 } } }), code: 'REFUND_EXCEEDS_AMOUNT' },
      { send: () => broker.publish({ type: 'PaymentProcessed', subject: uniqueId('pay'), organizationid: org, data: {} }), code: 'PAYMENT_NOT_FOUND' },
      { send: () => broker.publish({ type: 'PaymentProcessed', data: {} }), code: 'VALIDATION_FAILED', fields: ['subject'] },
      {
        send: () => broker.publish({ type: 'CreatePayment', subject: uniqueId('pay'), organizationid: uniqueId('org'), data: { ...paymentBody({ organizationId: org }), paymentId: undefined } }),
        code: 'VALIDATION_FAILED',
        fields: ['organizationid'],
      },
    ];
    // the first valid message waits behind the first poison message, and so on
    const valid: string[] = [];
    for (const p of poison) {
      await p.send();
      const next = paymentBody({ organizationId: org });
      valid.push(next.paymentId as string);
      await broker.publish({ type: 'CreatePayment', subject: next.paymentId as string, data: next });
    }
    // the payment the poison refund aimed at: refunded in full after it, as if nothing happened
    await broker.publish({ type: 'PaymentRefunded', subject: stored.paymentId as string, data: { data: { refundAmount: 500 } } });

    const dead = await broker.takeUntil(broker.names.deadLetterQueue, (all) => all.length >= poison.length);
    expect(dead).toHaveLength(poison.length);
    const problems = dead.map((d) => JSON.parse(String(d.headers['x-problem'])));
    // payments are consumed side by side, so the dead letters of different payments may come in any order
    const byCode = (items: { code: string; fields?: string[] }[]) => items.map((p) => `${p.code} ${p.fields?.join(',') ?? ''}`).sort();
    expect(byCode(problems.map((p) => ({ code: p.code, fields: p.errors?.map((e: { field: string }) => e.field) })))).toEqual(byCode(poison));
    for (const [i, problem] of problems.entries()) {
      expect(problem).toMatchObject({ type: expect.stringMatching(/^\/problems\//), title: expect.any(String), detail: expect.any(String) });
      expect(dead[i].headers['x-problem-code']).toBe(problem.code);
    }
    // the message is kept as it came, with where it came from
    const malformed = dead.find((d) => d.headers['x-problem-code'] === 'MALFORMED_JSON')!;
    expect(malformed.raw.content.toString()).toBe('{"specversion": "1.0", ');
    expect(malformed.headers['x-original-exchange']).toBe(broker.names.commands);
    expect(malformed.headers['x-original-routing-key']).toBe('CreatePayment');
    // nothing of a poison message was applied; everything behind them was
    for (const paymentId of valid) await paymentWhen(app.url, paymentId, org, () => true);
    const after = await paymentWhen(app.url, stored.paymentId as string, org, (p) => p.status === 'refunded');
    expect(after).toMatchObject({ amount: 500, refundedAmount: 500, version: 3 });
    const metrics = (await request(app.url).get('/metrics')).text;
    expect(metrics).toMatch(/payments_messages_dead_lettered_total\{code="REFUND_EXCEEDS_AMOUNT"\} 1/);
  });

  it('keeps each payment\'s events in publish order across many payments consumed side by side', async () => {
    const org = uniqueId('org');
    const payments = Array.from({ length: 40 }, () => paymentBody({ organizationId: org, amount: 1000 }));
    const rounds = [
      payments.map((p) => ({ type: 'CreatePayment', subject: p.paymentId as string, data: p })),
      payments.map((p) => ({ type: 'PaymentProcessed', subject: p.paymentId as string, data: {} })),
      ...Array.from({ length: 10 }, () => payments.map((p) => ({ type: 'PaymentRefunded', subject: p.paymentId as string, organizationid: org, data: { data: { refundAmount: 100 } } }))),
    ];
    await broker.publishAll(rounds.flat());
    for (const p of payments) {
      const final = await paymentWhen(app.url, p.paymentId as string, org, (x) => x.version === 12);
      expect(final).toMatchObject({ status: 'refunded', refundedAmount: 1000 });
    }
    expect(await broker.count(broker.names.deadLetterQueue)).toBe(0);
  });

  it('exposes the messaging counters on /metrics', async () => {
    const text = (await request(app.url).get('/metrics')).text;
    for (const name of ['payments_messages_consumed_total', 'payments_messages_acked_total', 'payments_events_published_total', 'payments_outbox_backlog', 'payments_broker_connected 1']) {
      expect(text).toContain(name);
    }
  });
});

/** A TCP relay to the broker that the test can cut and restore: the broker "goes down" for this app only. */
class BrokerLink {
  #server = net.createServer((client) => this.#relay(client));
  readonly #sockets = new Set<net.Socket>();
  port = 0;

  async open(port = 0): Promise<void> {
    this.#server = net.createServer((client) => this.#relay(client));
    this.#server.listen(port, '127.0.0.1');
    await once(this.#server, 'listening');
    this.port = (this.#server.address() as net.AddressInfo).port;
  }

  #relay(client: net.Socket): void {
    const upstream = net.connect(new URL(TEST_BROKER_URL).port ? Number(new URL(TEST_BROKER_URL).port) : 5672, new URL(TEST_BROKER_URL).hostname);
    for (const s of [client, upstream]) {
      this.#sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => {
        this.#sockets.delete(s);
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  }

  async cut(): Promise<void> {
    const closed = new Promise((resolve) => this.#server.close(resolve));
    for (const s of this.#sockets) s.destroy();
    await closed;
  }

  get url(): string {
    const url = new URL(TEST_BROKER_URL);
    url.hostname = '127.0.0.1';
    url.port = String(this.port);
    return url.toString();
  }
}

describe(`messaging while the broker is unreachable (${TEST_MODE} mode)`, () => {
  let app: TestApp;
  let broker: TestBroker;
  const link = new BrokerLink();

  beforeAll(async () => {
    broker = await TestBroker.open();
    await link.open();
    app = await startTestApp({ brokerUrl: link.url, brokerPrefix: broker.prefix });
    await broker.waitForConsumer();
  });

  afterAll(async () => {
    await app?.close();
    await link.cut().catch(() => undefined);
    await broker?.remove();
  });

  it('goes on serving HTTP reads and writes, reports the backlog, and publishes it in order once the broker is back', async () => {
    await link.cut();
    await brokerHealthWhen(app.url, (b) => !b.connected);
    const org = uniqueId('org');
    const payments = Array.from({ length: 20 }, () => paymentBody({ organizationId: org, amount: 1000 }));
    for (const p of payments) {
      await request(app.url).post('/payments').send(p).expect(201);
      await request(app.url).post(`/payments/${p.paymentId}/events`).send({ type: 'PaymentProcessed' }).expect(200);
    }
    await request(app.url).get(`/payments/${payments[0].paymentId}`).expect(200);
    const ready = await request(app.url).get('/health/ready').expect(200);
    expect(ready.body.details.broker).toMatchObject({ status: 'up', connected: false, outboxBacklog: 40 });

    await link.open(link.port);
    const events = await broker.takeUntil(broker.eventsQueue, (all) => new Set(all.map((e) => e.body.id)).size >= 40);
    for (const p of payments) {
      const mine = events.filter((e) => e.body.subject === p.paymentId);
      // at least once, and a payment's versions first seen in order
      const firstSeen = [...new Set(mine.map((e) => (e.body.data as Payment).version))];
      expect(firstSeen).toEqual([1, 2]);
    }
    await brokerHealthWhen(app.url, (b) => b.outboxBacklog === 0);
  });
});
