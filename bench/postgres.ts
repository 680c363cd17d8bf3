/**
 * The PostgreSQL section of the bench: run by `npm run bench` after the other cases, or alone
 * with `npm run bench:pg` (bench/bench-pg.ts). Every service instance is a child process
 * (bench/pg-server.ts: createApp with a databaseUrl), pinned to a core when taskset exists.
 *
 *   load:        N payments of the data set written to the table (untimed), then a fresh
 *                instance timed from createApp() until StoreSync has loaded them; its store
 *                must hold the data set field for field and answer as the in-memory engine.
 *                Where the time goes is measured apart (executor, FETCH, row conversion, store).
 *   commit:      POST /payments over HTTP (autocannon) with group commit (groupCommitMaxBatch
 *                100) and with one transaction per write (1), each on a fresh schema; the
 *                table must then hold exactly the payments answered 201.
 *   replication: two instances on one table, a fixed-rate write load on A; when each write
 *                reached B's store, against when it reached A's (after its commit).
 *
 * Env: BENCH_PG=0 (skip), BENCH_PG_URL (default postgres://postgres@127.0.0.1:5432/test: a
 * database to connect to for CREATE/DROP DATABASE). The section makes its own database,
 * payments_bench_<pid>, and drops it at the end (WITH (FORCE)). An unreachable server skips
 * the section (reported), it does not fail the bench; a wrong answer does.
 */
import autocannon from 'autocannon';
import { ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { Client, Pool } from 'pg';
import type { Payment } from '../src/payments/payment';
import { INSERT_PAYMENTS, insertParams } from '../src/persistence/payment-rows';
import { migrate } from '../src/persistence/migrations';
import { generatePayments } from './dataset';
import { goalCell, int, ms, ratio, rps, table } from './format';
import type { GoalResult } from './goals';
import { LoadResult, postRequests } from './http';
import { CpuProbe, gc, percentile, processCpuMs, runQueueWaitMs } from './measure';
import { checkAnswers, paymentsDigest } from './pg-checks';
import { ProjectEngine } from './project';

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
  };
}

// ---------------------------------------------------------------------------- results

export interface PgLoadCase {
  n: number;
  generateMs: number;
  fillMs: number;
  tableMB: number;
  referenceMs: number;
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
  breakdown: { executorMs: number; fetchMs: number; fetchCpuMs: number; convertMs: number; readMs: number; storeMs: number };
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

export interface PgCommitRun {
  label: string;
  groupCommitMaxBatch: number;
  load: LoadResult;
  cpu: Cpu;
  /** 201s of the measured run (autocannon), of the server's counter, rows the run added */
  created: number;
  serverCreated: number;
  rowsAdded: number;
  totalRows: number;
  transactions: number;
  transactionsPerS: number;
  meanBatch: number;
  meanCommitMs: number;
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

export interface PgResults {
  skipped?: string;
  url: string;
  database?: string;
  settings?: PgSettings;
  pinned?: boolean;
  durationS?: number;
  load?: PgLoadCase;
  commit?: PgCommitCase;
  replication?: PgReplicationCase;
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
    const nodeArgs = ['--expose-gc', '--max-old-space-size=8192', '-r', 'ts-node/register/transpile-only', 'bench/pg-server.ts'];
    const [cmd, args] =
      core === undefined ? [process.execPath, nodeArgs] : ['taskset', ['-c', String(core), process.execPath, ...nodeArgs]];
    const child = spawn(cmd, args, {
      cwd: ROOT,
      env: { ...process.env, ...env, TS_NODE_TRANSPILE_ONLY: 'true' },
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

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Prometheus text format, as GET /metrics answers it. */
function parseMetrics(text: string): Sample[] {
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

function metricValue(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  return samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((a, s) => a + s.value, 0);
}

interface Histogram {
  buckets: [number, number][];
  sum: number;
  count: number;
}

function histogramOf(samples: Sample[], name: string): Histogram {
  const buckets = samples
    .filter((s) => s.name === `${name}_bucket`)
    .map((s): [number, number] => [s.labels.le === '+Inf' ? Infinity : Number(s.labels.le), s.value])
    .sort((a, b) => a[0] - b[0]);
  return { buckets, sum: metricValue(samples, `${name}_sum`), count: metricValue(samples, `${name}_count`) };
}

function histogramDelta(after: Histogram, before: Histogram): Histogram {
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
    rps: r.requests.total / r.duration,
    p50: r.latency.p50,
    p99: r.latency.p99,
    requests: r.requests.total,
    durationS: r.duration,
    connections: r.connections,
    pipelining: r.pipelining,
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

async function fill(ctx: Ctx, url: string, payments: readonly Payment[]): Promise<void> {
  const pool = new Pool({ connectionString: url, max: ctx.s.fillConnections });
  try {
    await migrate(pool);
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
            await client.query(INSERT_PAYMENTS, insertParams(payments.slice(from, Math.min(payments.length, from + ctx.s.fillBatch))));
          }
        } finally {
          client.release();
        }
      }),
    );
    // as a table long in service is: visibility hints set, statistics known
    await pool.query('VACUUM (ANALYZE) payments');
  } finally {
    await pool.end();
  }
}

async function loadCase(ctx: Ctx): Promise<PgLoadCase> {
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
  const reference = new ProjectEngine(payments);
  const referenceMs = performance.now() - t;
  const expectedAnswers = await checkAnswers(reference);
  const expectedDigest = paymentsDigest(payments);
  payments = undefined;
  gc();

  log('PostgreSQL load: a fresh instance, createApp() until loaded');
  const instance = await Instance.start(ctx, 'load instance', { BENCH_PG_APP_URL: url }, ctx.core(0));
  try {
    const r = instance.ready;
    // the backends this instance opened (its pool keeps them 30 s): their CPU since they started
    const postgresMs = backendsDelta(new Map(), await backendsCpu(ctx));
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
    log('PostgreSQL load: where the time goes (executor, FETCH, rows -> payments, store inserts), measured apart');
    const breakdown = await instance.request<PgLoadCase['breakdown'] & { rows: number }>('breakdown');
    return {
      n,
      generateMs,
      fillMs,
      tableMB,
      referenceMs,
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
    // the next cases do not need these rows; a smaller database is a quicker DROP
    await withClient(ctx.dbUrl, (c) => c.query('DROP SCHEMA load CASCADE'));
  }
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
  const db = `payments_bench_${process.pid}`;
  const s = pgSettings(o.smoke);
  const admin = new Client({ connectionString: base, connectionTimeoutMillis: 5000 });
  await admin.connect();
  const ctx: Ctx = {
    n: o.n,
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
    const load = await loadCase(ctx);
    const commit = await commitCase(ctx);
    const replication = await replicationCase(ctx);
    return { url: shown, database: db, settings: s, pinned: o.pinned, durationS: (performance.now() - started) / 1000, load, commit, replication };
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
  const { load: l, commit: c, replication: p, settings, durationS } = r as Required<PgResults>;
  const b = l.breakdown;
  const cpu = (c: Cpu, instance = pct(c.instancePct)) => `${instance} (waited ${pct(c.instanceWaitPct)}) / ${pct(c.postgresPct)} / ${pct(c.restPct)}`;
  const rows: string[][] = [['PostgreSQL mode', 'figure', 'detail', 'ratio', 'goal', 'CPU %: instance (waited) / PostgreSQL / rest']];
  rows.push([
    `load at start: ${int(l.n)} payments, createApp() until loaded`,
    `${sec(l.startMs)} s, ${int(l.rowsPerS)} rows/s`,
    `StoreSync.load ${sec(l.storeSyncLoadMs)} s; apart: FETCH ${sec(b.fetchMs)} s (pg parsing ${sec(b.fetchCpuMs)} s CPU; executor ${sec(b.executorMs)} s) + rows→payments ${sec(b.convertMs)} s + store inserts ${sec(b.storeMs)} s`,
    '-',
    goalCell(goals, ['pg.load.s']),
    cpu(l.cpu),
  ]);
  for (const run of [c.group, c.single]) {
    rows.push([
      `POST /payments, ${run.load.connections} conn, ${run.groupCommitMaxBatch === 1 ? 'one transaction per write (max batch 1)' : `group commit (max batch ${run.groupCommitMaxBatch})`}`,
      rps(run.load),
      `${int(run.transactionsPerS)} transactions/s, mean batch ${run.meanBatch.toFixed(1)}, mean commit ${ms(run.meanCommitMs)} ms; ${int(run.created)} 201s = ${int(run.rowsAdded)} rows`,
      run === c.group ? `${ratio(c.ratio)} one per write` : '-',
      '- (reported)',
      cpu(run.cpu),
    ]);
  }
  rows.push([
    `replication A → B, ${int(p.rate)} writes/s on A for ${p.durationS.toFixed(0)} s: commit on A → readable on B`,
    `p50 ${ms(p.commitToB.p50)} / p99 ${ms(p.commitToB.p99)} ms (max ${ms(p.commitToB.max)})`,
    `write on A (updatedAt) → B: p50 ${ms(p.writeToB.p50)} / p99 ${ms(p.writeToB.p99)} ms; B's payments_sync_delay_seconds: p50 ≤${ms(p.histogram.p50Le)} / p99 ≤${ms(p.histogram.p99Le)} ms (buckets)`,
    '-',
    '- (reported)',
    cpu(p.cpu, `A ${pct(p.cpu.aPct)} + B ${pct(p.cpu.bPct)}`),
  ]);
  const notes = [
    `PostgreSQL section: database ${r.database} on ${r.url} (made and dropped by the bench); every instance is a child process ` +
      `(bench/pg-server.ts: createApp with a databaseUrl, cache off)${r.pinned ? ' pinned to core 0 (B of the replication case: core 1), load generator on core 1' : ', not pinned'}; ` +
      `PostgreSQL itself is not pinned; ${durationS.toFixed(0)} s in all. CPU in % of one core: the instance(s) (waited: % of the time their main thread was runnable ` +
      `but had no CPU), the PostgreSQL backends of the bench's database, and the rest of the machine (other sessions, PostgreSQL's WAL writer and checkpointer, the kernel)`,
    `load: data set generated in ${sec(l.generateMs)} s, written in ${sec(l.fillMs)} s (${l.tableMB.toFixed(0)} MB with indexes, then VACUUM ANALYZE; untimed); ` +
      `the instance's store holds ${int(l.checks.size)} payments, field for field the data set (digest ${l.checks.digest}), and ${l.checks.answers} search/stats answers ` +
      `match the in-memory engine's on the same data (built in ${sec(l.referenceMs)} s); heap ${int(l.heapMB)} MB once loaded`,
    `commit: each configuration on a fresh schema: ${int(settings.commitWarmup)} requests of warm-up, ${settings.commitCalibrationS} s to measure the rate, then the measured run, ` +
      `a fixed number of requests (~${settings.commitS} s at that rate, so that none is cut off in flight); unique paymentIds; after each run the table gained exactly ` +
      `the payments answered 201 (client's count = the server's 201 counter = rows added)`,
    `replication: ${p.layout}; ${int(p.writes)} writes at ${int(p.achievedRate)}/s achieved, every one reached B; ` +
      `"readable" = in the instance's store (GET /payments/:id answers it); clock offset B - A ${ms(p.clockOffsetMs)} ms (not corrected)`,
  ];
  return [table(rows), '', ...notes].join('\n');
}
