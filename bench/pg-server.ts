/**
 * One service instance in PostgreSQL mode, as a child process of bench/postgres.ts (with an
 * IPC channel): createApp({ databaseUrl, groupCommitMaxBatch, cache off, logs silent }), timed
 * from createApp() until PostgresPrimaryRepository has loaded the store, as a restart of the service would be.
 *
 * Env: BENCH_PG_APP_URL (DATABASE_URL of the app), BENCH_PG_GROUP (groupCommitMaxBatch),
 * BENCH_PG_LISTEN=1 (listen on a random local port once loaded), BENCH_PG_RECORD=1 (note when
 * each payment first reaches this instance's store: through its own writer after the commit,
 * or through the change feed from another instance).
 *
 * Sends { type: 'ready', ... } once loaded, then answers { id, cmd } messages with { id, result }
 * or { id, error }: checks, record, applied, clock, exit.
 */
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { AppConfig } from '../src/config';
import { createApp } from '../src/app.setup';
import type { Payment } from '../src/payments/payment';
import { PaymentStore } from '../src/payments/store/payment.store';
import { PostgresPrimaryRepository } from '../src/persistence/postgres-primary.repository';
import { CpuProbe, gc, runQueueWaitMs } from './measure';
import { checkAnswers, paymentsDigest } from './pg-checks';
import { ProjectEngine } from './project';

/** Wall-clock milliseconds with sub-millisecond resolution, comparable across processes. */
const wallNow = () => performance.timeOrigin + performance.now();

const url = process.env.BENCH_PG_APP_URL;
const config = new AppConfig({
  databaseUrl: url,
  groupCommitMaxBatch: Number(process.env.BENCH_PG_GROUP ?? 100),
  cacheTtlSeconds: 0,
  logLevel: process.env.LOG_LEVEL ?? 'silent',
});
/** Longest wait for the load: PostgresPrimaryRepository retries a failing load forever (its warnings are silent here). */
const LOAD_TIMEOUT_MS = 600_000;

let app: NestFastifyApplication | undefined;
/** paymentId -> [wall ms when it reached this store, its updatedAt in ms] */
const applied = new Map<string, [number, number]>();
let recording = false;

function send(message: unknown): void {
  process.send!(message);
}

async function start(): Promise<void> {
  if (!url) throw new Error('BENCH_PG_APP_URL is not set');
  gc();
  const t0 = performance.now();
  const probe = new CpuProbe();
  const wait0 = runQueueWaitMs('self');
  app = await createApp(config);
  const sync = app.get(PostgresPrimaryRepository);
  if (process.env.BENCH_PG_RECORD === '1') {
    // Both paths into the store go through PostgresPrimaryRepository.apply: the writer after its COMMIT, and
    // the change feed (its callback reads this.apply at each call, so this override sees it).
    const original = sync.apply.bind(sync);
    sync.apply = (payment: Payment): boolean => {
      const changed = original(payment);
      if (changed && recording && !applied.has(payment.paymentId)) {
        applied.set(payment.paymentId, [wallNow(), Date.parse(payment.updatedAt)]);
      }
      return changed;
    };
  }
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    sync.whenLoaded(),
    new Promise((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`not loaded after ${LOAD_TIMEOUT_MS / 1000} s (PostgresPrimaryRepository retries silently; rerun with LOG_LEVEL=warn)`)),
        LOAD_TIMEOUT_MS,
      );
    }),
  ]);
  clearTimeout(timer);
  const startMs = performance.now() - t0;
  const cpu = probe.stop();
  const wait1 = runQueueWaitMs('self');
  const last = sync.lastLoad;
  if (last === undefined) throw new Error('PostgresPrimaryRepository resolved whenLoaded() without a load');
  let port: number | undefined;
  if (process.env.BENCH_PG_LISTEN === '1') {
    await app.listen({ port: 0, host: '127.0.0.1' });
    const address = app.getHttpServer().address();
    port = typeof address === 'object' && address ? address.port : undefined;
  }
  gc();
  send({
    type: 'ready',
    port,
    startMs,
    loadMs: last.ms,
    rows: last.rows,
    size: app.get(PaymentStore).size,
    heapMB: Math.round(process.memoryUsage().heapUsed / 2 ** 20),
    selfCpuPct: cpu.selfPct,
    otherCpuPct: cpu.otherPct,
    waitPct: wait0 === undefined || wait1 === undefined ? undefined : ((wait1 - wait0) / startMs) * 100,
  });
}

async function handle(cmd: string, args: Record<string, unknown>): Promise<unknown> {
  switch (cmd) {
    case 'checks': {
      const store = app!.get(PaymentStore);
      return { size: store.size, digest: paymentsDigest(store.payments()), answers: await checkAnswers(new ProjectEngine(store)) };
    }
    case 'record':
      applied.clear();
      recording = true;
      return { at: wallNow() };
    case 'applied':
      return { count: applied.size, entries: args.entries ? [...applied].map(([id, [at, updated]]) => [id, at, updated]) : undefined };
    case 'clock':
      return { now: wallNow() };
    case 'exit':
      await app?.close();
      app = undefined;
      setImmediate(() => process.exit(0));
      return {};
    default:
      throw new Error(`unknown command ${cmd}`);
  }
}

process.on('message', (m: { id: number; cmd: string; args?: Record<string, unknown> }) => {
  handle(m.cmd, m.args ?? {}).then(
    (result) => send({ id: m.id, result }),
    (e: unknown) => send({ id: m.id, error: e instanceof Error ? (e.stack ?? e.message) : String(e) }),
  );
});
// the parent gone (killed, crashed): do not linger holding connections to the bench's database
process.on('disconnect', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));

start().catch((e) => {
  console.error(e);
  process.exit(1);
});
