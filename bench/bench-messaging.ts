/**
 * The messaging section of the bench (RabbitMQ, src/messaging): run by `npm run bench` after the
 * PostgreSQL section, or alone with `npm run bench:messaging` (this file is its own entry). The
 * service is a real process: the project's build (bench/build.ts) of src/main.ts, started with
 * npm run start:prod's node flags, BROKER_URL and a BROKER_PREFIX of its own, pinned to core 0
 * when taskset exists (this process, the load generator and subscriber, on core 1; RabbitMQ and
 * PostgreSQL are not pinned). Each mode (memory; PostgreSQL on a database made for it) runs:
 *
 *   throughput:   M creates, then M PaymentProcessed events (one per created payment), through
 *                 the broker and over HTTP (autocannon, as many connections as the consumer's
 *                 prefetch, BENCH_MSG_PREFETCH: the same concurrency), mirrored (HTTP, broker,
 *                 broker, HTTP) after a warm-up of each. Broker: the messages are published as
 *                 fast as the broker confirms them while the service consumes; the rate is the
 *                 drain's, from the end of the publishing (the backlog then waiting) until
 *                 /metrics counts every message acknowledged; from the first publish is reported
 *                 beside it.
 *   end to end:   CreatePayment published at a steady rate (1,000/s) -> the payment in GET
 *                 /payments/search (an organization of its own, from = the publish time of the
 *                 oldest payment not seen yet, every page, polled back to back over one kept-alive
 *                 connection); latency = the answer that first held it minus the publish, split at
 *                 the payment's createdAt (stamped when the command ran). HTTP reference, the
 *                 same run: POST /payments at the same steady rate for the same time (open loop,
 *                 an organization of its own, polled the same way); latency = sending -> its 201
 *                 (read-your-writes: the payment is readable then; PostgreSQL: after the commit),
 *                 and sending -> seen by the poller. Reported: broker p99 / HTTP POST -> 201 p99.
 *   outbound:     POST /payments at a steady rate (1,000/s, autocannon overallRate); a subscriber
 *                 queue on <prefix>.events; latency = receipt minus the event's `time` (the
 *                 payment's updatedAt, stamped before the commit), beside the service's own
 *                 payments_events_publish_latency_seconds (commit -> broker confirm; buckets).
 *   backpressure: GET /payments/:id at a steady rate (open loop, 500/s) with no backlog, then while
 *                 the consumer drains a backlog of B creates (published first, as fast as the
 *                 broker takes them; the GETs are timed from the end of the publishing).
 *   metrics:      consumed, acked, retried, dead-lettered, published, outbox backlog, from /metrics.
 *
 * Env: BENCH_MESSAGING=0 (skip; a smoke run skips it unless BENCH_MESSAGING=1), BENCH_BROKER_URL
 * (default amqp://guest:guest@127.0.0.1:5672; unreachable: the section is skipped, reported),
 * BENCH_MSG_N (M, default 20,000; smoke 2,000), BENCH_MSG_PREFETCH (the service's BROKER_PREFETCH
 * and the HTTP connections of the throughput case; default 100, the service's), BENCH_MSG_BACKLOG
 * (B, default 50,000; smoke 5,000), BENCH_MSG_PG=0 (memory mode only), BENCH_PG_URL (as the PostgreSQL section: the section
 * makes payments_msgbench_<pid> and drops it), BENCH_SERVER_NODE_ARGS (extra node flags of the
 * service, e.g. --cpu-prof --cpu-prof-dir=.scratch/prof). Every queue and exchange of the
 * section's prefixes is deleted at the end. Alone, the results go to bench/results/messaging.json.
 */
import { Histogram, histogramDelta, histogramOf, metricValue, parseMetrics, Sample } from './metrics-text';
import amqplib, { Channel, ChannelModel, ConfirmChannel } from 'amqplib';
import autocannon from 'autocannon';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'pg';
import { brokerNames, BrokerNames } from '../src/messaging/topology';
import { freePort, ServiceProcess, waitUntil } from '../test/service-process';
import { compiled, serviceNodeFlags } from './build';
import { int, ms, ratio, table } from './format';
import { PG_DEFAULT_URL } from './pg-database';
import { CpuProbe, distribution, Distribution, hasTaskset, machineInfo, pinSelf, runQueueWaitMs } from './measure';

export const BROKER_DEFAULT_URL = 'amqp://guest:guest@127.0.0.1:5672';
/** The service's default BROKER_PREFETCH (BENCH_MSG_PREFETCH overrides it): the HTTP side gets as many connections. */
const PREFETCH = 100;

const wallNow = () => performance.timeOrigin + performance.now();

// ---------------------------------------------------------------------------- settings and results

interface MsgSettings {
  m: number;
  /** BROKER_PREFETCH of the service, and the HTTP connections of the throughput case */
  prefetch: number;
  warmup: number;
  backlog: number;
  e2eRate: number;
  e2eS: number;
  outRate: number;
  outS: number;
  getRate: number;
  getBaselineS: number;
}

function settings(smoke: boolean): MsgSettings {
  const m = Number(process.env.BENCH_MSG_N ?? (smoke ? 2_000 : 20_000));
  const prefetch = Number(process.env.BENCH_MSG_PREFETCH ?? PREFETCH);
  if (!Number.isInteger(prefetch) || prefetch < 1 || prefetch > 10_000) throw new Error(`BENCH_MSG_PREFETCH must be an integer in 1..10000, not ${process.env.BENCH_MSG_PREFETCH}`);
  return {
    m,
    prefetch,
    warmup: Math.min(m, smoke ? 1_000 : 5_000),
    backlog: Number(process.env.BENCH_MSG_BACKLOG ?? (smoke ? 5_000 : 50_000)),
    e2eRate: 1_000,
    e2eS: smoke ? 2 : 10,
    outRate: 1_000,
    outS: smoke ? 2 : 10,
    getRate: 500,
    getBaselineS: smoke ? 2 : 5,
  };
}

export interface Cpu {
  servicePct: number;
  /** % of the time the service's main thread was runnable but had no CPU (other processes held its core) */
  serviceWaitPct: number | undefined;
  /** the longest event-loop delay the service reported (nodejs_eventloop_lag_max_seconds) over the scrapes of the run */
  serviceLagMaxMs: number | undefined;
  rabbitPct: number;
  postgresPct: number;
  benchPct: number;
  otherPct: number | undefined;
}

export interface RateRun {
  messages: number;
  /** messages per second: HTTP over the autocannon run; broker over the drain after publishing */
  rate: number;
  /** broker: messages per second from the first publish to the last ack */
  overallRate?: number;
  /** broker: messages still waiting (not yet acknowledged) when the publishing ended */
  backlogAtPublishEnd?: number;
  publishS?: number;
  durationS: number;
  p50?: number;
  p99?: number;
  cpu: Cpu;
  /** PostgreSQL mode: the writer's transactions over the run */
  commits?: Commits;
}

export interface Commits {
  transactions: number;
  meanBatch: number;
  meanCommitMs: number;
}

export interface PathPair {
  http: RateRun;
  broker: RateRun;
  /** broker rate / HTTP rate */
  ratio: number;
}

/** e2e's HTTP reference: POST /payments at the same steady rate (open loop), each timed to its 201 and to the poller. */
export interface E2eHttp {
  rate: number;
  /** the sending rate achieved (the last request sent) */
  achievedRate: number;
  sent: number;
  /** sending -> its 201 (read-your-writes: readable on this instance then; PostgreSQL: after the commit) */
  postTo201: Distribution;
  /** sending -> the search answer that first listed it (the same poller as the broker's) */
  postToSeen: Distribution;
  /** sending -> the payment's createdAt */
  postToCommand: Distribution;
  /** the most requests in flight at once */
  maxInFlight: number;
  polls: number;
  pollRttMs: number;
  cpu: Cpu;
}

export interface ModeResults {
  mode: 'memory' | 'postgres';
  prefix: string;
  database?: string;
  bootMs: number;
  creates: PathPair;
  events: PathPair;
  e2e: {
    rate: number;
    achievedRate: number;
    published: number;
    latency: Distribution;
    /** publish -> the payment's createdAt (delivery, the wait behind the prefetch, parsing) */
    publishToCommand: Distribution;
    /** createdAt -> the search answer that listed it (the command, the poll's round trip) */
    commandToSeen: Distribution;
    polls: number;
    pollRttMs: number;
    cpu: Cpu;
    /** the HTTP reference of the same run: POST /payments at the same rate for the same time */
    http: E2eHttp;
    /** broker publish -> visible p99 / HTTP POST -> 201 p99 */
    p99Ratio: number;
  };
  outbound: {
    rate: number;
    achievedRate: number;
    writes: number;
    received: number;
    latency: Distribution;
    histogram: { count: number; p50Le: number; p99Le: number; meanMs: number };
    cpu: Cpu;
  };
  backpressure: {
    backlog: number;
    getRate: number;
    baseline: Distribution & { errors: number };
    baselineCpu: Cpu;
    draining: Distribution & { errors: number };
    publishS: number;
    waitingAtPublishEnd: number;
    drainS: number;
    drainRate: number;
    cpu: Cpu;
  };
  metrics: Record<string, number>;
}

export interface MessagingResults {
  skipped?: string;
  brokerUrl: string;
  settings?: MsgSettings;
  pinned?: boolean;
  durationS?: number;
  modes?: ModeResults[];
  pgSkipped?: string;
}

// ---------------------------------------------------------------------------- small helpers

function redact(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@');
}

const agent = new Agent({ keepAlive: true, maxSockets: 64 });

/** One HTTP request over the kept-alive agent (or `via`): status and body. */
function call(url: string, method = 'GET', body?: string, via: Agent = agent): Promise<{ status: number; body: string }> {
  return new Promise((resolvePromise, reject) => {
    const req = httpRequest(url, { method, agent: via, headers: body === undefined ? {} : { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => (text += chunk));
      res.on('end', () => resolvePromise({ status: res.statusCode ?? 0, body: text }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Pids of processes whose command name is `comm` (RabbitMQ's beam.smp, postgres), for their CPU. */
function pidsOf(comm: string): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === comm) out.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** CPU of the service, RabbitMQ, PostgreSQL (every postgres process), this process and the rest, % of one core. */
function meter(service: Service): () => Cpu {
  const rabbit = pidsOf('beam.smp');
  const postgres = pidsOf('postgres');
  const probe = new CpuProbe([service.pid, ...rabbit, ...postgres]);
  const wait0 = runQueueWaitMs(service.pid);
  service.lagMaxMs = undefined;
  return () => {
    const c = probe.stop();
    const wait1 = runQueueWaitMs(service.pid);
    const sum = (from: number, to: number) => c.childrenPct.slice(from, to).reduce((a, b) => a + b, 0);
    return {
      servicePct: c.childrenPct[0],
      serviceWaitPct: wait0 === undefined || wait1 === undefined ? undefined : ((wait1 - wait0) / c.wallMs) * 100,
      serviceLagMaxMs: service.lagMaxMs,
      rabbitPct: sum(1, 1 + rabbit.length),
      postgresPct: sum(1 + rabbit.length, c.childrenPct.length),
      benchPct: c.selfPct,
      otherPct: c.otherPct,
    };
  };
}

// ---------------------------------------------------------------------------- /metrics

type Samples = Sample[];

/** The sum of a series over its label sets (a subset of labels given). */
const total = metricValue;

/** Upper bound of the bucket holding quantile q. */
function bucketOf(h: Histogram, q: number): number {
  return h.buckets.find(([, c]) => c >= q * h.count)?.[0] ?? NaN;
}

/** The writer's transactions between two scrapes (PostgreSQL mode; undefined without any). */
function commitsBetween(before: Samples, after: Samples): Commits | undefined {
  const d = (name: string) => total(after, name) - total(before, name);
  const transactions = d('payments_commit_batch_size_count');
  if (transactions <= 0) return undefined;
  return {
    transactions,
    meanBatch: d('payments_commit_batch_size_sum') / transactions,
    meanCommitMs: (d('payments_commit_duration_seconds_sum') / Math.max(1, d('payments_commit_duration_seconds_count'))) * 1000,
  };
}

// ---------------------------------------------------------------------------- the service process

class Service extends ServiceProcess {
  /** The largest nodejs_eventloop_lag_max_seconds (ms) of the scrapes since `meter` reset it. */
  lagMaxMs: number | undefined;

  /** The build's src/main.ts with the production flags, once /health/ready answers 200; its last 20 kB of output kept. */
  static async start(env: Record<string, string>, core: number | undefined): Promise<Service> {
    const port = await freePort();
    const extra = (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean);
    const service = new Service(port, {
      nodeArgs: [...serviceNodeFlags(), ...extra, compiled('src/main.ts')],
      env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: String(port), LOG_LEVEL: 'warn', CACHE_TTL_SECONDS: '0', ...env },
      core,
      keepLast: 20_000,
    });
    await waitUntil(service, '/health/ready', { timeoutMs: 120_000 });
    return service;
  }

  async metrics(): Promise<Samples> {
    const r = await call(`${this.url}/metrics`);
    if (r.status !== 200) throw new Error(`GET /metrics answered ${r.status}`);
    const samples = parseMetrics(r.body);
    const lag = samples.find((x) => x.name === 'nodejs_eventloop_lag_max_seconds');
    if (lag !== undefined) this.lagMaxMs = Math.max(this.lagMaxMs ?? 0, lag.value * 1000);
    return samples;
  }

  /** SIGTERM, SIGKILL after 15 s. */
  override stop(): Promise<void> {
    return super.stop(15_000);
  }
}

// ---------------------------------------------------------------------------- the bench's side of the broker

class Broker {
  readonly names: BrokerNames;
  readonly eventsQueue: string;
  #connection!: ChannelModel;
  #publisher!: ConfirmChannel;
  #reader!: Channel;

  private constructor(
    readonly url: string,
    readonly prefix: string,
  ) {
    this.names = brokerNames(prefix);
    this.eventsQueue = `${prefix}.bench-events`;
  }

  static async open(url: string, prefix: string): Promise<Broker> {
    const b = new Broker(url, prefix);
    b.#connection = await amqplib.connect(url);
    b.#connection.on('error', () => undefined);
    b.#publisher = await b.#connection.createConfirmChannel();
    b.#publisher.on('error', () => undefined);
    b.#reader = await b.#connection.createChannel();
    b.#reader.on('error', () => undefined);
    return b;
  }

  /** Until the service has declared the command queue and consumes it. */
  async waitForConsumer(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const channel = await this.#connection.createChannel();
      channel.on('error', () => undefined);
      const found = await channel.checkQueue(this.names.commandsQueue).catch(() => undefined);
      await channel.close().catch(() => undefined);
      if (found !== undefined && found.consumerCount > 0) return;
      if (Date.now() > deadline) throw new Error(`no consumer on ${this.names.commandsQueue} after ${timeoutMs / 1000} s`);
      await sleep(50);
    }
  }

  /** One command (prebuilt CloudEvent body); false: the socket is full, wait for drain(). */
  publish(type: string, content: Buffer): boolean {
    return this.#publisher.publish(this.names.commands, type, content, { persistent: true, contentType: 'application/cloudevents+json' });
  }

  drain(): Promise<void> {
    return new Promise((done) => this.#publisher.once('drain', () => done()));
  }

  confirmed(): Promise<void> {
    return this.#publisher.waitForConfirms();
  }

  /** Publishes every message as fast as the socket takes them, then waits for every confirm. */
  async publishAll(messages: { type: string; content: Buffer }[]): Promise<void> {
    for (const m of messages) if (!this.publish(m.type, m.content)) await this.drain();
    await this.confirmed();
  }

  /** A queue of the bench's own on the events exchange: `onMessage(body, receivedAt)`. */
  async subscribe(onMessage: (body: string, at: number) => void): Promise<() => Promise<void>> {
    await this.#reader.assertExchange(this.names.events, 'topic', { durable: true });
    await this.#reader.assertQueue(this.eventsQueue, { durable: false, exclusive: true, autoDelete: true });
    await this.#reader.bindQueue(this.eventsQueue, this.names.events, '#');
    const { consumerTag } = await this.#reader.consume(this.eventsQueue, (m) => m && onMessage(m.content.toString('utf8'), wallNow()), { noAck: true });
    return async () => {
      await this.#reader.cancel(consumerTag).catch(() => undefined);
      await this.#reader.deleteQueue(this.eventsQueue).catch(() => undefined);
    };
  }

  async waiting(): Promise<number> {
    return (await this.#reader.checkQueue(this.names.commandsQueue)).messageCount;
  }

  /** Deletes the prefix's queues and exchanges (the service's and the bench's). */
  async remove(): Promise<void> {
    const channel = await this.#connection.createChannel().catch(() => undefined);
    if (channel) {
      channel.on('error', () => undefined);
      for (const q of [this.eventsQueue, this.names.commandsQueue, this.names.deadLetterQueue]) await channel.deleteQueue(q).catch(() => undefined);
      for (const e of [this.names.events, this.names.commands, this.names.deadLetter]) await channel.deleteExchange(e).catch(() => undefined);
    }
    await this.#connection.close().catch(() => undefined);
  }
}

// ---------------------------------------------------------------------------- bodies

/** The POST /payments body of the i-th payment of a run (the same fields as bench/http.ts postRequests). */
function createBody(prefix: string, i: number, organizationId: string): Record<string, unknown> {
  return {
    paymentId: `${prefix}${i}`,
    organizationId,
    userId: `user-${String(1 + (i % 10_000)).padStart(5, '0')}`,
    amount: 1 + (i % 1_000_000),
    currency: 'EUR',
    description: 'bench payment',
    metadata: { source: 'bench', batch: prefix },
  };
}

const eventBody = (prefix: string, i: number) => ({ type: 'PaymentProcessed', eventId: `ev-${prefix}${i}` });

/** CreatePayment as a processor publishes it: data = the POST /payments body, subject = the paymentId. */
function createMessage(prefix: string, i: number, organizationId: string): { type: string; content: Buffer } {
  const data = createBody(prefix, i, organizationId);
  const event = { specversion: '1.0', id: `c-${prefix}${i}`, source: '/bench/processor', type: 'CreatePayment', subject: data.paymentId, datacontenttype: 'application/json', data };
  return { type: 'CreatePayment', content: Buffer.from(JSON.stringify(event)) };
}

/** PaymentProcessed: data = the POST /payments/:id/events body minus type. */
function eventMessage(prefix: string, i: number): { type: string; content: Buffer } {
  const { type: _type, ...data } = eventBody(prefix, i);
  void _type;
  const event = { specversion: '1.0', id: `e-${prefix}${i}`, source: '/bench/processor', type: 'PaymentProcessed', subject: `${prefix}${i}`, datacontenttype: 'application/json', data };
  return { type: 'PaymentProcessed', content: Buffer.from(JSON.stringify(event)) };
}

// ---------------------------------------------------------------------------- cases

interface Ctx {
  s: MsgSettings;
  service: Service;
  broker: Broker;
  log: (msg: string) => void;
  mode: 'memory' | 'postgres';
}

const runId = () => randomBytes(3).toString('hex');

/** Waits until /metrics counts `target` acks of `type`; throws on a dead letter. Returns when it saw them (wall ms). */
async function ackedAt(ctx: Ctx, type: string, target: number, deadLettered0: number, timeoutMs = 300_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const m = await ctx.service.metrics();
    const at = wallNow();
    const dl = total(m, 'payments_messages_dead_lettered_total');
    if (dl > deadLettered0) throw new Error(`${ctx.mode}: ${dl - deadLettered0} message(s) dead-lettered during the bench:\n${ctx.service.output().slice(-3000)}`);
    if (total(m, 'payments_messages_acked_total', { type }) >= target) return at;
    if (Date.now() > deadline) throw new Error(`${ctx.mode}: ${type} acked ${total(m, 'payments_messages_acked_total', { type })} of ${target} after ${timeoutMs / 1000} s`);
    await sleep(100);
  }
}

/** M messages through the broker: published as fast as confirmed while the service consumes. */
async function brokerRun(ctx: Ctx, type: string, messages: { type: string; content: Buffer }[]): Promise<RateRun> {
  const m0 = await ctx.service.metrics();
  const acked0 = total(m0, 'payments_messages_acked_total', { type });
  const dl0 = total(m0, 'payments_messages_dead_lettered_total');
  const stop = meter(ctx.service);
  const t0 = wallNow();
  await ctx.broker.publishAll(messages);
  const tPub = wallNow();
  const ackedAtPub = total(await ctx.service.metrics(), 'payments_messages_acked_total', { type }) - acked0;
  const tEnd = await ackedAt(ctx, type, acked0 + messages.length, dl0);
  const cpu = stop();
  const commits = commitsBetween(m0, await ctx.service.metrics());
  const backlog = messages.length - ackedAtPub;
  return {
    messages: messages.length,
    rate: backlog / ((tEnd - tPub) / 1000),
    overallRate: messages.length / ((tEnd - t0) / 1000),
    backlogAtPublishEnd: backlog,
    publishS: (tPub - t0) / 1000,
    durationS: (tEnd - t0) / 1000,
    cpu,
    commits,
  };
}

/** The same commands over HTTP: autocannon, `connections` = the prefetch (BENCH_MSG_PREFETCH), exactly `amount` requests. */
async function httpRun(ctx: Ctx, label: string, amount: number, setupRequest: (req: autocannon.Request) => autocannon.Request): Promise<RateRun> {
  const m0 = await ctx.service.metrics();
  const stop = meter(ctx.service);
  const t0 = performance.now();
  const r = await autocannon({ url: ctx.service.url, connections: ctx.s.prefetch, pipelining: 1, amount, timeout: 60, method: 'POST', requests: [{ method: 'POST', setupRequest }] });
  // autocannon's own duration is whole seconds: the wall time of the run instead
  const durationS = (performance.now() - t0) / 1000;
  const m1 = await ctx.service.metrics();
  const cpu = stop();
  if (r.non2xx > 0 || r.errors > 0 || r.timeouts > 0 || r.requests.total !== amount) {
    throw new Error(`${ctx.mode} ${label}: ${r.requests.total} of ${amount} requests, ${r.non2xx} non-2xx (${JSON.stringify(r.statusCodeStats ?? {})}), ${r.errors} errors, ${r.timeouts} timeouts`);
  }
  const commits = commitsBetween(m0, m1);
  return { messages: amount, rate: amount / durationS, durationS, p50: r.latency.p50, p99: r.latency.p99, cpu, commits };
}

function httpCreates(prefix: string, organizationId: string): (req: autocannon.Request) => autocannon.Request {
  let k = 0;
  return (req) => ({ ...req, method: 'POST', path: '/payments', headers: { 'content-type': 'application/json' }, body: JSON.stringify(createBody(prefix, k++, organizationId)) });
}

function httpEvents(prefix: string): (req: autocannon.Request) => autocannon.Request {
  let k = 0;
  return (req) => {
    const i = k++;
    return { ...req, method: 'POST', path: `/payments/${prefix}${i}/events`, headers: { 'content-type': 'application/json' }, body: JSON.stringify(eventBody(prefix, i)) };
  };
}

function poolRuns(runs: RateRun[]): RateRun {
  const sum = (f: (r: RateRun) => number) => runs.reduce((a, r) => a + f(r), 0);
  const avg = (f: (r: RateRun) => number | undefined) => {
    const xs = runs.map(f).filter((x): x is number => x !== undefined);
    return xs.length === 0 ? undefined : xs.reduce((a, b) => a + b, 0) / xs.length;
  };
  const broker = runs[0].backlogAtPublishEnd !== undefined;
  const drainS = sum((r) => (r.backlogAtPublishEnd ?? 0) / r.rate);
  return {
    messages: sum((r) => r.messages),
    rate: broker ? sum((r) => r.backlogAtPublishEnd!) / drainS : sum((r) => r.messages) / sum((r) => r.durationS),
    overallRate: broker ? sum((r) => r.messages) / sum((r) => r.durationS) : undefined,
    backlogAtPublishEnd: broker ? sum((r) => r.backlogAtPublishEnd!) : undefined,
    publishS: broker ? sum((r) => r.publishS!) : undefined,
    durationS: sum((r) => r.durationS),
    p50: avg((r) => r.p50),
    p99: runs.some((r) => r.p99 !== undefined) ? Math.max(...runs.map((r) => r.p99 ?? 0)) : undefined,
    cpu: {
      servicePct: avg((r) => r.cpu.servicePct)!,
      serviceWaitPct: avg((r) => r.cpu.serviceWaitPct),
      serviceLagMaxMs: runs.some((r) => r.cpu.serviceLagMaxMs !== undefined) ? Math.max(...runs.map((r) => r.cpu.serviceLagMaxMs ?? 0)) : undefined,
      rabbitPct: avg((r) => r.cpu.rabbitPct)!,
      postgresPct: avg((r) => r.cpu.postgresPct)!,
      benchPct: avg((r) => r.cpu.benchPct)!,
      otherPct: avg((r) => r.cpu.otherPct),
    },
    commits: runs.every((r) => r.commits !== undefined)
      ? {
          transactions: sum((r) => r.commits!.transactions),
          meanBatch: sum((r) => r.commits!.meanBatch * r.commits!.transactions) / sum((r) => r.commits!.transactions),
          meanCommitMs: sum((r) => r.commits!.meanCommitMs * r.commits!.transactions) / sum((r) => r.commits!.transactions),
        }
      : undefined,
  };
}

/** Creates then events, broker and HTTP, mirrored after a warm-up of each. */
async function throughputCase(ctx: Ctx): Promise<{ creates: PathPair; events: PathPair }> {
  const org = `org-msg-tp-${ctx.mode}`;
  const one = async (path: 'http' | 'broker', m: number, warm = false) => {
    const prefix = `msg-${path}-${runId()}-`;
    if (path === 'http') {
      const c = await httpRun(ctx, 'POST /payments', m, httpCreates(prefix, org));
      const e = await httpRun(ctx, 'POST /payments/:id/events', m, httpEvents(prefix));
      if (!warm) ctx.log(`${ctx.mode}: HTTP ${int(c.rate)} creates/s, ${int(e.rate)} events/s`);
      return { c, e, prefix };
    }
    const creates = Array.from({ length: m }, (_, i) => createMessage(prefix, i, org));
    const events = Array.from({ length: m }, (_, i) => eventMessage(prefix, i));
    const c = await brokerRun(ctx, 'CreatePayment', creates);
    const e = await brokerRun(ctx, 'PaymentProcessed', events);
    if (!warm) {
      ctx.log(
        `${ctx.mode}: broker ${int(c.rate)} creates/s drained (${int(c.overallRate!)} from the first publish; ${int(c.backlogAtPublishEnd!)} waiting after ${c.publishS!.toFixed(1)} s of publishing), ` +
          `${int(e.rate)} events/s drained (${int(e.overallRate!)}; ${int(e.backlogAtPublishEnd!)} waiting)`,
      );
    }
    return { c, e, prefix };
  };
  ctx.log(`${ctx.mode}: throughput warm-up, ${int(ctx.s.warmup)} creates + events per path`);
  await one('http', ctx.s.warmup, true);
  await one('broker', ctx.s.warmup, true);
  const runs = { http: [] as { c: RateRun; e: RateRun }[], broker: [] as { c: RateRun; e: RateRun }[] };
  for (const path of ['http', 'broker', 'broker', 'http'] as const) {
    ctx.log(`${ctx.mode}: ${int(ctx.s.m)} creates then ${int(ctx.s.m)} events, ${path}`);
    const r = await one(path, ctx.s.m);
    runs[path].push(r);
    // every event of the run was applied: the last payment of the run is completed
    const last = await call(`${ctx.service.url}/payments/${r.prefix}${ctx.s.m - 1}`);
    if (last.status !== 200 || JSON.parse(last.body).status !== 'completed') throw new Error(`${ctx.mode} ${path}: ${r.prefix}${ctx.s.m - 1} reads ${last.status} ${last.body}`);
  }
  const pair = (f: (r: { c: RateRun; e: RateRun }) => RateRun): PathPair => {
    const http = poolRuns(runs.http.map(f));
    const broker = poolRuns(runs.broker.map(f));
    return { http, broker, ratio: broker.rate / http.rate };
  };
  return { creates: pair((r) => r.c), events: pair((r) => r.e) };
}

/** Publishes `make(i)` at `rate` per second for `seconds`; `onPublish(i, wall ms)` before each. */
async function publishAtRate(ctx: Ctx, rate: number, seconds: number, make: (i: number) => { type: string; content: Buffer }, onPublish: (i: number, at: number) => void): Promise<number> {
  const count = Math.round(rate * seconds);
  const t0 = performance.now();
  let sent = 0;
  while (sent < count) {
    const due = Math.min(count, Math.floor(((performance.now() - t0) * rate) / 1000) + 1);
    while (sent < due) {
      const m = make(sent);
      onPublish(sent, wallNow());
      if (!ctx.broker.publish(m.type, m.content)) await ctx.broker.drain();
      sent++;
    }
    await sleep(1);
  }
  await ctx.broker.confirmed();
  return count / ((performance.now() - t0) / 1000);
}

/** The HTTP reference's agent: enough sockets that the open loop never queues in the bench (the e2e poller keeps the other agent). */
const writeAgent = new Agent({ keepAlive: true, maxSockets: 1024 });

/**
 * POST /payments of `prefix`/`organizationId` at `rate` per second for `seconds`, open loop (sent
 * when due whatever is still in flight); `onSend(i, wall ms)` just before each, `onAnswer(i, wall
 * ms)` when its 201 has been read. Every answer must be 201. Returns the sending rate achieved.
 */
async function postAtRate(
  ctx: Ctx,
  rate: number,
  seconds: number,
  prefix: string,
  organizationId: string,
  onSend: (i: number, at: number) => void,
  onAnswer: (i: number, at: number) => void,
): Promise<{ achievedRate: number; maxInFlight: number }> {
  const count = Math.round(rate * seconds);
  const inFlight = new Set<Promise<void>>();
  let maxInFlight = 0;
  let failure: string | undefined;
  const t0 = performance.now();
  let sent = 0;
  while (sent < count) {
    const due = Math.min(count, Math.floor(((performance.now() - t0) * rate) / 1000) + 1);
    while (sent < due) {
      const i = sent++;
      const body = JSON.stringify(createBody(prefix, i, organizationId));
      onSend(i, wallNow());
      const p = call(`${ctx.service.url}/payments`, 'POST', body, writeAgent).then(
        (r) => {
          if (r.status === 201) onAnswer(i, wallNow());
          else failure ??= `${prefix}${i}: ${r.status} ${r.body.slice(0, 300)}`;
        },
        (e) => void (failure ??= `${prefix}${i}: ${String(e)}`),
      );
      inFlight.add(p);
      void p.finally(() => inFlight.delete(p));
      maxInFlight = Math.max(maxInFlight, inFlight.size);
    }
    await sleep(1);
  }
  const achievedRate = count / ((performance.now() - t0) / 1000);
  await Promise.all([...inFlight]);
  if (failure !== undefined) throw new Error(`${ctx.mode} e2e HTTP reference: POST /payments did not answer 201 (${failure})`);
  return { achievedRate, maxInFlight };
}

/**
 * CreatePayment at a steady rate -> visible in GET /payments/search (polled back to back); and the
 * HTTP reference of the same run: POST /payments at the same rate for the same time, timed to the
 * 201 and to the same poller.
 */
async function e2eCase(ctx: Ctx): Promise<ModeResults['e2e']> {
  const run = async (seconds: number, via: 'broker' | 'http') => {
    const org = `org-msg-e2e-${via}-${runId()}`;
    const prefix = `e2e-${via}-${runId()}-`;
    const publishedAt = new Map<string, number>();
    const seenAt = new Map<string, number>();
    /** when the command ran (the service stamps createdAt then): splits the latency in two */
    const createdAt = new Map<string, number>();
    /** HTTP: sending -> its 201 */
    const answered: number[] = [];
    let publishing = true;
    let polls = 0;
    let rtt = 0;
    let pollDeadline = Infinity;
    let pollError: unknown;
    const order: string[] = [];
    let oldest = 0; // order[oldest]: the first published payment not seen yet
    const poller = (async () => {
      while (publishing || (seenAt.size < publishedAt.size && Date.now() < pollDeadline)) {
        if (!publishing && pollDeadline === Infinity) pollDeadline = Date.now() + 30_000;
        while (oldest < order.length && seenAt.has(order[oldest])) oldest++;
        if (oldest === order.length) {
          await sleep(1);
          continue;
        }
        // every payment not seen yet was created after its publish: search from the oldest
        // such publish (createdAt >= from), every page. createdAt is stamped when the command
        // runs and the prefetch runs them side by side: a payment may land behind one seen already.
        const from = new Date(Math.floor(publishedAt.get(order[oldest])!) - 1).toISOString();
        let cursor: string | null = null;
        for (let page = 0; page < 50; page++) {
          const sent = performance.now();
          const r = await call(`${ctx.service.url}/payments/search?organizationId=${org}&from=${from}&size=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
          const at = wallNow();
          polls++;
          rtt += performance.now() - sent;
          if (r.status !== 200) throw new Error(`${ctx.mode} e2e: search answered ${r.status} ${r.body}`);
          const answer = JSON.parse(r.body) as { items: { paymentId: string; createdAt: string }[]; nextCursor: string | null };
          for (const p of answer.items) {
            if (seenAt.has(p.paymentId)) continue;
            seenAt.set(p.paymentId, at);
            createdAt.set(p.paymentId, Date.parse(p.createdAt));
          }
          cursor = answer.nextCursor;
          if (cursor === null) break;
        }
        await sleep(1);
      }
    })().catch((e) => void (pollError = e));
    await ctx.service.metrics(); // the service's event-loop lag restarts from here
    const stop = meter(ctx.service);
    const onSend = (i: number, at: number) => {
      publishedAt.set(`${prefix}${i}`, at);
      order.push(`${prefix}${i}`);
    };
    let achieved: number;
    let maxInFlight = 0;
    try {
      if (via === 'broker') achieved = await publishAtRate(ctx, ctx.s.e2eRate, seconds, (i) => createMessage(prefix, i, org), onSend);
      else {
        const r = await postAtRate(ctx, ctx.s.e2eRate, seconds, prefix, org, onSend, (i, at) => answered.push(at - publishedAt.get(`${prefix}${i}`)!));
        achieved = r.achievedRate;
        maxInFlight = r.maxInFlight;
      }
    } finally {
      publishing = false;
    }
    await poller;
    if (pollError !== undefined) throw pollError;
    await ctx.service.metrics();
    const cpu = stop();
    const latency: number[] = [];
    const toCommand: number[] = [];
    const toVisible: number[] = [];
    for (const [id, at] of publishedAt) {
      const seen = seenAt.get(id);
      if (seen === undefined) {
        const one = await call(`${ctx.service.url}/payments/${id}`);
        const dl = total(await ctx.service.metrics(), 'payments_messages_dead_lettered_total');
        throw new Error(`${ctx.mode} e2e (${via}): ${id} never showed in search within 30 s (${seenAt.size} of ${publishedAt.size} seen; GET: ${one.status} ${one.body}; dead-lettered ${dl})`);
      }
      latency.push(seen - at);
      toCommand.push(createdAt.get(id)! - at);
      toVisible.push(seen - createdAt.get(id)!);
    }
    return {
      achievedRate: achieved,
      published: publishedAt.size,
      latency: distribution(latency),
      publishToCommand: distribution(toCommand),
      commandToSeen: distribution(toVisible),
      answered: distribution(answered),
      maxInFlight,
      polls,
      pollRttMs: rtt / polls,
      cpu,
    };
  };
  const rate = ctx.s.e2eRate;
  ctx.log(`${ctx.mode}: end to end, warm-up 1 s, broker then HTTP`);
  await run(1, 'broker');
  await run(1, 'http');
  ctx.log(`${ctx.mode}: end to end, ${int(rate)} CreatePayment/s for ${ctx.s.e2eS} s -> GET /payments/search`);
  const b = await run(ctx.s.e2eS, 'broker');
  ctx.log(`${ctx.mode}: end to end p50 ${ms(b.latency.p50)} / p99 ${ms(b.latency.p99)} ms`);
  ctx.log(`${ctx.mode}: end to end, HTTP reference: ${int(rate)} POST /payments/s for ${ctx.s.e2eS} s -> 201, GET /payments/search`);
  const h = await run(ctx.s.e2eS, 'http');
  if (h.answered.n !== h.published) throw new Error(`${ctx.mode} e2e HTTP reference: ${h.answered.n} of ${h.published} answered`);
  const http: E2eHttp = {
    rate,
    achievedRate: h.achievedRate,
    sent: h.published,
    postTo201: h.answered,
    postToSeen: h.latency,
    postToCommand: h.publishToCommand,
    maxInFlight: h.maxInFlight,
    polls: h.polls,
    pollRttMs: h.pollRttMs,
    cpu: h.cpu,
  };
  const p99Ratio = b.latency.p99 / http.postTo201.p99;
  ctx.log(
    `${ctx.mode}: HTTP POST -> 201 p50 ${ms(http.postTo201.p50)} / p99 ${ms(http.postTo201.p99)} ms, -> seen p99 ${ms(http.postToSeen.p99)} ms (${http.maxInFlight} in flight at most); ` +
      `broker publish -> visible p99 ${ratio(p99Ratio)} HTTP's POST -> 201 p99`,
  );
  return {
    rate,
    achievedRate: b.achievedRate,
    published: b.published,
    latency: b.latency,
    publishToCommand: b.publishToCommand,
    commandToSeen: b.commandToSeen,
    polls: b.polls,
    pollRttMs: b.pollRttMs,
    cpu: b.cpu,
    http,
    p99Ratio,
  };
}

/** POST /payments at a steady rate; the subscriber times each PaymentCreated against its `time`. */
async function outboundCase(ctx: Ctx): Promise<ModeResults['outbound']> {
  const run = async (seconds: number) => {
    const prefix = `out-${runId()}-`;
    const writes = Math.round(ctx.s.outRate * seconds);
    const latency: number[] = [];
    const stopSub = await ctx.broker.subscribe((body, at) => {
      const e = JSON.parse(body) as { type: string; subject: string; time: string };
      if (e.type === 'PaymentCreated' && e.subject.startsWith(prefix)) latency.push(at - Date.parse(e.time));
    });
    try {
      const h0 = histogramOf(await ctx.service.metrics(), 'payments_events_publish_latency_seconds');
      const stop = meter(ctx.service);
      const t0 = performance.now();
      const r = await autocannon({
        url: ctx.service.url,
        connections: 20,
        pipelining: 1,
        amount: writes,
        overallRate: ctx.s.outRate,
        method: 'POST',
        requests: [{ method: 'POST', setupRequest: httpCreates(prefix, `org-msg-out-${ctx.mode}`) }],
      });
      const writeS = (performance.now() - t0) / 1000;
      if (r.non2xx > 0 || r.errors > 0 || r.requests.total !== writes) throw new Error(`${ctx.mode} outbound: ${r.requests.total} of ${writes}, ${r.non2xx} non-2xx, ${r.errors} errors`);
      const deadline = Date.now() + 30_000;
      while (latency.length < writes && Date.now() < deadline) await sleep(20);
      const h1 = histogramOf(await ctx.service.metrics(), 'payments_events_publish_latency_seconds');
      const cpu = stop();
      if (latency.length < writes) throw new Error(`${ctx.mode} outbound: ${latency.length} of ${writes} PaymentCreated received within 30 s`);
      const h = histogramDelta(h1, h0);
      return {
        rate: ctx.s.outRate,
        achievedRate: writes / writeS,
        writes,
        received: latency.length,
        latency: distribution(latency),
        histogram: { count: h.count, p50Le: bucketOf(h, 0.5) * 1000, p99Le: bucketOf(h, 0.99) * 1000, meanMs: (h.sum / h.count) * 1000 },
        cpu,
      };
    } finally {
      await stopSub();
    }
  };
  ctx.log(`${ctx.mode}: outbound, warm-up 1 s`);
  await run(1);
  ctx.log(`${ctx.mode}: outbound, ${int(ctx.s.outRate)} POST /payments/s for ${ctx.s.outS} s -> subscriber`);
  const r = await run(ctx.s.outS);
  ctx.log(`${ctx.mode}: outbound p50 ${ms(r.latency.p50)} / p99 ${ms(r.latency.p99)} ms; histogram p99 <= ${ms(r.histogram.p99Le)} ms`);
  return r;
}

/** GET /payments/:id at a steady rate (open loop) until `done()`; latencies in ms. */
async function getLoad(ctx: Ctx, paths: string[], rate: number, done: () => boolean): Promise<Distribution & { errors: number }> {
  const latency: number[] = [];
  let errors = 0;
  const inFlight = new Set<Promise<void>>();
  const t0 = performance.now();
  let sent = 0;
  while (!done()) {
    const due = Math.floor(((performance.now() - t0) * rate) / 1000) + 1;
    while (sent < due) {
      const path = paths[sent++ % paths.length];
      const start = performance.now();
      const p = call(`${ctx.service.url}${path}`).then(
        (r) => {
          if (r.status === 200) latency.push(performance.now() - start);
          else errors++;
        },
        () => void errors++,
      );
      inFlight.add(p);
      void p.finally(() => inFlight.delete(p));
    }
    await sleep(1);
  }
  await Promise.all([...inFlight]);
  return { ...distribution(latency), errors };
}

async function backpressureCase(ctx: Ctx, paths: string[]): Promise<ModeResults['backpressure']> {
  const { backlog, getRate, getBaselineS } = ctx.s;
  ctx.log(`${ctx.mode}: backpressure, GET /payments/:id at ${getRate}/s for ${getBaselineS} s, no backlog`);
  let until = performance.now() + getBaselineS * 1000;
  await ctx.service.metrics(); // the service's event-loop lag restarts from here
  const stopBaseline = meter(ctx.service);
  const baseline = await getLoad(ctx, paths, getRate, () => performance.now() > until);
  await ctx.service.metrics();
  const baselineCpu = stopBaseline();
  const prefix = `bp-${runId()}-`;
  const messages = Array.from({ length: backlog }, (_, i) => createMessage(prefix, i, `org-msg-bp-${ctx.mode}`));
  const m0 = await ctx.service.metrics();
  const acked0 = total(m0, 'payments_messages_acked_total', { type: 'CreatePayment' });
  const dl0 = total(m0, 'payments_messages_dead_lettered_total');
  ctx.log(`${ctx.mode}: backpressure, publishing ${int(backlog)} CreatePayment`);
  const stop = meter(ctx.service);
  const t0 = wallNow();
  await ctx.broker.publishAll(messages);
  const tPub = wallNow();
  const waitingAtPublishEnd = backlog - (total(await ctx.service.metrics(), 'payments_messages_acked_total', { type: 'CreatePayment' }) - acked0);
  let drainedAt = NaN;
  const drained = ackedAt(ctx, 'CreatePayment', acked0 + backlog, dl0).then((at) => void (drainedAt = at));
  let finished = false;
  void drained.finally(() => (finished = true)).catch(() => undefined);
  until = performance.now() + 1000; // at least a second of GETs, should the backlog be gone already
  const draining = await getLoad(ctx, paths, getRate, () => finished && performance.now() > until);
  await drained;
  const cpu = stop();
  ctx.log(
    `${ctx.mode}: backpressure, GET p99 ${ms(draining.p99)} ms while ${int(waitingAtPublishEnd)} drained in ${((drainedAt - tPub) / 1000).toFixed(1)} s, ${ms(baseline.p99)} ms without`,
  );
  return {
    backlog,
    getRate,
    baseline,
    baselineCpu,
    draining,
    publishS: (tPub - t0) / 1000,
    waitingAtPublishEnd,
    drainS: (drainedAt - tPub) / 1000,
    drainRate: waitingAtPublishEnd / ((drainedAt - tPub) / 1000),
    cpu,
  };
}

function metricsSummary(m: Samples): Record<string, number> {
  return {
    consumed: total(m, 'payments_messages_consumed_total'),
    acked: total(m, 'payments_messages_acked_total'),
    retried: total(m, 'payments_messages_retried_total'),
    deadLettered: total(m, 'payments_messages_dead_lettered_total'),
    published: total(m, 'payments_events_published_total'),
    outboxBacklog: total(m, 'payments_outbox_backlog'),
    outboxDropped: total(m, 'payments_outbox_dropped_total'),
  };
}

async function runMode(o: { mode: 'memory' | 'postgres'; s: MsgSettings; brokerUrl: string; databaseUrl?: string; database?: string; core?: number; log: (msg: string) => void }): Promise<ModeResults> {
  const prefix = `bench-msg-${process.pid}-${runId()}-${o.mode === 'memory' ? 'mem' : 'pg'}`;
  const broker = await Broker.open(o.brokerUrl, prefix);
  let service: Service | undefined;
  try {
    const t0 = performance.now();
    service = await Service.start({ BROKER_URL: o.brokerUrl, BROKER_PREFIX: prefix, BROKER_PREFETCH: String(o.s.prefetch), ...(o.databaseUrl ? { DATABASE_URL: o.databaseUrl } : {}) }, o.core);
    await broker.waitForConsumer();
    const bootMs = performance.now() - t0;
    o.log(`${o.mode}: service ready in ${(bootMs / 1000).toFixed(1)} s (BROKER_PREFIX ${prefix}${o.database ? `, database ${o.database}` : ''})`);
    const ctx: Ctx = { s: o.s, service, broker, log: o.log, mode: o.mode };
    const { creates, events } = await throughputCase(ctx);
    const e2e = await e2eCase(ctx);
    const outbound = await outboundCase(ctx);
    // the payments of the first throughput runs: 64 of them, spread
    const search = await call(`${service.url}/payments/search?organizationId=org-msg-tp-${o.mode}&size=100`);
    const paths = (JSON.parse(search.body) as { items: { paymentId: string }[] }).items.slice(0, 64).map((p) => `/payments/${p.paymentId}`);
    if (paths.length === 0) throw new Error(`${o.mode}: no payment to GET`);
    const backpressure = await backpressureCase(ctx, paths);
    // the outbox empties once the last events are confirmed
    let metrics = metricsSummary(await service.metrics());
    for (let i = 0; i < 100 && metrics.outboxBacklog > 0; i++) {
      await sleep(100);
      metrics = metricsSummary(await service.metrics());
    }
    return { mode: o.mode, prefix, database: o.database, bootMs, creates, events, e2e, outbound, backpressure, metrics };
  } finally {
    await service?.stop();
    await broker.remove();
    o.log(`${o.mode}: service stopped, ${prefix}.* deleted`);
  }
}

// ---------------------------------------------------------------------------- the section

export async function messagingSection(o: { smoke: boolean; pinned: boolean; log: (msg: string) => void }): Promise<MessagingResults> {
  const brokerUrl = process.env.BENCH_BROKER_URL ?? BROKER_DEFAULT_URL;
  const shown = redact(brokerUrl);
  const flag = process.env.BENCH_MESSAGING;
  if (flag === '0') return { skipped: 'BENCH_MESSAGING=0', brokerUrl: shown };
  if (o.smoke && flag !== '1') return { skipped: 'a smoke run; BENCH_MESSAGING=1 runs it', brokerUrl: shown };
  try {
    const c = await amqplib.connect(brokerUrl, { timeout: 5000 });
    await c.close();
  } catch (e) {
    const reason = e instanceof Error ? e.message || String(e) : String(e);
    o.log(`messaging section skipped: cannot reach a broker at ${shown} (${reason})`);
    return { skipped: `no broker reachable at ${shown}: ${reason}`, brokerUrl: shown };
  }
  const started = performance.now();
  const s = settings(o.smoke);
  const core = o.pinned ? 0 : undefined;
  o.log(`messaging section: broker ${shown}; M = ${int(s.m)}, backlog ${int(s.backlog)}, BROKER_PREFETCH ${s.prefetch}`);
  const modes: ModeResults[] = [];
  modes.push(await runMode({ mode: 'memory', s, brokerUrl, core, log: o.log }));

  let pgSkipped: string | undefined;
  const base = process.env.BENCH_PG_URL ?? PG_DEFAULT_URL;
  if (process.env.BENCH_MSG_PG === '0') pgSkipped = 'BENCH_MSG_PG=0';
  else {
    const admin = new Client({ connectionString: base, connectionTimeoutMillis: 5000 });
    try {
      await admin.connect();
    } catch (e) {
      pgSkipped = `PostgreSQL unreachable at ${redact(base)}: ${e instanceof Error ? e.message : String(e)}`;
    }
    if (pgSkipped === undefined) {
      const db = `payments_msgbench_${process.pid}`;
      const url = new URL(base);
      url.pathname = `/${db}`;
      try {
        await admin.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
        await admin.query(`CREATE DATABASE ${db}`);
        modes.push(await runMode({ mode: 'postgres', s, brokerUrl, databaseUrl: url.toString(), database: db, core, log: o.log }));
      } finally {
        await admin.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`).catch((e) => o.log(`could not drop ${db}: ${String(e)}`));
        await admin.end().catch(() => undefined);
        o.log(`messaging section: ${db} dropped`);
      }
    }
  }
  if (pgSkipped) o.log(`messaging section, PostgreSQL mode skipped: ${pgSkipped}`);
  return { brokerUrl: shown, settings: s, pinned: o.pinned, durationS: (performance.now() - started) / 1000, modes, pgSkipped };
}

// ---------------------------------------------------------------------------- report

/** The issue's goals for messaging: report-only (no smoke gate). */
const goal = (met: boolean, text: string) => `${text} ${met ? 'met' : 'NOT met'}`;
const pct = (x: number | undefined) => (x === undefined ? '?' : x.toFixed(0));
const cpuCell = (c: Cpu) =>
  `${pct(c.servicePct)} (waited ${pct(c.serviceWaitPct)}, lag ≤${c.serviceLagMaxMs === undefined ? '?' : ms(c.serviceLagMaxMs)} ms) / ${pct(c.rabbitPct)} / ${pct(c.postgresPct)} / ${pct(c.benchPct)} / ${pct(c.otherPct)}`;

export function messagingReport(r: MessagingResults): string {
  if (r.skipped) return `Messaging section: skipped (${r.skipped})`;
  const s = r.settings!;
  const rows: string[][] = [['messaging (RabbitMQ)', 'broker', 'HTTP / reference', 'ratio', 'goal', 'CPU %: service (waited; event-loop lag max) / RabbitMQ / PostgreSQL / bench / rest']];
  for (const m of r.modes!) {
    const commits = (c: Commits | undefined) =>
      c === undefined ? '' : `; ${int(c.transactions)} transactions, mean batch ${c.meanBatch.toFixed(1)}, mean commit ${ms(c.meanCommitMs)} ms`;
    const rate = (label: string, p: PathPair, route: string) =>
      rows.push([
        `${m.mode}: ${label}, prefetch ${s.prefetch} vs ${s.prefetch} conn`,
        `${int(p.broker.rate)}/s drained (${int(p.broker.overallRate!)}/s from the first publish; ${int(p.broker.backlogAtPublishEnd!)} of ${int(p.broker.messages)} waiting when publishing ended)${commits(p.broker.commits)}`,
        `${int(p.http.rate)} req/s ${route}, p50 ${ms(p.http.p50!)} / p99 ${ms(p.http.p99!)} ms${commits(p.http.commits)}`,
        `${ratio(p.ratio)} HTTP`,
        goal(p.ratio >= 1, '≥1×'),
        `${cpuCell(p.broker.cpu)} (HTTP: ${cpuCell(p.http.cpu)})`,
      ]);
    rate('creates', m.creates, 'POST /payments');
    rate('events (PaymentProcessed)', m.events, 'POST /payments/:id/events');
    const e = m.e2e;
    const h = e.http;
    rows.push([
      `${m.mode}: publish → visible in GET /payments/search, ${int(e.rate)} msg/s, prefetch ${s.prefetch}`,
      `p50 ${ms(e.latency.p50)} / p99 ${ms(e.latency.p99)} ms (max ${ms(e.latency.max)}); ` +
        `publish → createdAt (command ran) p50 ${ms(e.publishToCommand.p50)} / p99 ${ms(e.publishToCommand.p99)} ms, createdAt → seen p50 ${ms(e.commandToSeen.p50)} / p99 ${ms(e.commandToSeen.p99)} ms; ` +
        `${int(e.published)} published at ${int(e.achievedRate)}/s; ${int(e.polls)} searches, ${ms(e.pollRttMs)} ms each`,
      `HTTP POST /payments → 201, same run, ${int(h.achievedRate)}/s open loop for as long: p50 ${ms(h.postTo201.p50)} / p99 ${ms(h.postTo201.p99)} ms (max ${ms(h.postTo201.max)}, ${h.maxInFlight} in flight at most); ` +
        `POST → seen by the same poller p50 ${ms(h.postToSeen.p50)} / p99 ${ms(h.postToSeen.p99)} ms (POST → createdAt p99 ${ms(h.postToCommand.p99)} ms); CPU ${cpuCell(h.cpu)}`,
      `p99 ${ratio(e.p99Ratio)} HTTP POST → 201 p99`,
      goal(e.latency.p99 <= 50, 'p99 ≤50 ms'),
      cpuCell(e.cpu),
    ]);
    const ob = m.outbound;
    rows.push([
      `${m.mode}: commit → event received (subscriber), ${int(ob.rate)} POST/s`,
      `p50 ${ms(ob.latency.p50)} / p99 ${ms(ob.latency.p99)} ms (max ${ms(ob.latency.max)})`,
      `service's publish latency (commit → confirm): p50 ≤${ms(ob.histogram.p50Le)} / p99 ≤${ms(ob.histogram.p99Le)} ms, mean ${ms(ob.histogram.meanMs)} ms (${int(ob.histogram.count)} events)`,
      '-',
      goal(ob.latency.p99 <= 100, 'p99 ≤100 ms'),
      cpuCell(ob.cpu),
    ]);
    const bp = m.backpressure;
    rows.push([
      `${m.mode}: GET /payments/:id at ${bp.getRate}/s while draining ${int(bp.backlog)} creates`,
      `p50 ${ms(bp.draining.p50)} / p99 ${ms(bp.draining.p99)} ms (max ${ms(bp.draining.max)}), ${bp.draining.errors} errors; ${int(bp.waitingAtPublishEnd)} waiting drained in ${bp.drainS.toFixed(1)} s (${int(bp.drainRate)}/s)`,
      `no backlog: p50 ${ms(bp.baseline.p50)} / p99 ${ms(bp.baseline.p99)} ms (max ${ms(bp.baseline.max)}), ${bp.baseline.errors} errors; CPU ${cpuCell(bp.baselineCpu)}`,
      `p99 ${ratio(bp.draining.p99 / bp.baseline.p99)} no backlog`,
      '- (reported)',
      cpuCell(bp.cpu),
    ]);
    const x = m.metrics;
    rows.push([
      `${m.mode}: /metrics after the run`,
      `consumed ${int(x.consumed)}, acked ${int(x.acked)}, retried ${int(x.retried)}, dead-lettered ${int(x.deadLettered)}`,
      `published ${int(x.published)}, outbox backlog ${int(x.outboxBacklog)}, dropped ${int(x.outboxDropped)}`,
      '-',
      '-',
      '-',
    ]);
  }
  const notes = [
    `Messaging section: broker ${r.brokerUrl}; the service is the build of src/main.ts (npm run start:prod's node flags, cache off, BROKER_PREFETCH ${s.prefetch}${s.prefetch === PREFETCH ? ", the service's default" : `, BENCH_MSG_PREFETCH; the service's default is ${PREFETCH}`}), ` +
      `one process per mode${r.pinned ? ' pinned to core 0, the bench (publisher, subscriber, autocannon, pollers) on core 1' : ', not pinned'}; RabbitMQ and PostgreSQL not pinned; ` +
      `${r.durationS!.toFixed(0)} s in all.${r.pgSkipped ? ` PostgreSQL mode skipped: ${r.pgSkipped}.` : ''}`,
    `throughput: per path (broker at prefetch ${s.prefetch}, HTTP at ${s.prefetch} connections) a warm-up of ${int(s.warmup)} creates + events, then ${int(s.m)} creates and ${int(s.m)} PaymentProcessed (one per payment) per run, mirrored HTTP, broker, broker, HTTP, pooled; ` +
      `broker: published as fast as the broker confirms while the service consumes, the rate is the drain's (the messages waiting when publishing ended / time until /metrics, polled every 100 ms, counted them acked); ` +
      `HTTP: autocannon, exactly as many requests, every one 2xx; each run's last payment reads back completed.`,
    `end to end: one search in flight at a time (an organization of its own, from = the publish time of the oldest payment not yet seen, every page by cursor); "visible" = the answer that first listed the payment (an upper bound: the poll's round trip is in it). ` +
      `Its HTTP reference, measured right after it in the same run: POST /payments at the same rate for as long, open loop (sent when due, up to 1,024 sockets), an organization of its own, polled the same way; ` +
      `"→ 201" = sending to the 201 read (read-your-writes: the payment is readable on this instance then; in PostgreSQL mode after its commit): the floor of a write's path that the broker's end to end also takes. ` +
      `outbound: the subscriber's receipt minus the event's time (the payment's updatedAt, stamped before the commit: commit time included); the histogram is the service's payments_events_publish_latency_seconds over the run (bucket bounds). ` +
      `backpressure: open-loop GETs over 64 payments on one kept-alive agent, timed from the end of the publishing (the bench is busy publishing before) until the backlog is acked.`,
    `CPU in % of one core over each case: the service (waited: % of the time its main thread was runnable but had no CPU; lag: the largest nodejs_eventloop_lag_max_seconds of the /metrics scrapes during the case, ` +
      `which the bench makes every 100 ms while it waits for acks, else at its start and end), RabbitMQ (beam.smp), PostgreSQL (every postgres process), the bench, and the rest of the machine (other sessions, the kernel).`,
    `goals (the issue's; report-only, not in the smoke): broker ≥1× HTTP, end to end p99 ≤50 ms at 1,000 msg/s, outbound p99 ≤100 ms at 1,000 writes/s.`,
  ];
  return [table(rows), '', ...notes].join('\n');
}

// ---------------------------------------------------------------------------- alone: npm run bench:messaging

async function main(): Promise<void> {
  const smoke = process.env.BENCH_SMOKE === '1';
  const log = (msg: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
  const machine = machineInfo();
  const pinned = hasTaskset() && machine.cores >= 2 && pinSelf(1);
  const started = Date.now();
  const r = await messagingSection({ smoke, pinned, log });
  process.stdout.write(
    [
      '',
      `payments-cqs benchmark, messaging section${smoke ? ' (SMOKE)' : ''}; commit ${machine.commit}${machine.srcDirty ? ' + uncommitted src changes' : ''}`,
      `machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, node ${machine.node}, ${machine.platform}`,
      '',
      messagingReport(r),
      '',
    ].join('\n') + '\n',
  );
  mkdirSync(resolve(__dirname, 'results'), { recursive: true });
  const out = resolve(__dirname, 'results', 'messaging.json');
  writeFileSync(out, JSON.stringify({ smoke, startedAt: new Date(started).toISOString(), durationS: (Date.now() - started) / 1000, machine, pinned, messaging: r }, null, 2) + '\n');
  log(`results written to ${out}`);
  process.exit(0);
}

if (require.main === module) {
  main().catch((e) => {
    process.stderr.write(`\nBENCH FAILED: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  });
}
