import type { Client } from 'pg';
import request from 'supertest';
import { TestBroker, TEST_BROKER_URL, until } from './broker-helpers';
import { Payment, paymentBody, uniqueId } from './e2e-helpers';
import { connectSql } from './pg-helpers';
import { createTestDatabase, startTestApp, TestApp, TestDatabase } from './test-app';

/**
 * Two instances on one database and one broker prefix: one relays the outbox at a time (no
 * event published twice without a fault), and one consumes the command queue at a time (a
 * payment's messages applied in publish order), and the other takes over when it stops.
 */

let db: TestDatabase;
let broker: TestBroker;
let a: TestApp;
let b: TestApp;
let aClosed = false;
let sql: Client;

beforeAll(async () => {
  db = await createTestDatabase();
  broker = await TestBroker.open();
  const config = { databaseUrl: db.url, brokerUrl: TEST_BROKER_URL, brokerPrefix: broker.prefix };
  a = await startTestApp(config);
  b = await startTestApp(config);
  sql = await connectSql(db.url);
  await broker.waitForConsumer();
}, 60_000);

afterAll(async () => {
  await sql?.end();
  if (!aClosed) await a?.close();
  await b?.close();
  await broker?.remove();
  await db?.drop();
});

async function outboxEmpty(): Promise<void> {
  await until(async () => {
    const { rows } = await sql.query<{ n: string }>('SELECT count(*) AS n FROM outbox');
    return Number(rows[0].n) === 0;
  });
}

it('publishes every committed change of both instances exactly once, in commit order per payment', async () => {
  const org = uniqueId('org');
  const bodies = Array.from({ length: 200 }, () => paymentBody({ organizationId: org, amount: 1000 }));
  // writes spread over both instances, at once: both commit, one relays
  await Promise.all(
    bodies.map(async (body, i) => {
      const [first, second] = i % 2 === 0 ? [a, b] : [b, a];
      await request(first.url).post('/payments').send(body).expect(201);
      await request(second.url).post(`/payments/${body.paymentId}/events`).query({ organizationId: org }).send({ type: 'PaymentProcessed' }).expect(200);
      await request(first.url).post(`/payments/${body.paymentId}/events`).query({ organizationId: org }).send({ type: 'PaymentRefunded', data: { refundAmount: 10 } }).expect(200);
    }),
  );
  await outboxEmpty();
  const events = await broker.takeUntil(broker.eventsQueue, (all) => all.length >= bodies.length * 3);
  const ids = events.map((e) => String(e.body.id));
  expect(new Set(ids).size).toBe(bodies.length * 3);
  expect(ids).toHaveLength(bodies.length * 3); // no duplicate: never two relays on one backlog
  for (const body of bodies) {
    const mine = events.filter((e) => e.body.subject === body.paymentId).map((e) => [e.routingKey, (e.body.data as Payment).version]);
    expect(mine).toEqual([
      ['PaymentCreated', 1],
      ['PaymentProcessed', 2],
      ['PaymentRefunded', 3],
    ]);
  }
});

it("applies each payment's messages in publish order with two instances consuming, and the other takes over when one stops", async () => {
  const org = uniqueId('org');
  const round = (bodies: Record<string, unknown>[]) => [
    ...bodies.map((p) => ({ type: 'CreatePayment', subject: p.paymentId as string, data: p })),
    ...bodies.map((p) => ({ type: 'PaymentProcessed', subject: p.paymentId as string, organizationid: org, data: {} })),
    ...Array.from({ length: 5 }, () => bodies.map((p) => ({ type: 'PaymentRefunded', subject: p.paymentId as string, organizationid: org, data: { data: { refundAmount: 200 } } }))).flat(),
  ];
  const first = Array.from({ length: 50 }, () => paymentBody({ organizationId: org, amount: 1000 }));
  await broker.publishAll(round(first));
  const final = (url: string, paymentId: string) =>
    until(async () => {
      const res = await request(url).get(`/payments/${paymentId}`).query({ organizationId: org });
      return res.status === 200 && res.body.version === 7 && (res.body as Payment);
    });
  for (const p of first) expect(await final(b.url, p.paymentId as string)).toMatchObject({ status: 'refunded', refundedAmount: 1000 });

  // the active consumer may be either: stop A, and whatever remains is consumed by B
  await a.close();
  aClosed = true;
  const second = Array.from({ length: 50 }, () => paymentBody({ organizationId: org, amount: 1000 }));
  await broker.publishAll(round(second));
  for (const p of second) expect(await final(b.url, p.paymentId as string)).toMatchObject({ status: 'refunded', refundedAmount: 1000 });
  expect(await broker.count(broker.names.deadLetterQueue)).toBe(0);
  expect(await broker.count(broker.names.commandsQueue)).toBe(0);
});

