/**
 * The PostgreSQL section of the bench: run by `npm run bench` after the other cases, or alone
 * with `npm run bench:pg` (bench/bench-pg.ts). Every service instance is a child process
 * (bench/pg-server.ts: createApp with a databaseUrl), pinned to a core when taskset exists.
 *
 *   load:        N payments of the data set written to the table (untimed: the rows by
 *                INSERT ... SELECT FROM unnest, then the keys and indexes), then a fresh
 *                instance timed from createApp() until StoreSync has loaded them; its store
 *                must hold the data set field for field and answer as the in-memory engine.
 *                Where the time goes is measured apart (executor, COPY read, decoding, appends, index builds).
 *   direct:      PostgreSQL queried directly (bench/pg-direct.ts), on the load's table: three
 *                composite indexes added, then bench.ts' search (page + total) and stats shapes
 *                as SQL on one connection, beside the in-memory engine over the same payments
 *                (mirrored blocks, same run); every SQL answer must equal the engine's.
 *   commit:      POST /payments over HTTP (autocannon) with group commit (groupCommitMaxBatch
 *                100) and with one transaction per write (1), each on a fresh schema; the
 *                table must then hold exactly the payments answered 201.
 *   replication: two instances on one table, a fixed-rate write load on A; when each write
 *                reached B's store, against when it reached A's (after its commit).
 *   multi:       k = 1, 2, 3 instances (group commit) on one fresh schema per k, the same POST
 *                load split over them (50 connections in all, a fixed number of requests sized
 *                on k = 1); creates/s, latency, transactions and batches, PostgreSQL connections,
 *                and how long after the last answer every store holds the table's rows.
 *
 * Env: BENCH_PG=0 (skip), BENCH_PG_URL (default postgres://postgres@127.0.0.1:5432/test: a
 * database to connect to for CREATE/DROP DATABASE), BENCH_PG_DIRECT=0 (skip the direct case),
 * BENCH_PG_DIRECT_ONLY=1 (the fill and the direct case alone: `BENCH_PG_DIRECT_ONLY=1 npm run
 * bench:pg`, about 2.5 minutes at 1M), BENCH_PG_DIRECT_SAMPLES (timed calls per shape and engine;
 * default 200, 40 in a smoke run). The costliest call, the largest organization's search (its
 * total), grows faster than N: 29 ms at 1M, 128 ms at 3M on this machine; at 10M expect some
 * 0.5 s, so its warm pass and 200 timed calls take a few minutes, and the fill about four. The section makes its own database,
 * payments_bench_<pid>, and drops it at the end (WITH (FORCE)). An unreachable server skips
 * the section (reported), it does not fail the bench; a wrong answer does.
 */
import autocannon from 'autocannon';
import { ChildProcess, spawn } from 'node:child_process';
import { Agent, get as httpGet } from 'node:http';
import { cpus } from 'node:os';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, Pool } from 'pg';
import { compiled, serviceNodeFlags } from './build';
import type { Payment } from '../src/payments/payment';
import { INSERT_PAYMENTS, insertParams } from '../src/persistence/payment-rows';
import { migrate } from '../src/persistence/migrations';
import { generatePayments, loadStoreInBulk } from './dataset';
import { goalCell, int, lat, ms, ratio, rps, table } from './format';
import type { GoalResult } from './goals';
import { LoadResult, postRequests, toLoadResult } from './http';
import { CpuProbe, gc, percentile, processCpuMs, runQueueWaitMs } from './measure';
import { checkAnswers, paymentsDigest } from './pg-checks';
import { PgDirectCase, pgDirectCase, pgDirectSettings } from './pg-direct';
import { BENCH_CONFIG, ProjectEngine } from './project';
import { PaymentStore } from '../src/payments/store/payment.store';

const ROOT = resolve(__dirname, '..');
export const PG_DEFAULT_URL = 'postgres://postgres@127.0.0.1:5432/test';

const wallNow = () => performance.timeOrigin + performance.now();

export interface PgSettings {
  connections: number;
  /** requests of the untimed warm-up before each measured POST run */
  commitWarmup: number;
  /** a timed run after the warm-up, whose rate sizes the measured run */
  commitCalibrationS: number;
  /** target length of each measured POST run (a request count calibrated on the warm-up) */
  commitS: number;
  replicationRate: number;
  replicationS: number;
  replicationConnections: number;
  fillBatch: number;
  fillConnections: number;
  /** several instances on one database: instance counts, in order */
  multiInstances: number[];
  /** target length of each measured run of that case, at the rate of one instance */
  multiS: number;
  /** timed warm-up of k > 1 instances (k = 1: commitCalibrationS, the calibration) */
  multiWarmS: number;
  /** longest wait after the last answer for every instance's store to hold the table's rows */
  multiConvergeS: number;
  /** pause between two GET /admin/store of one instance while waiting for that */
  multiPollMs: number;
  /** pg_stat_activity sampled this often during the measured runs */
  multiSampleMs: number;
}

export function pgSettings(smoke: boolean): PgSettings {
  return {
    connections: 50,
    commitWarmup: 500,
    commitCalibrationS: 2,
    commitS: smoke ? 5 : 10,
    replicationRate: 1000,
    replicationS: smoke ? 5 : 10,
    // enough that the rate holds while a write waits for its group commit
    replicationConnections: 50,
    fillBatch: 5000,
    fillConnections: 2,
    multiInstances: [1, 2, 3],
    multiS: smoke ? 4 : 8,
    multiWarmS: 1,
    multiConvergeS: 30,
    multiPollMs: 5,
    multiSampleMs: 100,
  };
}

// ---------------------------------------------------------------------------- results

/** The data set written to the table (untimed for the figures that follow). */
export interface PgFill {
  n: number;
  generateMs: number;
  fillMs: number;
  /** table with its indexes, after the fill */
  tableMB: number;
  /** the in-memory engine over the same payments: the reference answers */
  referenceMs: number;
}

export interface PgLoadCase extends PgFill {
  /** the figure: createApp() until StoreSync.whenLoaded(), in a fresh process */
  startMs: number;
  seconds: number;
  rowsPerS: number;
  /** StoreSync.load alone (its lastLoad.ms: after migrations, from BEGIN to COMMIT) */
  storeSyncLoadMs: number;
  heapMB: number;
  /** CPU over the load, % of one core: the instance, the PostgreSQL backends serving it, the rest of the machine */
  cpu: Cpu;
  checks: { size: number; digest: string; answers: number };
  /**
   * Measured apart (see loadParts): fetch = the COPY read to the end (its CPU: this side's
   * socket reading), convert = decoding the binary rows, store = appends + index build.
   */
  breakdown: { executorMs: number; copyMs: number; copyCpuMs: number; decodeMs: number; readMs: number; storeMs: number; appendMs: number; indexMs: number };
}

/** CPU over a measured window, % of one core (PostgreSQL: the backends of the bench's database). */
export interface Cpu {
  instancePct: number | undefined;
  /** the instances' main threads runnable but waiting for a CPU (taken by anything else), % of the time */
  instanceWaitPct: number | undefined;
  postgresPct: number;
  /** the rest of the machine: other sessions, PostgreSQL's background processes, the kernel */
  restPct: number | undefined;
  /** this process (the load generator) */
  benchPct: number;
}

/** What a measured POST run committed: 201s (client, server counter, rows added) and transactions. */
export interface CommitFigures {
  created: number;
  serverCreated: number;
  rowsAdded: number;
  totalRows: number;
  /** from payments_commit_batch_size (summed over instances) */
  transactions: number;
  transactionsPerS: number;
  meanBatch: number;
  /** payments_commit_duration_seconds: checkout to COMMIT, the wait for COMMIT_LOCK included */
  meanCommitMs: number;
}

export interface PgCommitRun extends CommitFigures {
  label: string;
  groupCommitMaxBatch: number;
  load: LoadResult;
  cpu: Cpu;
}

export interface PgCommitCase {
  group: PgCommitRun;
  single: PgCommitRun;
  /** group req/s / single req/s */
  ratio: number;
}

export interface Distribution {
  n: number;
  p50: number;
  p99: number;
  max: number;
  mean: number;
}

export interface PgReplicationCase {
  layout: string;
  rate: number;
  writes: number;
  durationS: number;
  achievedRate: number;
  /** reached A's store (after A's commit) -> reached B's store */
  commitToB: Distribution;
  /** updatedAt (A's handler, ms) -> reached B's store: what payments_sync_delay_seconds measures */
  writeToB: Distribution;
  /** B's payments_sync_delay_seconds over the run: upper bounds of the buckets of p50 and p99 */
  histogram: { count: number; p50Le: number; p99Le: number; meanMs: number };
  clockOffsetMs: number;
  writeLoad: LoadResult;
  /** instancePct: A + B (each apart in aPct, bPct) */
  cpu: Cpu & { aPct: number | undefined; bPct: number | undefined };
}

export interface PgMultiInstance {
  core: number | undefined;
  connections: number;
  /** answers (all 201) of the measured run through this instance */
  requests: number;
  p50: number;
  p99: number;
  cpuPct: number | undefined;
  transactions: number;
  meanBatch: number;
  /**
   * last answer of the run (any instance) -> this instance's store holds every row: at most
   * convergedMs (the first GET /admin/store that saw them all was answered then), more than
   * notBeforeMs (the last one that saw fewer was sent then; 0: the first poll saw them all)
   */
  convergedMs: number;
  notBeforeMs: number;
  polls: number;
  /** one GET /admin/store before the run, the instance idle: the floor of convergedMs */
  idlePollMs: number;
}

/** k instances (child processes, group commit) on one fresh schema, one write load split over them. */
export interface PgMultiRun extends CommitFigures {
  instances: number;
  /**
   * untimed warm-up (counted) and a timed run cut off at its deadline (k = 1: the calibration);
   * timedRps over the timed run's second half (the first still warms up)
   */
  warmup: { requests: number; timedS: number; timedRequests: number; timedRps: number };
  /** the measured run: every request answered; first request -> last answer, wall clock */
  requests: number;
  durationS: number;
  createsPerS: number;
  /** over every answer of the run (the instances' latency histograms merged) */
  p50: number;
  p99: number;
  /** SELECT count(*) FROM pg_stat_activity WHERE datname = <bench db>, sampled during the measured run */
  pgConnections: { samples: number; min: number; max: number; mean: number; activeMean: number; lockWaitMean: number; lockWaitMax: number };
  /** the latest instance: last answer -> every store holds the table's row count (at most; more than notBeforeMs) */
  convergedMs: number;
  notBeforeMs: number;
  perInstance: PgMultiInstance[];
  /** instancePct: every instance together (each apart in perInstance) */
  cpu: Cpu;
  /** createsPerS / the first run's */
  ratio: number;
}

export interface PgMultiCase {
  layout: string;
  connections: number;
  /** requests of each measured run: ~multiS at the rate of the first run's calibration */
  requestsPerRun: number;
  calibrationRps: number;
  runs: PgMultiRun[];
}

export interface PgResults {
  skipped?: string;
  url: string;
  database?: string;
  settings?: PgSettings;
  pinned?: boolean;
  durationS?: number;
  /** BENCH_PG_DIRECT_ONLY=1: the fill and the direct case alone */
  directOnly?: boolean;
  fill?: PgFill;
  load?: PgLoadCase;
  direct?: PgDirectCase;
  commit?: PgCommitCase;
  replication?: PgReplicationCase;
  multi?: PgMultiCase;
}

// ---------------------------------------------------------------------------- child instances

interface Ready {
  port?: number;
  startMs: number;
  loadMs: number;
  rows: number;
  size: number;
  heapMB: number;
  selfCpuPct: number;
  otherCpuPct: number | undefined;
  waitPct: number | undefined;
}

/** A service instance (bench/pg-server.ts) in its own process, with an IPC channel. */
class Instance {
  static readonly live = new Set<Instance>();
  #next = 0;
  readonly #waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  private constructor(
    readonly ctx: Ctx,
    readonly name: string,
    readonly child: ChildProcess,
    readonly ready: Ready,
  ) {
    child.on('message', (m: { id?: number; result?: unknown; error?: string }) => {
      if (m.id === undefined) return;
      const w = this.#waiting.get(m.id);
      this.#waiting.delete(m.id);
      if (m.error !== undefined) w?.reject(new Error(`${name}: ${m.error}`));
      else w?.resolve(m.result);
    });
    child.once('exit', (code) => {
      Instance.live.delete(this);
      for (const w of this.#waiting.values()) w.reject(new Error(`${name} exited (code ${code})`));
      this.#waiting.clear();
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  get url(): string {
    return `http://127.0.0.1:${this.ready.port}`;
  }

  static start(ctx: Ctx, name: string, env: Record<string, string>, core: number | undefined): Promise<Instance> {
    const nodeArgs = [...serviceNodeFlags(), '--expose-gc', '--max-old-space-size=8192', compiled('bench/pg-server.ts')];
    const [cmd, args] =
      core === undefined ? [process.execPath, nodeArgs] : ['taskset', ['-c', String(core), process.execPath, ...nodeArgs]];
    const child = spawn(cmd, args, {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    return new Promise((resolvePromise, reject) => {
      const onExit = (code: number | null) => reject(new Error(`${name} exited with code ${code} before it was loaded`));
      child.once('exit', onExit);
      child.on('message', function first(m: { type?: string } & Ready) {
        if (m.type !== 'ready') return;
        child.off('message', first);
        child.off('exit', onExit);
        const instance = new Instance(ctx, name, child, m);
        Instance.live.add(instance);
        resolvePromise(instance);
      });
    });
  }

  request<T>(cmd: string, args: Record<string, unknown> = {}, timeoutMs = 600_000): Promise<T> {
    const id = this.#next++;
    return new Promise<T>((res, rej) => {
      const timer = setTimeout(() => {
        this.#waiting.delete(id);
        rej(new Error(`${this.name}: no answer to ${cmd} within ${timeoutMs / 1000} s`));
      }, timeoutMs);
      this.#waiting.set(id, {
        resolve: (v) => {
          clearTimeout(timer);
          res(v as T);
        },
        reject: (e) => {
          clearTimeout(timer);
          rej(e);
        },
      });
      this.child.send({ id, cmd, args });
    });
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((done) => this.child.once('exit', () => done()));
    await this.request('exit', {}, 15_000).catch(() => this.child.kill('SIGKILL'));
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  }
}

// ---------------------------------------------------------------------------- helpers

/** `base` with another database name (and search_path set to `schema`, when given). */
function urlOf(base: string, database: string, schema?: string): string {
  const url = new URL(base);
  url.pathname = `/${database}`;
  if (schema !== undefined) url.searchParams.set('options', `-c search_path=${schema}`);
  return url.toString();
}

function redact(base: string): string {
  const url = new URL(base);
  if (url.password) url.password = '***';
  return url.toString();
}

async function withClient<T>(url: string, f: (c: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    return await f(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Prometheus text format, as GET /metrics answers it. */
export function parseMetrics(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([A-Za-z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    out.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return out;
}

export function metricValue(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  return samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((a, s) => a + s.value, 0);
}

export interface Histogram {
  buckets: [number, number][];
  sum: number;
  count: number;
}

export function histogramOf(samples: Sample[], name: string): Histogram {
  const buckets = samples
    .filter((s) => s.name === `${name}_bucket`)
    .map((s): [number, number] => [s.labels.le === '+Inf' ? Infinity : Number(s.labels.le), s.value])
    .sort((a, b) => a[0] - b[0]);
  return { buckets, sum: metricValue(samples, `${name}_sum`), count: metricValue(samples, `${name}_count`) };
}

export function histogramDelta(after: Histogram, before: Histogram): Histogram {
  return {
    buckets: after.buckets.map(([le, c], i) => [le, c - (before.buckets[i]?.[1] ?? 0)]),
    sum: after.sum - before.sum,
    count: after.count - before.count,
  };
}

/** Upper bound of the bucket holding quantile q. */
function bucketOf(h: Histogram, q: number): number {
  const rank = q * h.count;
  return h.buckets.find(([, c]) => c >= rank)?.[0] ?? NaN;
}

async function scrape(instance: Instance): Promise<Sample[]> {
  const res = await fetch(`${instance.url}/metrics`);
  if (res.status !== 200) throw new Error(`${instance.name}: GET /metrics answered ${res.status}`);
  return parseMetrics(await res.text());
}

const POST_201 = { method: 'POST', route: '/payments', status: '201' };

function distribution(xs: number[]): Distribution {
  const sorted = [...xs].sort((a, b) => a - b);
  return {
    n: sorted.length,
    p50: percentile(sorted, 0.5),
    p99: percentile(sorted, 0.99),
    max: sorted[sorted.length - 1] ?? NaN,
    mean: sorted.reduce((a, b) => a + b, 0) / Math.max(1, sorted.length),
  };
}

/** CPU time (ms) of every PostgreSQL backend connected to the bench's database, by pid. */
async function backendsCpu(ctx: Ctx): Promise<Map<number, number>> {
  const { rows } = await ctx.admin.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = $1', [ctx.db]);
  return new Map(rows.map((r) => [r.pid, processCpuMs(r.pid) ?? 0]));
}

function backendsDelta(before: Map<number, number>, after: Map<number, number>): number {
  let ms = 0;
  for (const [pid, t] of after) ms += t - (before.get(pid) ?? 0);
  return ms;
}

/** Starts measuring CPU: the instances (children), PostgreSQL's backends of this database, the rest. */
async function meter(ctx: Ctx, pids: number[]): Promise<() => Promise<Cpu & { childrenPct: number[] }>> {
  const pg0 = await backendsCpu(ctx);
  const wait0 = pids.map(runQueueWaitMs);
  const probe = new CpuProbe(pids);
  return async () => {
    const cpu = probe.stop();
    const waits = pids.map((pid, i) => {
      const w = runQueueWaitMs(pid);
      return w === undefined || wait0[i] === undefined ? undefined : w - wait0[i]!;
    });
    const postgresPct = (backendsDelta(pg0, await backendsCpu(ctx)) / cpu.wallMs) * 100;
    return {
      instancePct: cpu.childrenPct.reduce((a, b) => a + b, 0),
      instanceWaitPct: waits.includes(undefined) ? undefined : (waits.reduce((a, b) => a! + b!, 0)! / cpu.wallMs) * 100,
      childrenPct: cpu.childrenPct,
      postgresPct,
      restPct: cpu.otherPct === undefined ? undefined : Math.max(0, cpu.otherPct - postgresPct),
      benchPct: cpu.selfPct,
    };
  };
}

/** autocannon against one instance; any non-2xx, error or timeout fails the run. */
async function drive(label: string, instance: Instance, o: autocannon.Options, cpuOf: Instance[] = [instance]): Promise<LoadResult & { cpu: Cpu & { childrenPct: number[] } }> {
  const stop = await meter(instance.ctx, cpuOf.map((i) => i.pid));
  const r = await autocannon(o);
  const cpu = await stop();
  if (r.non2xx > 0 || r.errors > 0 || r.timeouts > 0 || r.requests.total === 0) {
    throw new Error(
      `${label}: ${r.requests.total} requests, ${r.non2xx} non-2xx (${JSON.stringify(r.statusCodeStats ?? {})}), ` +
        `${r.errors} errors, ${r.timeouts} timeouts: a benchmark of errors measures nothing`,
    );
  }
  return {
    ...toLoadResult(r),
    serverCpuPct: cpu.childrenPct[0],
    loadgenCpuPct: cpu.benchPct,
    otherCpuPct: cpu.restPct === undefined ? undefined : cpu.restPct + cpu.postgresPct,
    cpu,
  };
}

function postOptions(instance: Instance, prefix: string, connections: number, run: { durationS?: number; amount?: number; overallRate?: number }): autocannon.Options {
  return {
    url: instance.url,
    connections,
    pipelining: 1,
    ...(run.durationS !== undefined ? { duration: run.durationS } : {}),
    ...(run.amount !== undefined ? { amount: run.amount } : {}),
    ...(run.overallRate !== undefined ? { overallRate: run.overallRate } : {}),
    method: 'POST',
    requests: [{ method: 'POST', setupRequest: postRequests(prefix, 'org-bench-pg') }],
  };
}

async function countRows(url: string, schema: string): Promise<number> {
  return withClient(url, async (c) => Number((await c.query(`SELECT count(*)::int AS n FROM ${schema}.payments`)).rows[0].n));
}

/** Waits until a count stops moving (writes still in flight when a load generator stopped). */
async function settled(read: () => Promise<number>): Promise<number> {
  let last = await read();
  for (let stable = 0; stable < 3; ) {
    await new Promise((r) => setTimeout(r, 150));
    const now = await read();
    stable = now === last ? stable + 1 : 0;
    last = now;
  }
  return last;
}

// ---------------------------------------------------------------------------- the cases

interface Ctx {
  n: number;
  smoke: boolean;
  s: PgSettings;
  base: string;
  db: string;
  dbUrl: string;
  /** cores of the instances (undefined: not pinned) */
  core: (i: number) => number | undefined;
  log: (msg: string) => void;
  /** a connection to the maintenance database (not counted among the bench database's backends) */
  admin: Client;
}

async function createSchema(ctx: Ctx, schema: string): Promise<string> {
  await withClient(ctx.dbUrl, (c) => c.query(`CREATE SCHEMA ${schema}`));
  return urlOf(ctx.base, ctx.db, schema);
}

/** The fill's INSERT: the service's own, less ON CONFLICT (no unique index to check while it runs). */
const FILL_INSERT = INSERT_PAYMENTS.replace(/\s*ON CONFLICT \(organization_id, payment_id\) DO NOTHING\s*$/, '');
if (FILL_INSERT === INSERT_PAYMENTS) throw new Error('bench/postgres.ts: INSERT_PAYMENTS no longer ends in its ON CONFLICT clause; update FILL_INSERT');

/**
 * Drops the keys and indexes of the migrated `payments` table and returns what makes them again,
 * under the same names and definitions. paymentIds are random, so each row's index entries land
 * on random pages: once the indexes outgrow shared_buffers (a few million rows), every batch
 * writes pages all over them, and a full-page image of each to the WAL, and the fill slows down
 * as it grows. Built after the rows, each index is one sort. The primary key, built last, also
 * checks that no paymentId was written twice in an organization.
 */
async function dropKeysAndIndexes(pool: Pool): Promise<() => Promise<void>> {
  const { rows: constraints } = await pool.query<{ tbl: string; name: string; def: string; type: string }>(
    `SELECT conrelid::regclass::text AS tbl, conname AS name, pg_get_constraintdef(oid) AS def, contype AS type FROM pg_constraint
      WHERE (conrelid = 'payments'::regclass AND contype = 'p') OR (confrelid = 'payments'::regclass AND contype = 'f')`,
  );
  const { rows: indexes } = await pool.query<{ name: string; def: string }>(
    `SELECT indexname AS name, indexdef AS def FROM pg_indexes WHERE schemaname = current_schema() AND tablename = 'payments'
        AND indexname NOT IN (SELECT conname FROM pg_constraint WHERE conrelid = 'payments'::regclass)`,
  );
  const keys = constraints.filter((c) => c.type === 'p');
  const foreign = constraints.filter((c) => c.type === 'f');
  for (const c of [...foreign, ...keys]) await pool.query(`ALTER TABLE ${c.tbl} DROP CONSTRAINT ${c.name}`);
  for (const i of indexes) await pool.query(`DROP INDEX ${i.name}`);
  return async () => {
    const client = await pool.connect();
    try {
      // the sorts of the index builds in memory rather than in temporary files
      await client.query(`SET maintenance_work_mem = '1GB'`);
      for (const i of indexes) await client.query(i.def);
      for (const c of [...keys, ...foreign]) await client.query(`ALTER TABLE ${c.tbl} ADD CONSTRAINT ${c.name} ${c.def}`);
    } finally {
      client.release();
    }
  };
}

async function fill(ctx: Ctx, url: string, payments: readonly Payment[]): Promise<void> {
  const pool = new Pool({ connectionString: url, max: ctx.s.fillConnections });
  try {
    await migrate(pool);
    const rebuild = await dropKeysAndIndexes(pool);
    let next = 0;
    await Promise.all(
      Array.from({ length: ctx.s.fillConnections }, async () => {
        const client = await pool.connect();
        try {
          // the fill is not a figure: no need to wait for each batch's WAL flush
          await client.query('SET synchronous_commit = off');
          while (next < payments.length) {
            const from = next;
            next += ctx.s.fillBatch;
            await client.query(FILL_INSERT, insertParams(payments.slice(from, Math.min(payments.length, from + ctx.s.fillBatch))));
          }
        } finally {
          client.release();
        }
      }),
    );
    await rebuild();
    // as a table long in service is: visibility hints set, statistics known
    await pool.query('VACUUM (ANALYZE) payments');
  } finally {
    await pool.end();
  }
}

/** The data set written to the table of schema `load`, and the in-memory engine over the same payments. */
interface Filled {
  url: string;
  fill: PgFill;
  reference: ProjectEngine;
  expectedAnswers: { query: string; checksum: string }[];
  expectedDigest: string;
}

async function fillCase(ctx: Ctx): Promise<Filled> {
  const { n, log } = ctx;
  log(`PostgreSQL load: generating ${int(n)} payments`);
  let t = performance.now();
  let payments: Payment[] | undefined = generatePayments(n);
  const generateMs = performance.now() - t;

  log(`PostgreSQL load: writing them to the table (untimed for the figure)`);
  const url = await createSchema(ctx, 'load');
  t = performance.now();
  await fill(ctx, url, payments);
  const fillMs = performance.now() - t;
  const tableMB = await withClient(ctx.dbUrl, async (c) =>
    Number((await c.query(`SELECT pg_total_relation_size('load.payments') AS b`)).rows[0].b) / 2 ** 20,
  );
  if ((await countRows(ctx.dbUrl, 'load')) !== n) throw new Error(`the fill wrote ${await countRows(ctx.dbUrl, 'load')} rows, not ${n}`);
  log(`PostgreSQL load: ${int(n)} rows written in ${(fillMs / 1000).toFixed(1)} s (${tableMB.toFixed(0)} MB with indexes)`);

  log('PostgreSQL load: the in-memory engine on the same data (reference answers)');
  t = performance.now();
  // loaded as the load at start loads (the same state as write by write, in a minute at 10M)
  const store = new PaymentStore(BENCH_CONFIG);
  loadStoreInBulk(store, payments);
  const reference = new ProjectEngine(store);
  const referenceMs = performance.now() - t;
  const expectedAnswers = await checkAnswers(reference);
  const expectedDigest = paymentsDigest(payments);
  payments = undefined;
  gc();
  return { url, fill: { n, generateMs, fillMs, tableMB, referenceMs }, reference, expectedAnswers, expectedDigest };
}

async function loadCase(ctx: Ctx, filled: Filled): Promise<PgLoadCase> {
  const { n, log } = ctx;
  const { expectedAnswers, expectedDigest } = filled;
  log('PostgreSQL load: a fresh instance, createApp() until loaded');
  // the backends this instance opens, sampled while it loads: the load's own connection ends
  // with the load, and its CPU with it
  const before = await backendsCpu(ctx);
  const seen = new Map<number, number>();
  const sample = async () => {
    for (const [pid, cpuMs] of await backendsCpu(ctx)) seen.set(pid, Math.max(cpuMs, seen.get(pid) ?? 0));
  };
  let loading = true;
  const sampler = (async () => {
    while (loading) {
      await sample();
      await sleep(250);
    }
  })();
  const instance = await Instance.start(ctx, 'load instance', { BENCH_PG_APP_URL: filled.url }, ctx.core(0)).finally(() => (loading = false));
  try {
    await sampler;
    await sample();
    const r = instance.ready;
    const postgresMs = backendsDelta(before, seen);
    const postgresPct = (postgresMs / r.startMs) * 100;
    log(`PostgreSQL load: ${int(r.rows)} rows in ${(r.startMs / 1000).toFixed(1)} s (StoreSync.load ${(r.loadMs / 1000).toFixed(1)} s); checking`);
    const got = await instance.request<{ size: number; digest: string; answers: { query: string; checksum: string }[] }>('checks');
    if (got.size !== n || r.rows !== n) throw new Error(`MISMATCH: the instance loaded ${r.rows} rows and holds ${got.size} payments, not ${n}`);
    if (got.digest !== expectedDigest) {
      throw new Error(`MISMATCH: the payments loaded from PostgreSQL (digest ${got.digest}) differ from the data set (${expectedDigest})`);
    }
    expectedAnswers.forEach((want, i) => {
      const have = got.answers[i];
      if (have?.checksum !== want.checksum) {
        throw new Error(`MISMATCH: ${want.query} on the store loaded from PostgreSQL has checksum ${have?.checksum}, the in-memory engine says ${want.checksum}`);
      }
    });
    await instance.stop();
    log('PostgreSQL load: where the time goes (executor, COPY, decoding, store appends, index build), measured apart');
    const breakdown = await loadParts(ctx, filled.url);
    return {
      ...filled.fill,
      startMs: r.startMs,
      seconds: r.startMs / 1000,
      rowsPerS: r.rows / (r.startMs / 1000),
      storeSyncLoadMs: r.loadMs,
      heapMB: r.heapMB,
      cpu: {
        instancePct: r.selfCpuPct,
        instanceWaitPct: r.waitPct,
        postgresPct,
        restPct: r.otherCpuPct === undefined ? undefined : Math.max(0, r.otherCpuPct - postgresPct),
        benchPct: 0, // idle, waiting for the instance (counted in restPct)
      },
      checks: { size: got.size, digest: got.digest, answers: got.answers.length },
      breakdown,
    };
  } finally {
    await instance.stop();
  }
}

/**
 * The load's parts measured apart (bench/pg-load-parts.ts, in a process of its own on the load's
 * core): copy is the COPY read to the end (server, wire, socket), its CPU this side's; decode
 * the binary decoding; store the appends and the index build.
 */
async function loadParts(ctx: Ctx, url: string): Promise<PgLoadCase['breakdown']> {
  const script = compiled('bench/pg-load-parts.ts');
  const nodeArgs = [...serviceNodeFlags(), '--expose-gc', '--max-old-space-size=8192', script];
  const core = ctx.core(0);
  const [cmd, args] = core === undefined ? [process.execPath, nodeArgs] : ['taskset', ['-c', String(core), process.execPath, ...nodeArgs]];
  const out = await new Promise<string>((resolvePromise, reject) => {
    const child = spawn(cmd, args, { cwd: ROOT, env: { ...process.env, BENCH_PG_APP_URL: url }, stdio: ['ignore', 'pipe', 'inherit'] });
    let text = '';
    child.stdout!.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
    child.once('exit', (code) => (code === 0 ? resolvePromise(text) : reject(new Error(`pg-load-parts exited with code ${code}`))));
  });
  type Part = { ms: number; cpuMs: number };
  const parts = JSON.parse(out.trim().split('\n').pop()!) as { rows: number; executorMs: number; copy: Part; decode: Part; append: Part; index: Part };
  if (parts.rows !== ctx.n) throw new Error(`MISMATCH: pg-load-parts read ${parts.rows} rows, not ${ctx.n}`);
  return {
    executorMs: parts.executorMs,
    copyMs: parts.copy.ms,
    copyCpuMs: parts.copy.cpuMs,
    decodeMs: parts.decode.ms,
    readMs: parts.copy.ms + parts.decode.ms,
    storeMs: parts.append.ms + parts.index.ms,
    appendMs: parts.append.ms,
    indexMs: parts.index.ms,
  };
}

/** PostgreSQL queried directly (bench/pg-direct.ts) on the load's table, beside the in-memory engine. */
async function directCase(ctx: Ctx, filled: Filled): Promise<PgDirectCase> {
  const override = Number(process.env.BENCH_PG_DIRECT_SAMPLES ?? NaN);
  const settings = pgDirectSettings(ctx.smoke, Number.isFinite(override) ? override : undefined);
  ctx.log(`PostgreSQL direct: ${settings.samples} calls per shape and engine, one connection`);
  return withClient(urlOf(ctx.base, ctx.db, 'load'), (sql) => pgDirectCase({ sql, memory: filled.reference, n: ctx.n, settings, log: ctx.log }));
}


async function commitRun(ctx: Ctx, label: string, group: number): Promise<PgCommitRun> {
  const schema = `commit_${group}`;
  const url = await createSchema(ctx, schema);
  const instance = await Instance.start(ctx, `${label} instance`, { BENCH_PG_APP_URL: url, BENCH_PG_GROUP: String(group), BENCH_PG_LISTEN: '1' }, ctx.core(0));
  try {
    const { connections } = ctx.s;
    const tag = Math.random().toString(36).slice(2, 8);
    log(ctx, `${label}: warm-up, ${int(ctx.s.commitWarmup)} requests`);
    // counted, not timed: a run cut off at a deadline leaves writes in flight whose client is
    // gone; they commit all the same, and the server counts no 201 for them
    const warm = await drive(`${label} warm-up`, instance, postOptions(instance, `pg-warm-${group}-${tag}-`, connections, { amount: ctx.s.commitWarmup }));
    const rowsWarm = await settled(() => countRows(ctx.dbUrl, schema));
    if (rowsWarm !== warm.requests) throw new Error(`MISMATCH (${label} warm-up): ${warm.requests} answered 201, the table holds ${rowsWarm} rows`);
    // the rate once warm, to size the measured run; cut off at its deadline, so only bounded:
    // every 201 is a row, and at most one write per connection was in flight unanswered
    const calibration = await drive(`${label} calibration`, instance, postOptions(instance, `pg-cal-${group}-${tag}-`, connections, { durationS: ctx.s.commitCalibrationS }));
    const rowsBefore = await settled(() => countRows(ctx.dbUrl, schema));
    const cut = rowsBefore - rowsWarm - calibration.requests;
    if (cut < 0 || cut > connections) throw new Error(`MISMATCH (${label} calibration): ${calibration.requests} answered 201, the table gained ${rowsBefore - rowsWarm} rows`);
    const before = await scrape(instance);
    // a fixed number of requests (so none is cut off), about commitS seconds at the calibration's rate
    const amount = Math.max(connections * 20, Math.round(calibration.rps * ctx.s.commitS));
    log(ctx, `${label}: ${int(amount)} POST /payments, ${connections} connections`);
    const load = await drive(label, instance, postOptions(instance, `pg-${group}-${tag}-`, connections, { amount }));
    const totalRows = await settled(() => countRows(ctx.dbUrl, schema));
    const after = await scrape(instance);
    const created = load.requests; // every answer was 2xx, and with unique paymentIds a 2xx is a 201
    const serverCreated = metricValue(after, 'http_requests_total', POST_201) - metricValue(before, 'http_requests_total', POST_201);
    const rowsAdded = totalRows - rowsBefore;
    if (rowsAdded !== created || serverCreated !== created) {
      throw new Error(`MISMATCH (${label}): ${created} answered 201, the server counted ${serverCreated} 201s, the table gained ${rowsAdded} rows`);
    }
    const batches = histogramDelta(histogramOf(after, 'payments_commit_batch_size'), histogramOf(before, 'payments_commit_batch_size'));
    const commits = histogramDelta(histogramOf(after, 'payments_commit_duration_seconds'), histogramOf(before, 'payments_commit_duration_seconds'));
    return {
      label,
      groupCommitMaxBatch: group,
      load: { ...load, cpu: undefined } as LoadResult,
      cpu: { ...load.cpu, childrenPct: undefined } as Cpu,
      created,
      serverCreated,
      rowsAdded,
      totalRows,
      transactions: batches.count,
      transactionsPerS: batches.count / load.durationS,
      meanBatch: batches.sum / batches.count,
      meanCommitMs: (commits.sum / commits.count) * 1000,
    };
  } finally {
    await instance.stop();
  }
}

function log(ctx: Ctx, msg: string): void {
  ctx.log(msg);
}

async function commitCase(ctx: Ctx): Promise<PgCommitCase> {
  const group = await commitRun(ctx, 'POST group commit', 100);
  const single = await commitRun(ctx, 'POST one transaction per write', 1);
  return { group, single, ratio: group.load.rps / single.load.rps };
}

async function clockOffset(instance: Instance): Promise<{ offset: number; rtt: number }> {
  let best = { offset: NaN, rtt: Infinity };
  for (let i = 0; i < 10; i++) {
    const t0 = wallNow();
    const { now } = await instance.request<{ now: number }>('clock');
    const t1 = wallNow();
    if (t1 - t0 < best.rtt) best = { offset: now - (t0 + t1) / 2, rtt: t1 - t0 };
  }
  return best;
}

async function replicationCase(ctx: Ctx): Promise<PgReplicationCase> {
  const { replicationRate: rate, replicationS, replicationConnections } = ctx.s;
  const url = await createSchema(ctx, 'replication');
  const env = { BENCH_PG_APP_URL: url, BENCH_PG_LISTEN: '1', BENCH_PG_RECORD: '1' };
  const a = await Instance.start(ctx, 'instance A', env, ctx.core(0));
  let b: Instance | undefined;
  try {
    b = await Instance.start(ctx, 'instance B', env, ctx.core(1));
    const layout =
      `two child processes on one table: A${ctx.core(0) === undefined ? '' : ` (core ${ctx.core(0)})`} takes the writes, ` +
      `B${ctx.core(1) === undefined ? '' : ` (core ${ctx.core(1)})`} follows through LISTEN/NOTIFY + catch-up by seq` +
      `${ctx.core(1) === undefined ? '' : ', load generator on core 1'}`;
    const [oa, ob] = [await clockOffset(a), await clockOffset(b)];
    const clockOffsetMs = ob.offset - oa.offset;
    await a.request('record');
    await b.request('record');
    const before = histogramOf(await scrape(b), 'payments_sync_delay_seconds');
    const writes = rate * replicationS;
    log(ctx, `replication: ${int(writes)} writes on A at ${int(rate)}/s, ${replicationConnections} connections`);
    const writeLoad = await drive(
      'replication write load',
      a,
      postOptions(a, `pg-repl-${Math.random().toString(36).slice(2, 8)}-`, replicationConnections, { amount: writes, overallRate: rate }),
      [a, b],
    );
    // B has every write when its count stops short of nothing
    const deadline = Date.now() + 30_000;
    for (;;) {
      const { count } = await b.request<{ count: number }>('applied');
      if (count >= writes) break;
      if (Date.now() > deadline) throw new Error(`replication: B has ${count} of ${writes} writes 30 s after the load`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const after = histogramOf(await scrape(b), 'payments_sync_delay_seconds');
    type Entries = { count: number; entries: [string, number, number][] };
    const onA = await a.request<Entries>('applied', { entries: true });
    const onB = await b.request<Entries>('applied', { entries: true });
    if (onA.count !== writes || onB.count !== writes) {
      throw new Error(`replication: ${writes} writes answered 201, A's store got ${onA.count}, B's ${onB.count}`);
    }
    const atA = new Map(onA.entries.map(([id, at]) => [id, at]));
    const commitToB: number[] = [];
    const writeToB: number[] = [];
    for (const [id, at, updated] of onB.entries) {
      const aAt = atA.get(id);
      if (aAt === undefined) throw new Error(`replication: ${id} reached B but never A's store`);
      commitToB.push(at - aAt);
      writeToB.push(at - updated);
    }
    const h = histogramDelta(after, before);
    return {
      layout,
      rate,
      writes,
      durationS: writeLoad.durationS,
      achievedRate: writeLoad.rps,
      commitToB: distribution(commitToB),
      writeToB: distribution(writeToB),
      histogram: { count: h.count, p50Le: bucketOf(h, 0.5) * 1000, p99Le: bucketOf(h, 0.99) * 1000, meanMs: (h.sum / h.count) * 1000 },
      clockOffsetMs,
      writeLoad: { ...writeLoad, cpu: undefined } as LoadResult,
      cpu: { ...writeLoad.cpu, aPct: writeLoad.cpu.childrenPct[0], bPct: writeLoad.cpu.childrenPct[1], childrenPct: undefined } as PgReplicationCase['cpu'],
    };
  } finally {
    await b?.stop();
    await a.stop();
  }
}

// ---------------------------------------------------------------------------- several instances on one database

/** `total` in `parts` whole parts as equal as can be (the larger first). */
function split(total: number, parts: number): number[] {
  return Array.from({ length: parts }, (_, i) => Math.floor(total / parts) + (i < total % parts ? 1 : 0));
}

/** `total` in whole parts proportional to `weights` (the rounding remainder on the last). */
function proportional(total: number, weights: number[]): number[] {
  const sum = weights.reduce((a, b) => a + b, 0);
  const parts = weights.map((w) => Math.round((total * w) / sum));
  parts[parts.length - 1] += total - parts.reduce((a, b) => a + b, 0);
  return parts;
}

/**
 * Core of the i-th of several instances when pinned: core 0 (the other cases' instance core)
 * first, then cores no one is pinned to, the load generator's core 1 last. On 2 cores: 0, 1, 0.
 */
function multiCore(ctx: Ctx, i: number): number | undefined {
  if (ctx.core(0) === undefined) return undefined;
  const cores = Math.max(2, cpus().length);
  const order = [0, ...Array.from({ length: cores - 2 }, (_, j) => j + 2), 1];
  return order[i % order.length];
}

/** What autocannon hands back with skipAggregateResult (one instance's raw result). */
interface RawResult {
  totalCompletedRequests: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  statusCodeStats: Record<string, { count: number }>;
}

/** autocannon.aggregateResult (not in @types/autocannon): merges raw results, latency histograms included. */
const aggregate = (autocannon as unknown as { aggregateResult(results: RawResult[], opts: autocannon.Options): autocannon.Result }).aggregateResult;

interface SplitLoad {
  requests: number;
  /** first request sent -> last answer received, wall clock */
  durationS: number;
  rps: number;
  /** answers after the midpoint / (midpoint -> last answer) */
  secondHalfRps: number;
  p50: number;
  p99: number;
  perInstance: { connections: number; requests: number; p50: number; p99: number }[];
  /** over the same window (ends at the last answer); only with `amount` */
  cpu?: Cpu & { childrenPct: number[] };
}

/**
 * POST /payments with unique paymentIds against several instances at once: ctx.s.connections
 * split evenly over them, `amount` requests split in proportion (so that they end together) or
 * a `durationS` run cut off at its deadline. Any non-2xx, error or timeout fails the run. With
 * `amount`, `onLast` is called at the last answer (CPU is measured up to it).
 */
async function driveSplit(
  ctx: Ctx,
  label: string,
  instances: Instance[],
  prefix: string,
  run: { amount?: number; durationS?: number },
  onLast?: (at: number) => void,
): Promise<SplitLoad> {
  const connections = split(ctx.s.connections, instances.length);
  const amounts = run.amount === undefined ? undefined : proportional(run.amount, connections);
  const stop = run.amount === undefined ? undefined : await meter(ctx, instances.map((i) => i.pid));
  let cpu: Promise<Cpu & { childrenPct: number[] }> | undefined;
  let answered = 0;
  let lastAt = NaN;
  let late = 0;
  const t0 = performance.now();
  const midpoint = t0 + ((run.durationS ?? 0) * 1000) / 2;
  const raw = await Promise.all(
    instances.map(
      (instance, i) =>
        new Promise<RawResult>((res, rej) => {
          const o: autocannon.Options = {
            ...postOptions(instance, `${prefix}${i}-`, connections[i], { amount: amounts?.[i], durationS: run.durationS }),
            // the result comes at the first sample tick after the last answer: ticks of 100 ms, not 1 s
            sampleInt: 100,
            skipAggregateResult: true,
          };
          const tracker = autocannon(o, (err: unknown, r: autocannon.Result) => (err ? rej(err instanceof Error ? err : new Error(String(err))) : res(r as unknown as RawResult)));
          tracker.on('response', () => {
            answered++;
            lastAt = performance.now();
            if (lastAt > midpoint) late++;
            if (answered === run.amount) {
              cpu = stop?.();
              onLast?.(lastAt);
            }
          });
        }),
    ),
  );
  const bad = raw.reduce((a, r) => a + r.non2xx + r.errors + r.timeouts, 0);
  const requests = raw.reduce((a, r) => a + r.totalCompletedRequests, 0);
  if (bad > 0 || requests === 0 || (run.amount !== undefined && requests !== run.amount)) {
    const codes = raw.map((r) => JSON.stringify(r.statusCodeStats ?? {})).join(' ');
    throw new Error(
      `${label}: ${requests} answers${run.amount === undefined ? '' : ` of ${run.amount}`}, ${raw.reduce((a, r) => a + r.non2xx, 0)} non-2xx (${codes}), ` +
        `${raw.reduce((a, r) => a + r.errors, 0)} errors, ${raw.reduce((a, r) => a + r.timeouts, 0)} timeouts: a benchmark of errors measures nothing`,
    );
  }
  const opts = (connections: number): autocannon.Options => ({ url: instances[0].url, connections });
  const all = aggregate(raw, opts(ctx.s.connections));
  const durationS = (lastAt - t0) / 1000;
  return {
    requests,
    durationS,
    rps: requests / durationS,
    secondHalfRps: late / ((lastAt - midpoint) / 1000),
    p50: all.latency.p50,
    p99: all.latency.p99,
    perInstance: raw.map((r, i) => {
      const one = aggregate([r], opts(connections[i]));
      return { connections: connections[i], requests: r.totalCompletedRequests, p50: one.latency.p50, p99: one.latency.p99 };
    }),
    cpu: await cpu,
  };
}

/** pg_stat_activity of the bench's database, sampled (from the maintenance database) until stopped. */
function sampleConnections(ctx: Ctx): () => Promise<PgMultiRun['pgConnections']> {
  const samples: { total: number; active: number; lock: number }[] = [];
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const { rows } = await ctx.admin.query<{ total: number; active: number; lock: number }>(
        `SELECT count(*)::int AS total, count(*) FILTER (WHERE state = 'active')::int AS active,
                count(*) FILTER (WHERE wait_event_type = 'Lock')::int AS lock
           FROM pg_stat_activity WHERE datname = $1`,
        [ctx.db],
      );
      samples.push(rows[0]);
      await sleep(ctx.s.multiSampleMs);
    }
  })();
  return async () => {
    stopped = true;
    await loop;
    const mean = (f: (x: (typeof samples)[number]) => number) => samples.reduce((a, x) => a + f(x), 0) / Math.max(1, samples.length);
    return {
      samples: samples.length,
      min: Math.min(...samples.map((x) => x.total)),
      max: Math.max(...samples.map((x) => x.total)),
      mean: mean((x) => x.total),
      activeMean: mean((x) => x.active),
      lockWaitMean: mean((x) => x.lock),
      lockWaitMax: Math.max(...samples.map((x) => x.lock)),
    };
  };
}

/**
 * Keep-alive connections for GET /admin/store: a poll made at the last answer does not open a
 * connection first (fetch's pool drops idle ones after 4 s, shorter than a measured run).
 */
const storeAgent = new Agent({ keepAlive: true, maxSockets: 1 });

/** The instance's GET /admin/store `payments` (its store's size). */
function storeSize(instance: Instance): Promise<number> {
  return new Promise((res, rej) => {
    const req = httpGet(`${instance.url}/admin/store`, { agent: storeAgent }, (answer) => {
      let body = '';
      answer.setEncoding('utf8');
      answer.on('data', (chunk: string) => (body += chunk));
      answer.on('end', () => {
        if (answer.statusCode !== 200) return rej(new Error(`${instance.name}: GET /admin/store answered ${answer.statusCode}: ${body}`));
        try {
          res((JSON.parse(body) as { payments: number }).payments);
        } catch (e) {
          rej(e instanceof Error ? e : new Error(String(e)));
        }
      });
      answer.on('error', rej);
    });
    req.on('error', rej);
  });
}

/**
 * From `from` (the last answer): polls every instance's GET /admin/store until its store holds
 * `rows` payments. Per instance: when the first poll that saw them all was answered (an upper
 * bound), when the last one that saw fewer was sent (a lower bound), and the polls it took.
 */
function converge(ctx: Ctx, instances: Instance[], rows: number, from: number, cancelled: () => boolean): Promise<{ ms: number; notBeforeMs: number; polls: number }[]> {
  const deadlineMs = ctx.s.multiConvergeS * 1000;
  return Promise.all(
    instances.map(async (instance) => {
      let notBeforeMs = 0;
      for (let polls = 1; ; polls++) {
        const sent = performance.now() - from;
        const payments = await storeSize(instance);
        const ms = performance.now() - from;
        if (payments === rows) return { ms, notBeforeMs, polls };
        if (payments > rows) throw new Error(`MISMATCH (${instance.name}): the store holds ${payments} payments, the writes answered add up to ${rows} rows`);
        if (ms > deadlineMs) throw new Error(`${instance.name}: the store holds ${payments} of ${rows} payments ${ctx.s.multiConvergeS} s after the last answer`);
        if (cancelled()) throw new Error(`${instance.name}: convergence abandoned`);
        notBeforeMs = sent;
        await sleep(ctx.s.multiPollMs);
      }
    }),
  );
}

/** k instances on a fresh schema: warm-up, a timed run, then the measured run of `amount` requests (undefined: sized here). */
async function multiRun(ctx: Ctx, k: number, amount: number | undefined): Promise<{ run: PgMultiRun; amount: number }> {
  const { connections } = ctx.s;
  const label = `${k} instance${k === 1 ? '' : 's'} on one database`;
  const schema = `multi_${k}`;
  const url = await createSchema(ctx, schema);
  const cores = Array.from({ length: k }, (_, i) => multiCore(ctx, i));
  const env = { BENCH_PG_APP_URL: url, BENCH_PG_GROUP: '100', BENCH_PG_LISTEN: '1' };
  const started = await Promise.allSettled(cores.map((core, i) => Instance.start(ctx, `${label}: instance ${i + 1}`, env, core)));
  const instances = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  let cancelled = false;
  try {
    const failed = started.find((s) => s.status === 'rejected');
    if (failed) throw failed.reason;
    const tag = Math.random().toString(36).slice(2, 8);
    // as many requests per instance as the other cases' warm-up, then a timed run (k = 1: the calibration)
    const warmRequests = ctx.s.commitWarmup * k;
    const timedS = amount === undefined ? ctx.s.commitCalibrationS : ctx.s.multiWarmS;
    log(ctx, `${label}: warm-up, ${int(warmRequests)} requests, then ${timedS} s`);
    const warm = await driveSplit(ctx, `${label} warm-up`, instances, `pg-multi-warm-${k}-${tag}-`, { amount: warmRequests });
    // every request was answered, so every write has committed: nothing in flight
    const rowsWarm = await countRows(ctx.dbUrl, schema);
    if (rowsWarm !== warm.requests) throw new Error(`MISMATCH (${label} warm-up): ${warm.requests} answered 201, the table holds ${rowsWarm} rows`);
    // cut off at its deadline: every 201 is a row, and at most one write per connection was in flight unanswered
    const timed = await driveSplit(ctx, `${label} timed warm-up`, instances, `pg-multi-cal-${k}-${tag}-`, { durationS: timedS });
    const rowsBefore = await settled(() => countRows(ctx.dbUrl, schema));
    const cut = rowsBefore - rowsWarm - timed.requests;
    if (cut < 0 || cut > connections) throw new Error(`MISMATCH (${label} timed warm-up): ${timed.requests} answered 201, the table gained ${rowsBefore - rowsWarm} rows`);
    const total = amount ?? Math.max(connections * 20, Math.round(timed.secondHalfRps * ctx.s.multiS));
    // the stores' route warm, and a connection to each open for the polls after the run; the
    // second call's round trip (idle) is the floor of a convergence time
    await Promise.all(instances.map(storeSize));
    const pollRttMs = await Promise.all(
      instances.map(async (instance) => {
        const t = performance.now();
        await storeSize(instance);
        return performance.now() - t;
      }),
    );

    const before = await Promise.all(instances.map(scrape));
    const rows = rowsBefore + total;
    let converging: Promise<{ ms: number; notBeforeMs: number; polls: number }[]> | undefined;
    let stopSampling: Promise<PgMultiRun['pgConnections']> | undefined;
    const sampling = sampleConnections(ctx);
    log(ctx, `${label}: ${int(total)} POST /payments, ${split(connections, k).join(' + ')} connections`);
    let load: SplitLoad;
    try {
      load = await driveSplit(ctx, label, instances, `pg-multi-${k}-${tag}-`, { amount: total }, (at) => {
        stopSampling = sampling();
        converging = converge(ctx, instances, rows, at, () => cancelled);
        converging.catch(() => undefined); // awaited below; not unhandled meanwhile
      });
    } finally {
      await (stopSampling ?? sampling());
    }
    const converged = await converging!;
    const pgConnections = await stopSampling!;
    const totalRows = await countRows(ctx.dbUrl, schema);
    const after = await Promise.all(instances.map(scrape));
    const created = load.requests; // every answer was 2xx, and with unique paymentIds a 2xx is a 201
    const serverCreated = instances.reduce((a, _, i) => a + metricValue(after[i], 'http_requests_total', POST_201) - metricValue(before[i], 'http_requests_total', POST_201), 0);
    const rowsAdded = totalRows - rowsBefore;
    if (rowsAdded !== created || serverCreated !== created || totalRows !== rows) {
      throw new Error(`MISMATCH (${label}): ${created} answered 201, the servers counted ${serverCreated} 201s, the table gained ${rowsAdded} rows`);
    }
    // every store still holds exactly the table's rows (nothing was written since)
    for (const instance of instances) {
      const payments = await storeSize(instance);
      if (payments !== totalRows) throw new Error(`MISMATCH (${instance.name}): the store holds ${payments} payments, the table ${totalRows} rows`);
    }
    const batches = instances.map((_, i) => histogramDelta(histogramOf(after[i], 'payments_commit_batch_size'), histogramOf(before[i], 'payments_commit_batch_size')));
    const commits = instances.map((_, i) => histogramDelta(histogramOf(after[i], 'payments_commit_duration_seconds'), histogramOf(before[i], 'payments_commit_duration_seconds')));
    const sum = (hs: Histogram[], f: (h: Histogram) => number) => hs.reduce((a, h) => a + f(h), 0);
    const transactions = sum(batches, (h) => h.count);
    const cpu = load.cpu!;
    return {
      amount: total,
      run: {
        instances: k,
        warmup: { requests: warm.requests, timedS, timedRequests: timed.requests, timedRps: timed.secondHalfRps },
        requests: load.requests,
        durationS: load.durationS,
        createsPerS: load.rps,
        p50: load.p50,
        p99: load.p99,
        created,
        serverCreated,
        rowsAdded,
        totalRows,
        transactions,
        transactionsPerS: transactions / load.durationS,
        meanBatch: sum(batches, (h) => h.sum) / transactions,
        meanCommitMs: (sum(commits, (h) => h.sum) / sum(commits, (h) => h.count)) * 1000,
        pgConnections,
        convergedMs: Math.max(...converged.map((c) => c.ms)),
        notBeforeMs: Math.max(...converged.map((c) => c.notBeforeMs)),
        perInstance: instances.map((_, i) => ({
          core: cores[i],
          connections: load.perInstance[i].connections,
          requests: load.perInstance[i].requests,
          p50: load.perInstance[i].p50,
          p99: load.perInstance[i].p99,
          cpuPct: cpu.childrenPct[i],
          transactions: batches[i].count,
          meanBatch: batches[i].sum / batches[i].count,
          convergedMs: converged[i].ms,
          notBeforeMs: converged[i].notBeforeMs,
          polls: converged[i].polls,
          idlePollMs: pollRttMs[i],
        })),
        cpu: { ...cpu, childrenPct: undefined } as Cpu,
        ratio: NaN,
      },
    };
  } finally {
    cancelled = true;
    await Promise.all(instances.map((i) => i.stop()));
  }
}

async function multiCase(ctx: Ctx): Promise<PgMultiCase> {
  const runs: PgMultiRun[] = [];
  let amount: number | undefined;
  let calibrationRps = NaN;
  for (const k of ctx.s.multiInstances) {
    const r = await multiRun(ctx, k, amount);
    if (amount === undefined) {
      amount = r.amount;
      calibrationRps = r.run.warmup.timedRps;
    }
    runs.push(r.run);
  }
  for (const run of runs) run.ratio = run.createsPerS / runs[0].createsPerS;
  const where = (k: number) => Array.from({ length: k }, (_, i) => multiCore(ctx, i)).join(', ');
  const layout =
    ctx.core(0) === undefined
      ? `k child processes on one fresh schema per k (group commit, max batch 100), not pinned`
      : `k child processes on one fresh schema per k (group commit, max batch 100), pinned round-robin: ` +
        ctx.s.multiInstances.map((k) => `k=${k} on core${k === 1 ? '' : 's'} ${where(k)}`).join('; ') +
        `; load generator on core 1 (shared with instances from k=2), PostgreSQL not pinned`;
  return { layout, connections: ctx.s.connections, requestsPerRun: amount ?? 0, calibrationRps, runs };
}

// ---------------------------------------------------------------------------- the section

export async function postgresSection(o: { n: number; smoke: boolean; pinned: boolean; log: (msg: string) => void }): Promise<PgResults> {
  const base = process.env.BENCH_PG_URL ?? PG_DEFAULT_URL;
  const shown = redact(base);
  if (process.env.BENCH_PG === '0') return { skipped: 'BENCH_PG=0', url: shown };
  try {
    await withClient(base, (c) => c.query('SELECT 1'));
  } catch (e) {
    const reason = e instanceof Error ? e.message || (e as { code?: string }).code || String(e) : String(e);
    o.log(`PostgreSQL section skipped: cannot reach ${shown} (${reason})`);
    return { skipped: `PostgreSQL unreachable at ${shown}: ${reason}`, url: shown };
  }

  const started = performance.now();
  const directOnly = process.env.BENCH_PG_DIRECT_ONLY === '1';
  const withDirect = directOnly || process.env.BENCH_PG_DIRECT !== '0';
  const db = `payments_bench_${process.pid}`;
  const s = pgSettings(o.smoke);
  const admin = new Client({ connectionString: base, connectionTimeoutMillis: 5000 });
  await admin.connect();
  const ctx: Ctx = {
    n: o.n,
    smoke: o.smoke,
    s,
    base,
    db,
    dbUrl: urlOf(base, db),
    core: (i) => (o.pinned ? i : undefined),
    log: o.log,
    admin,
  };
  const drop = () => withClient(base, (c) => c.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`));
  const onSignal = () => {
    for (const i of Instance.live) i.child.kill('SIGKILL');
    void drop().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  try {
    await drop();
    await admin.query(`CREATE DATABASE ${db}`);
    o.log(`PostgreSQL section: database ${db} on ${shown}`);
    let filled: Filled | undefined = await fillCase(ctx);
    const fill = filled.fill;
    let load: PgLoadCase | undefined;
    let direct: PgDirectCase | undefined;
    try {
      if (!directOnly) load = await loadCase(ctx, filled);
      if (withDirect) direct = await directCase(ctx, filled);
    } finally {
      filled = undefined;
      // the next cases do not need these rows; a smaller database is a quicker DROP
      await withClient(ctx.dbUrl, (c) => c.query('DROP SCHEMA load CASCADE'));
    }
    gc(); // the in-memory engine of the reference answers: collected before the next cases
    const commit = directOnly ? undefined : await commitCase(ctx);
    const replication = directOnly ? undefined : await replicationCase(ctx);
    const multi = directOnly ? undefined : await multiCase(ctx);
    const durationS = (performance.now() - started) / 1000;
    return { url: shown, database: db, settings: s, pinned: o.pinned, durationS, directOnly, fill, load, direct, commit, replication, multi };
  } finally {
    for (const i of [...Instance.live]) await i.stop();
    await drop().catch((e) => o.log(`could not drop ${db}: ${String(e)}`));
    await admin.end().catch(() => undefined);
    process.off('SIGINT', onSignal);
    o.log(`PostgreSQL section: ${db} dropped, ${((performance.now() - started) / 1000).toFixed(0)} s in all`);
  }
}

// ---------------------------------------------------------------------------- report

const sec = (x: number) => (x / 1000).toFixed(x < 10_000 ? 2 : 1);
const pct = (x: number | undefined) => (x === undefined ? '?' : x.toFixed(0));

/** The section's table (the bench's style) and notes; `goals` holds pg.load.s. */
export function postgresReport(r: PgResults, goals: GoalResult[]): string {
  if (r.skipped) return `PostgreSQL section: skipped (${r.skipped})`;
  // BENCH_PG_DIRECT_ONLY=1 runs the fill and the direct case alone: any other case may be absent
  const { load: l, commit: c, replication: p, direct: d } = r;
  const settings = r.settings!;
  const durationS = r.durationS!;
  const cpu = (c: Cpu, instance = pct(c.instancePct)) => `${instance} (waited ${pct(c.instanceWaitPct)}) / ${pct(c.postgresPct)} / ${pct(c.restPct)}`;
  const rows: string[][] = [['PostgreSQL mode', 'figure', 'detail', 'ratio', 'goal', 'CPU %: instance (waited) / PostgreSQL / rest']];
  if (l) {
    const b = l.breakdown;
    rows.push([
      `load at start: ${int(l.n)} payments, createApp() until loaded`,
      `${sec(l.startMs)} s, ${int(l.rowsPerS)} rows/s`,
      `StoreSync.load ${sec(l.storeSyncLoadMs)} s; apart: COPY read ${sec(b.copyMs)} s (this side's CPU ${sec(b.copyCpuMs)} s; executor ${sec(b.executorMs)} s) + decoding ${sec(b.decodeMs)} s + store appends ${sec(b.appendMs)} s + index builds ${sec(b.indexMs)} s`,
      '-',
      goalCell(goals, ['pg.load.s']),
      cpu(l.cpu),
    ]);
  }
  if (d) rows.push(...directRows(d));
  for (const run of c ? [c.group, c.single] : []) {
    rows.push([
      `POST /payments, ${run.load.connections} conn, ${run.groupCommitMaxBatch === 1 ? 'one transaction per write (max batch 1)' : `group commit (max batch ${run.groupCommitMaxBatch})`}`,
      rps(run.load),
      `${int(run.transactionsPerS)} transactions/s, mean batch ${run.meanBatch.toFixed(1)}, mean commit ${ms(run.meanCommitMs)} ms; ${int(run.created)} 201s = ${int(run.rowsAdded)} rows`,
      run === c!.group ? `${ratio(c!.ratio)} one per write` : '-',
      '- (reported)',
      cpu(run.cpu),
    ]);
  }
  if (p) {
    rows.push([
      `replication A → B, ${int(p.rate)} writes/s on A for ${p.durationS.toFixed(0)} s: commit on A → readable on B`,
      `p50 ${ms(p.commitToB.p50)} / p99 ${ms(p.commitToB.p99)} ms (max ${ms(p.commitToB.max)})`,
      `write on A (updatedAt) → B: p50 ${ms(p.writeToB.p50)} / p99 ${ms(p.writeToB.p99)} ms; B's payments_sync_delay_seconds: p50 ≤${ms(p.histogram.p50Le)} / p99 ≤${ms(p.histogram.p99Le)} ms (buckets)`,
      '-',
      '- (reported)',
      cpu(p.cpu, `A ${pct(p.cpu.aPct)} + B ${pct(p.cpu.bPct)}`),
    ]);
  }
  for (const run of r.multi?.runs ?? []) {
    const conn = run.pgConnections;
    const spread = (f: (i: PgMultiInstance) => number, fmt: (x: number) => string) => run.perInstance.map((i) => fmt(f(i))).join(' / ');
    rows.push([
      `POST /payments, ${r.multi!.connections} conn, ${run.instances} instance${run.instances === 1 ? '' : 's'} on one database (${run.perInstance.map((i) => i.connections).join(' + ')} conn)`,
      `${int(run.createsPerS)} creates/s, p50 ${ms(run.p50)} / p99 ${ms(run.p99)} ms`,
      `${int(run.transactionsPerS)} transactions/s, mean batch ${run.meanBatch.toFixed(1)}` +
        (run.instances === 1 ? '' : ` (per instance ${spread((i) => i.meanBatch, (x) => x.toFixed(1))})`) +
        `, mean commit ${ms(run.meanCommitMs)} ms; PostgreSQL connections ${conn.min === conn.max ? conn.min : `${conn.min}-${conn.max}`} ` +
        `(active ${conn.activeMean.toFixed(1)}, waiting on a lock ${conn.lockWaitMean.toFixed(1)} on average); ` +
        `every store = ${int(run.totalRows)} rows ${ms(run.notBeforeMs)}–${ms(run.convergedMs)} ms after the last answer` +
        (run.instances === 1 ? '' : ` (per instance ≤${spread((i) => i.convergedMs, ms)} ms)`) +
        ` (one poll idle: ${spread((i) => i.idlePollMs, ms)} ms)` +
        `; ${int(run.created)} 201s = ${int(run.rowsAdded)} rows`,
      run.instances === 1 ? '-' : `${ratio(run.ratio)} 1 instance`,
      '- (reported)',
      cpu(run.cpu, run.perInstance.map((i) => pct(i.cpuPct)).join(' + ')),
    ]);
  }
  const f = r.fill;
  const notes = [
    `PostgreSQL section: database ${r.database} on ${r.url} (made and dropped by the bench); every instance is a child process ` +
      `(bench/pg-server.ts: createApp with a databaseUrl, cache off)${r.pinned ? ' pinned to core 0 (B of the replication case: core 1), load generator on core 1' : ', not pinned'}; ` +
      `PostgreSQL itself is not pinned; ${durationS.toFixed(0)} s in all. CPU in % of one core: the instance(s) (waited: % of the time their main thread was runnable ` +
      `but had no CPU), the PostgreSQL backends of the bench's database, and the rest of the machine (other sessions, PostgreSQL's WAL writer and checkpointer, the kernel)` +
      (r.directOnly ? '; BENCH_PG_DIRECT_ONLY=1: the fill and PostgreSQL queried directly alone' : ''),
  ];
  if (f) {
    notes.push(
      `fill: data set generated in ${sec(f.generateMs)} s, written in ${sec(f.fillMs)} s (${f.tableMB.toFixed(0)} MB with indexes, then VACUUM ANALYZE; untimed for the figures); ` +
        `the in-memory engine over the same payments loaded in bulk in ${sec(f.referenceMs)} s (the reference answers)`,
    );
  }
  if (l) {
    notes.push(
      `load: the instance's store holds ${int(l.checks.size)} payments, field for field the data set (digest ${l.checks.digest}), and ${l.checks.answers} search/stats answers ` +
        `match the in-memory engine's on the same data; heap ${int(l.heapMB)} MB once loaded`,
    );
  }
  if (d) notes.push(...directNotes(d, r.pinned === true));
  if (c) {
    notes.push(
      `commit: each configuration on a fresh schema: ${int(settings.commitWarmup)} requests of warm-up, ${settings.commitCalibrationS} s to measure the rate, then the measured run, ` +
        `a fixed number of requests (~${settings.commitS} s at that rate, so that none is cut off in flight); unique paymentIds; after each run the table gained exactly ` +
        `the payments answered 201 (client's count = the server's 201 counter = rows added)`,
    );
  }
  if (p) {
    notes.push(
      `replication: ${p.layout}; ${int(p.writes)} writes at ${int(p.achievedRate)}/s achieved, every one reached B; ` +
        `"readable" = in the instance's store (GET /payments/:id answers it); clock offset B - A ${ms(p.clockOffsetMs)} ms (not corrected)`,
    );
  }
  const m = r.multi;
  if (m) {
    notes.push(
      `several instances on one database: ${m.layout}; per k ${int(settings.commitWarmup)} requests per instance of warm-up, then a timed run ` +
        `(k=1: ${settings.commitCalibrationS} s, the calibration, its rate taken over its second half; k>1: ${settings.multiWarmS} s), ` +
        `then the measured run: ${int(m.requestsPerRun)} requests (~${settings.multiS} s at the 1-instance rate of ${int(m.calibrationRps)}/s), ` +
        `${m.connections} connections split evenly over the instances, unique paymentIds; creates/s = answers / (first request → last answer), ` +
        `p50/p99 over every answer; transactions and batches: the instances' payments_commit_batch_size summed (mean commit includes the wait for COMMIT_LOCK); ` +
        `connections: count(*) of pg_stat_activity for the bench's database, sampled every ${settings.multiSampleMs} ms during the run; ` +
        `after the run the table gained exactly the 201s (client = servers' counters = rows) and every instance's GET /admin/store reached the table's row count ` +
        `(polled every ~${settings.multiPollMs} ms from the last answer over a kept-alive connection; "a–b ms": the last poll that saw fewer rows was sent at a, ` +
        `the first that saw them all answered at b); CPU: each instance apart`,
    );
  }
  return [table(rows), '', ...notes].join('\n');
}

/** The direct case's rows of the section's table: per shape SQL beside the in-memory engine of the same run. */
function directRows(d: PgDirectCase): string[][] {
  return d.shapes.map((x) => {
    const split = x.page && x.total ? `; page ${ms(x.page.p50)} + total ${ms(x.total.p50)} ms (p50 of each)` : '';
    const backendPct = x.backendCpuMsPerCall === undefined ? undefined : (x.backendCpuMsPerCall / x.pg.mean) * 100;
    return [
      `PostgreSQL queried directly: ${x.label}${x.page ? ' (page + total)' : ''}, ms p50 / p99`,
      lat(x.pg),
      `in-memory engine, same run and answers: ${lat(x.memory)}${split}; backend CPU ${x.backendCpuMsPerCall === undefined ? '?' : ms(x.backendCpuMsPerCall)} ms per call; ` +
        x.plans.map((p) => `${p.statement}: ${p.plan.scans}`).join(', '),
      `engine ${ratio(x.ratioP50)} faster at p50, ${ratio(x.ratioP99)} at p99`,
      '- (baseline)',
      `- / ${pct(backendPct)} / ${pct(x.otherCpuPct.pg)}`,
    ];
  });
}

function directNotes(d: PgDirectCase, pinned: boolean): string[] {
  const plans = d.shapes.flatMap((x) => x.plans.map((p) => ({ shape: x.id, ...p })));
  const heapFetches = plans.reduce((a, p) => a + p.plan.heapFetches, 0);
  const jit = plans.filter((p) => p.plan.jit).map((p) => `${p.shape} ${p.statement}`);
  return [
    `PostgreSQL queried directly (bench/pg-direct.ts): the load's table (${int(d.n)} rows, heap ${int(d.tableMB)} MB) with three composite indexes added ` +
      `(${d.indexes.filter((i) => i.name.startsWith('payments_direct_')).map((i) => `${i.name} ${int(i.mb)} MB`).join(', ')}; built in ${d.indexBuildS.toFixed(1)} s, ` +
      `VACUUM (ANALYZE) ${d.analyzeS.toFixed(1)} s, ${(d.allVisible * 100).toFixed(1)}% of the heap's pages all-visible): (organization_id, created_at DESC, payment_id) INCLUDE (status, currency, amount, refunded_amount), ` +
      `(organization_id, status, created_at DESC, payment_id) INCLUDE (currency, amount), (organization_id, amount, payment_id) INCLUDE (status, currency, created_at), ` +
      `payment_id COLLATE "C"; server as configured (${Object.entries(d.server).map(([k, v]) => `${k} ${v}`).join(', ')})`,
    `  each shape: bench.ts' query variants (bench/queries.ts) as SQL (ORDER BY created_at DESC, payment_id COLLATE "C" LIMIT 20, then count(*); stats: one GROUPING SETS scan, ` +
      `numeric sums per currency); node-postgres, one connection, unnamed parameterised statements (planned per call), sequential calls` +
      `${pinned ? ', this process on core 1 (PostgreSQL not pinned)' : ''}; a warm pass first (every variant once through SQL, ${d.warmPassS.toFixed(1)} s), ` +
      `then ${d.settings.samples} timed calls per shape and engine in mirrored blocks (engine, SQL, SQL, engine; ${d.settings.samples / 2} each, ${d.settings.warmup} untimed before each); ` +
      `every SQL answer equals the in-memory engine's for the same variant (checksums of ids + total, of the stats); the engine's figures are the ` +
      `in-process reader (no HTTP), SQL's include a loopback round trip per statement; ratio = SQL / engine; CPU column: - / the backend's CPU over ` +
      `its calls' time / the rest of the machine`,
    `  plans of variant 0, once warm (EXPLAIN ANALYZE): ` +
      plans.map((p) => `${p.shape} ${p.statement} ${ms(p.plan.executionMs)} ms (+ planning ${ms(p.plan.planningMs)})`).join('; ') +
      `; heap fetches ${int(heapFetches)}; JIT ${jit.length === 0 ? 'in no plan' : `in ${jit.join(', ')}`}`,
  ];
}
