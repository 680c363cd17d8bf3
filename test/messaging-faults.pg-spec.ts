import type { Client } from 'pg';
import { outboxLockSql } from '../src/messaging/outbox';
import { OUTBOX_LOCK } from '../src/persistence/postgres';
import { closeAllBrokerConnections, createVhost, Received, TestBroker, TestVhost, uniquePrefix, until } from './broker-helpers';
import { checkOutbound, compareWithModel, InboundModel, modelOf, OutboundCheck, paymentKey, planInbound, StoredPayment } from './inbound-model';
import { connectSql, mapLimit } from './pg-helpers';
import { mulberry32 } from './seeded-random';
import { ServiceProcess, startService, waitUntil } from './service-process';
import { createTestDatabase, TestDatabase } from './test-app';

/**
 * Messaging under faults, on the real service process, the real broker and PostgreSQL:
 * 1. kill -9 while it consumes 10,000 inbound commands (twice), restart: every message applied
 *    exactly as a model applying the same sequence says (none lost, none applied twice), the
 *    refused ones dead-lettered, and every committed change on the events exchange;
 * 2. kill -9 while the outbox relays a backlog of thousands of committed HTTP writes, restart:
 *    every committed change (each payment's versions 1..version) published at least once, each
 *    payment's versions first arriving in order; duplicates counted;
 * 3. the broker drops the connections mid-traffic (inbound consumed, HTTP writes), then a
 *    graceful restart: nothing lost in either direction.
 * Waits poll for the condition they need (acks in /metrics, queue and outbox counts); the only
 * deadline is jest's. Each test has a schema and a BROKER_PREFIX of its own.
 *
 * Test 3 runs on a vhost of its own and has the broker drop every connection to it
 * (`rabbitmqctl close_all_connections --vhost`): whoever else uses the shared local broker at the
 * time keeps their connections.
 */

const SEED = Number(process.env.MESSAGING_FAULTS_SEED ?? 20260315);
const services = new Set<ServiceProcess>();
const fixtures: Fixture[] = [];
/** What a test leaves running when it fails half-way (writers, a held lock): undone in afterAll. */
const cleanups: (() => Promise<unknown> | void)[] = [];

interface Fixture {
  db: TestDatabase;
  broker: TestBroker;
  sql: Client;
  prefix: string;
  vhost?: TestVhost;
}

/** A schema and a prefix of the test's own; with `ownVhost`, a vhost of its own too. */
async function fixture(ownVhost = false): Promise<Fixture> {
  const db = await createTestDatabase();
  const prefix = uniquePrefix();
  const vhost = ownVhost ? await createVhost(prefix) : undefined;
  const broker = await TestBroker.open(prefix, vhost?.url);
  const sql = await connectSql(db.url);
  const fx = { db, broker, sql, prefix, vhost };
  fixtures.push(fx);
  return fx;
}

afterAll(async () => {
  for (const cleanup of cleanups) await Promise.resolve(cleanup()).catch(() => undefined);
  for (const service of services) {
    if (service.child.exitCode === null && service.child.signalCode === null) {
      service.child.kill('SIGKILL');
      await service.exited;
    }
  }
  for (const fx of fixtures) {
    await fx.sql.end().catch(() => undefined);
    await fx.broker.remove().catch(() => undefined);
    await fx.vhost?.drop().catch(() => undefined);
    await fx.db.drop().catch(() => undefined);
  }
});

/** The service on the fixture's schema and prefix, once /health/ready answers 200. */
async function boot(fx: Fixture): Promise<ServiceProcess> {
  const service = await startService([], { DATABASE_URL: fx.db.url, BROKER_URL: fx.broker.url, BROKER_PREFIX: fx.prefix, LOG_LEVEL: 'warn' });
  services.add(service);
  await waitUntil(service, '/health/ready');
  return service;
}

async function kill9(service: ServiceProcess): Promise<void> {
  service.child.kill('SIGKILL');
  await service.exited;
}

interface Counters {
  consumed: number;
  acked: number;
  deadLettered: number;
}

/** The messaging series of the service's /metrics, summed over their labels. */
async function counters(service: ServiceProcess): Promise<Counters> {
  const text = await (await fetch(`${service.url}/metrics`)).text();
  const sum = (name: string) =>
    text
      .split('\n')
      .filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `))
      .reduce((total, line) => total + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
  return {
    consumed: sum('payments_messages_consumed_total'),
    acked: sum('payments_messages_acked_total'),
    deadLettered: sum('payments_messages_dead_lettered_total'),
  };
}

/** The status of a GET (its body read: no connection left holding it). */
async function statusOf(url: string): Promise<number> {
  const res = await fetch(url);
  await res.arrayBuffer();
  return res.status;
}

/** Polls the service's counters until `done` holds for them. */
function countersUntil(service: ServiceProcess, done: (c: Counters) => boolean): Promise<Counters> {
  return until(async () => {
    const c = await counters(service);
    return done(c) && c;
  });
}

async function outboxBacklog(fx: Fixture): Promise<number> {
  const { rows } = await fx.sql.query<{ n: string }>('SELECT count(*) AS n FROM outbox');
  return Number(rows[0].n);
}

async function storedPayments(fx: Fixture): Promise<StoredPayment[]> {
  const { rows } = await fx.sql.query<{ organization_id: string; payment_id: string; status: string; version: string; refunded_amount: string }>(
    'SELECT organization_id, payment_id, status, version, refunded_amount FROM payments',
  );
  return rows.map((r) => ({ organizationId: r.organization_id, paymentId: r.payment_id, status: r.status, version: Number(r.version), refundedAmount: Number(r.refunded_amount) }));
}

/** Once the consumer is gone (killed or stopped), what the command queue holds: everything not acknowledged. */
async function commandsLeft(fx: Fixture): Promise<number> {
  const state = await until(async () => {
    const state = await fx.broker.queueState(fx.broker.names.commandsQueue);
    return state !== undefined && state.consumerCount === 0 && state;
  });
  return state.messageCount;
}

/** Until a GET answers 200 (the payment is there). */
const present = (url: string) => until(async () => (await statusOf(url)) === 200);
const outboxDrained = (fx: Fixture) => until(async () => (await outboxBacklog(fx)) === 0);

let sentinels = 0;

/**
 * Waits until the service has consumed everything published so far and, with `outbox`, until
 * the outbox is empty; then stops it (SIGTERM: the acks and dead-letter copies in flight go
 * out). A sentinel create published last marks the end of the queue: once it is applied, every
 * message before it has been delivered to this process, and when the counters then balance
 * (each delivery acknowledged or dead-lettered) and nothing is ready, none is left.
 */
async function drainAndStop(fx: Fixture, service: ServiceProcess, outbox: boolean): Promise<void> {
  const paymentId = `sentinel-${++sentinels}`;
  await fx.broker.publish({ type: 'CreatePayment', subject: paymentId, organizationid: 'org-sentinel', data: { organizationId: 'org-sentinel', userId: 'u', amount: 1, currency: 'EUR' } });
  await present(`${service.url}/payments/${paymentId}?organizationId=org-sentinel`);
  await until(async () => {
    const c = await counters(service);
    return c.consumed === c.acked + c.deadLettered && (await fx.broker.count(fx.broker.names.commandsQueue)) === 0;
  });
  if (outbox) await outboxDrained(fx);
  await service.stop();
}

const isSentinel = (p: { organizationId: string }) => p.organizationId === 'org-sentinel';

interface DeadLetterCheck {
  received: number;
  predicted: number;
  /** Predicted refused, absent from the dead-letter queue. */
  missing: string[];
  /** In the dead-letter queue, but the model applies it (or it is unknown). */
  unexpected: string[];
  /** Dead-lettered with another problem code than the model's. */
  wrongCode: string[];
}

function checkDeadLetters(model: InboundModel, received: readonly Received[]): DeadLetterCheck {
  const predicted = new Map<string, { code: string; count: number }>();
  for (const r of model.refused) predicted.set(r.id, { code: r.code, count: (predicted.get(r.id)?.count ?? 0) + 1 });
  const got = new Map<string, number>();
  const unexpected: string[] = [];
  const wrongCode: string[] = [];
  for (const r of received) {
    const id = String(r.body.id);
    got.set(id, (got.get(id) ?? 0) + 1);
    const want = predicted.get(id);
    if (want === undefined) unexpected.push(id);
    else if (r.headers['x-problem-code'] !== want.code) wrongCode.push(`${id}: ${String(r.headers['x-problem-code'])} (model ${want.code})`);
  }
  const missing = [...predicted].filter(([id, want]) => (got.get(id) ?? 0) < want.count).map(([id]) => id);
  return { received: received.length, predicted: model.refused.length, missing, unexpected, wrongCode };
}

const outboundSummary = (o: OutboundCheck) =>
  `${o.expected} committed changes, ${o.received} events received (${o.duplicates} duplicates), ${o.missing.length} missing, ${o.outOfOrder.length} payments out of order`;

async function expectOutbound(fx: Fixture, stored: readonly StoredPayment[]): Promise<OutboundCheck> {
  const received = await fx.broker.takeAll(fx.broker.eventsQueue);
  const check = checkOutbound(received, stored);
  expect(check.missing.slice(0, 20)).toEqual([]);
  expect(check.malformed.slice(0, 20)).toEqual([]);
  return check;
}

describe('messaging faults (real process, broker and PostgreSQL)', () => {
  it('kill -9 while consuming 10,000 inbound messages: none lost, none applied twice', async () => {
    const fx = await fixture();
    const plan = planInbound('in1', 10_000, SEED);
    const model = modelOf(plan.messages);
    let service = await boot(fx);
    await fx.broker.waitForConsumer();
    const publishing = fx.broker.publishAll(plan.messages);
    // kill -9 once a good part of the queue (but not all) has been consumed, twice
    const kills: { acked: number; left: number }[] = [];
    for (const threshold of [3000, 2500]) {
      const { acked } = await countersUntil(service, (c) => c.acked >= threshold);
      await kill9(service);
      await publishing;
      kills.push({ acked, left: await commandsLeft(fx) });
      service = await boot(fx);
    }
    await publishing;
    await drainAndStop(fx, service, true);

    const left = await commandsLeft(fx);
    const stored = await storedPayments(fx);
    const comparison = compareWithModel(
      model,
      stored.filter((p) => !isSentinel(p)),
    );
    const deadLetters = checkDeadLetters(model, await fx.broker.takeAll(fx.broker.names.deadLetterQueue));
    const outbound = await expectOutbound(fx, stored);
    console.log(
      `inbound kill -9: ${plan.messages.length} published for ${plan.payments} payments (${plan.duplicates} duplicates, ${plan.redundant} repeated eventIds), ` +
        `${model.applied} changes applied, ${comparison.lost.length} lost, ${comparison.appliedTwice.length} applied twice, ${comparison.different.length} different; ` +
        `dead-lettered ${deadLetters.received} (model ${deadLetters.predicted}: ${deadLetters.missing.length} missing, ${deadLetters.unexpected.length} unexpected); ` +
        `${kills.length} kills at ${kills.map((k) => `${k.acked} acked/${k.left} left`).join(', ')}, ${kills.length} restarts; ` +
        `outbound: ${outboundSummary(outbound)}`,
    );
    for (const k of kills) expect(k.left).toBeGreaterThan(0); // each kill came before the end
    expect(left).toBe(0);
    expect(comparison.lost.slice(0, 20)).toEqual([]);
    expect(comparison.appliedTwice.slice(0, 20)).toEqual([]);
    expect(comparison.different.slice(0, 20)).toEqual([]);
    expect(deadLetters.missing).toEqual([]);
    expect(deadLetters.unexpected).toEqual([]);
    expect(deadLetters.wrongCode).toEqual([]);
  }, 300_000);

  it('kill -9 while the outbox relays a backlog: every committed change published at least once, in order', async () => {
    const fx = await fixture();
    // The test holds the relay lock (as another instance would): the service commits its
    // writes and their outbox rows, and relays nothing until the test lets go of it.
    const lock = await connectSql(fx.db.url);
    cleanups.push(() => lock.end());
    await lock.query(outboxLockSql('pg_advisory_lock'), [OUTBOX_LOCK]);
    let service = await boot(fx);
    const random = mulberry32(SEED + 2);
    const ids = Array.from({ length: 1200 }, (_, i) => `out-${i}`);
    const org = (i: number) => `org-${i % 3}`;
    const amounts = ids.map(() => 1000 + Math.floor(random() * 100_000));
    for (let from = 0; from < ids.length; from += 1000) {
      const payments = ids.slice(from, from + 1000).map((paymentId, k) => ({ paymentId, organizationId: org(from + k), userId: 'u-1', amount: amounts[from + k], currency: 'EUR' }));
      const res = await fetch(`${service.url}/payments/bulk`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ payments }) });
      expect(res.status).toBe(200);
    }
    const plans = ids.map(() => random());
    const refused: number[] = [];
    await mapLimit(ids, 32, async (paymentId, i) => {
      const post = async (body: Record<string, unknown>) => {
        const res = await fetch(`${service.url}/payments/${paymentId}/events?organizationId=${org(i)}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
        if (res.status !== 200) refused.push(res.status);
        await res.arrayBuffer();
      };
      if (plans[i] < 0.15) return;
      if (plans[i] < 0.3) return post({ type: 'PaymentFailed', data: { error: 'declined' } });
      await post({ type: 'PaymentProcessed' });
      for (let r = 0; r < Math.floor(plans[i] * 4); r++) await post({ type: 'PaymentRefunded', eventId: `r${r}`, data: { refundAmount: 10 + r } });
    });
    expect(refused).toEqual([]);
    const backlog = await outboxBacklog(fx);
    expect(await fx.broker.count(fx.broker.eventsQueue)).toBe(0);

    // let go: the service takes the lock within a second, and is killed as its events arrive
    await lock.end();
    await until(async () => (await fx.broker.count(fx.broker.eventsQueue)) > 0);
    await kill9(service);
    const arrivedBeforeKill = await fx.broker.count(fx.broker.eventsQueue);
    const backlogAtKill = await outboxBacklog(fx);

    service = await boot(fx);
    await outboxDrained(fx);
    await service.stop();
    const stored = await storedPayments(fx);
    const outbound = await expectOutbound(fx, stored);
    console.log(
      `outbox kill -9: ${backlog} committed changes waiting (${ids.length} payments), killed with ${arrivedBeforeKill} events arrived and ${backlogAtKill} rows left; ` +
        `after 1 restart: ${outboundSummary(outbound)}`,
    );
    expect(outbound.expected).toBe(backlog);
    expect(backlogAtKill).toBeGreaterThan(0); // killed while relaying, not after
    expect(outbound.outOfOrder.slice(0, 20)).toEqual([]);
  }, 300_000);

  it('the broker drops every connection mid-traffic (rabbitmqctl close_all_connections), then a restart: nothing lost either way', async () => {
    const fx = await fixture(true);
    const plan = planInbound('in3', 5000, SEED + 3);
    const model = modelOf(plan.messages);
    let service = await boot(fx);
    await fx.broker.waitForConsumer();
    const half = 3000;
    await fx.broker.publishAll(plan.messages.slice(0, half));

    // HTTP writers, each payment created, processed and partly refunded, until told to stop
    let stopWriting = false;
    const http: { paymentId: string; organizationId: string; amount: number; statuses: number[] }[] = [];
    const writer = async (w: number) => {
      for (let n = 0; !stopWriting; n++) {
        const paymentId = `http-${w}-${n}`;
        const organizationId = `org-${w % 3}`;
        const amount = 1000 + n;
        const entry = { paymentId, organizationId, amount, statuses: [] as number[] };
        http.push(entry);
        const post = async (path: string, body: Record<string, unknown>) => {
          const res = await fetch(`${service.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
          entry.statuses.push(res.status);
          await res.arrayBuffer();
        };
        await post('/payments', { paymentId, organizationId, userId: 'u-http', amount, currency: 'EUR' });
        await post(`/payments/${paymentId}/events?organizationId=${organizationId}`, { type: 'PaymentProcessed' });
        await post(`/payments/${paymentId}/events?organizationId=${organizationId}`, { type: 'PaymentRefunded', eventId: 'partial', data: { refundAmount: Math.floor(amount / 4) } });
      }
    };
    const writers = Promise.all(Array.from({ length: 6 }, (_, w) => writer(w)));
    writers.catch(() => undefined); // awaited below; if the test fails before, afterAll stops them
    cleanups.push(() => {
      stopWriting = true;
    });

    // mid-traffic: part of the inbound consumed, HTTP writes going on
    const atDrop = await countersUntil(service, (c) => c.acked >= 1200 && http.length >= 30);
    const httpAtDrop = http.length;
    await closeAllBrokerConnections(fx.vhost!.name, 'test');
    await fx.broker.reconnect();
    // the rest, with a marker a little way in: once the marker is applied, the service has
    // consumed again over a new connection (the marker did not exist before the drop)
    await fx.broker.publishAll(plan.messages.slice(half, half + 200));
    await fx.broker.publish({ type: 'CreatePayment', subject: 'marker', organizationid: 'org-sentinel', data: { organizationId: 'org-sentinel', userId: 'u', amount: 1, currency: 'EUR' } });
    await fx.broker.publishAll(plan.messages.slice(half + 200));
    await present(`${service.url}/payments/marker?organizationId=org-sentinel`);
    const httpAfter = http.length;
    stopWriting = true;
    await writers;

    // a graceful restart in the middle of it all, then everything must come through
    await service.stop();
    const leftAtRestart = await commandsLeft(fx);
    service = await boot(fx);
    await drainAndStop(fx, service, true);

    const left = await commandsLeft(fx);
    const stored = await storedPayments(fx);
    const comparison = compareWithModel(
      model,
      stored.filter((p) => p.paymentId.startsWith('in3-')),
    );
    const deadLetters = checkDeadLetters(model, await fx.broker.takeAll(fx.broker.names.deadLetterQueue));
    const byKey = new Map(stored.map((p) => [paymentKey(p.organizationId, p.paymentId), p]));
    const httpLost = http.filter((h) => {
      const p = byKey.get(paymentKey(h.organizationId, h.paymentId));
      return p === undefined || p.version !== 3 || p.refundedAmount !== Math.floor(h.amount / 4);
    });
    const httpRefused = http.filter((h) => h.statuses.some((s) => s !== 200 && s !== 201));
    const outbound = await expectOutbound(fx, stored);
    console.log(
      `broker drop: ${plan.messages.length} inbound (${plan.duplicates} duplicates, ${plan.redundant} repeated eventIds), ${http.length * 3} HTTP writes ` +
        `(${httpAtDrop} payments begun at the drop, ${httpAfter} once reconnected); closed every connection at ${atDrop.acked} acked; ` +
        `inbound: ${comparison.lost.length} lost, ${comparison.appliedTwice.length} applied twice, dead-lettered ${deadLetters.received} (model ${deadLetters.predicted}); ` +
        `HTTP: ${httpLost.length} lost, ${httpRefused.length} refused; outbound: ${outboundSummary(outbound)}; 1 restart (${leftAtRestart} commands left)`,
    );
    expect(httpAfter).toBeGreaterThan(httpAtDrop);
    expect(left).toBe(0);
    expect(comparison.lost.slice(0, 20)).toEqual([]);
    expect(comparison.appliedTwice.slice(0, 20)).toEqual([]);
    expect(comparison.different.slice(0, 20)).toEqual([]);
    expect(deadLetters.missing).toEqual([]);
    expect(deadLetters.unexpected).toEqual([]);
    expect(deadLetters.wrongCode).toEqual([]);
    expect(httpRefused.map((h) => `${h.paymentId}: ${h.statuses.join(',')}`).slice(0, 20)).toEqual([]);
    expect(httpLost.map((h) => h.paymentId).slice(0, 20)).toEqual([]);
  }, 300_000);
});
