/**
 * npm run bench: issue 4's benchmark. Every case runs this project's engine beside its
 * baselines in the same process run and prints the ratio; every answer is checked against the
 * baselines (a checksum), so a fast wrong answer fails the run.
 *
 *   in process: PaymentStore + the search and stats handlers (cache off) vs naive Map scan vs
 *               LokiJS, on the same N payments: search, stats, incremental insert, memory per
 *               payment;
 *   over HTTP:  the service (createApp, cache off, run with npm run start:prod's node flags) vs
 *               a bare Fastify server, each in its own process pinned to core 0, autocannon in
 *               this process pinned to core 1; GET-by-id and POST also beside a plain NestJS
 *               reference (nest-reference.ts), to show what the framework alone reaches.
 *
 * Env: BENCH_N (default 1,000,000), BENCH_SMOKE=1 (short run; exits 1 when an enforced goal
 * falls below half its value, unless BENCH_GATE=0: then every figure is reported and only a
 * wrong answer fails the run, as .ci/run does on its shared, loaded machine), BENCH_HTTP=0 (skip the HTTP cases), BENCH_INSERTS; BENCH_PG=0 (skip the
 * PostgreSQL section, bench/postgres.ts: load at start, group commit, replication delay, several
 * instances on one database), BENCH_PG_URL; BENCH_MESSAGING=0 (skip the messaging section,
 * bench/bench-messaging.ts: RabbitMQ at BENCH_BROKER_URL against HTTP; off in a smoke run unless
 * BENCH_MESSAGING=1, skipped when no broker answers); BENCH_TRACING=0 (skip the tracing section,
 * bench/bench-tracing.ts: the HTTP path with OpenTelemetry off, at 100% and at 1% sampling; off in a
 * smoke run unless BENCH_TRACING=1); BENCH_LOKI_MAX (default 1,000,000: LokiJS is skipped above it).
 * Run through npm (node --expose-gc --max-old-space-size=8192).
 *
 * Ten million payments (issue 18), not in CI: `BENCH_N=10000000 BENCH_HTTP=0 BENCH_PG=0 npm run
 * bench` for the in-process cases (about 25 minutes: the naive scan reads 10M objects per query;
 * LokiJS is skipped), then the 10M figures of the other scripts: `BENCH_N=10000000 npm run
 * bench:import` (RSS after an import over HTTP), `BENCH_STALL_N=10000000 BENCH_STALL_S=60
 * BENCH_STALL_BASE=<commit> npm run bench:stall` (GET p99 over 60 s, alone and beside the slowest
 * query shapes, with the longest GC pause), `BENCH_N=10000000 PGSTART_VARIANTS=base=<commit>,new=.
 * node --expose-gc --max-old-space-size=8192 -r ts-node/register/transpile-only bench/pg-start.ts`
 * (the PostgreSQL restart), `BENCH_N=10000000 BENCH_PG_DIRECT_ONLY=1 BENCH_PG_DIRECT_SAMPLES=20
 * npm run bench:pg` (PostgreSQL queried directly).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type autocannon from 'autocannon';
import type { Payment } from '../src/payments/payment';
import { compiled, serviceNodeFlags } from './build';
import { DatasetGenerator } from './dataset';
import { evaluateGoals } from './goals';
import { goalCell, goalLine, int, lat, ms, ratio, rps, table } from './format';
import {
  canonicalJson,
  HttpExpectations,
  load,
  LoadOptions,
  LoadResult,
  loadTogether,
  pool,
  postRequests,
  ServerProcess,
  verifyAnswers,
  verifyCreated,
  warm,
} from './http';
import { LokiEngine } from './loki';
import { atRealtimePriority, Budget, CpuProbe, describeIdle, gc, hasTaskset, machineInfo, noiseSample, pinSelf, realtimeTiming, Timing, timeIterations } from './measure';
import { NaiveEngine } from './naive';
import { postgresReport } from './pg-report';
import { postgresSection } from './postgres';
import { messagingReport, messagingSection } from './bench-messaging';
import { tracingReport, tracingSection } from './bench-tracing';
import { ProjectEngine } from './project';
import {
  Engine,
  searchChecksum,
  searchPath,
  searchVariant,
  SizeClass,
  statsChecksum,
  statsPath,
  statsVariant,
  windowSearchVariant,
} from './queries';

const N = Number(process.env.BENCH_N ?? 1_000_000);
const SMOKE = process.env.BENCH_SMOKE === '1';
/** Whether a smoke run fails on a speed goal (a wrong answer always fails, by throwing). */
const SPEED_GATE = process.env.BENCH_GATE !== '0';
const WITH_HTTP = process.env.BENCH_HTTP !== '0';
/** LokiJS keeps a copy of every payment and indices beside: measured up to 1M payments (issue 18), skipped above. */
const WITH_LOKI = N <= Number(process.env.BENCH_LOKI_MAX ?? 1_000_000);
/** What a skipped baseline reports: no iterations, no figure (printed as "-"). */
const SKIPPED: EngineTiming = { iterations: 0, p50: NaN, p99: NaN, mean: NaN, max: NaN, checked: 0, otherCpuPct: undefined };
const latOrSkipped = (t: EngineTiming) => (t.iterations === 0 ? `- (N > ${int(Number(process.env.BENCH_LOKI_MAX ?? 1_000_000))})` : lat(t));

const S = SMOKE
  ? {
      project: { warmup: 20, min: 40, max: 300, ms: 1_500 } satisfies Budget,
      baseline: { warmup: 2, min: 5, max: 40, ms: 1_500 } satisfies Budget,
      inserts: Number(process.env.BENCH_INSERTS ?? 5_000),
      lokiInsertMs: 3_000,
      httpS: 2,
      httpWarmupS: 0.5,
      preflight: 4,
    }
  : {
      project: { warmup: 50, min: 200, max: 2_000, ms: 10_000 } satisfies Budget,
      baseline: { warmup: 3, min: 20, max: 200, ms: 8_000 } satisfies Budget,
      inserts: Number(process.env.BENCH_INSERTS ?? 20_000),
      lokiInsertMs: 15_000,
      httpS: 5,
      httpWarmupS: 1,
      preflight: 8,
    };
const CONNECTIONS = 50;
/** The stall case: a modest GET load (latency, not throughput) beside a few heavy queries. */
const STALL_GET_CONNECTIONS = 10;
const STALL_QUERY_CONNECTIONS = 4;

function log(msg: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}

/** heapUsed + ArrayBuffers (typed-array columns live outside the JS heap), after a full GC. */
function memUsed(): { heap: number; buffers: number; total: number } {
  gc();
  const m = process.memoryUsage();
  return { heap: m.heapUsed, buffers: m.arrayBuffers, total: m.heapUsed + m.arrayBuffers };
}

// ---------------------------------------------------------------------------- in process

interface EngineTiming extends Timing {
  /** answers compared with this project's */
  checked: number;
  /** CPU used by other processes while this engine was timed, % of one core */
  otherCpuPct: number | undefined;
}

interface LatencyCase {
  id: string;
  label: string;
  project: EngineTiming;
  naive: EngineTiming;
  loki: EngineTiming;
  /** baseline p50 / project p50 */
  vsNaive: number;
  vsLoki: number;
  checksum: string;
}

/** `run` is timed; `checksum` of its answer is taken after the clock stops (it costs more than our queries). */
async function latencyCase<A>(
  id: string,
  label: string,
  engines: { project: Engine; naive: Engine; loki: Engine | undefined },
  run: (e: Engine, i: number) => Promise<A>,
  checksum: (answer: A) => string,
): Promise<LatencyCase> {
  log(`${label}: this project`);
  const expected: string[] = [];
  const project = await timeIterations(S.project, (i) => run(engines.project, i), (i, answer) => (expected[i] = checksum(answer)));

  const baseline = async (e: Engine): Promise<EngineTiming> => {
    log(`${label}: ${e.name}`);
    const sums: string[] = [];
    const r = await timeIterations(S.baseline, (i) => run(e, i), (i, answer) => (sums[i] = checksum(answer)));
    for (let i = 0; i < sums.length; i++) {
      const want = expected[i] ?? checksum(await run(engines.project, i));
      if (sums[i] !== want) {
        throw new Error(
          `MISMATCH in "${label}", variant ${i}: this project's answer has checksum ${want}, ${e.name} says ${sums[i]}. ` +
            'A fast wrong answer is a failure.',
        );
      }
    }
    return { ...r.timing, checked: sums.length, otherCpuPct: r.otherCpuPct };
  };
  const naive = await baseline(engines.naive);
  const loki = engines.loki === undefined ? SKIPPED : await baseline(engines.loki);
  return {
    id,
    label,
    project: { ...project.timing, checked: 0, otherCpuPct: project.otherCpuPct },
    naive,
    loki,
    vsNaive: naive.p50 / project.timing.p50,
    vsLoki: loki.p50 / project.timing.p50,
    checksum: searchChecksum({ ids: expected, total: expected.length }),
  };
}

const searchRun = (cls: SizeClass) => async (e: Engine, i: number) => e.search(searchVariant(cls, i));
const statsRun = (cls: SizeClass) => async (e: Engine, i: number) => e.stats(statsVariant(cls, i));
const windowSearchRun = async (e: Engine, i: number) => e.search(windowSearchVariant(i));

/** A latency case of this project over the same payments loaded in createdAt order. */
interface OrderedCase {
  id: string;
  label: string;
  timing: Timing;
  otherCpuPct: number | undefined;
  /** the same case's p50 over the payments in generation order (random createdAt) */
  randomOrderP50: number;
}

/**
 * The cases again, this project only, over the same payments inserted in createdAt order: the
 * order a live store receives them in (each created now; PostgreSQL mode loads the table in
 * its physical order, which follows the writes). Row ids, cell slots and index chunks then
 * follow time, where the generated data set
 * (createdAt uniform, in random order) scatters them. Every answer is checked against the
 * store loaded in generation order.
 */
async function orderedCases(payments: readonly Payment[], project: Engine, latency: LatencyCase[]): Promise<OrderedCase[]> {
  const inOrder = [...payments].sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : 0));
  log('this project, payments inserted in createdAt order: loading');
  const engine = new ProjectEngine(inOrder);
  const out: OrderedCase[] = [];
  const time = async <A>(id: string, run: (e: Engine, i: number) => Promise<A>, checksum: (answer: A) => string) => {
    const random = latency.find((c) => c.id === id)!;
    log(`${random.label}, payments in createdAt order: this project`);
    const sums: string[] = [];
    const r = await timeIterations(S.project, (i) => run(engine, i), (i, answer) => (sums[i] = checksum(answer)));
    for (let i = 0; i < sums.length; i++) {
      const want = checksum(await run(project, i));
      if (sums[i] !== want) throw new Error(`MISMATCH in "${random.label}" (createdAt order), variant ${i}: ${sums[i]}, generation order ${want}`);
    }
    out.push({ id, label: random.label, timing: r.timing, otherCpuPct: r.otherCpuPct, randomOrderP50: random.project.p50 });
  };
  await time('search.mid', searchRun('mid'), searchChecksum);
  await time('search.largest', searchRun('largest'), searchChecksum);
  await time('stats.mid', statsRun('mid'), statsChecksum);
  await time('stats.largest', statsRun('largest'), statsChecksum);
  return out;
}

interface InsertCase {
  id: 'new' | 'import';
  label: string;
  count: number;
  projectPerS: number;
  naivePerS: number;
  lokiPerS: number;
  lokiTimed: number;
  sizeAfter: number;
  otherCpuPct: (number | undefined)[];
}

interface MemoryCase {
  objectsBytesPerPayment: number;
  storeBytesPerPayment: number;
  storeHeapBytesPerPayment: number;
  storeBufferBytesPerPayment: number;
  storeOverheadPct: number;
  naiveMapBytesPerPayment: number;
  lokiBytesPerPayment: number;
}

interface InProcessResults {
  generateMs: number;
  loadMs: { project: number; naive: number; loki: number };
  memory: MemoryCase;
  latency: LatencyCase[];
  ordered: OrderedCase[];
  inserts: InsertCase[];
  expectations: HttpExpectations;
  getPaths: string[];
}

function timeInserts(
  engine: Engine,
  batch: readonly Payment[],
  budgetMs = Infinity,
): { done: number; perS: number; otherCpuPct: number | undefined } {
  return atRealtimePriority(() => {
    const probe = new CpuProbe();
    const t0 = performance.now();
    let done = 0;
    for (const p of batch) {
      engine.insert(p);
      done++;
      if ((done & 63) === 0 && performance.now() - t0 > budgetMs) break;
    }
    const perS = done / ((performance.now() - t0) / 1000);
    return { done, perS, otherCpuPct: probe.stop().otherPct };
  });
}

async function inProcess(): Promise<InProcessResults> {
  const K = S.inserts;
  const m0 = memUsed();
  let t = performance.now();
  let gen: DatasetGenerator | undefined = new DatasetGenerator();
  const payments = gen.take(N);
  const imported = gen.take(K); // more history: createdAt anywhere in the year
  const fresh = gen.takeNew(K); // new payments: createdAt ascending after the history
  gen = undefined;
  const generateMs = performance.now() - t;
  const m1 = memUsed();
  log(`generated ${N + 2 * K} payments in ${(generateMs / 1000).toFixed(1)} s`);

  t = performance.now();
  const project = new ProjectEngine(payments);
  const projectLoad = performance.now() - t;
  const m2 = memUsed();
  log(`this project: loaded ${project.size} through insertIfAbsent/update in ${(projectLoad / 1000).toFixed(1)} s`);

  t = performance.now();
  const naive = new NaiveEngine(payments);
  const naiveLoad = performance.now() - t;
  const m3 = memUsed();

  t = performance.now();
  const loki = WITH_LOKI ? new LokiEngine(payments) : undefined;
  const lokiLoad = WITH_LOKI ? performance.now() - t : NaN;
  const m4 = memUsed();
  if (loki) log(`LokiJS: loaded in ${(lokiLoad / 1000).toFixed(1)} s`);

  const objectsBytesPerPayment = (m1.total - m0.total) / (N + 2 * K);
  const storeBytesPerPayment = (m2.total - m1.total) / N;
  const memory: MemoryCase = {
    objectsBytesPerPayment,
    storeBytesPerPayment,
    storeHeapBytesPerPayment: (m2.heap - m1.heap) / N,
    storeBufferBytesPerPayment: (m2.buffers - m1.buffers) / N,
    storeOverheadPct: (storeBytesPerPayment / objectsBytesPerPayment) * 100,
    naiveMapBytesPerPayment: (m3.total - m2.total) / N,
    lokiBytesPerPayment: loki ? (m4.total - m3.total) / N : NaN,
  };

  const engines = { project, naive, loki };
  const latency: LatencyCase[] = [];
  latency.push(await latencyCase('search.mid', 'search, mid-size org (Zipf ranks 10-30)', engines, searchRun('mid'), searchChecksum));
  latency.push(await latencyCase('search.largest', 'search, largest org', engines, searchRun('largest'), searchChecksum));
  latency.push(
    await latencyCase('search.window', 'search, largest org, completed, 7-day window', engines, windowSearchRun, searchChecksum),
  );
  latency.push(await latencyCase('stats.mid', 'stats 30 days, mid-size org', engines, statsRun('mid'), statsChecksum));
  latency.push(await latencyCase('stats.largest', 'stats 30 days, largest org', engines, statsRun('largest'), statsChecksum));
  const ordered = await orderedCases(payments, project, latency);
  gc(); // that second store is garbage now: collected here, not during a timed insert

  // what the HTTP servers must answer (they hold the same N payments, not the inserts below)
  log('HTTP expectations from the naive baseline');
  const expectations: HttpExpectations = { payments: [], search: [], stats: [] };
  for (let j = 0; j < 20; j++) {
    const p = payments[Math.floor((j * N) / 20)];
    expectations.payments.push({ path: `/payments/${p.paymentId}`, json: canonicalJson(JSON.parse(JSON.stringify(p))) });
  }
  for (const cls of ['mid', 'largest'] as const) {
    for (let i = 0; i < S.preflight; i++) {
      const sq = searchVariant(cls, i);
      expectations.search.push({ path: searchPath(sq), checksum: searchChecksum(naive.search(sq)) });
      const st = statsVariant(cls, i);
      expectations.stats.push({ path: statsPath(st), checksum: statsChecksum(naive.stats(st)) });
    }
  }
  // a short rotation: enough to not read one hot object, cheap for the load generator
  const getPaths = Array.from({ length: 16 }, (_, j) => `/payments/${payments[Math.floor((j * N) / 16)].paymentId}`);

  const inserts: InsertCase[] = [];
  for (const [id, label, batch] of [
    ['new', 'insert new payments (createdAt now)', fresh],
    ['import', 'import history (createdAt anywhere)', imported],
  ] as const) {
    log(`${label}: ${K} more into each engine holding ${project.size}`);
    const pi = timeInserts(project, batch);
    const ni = timeInserts(naive, batch);
    const li = loki ? timeInserts(loki, batch, S.lokiInsertMs) : { perS: NaN, done: 0, otherCpuPct: undefined };
    if (loki && li.done < batch.length) loki.insertManyUntimed(batch.slice(li.done));
    inserts.push({
      id,
      label,
      count: K,
      projectPerS: pi.perS,
      naivePerS: ni.perS,
      lokiPerS: li.perS,
      lokiTimed: li.done,
      sizeAfter: project.size,
      otherCpuPct: [pi.otherCpuPct, ni.otherCpuPct, li.otherCpuPct],
    });
    const baselines = loki ? [naive, loki] : [naive];
    for (const e of baselines) {
      if (e.size !== project.size) throw new Error(`MISMATCH after "${label}": this project holds ${project.size}, ${e.name} ${e.size}`);
    }
    // the same answers after the writes (new payments come first in "newest first")
    for (const cls of ['mid', 'largest'] as const) {
      const runs = [
        async (e: Engine, i: number) => searchChecksum(await searchRun(cls)(e, i)),
        async (e: Engine, i: number) => statsChecksum(await statsRun(cls)(e, i)),
      ];
      for (const run of runs) {
        for (const i of [0, 1, 2]) {
          const want = await run(project, i);
          for (const e of baselines) {
            const got = await run(e, i);
            if (got !== want) throw new Error(`MISMATCH after "${label}" (${cls}, variant ${i}): this project ${want}, ${e.name} ${got}`);
          }
        }
      }
    }
  }

  return {
    generateMs,
    loadMs: { project: projectLoad, naive: naiveLoad, loki: lokiLoad },
    memory,
    latency,
    ordered,
    inserts,
    expectations,
    getPaths,
  };
}

// ---------------------------------------------------------------------------- over HTTP

interface HttpResults {
  servers: Record<string, unknown>[];
  checkedAnswers: number;
  /** With the plain NestJS + QueryBus reference (nest-reference.ts) measured beside them. */
  getP1: { service: LoadResult; bare: LoadResult; nest: LoadResult };
  getP10: { service: LoadResult; bare: LoadResult };
  /** With NestJS + class-validator + CommandBus (nest-reference.ts) measured beside them. */
  post: { service: LoadResult; bare: LoadResult; nest: LoadResult };
  queries: { id: string; label: string; result: LoadResult }[];
  stall: { alone: LoadResult; withQueries: LoadResult; queries: LoadResult };
}

function rotate(paths: string[]): autocannon.Request[] {
  return paths.map((path) => ({ method: 'GET', path }));
}

async function httpPhase(expect: HttpExpectations, getPaths: string[], serverCore: number | undefined): Promise<HttpResults> {
  log('starting the bare Fastify server');
  const bare = await ServerProcess.start('bare', N, serverCore);
  log(`bare ready: ${JSON.stringify(bare.info)}`);
  let service: ServerProcess | undefined;
  let nest: ServerProcess | undefined;
  try {
    log('starting the service');
    service = await ServerProcess.start('service', N, serverCore);
    log(`service ready: ${JSON.stringify(service.info)}`);
    log('starting the plain NestJS + QueryBus reference');
    nest = await ServerProcess.start('nest', N, serverCore);
    log(`nest reference ready: ${JSON.stringify(nest.info)}`);
    const checkedAnswers =
      (await verifyAnswers(bare, expect, false)) + (await verifyAnswers(nest, expect, false)) + (await verifyAnswers(service, expect, true));
    log(`${checkedAnswers} HTTP answers match the naive baseline`);

    const d = S.httpS;
    const get = (url: string, pipelining: number): LoadOptions => ({ url, connections: CONNECTIONS, pipelining, durationS: d, requests: rotate(getPaths) });
    // ABBA (ABCCBA): each server measured twice, in mirrored order, so that a drift of the
    // machine's load during the case (other sessions share it) weighs on every side alike
    const mirrored = async (label: string, servers: ServerProcess[], opts: (s: ServerProcess) => LoadOptions) => {
      const out: Record<string, LoadResult[]> = Object.fromEntries(servers.map((s) => [s.kind, []]));
      for (const s of servers) await warm(s, opts(s), S.httpWarmupS);
      for (const s of [...servers, ...[...servers].reverse()]) {
        log(`${label}: ${s.kind}`);
        out[s.kind].push(await load(`${label} (${s.kind})`, s, opts(s)));
      }
      return Object.fromEntries(Object.entries(out).map(([kind, runs]) => [kind, pool(runs)]));
    };
    const pair = async (label: string, opts: (s: ServerProcess) => LoadOptions) => {
      const { service: s, bare: b } = await mirrored(label, [bare, service!], opts);
      return { service: s, bare: b };
    };

    const trio = await mirrored('GET /payments/:id', [bare, service, nest], (s) => get(s.url, 1));
    const getP1 = { service: trio.service, bare: trio.bare, nest: trio.nest };
    const getP10 = await pair('GET /payments/:id pipelining 10', (s) => get(s.url, 10));

    const variants = (f: (i: number) => string) => Array.from({ length: 64 }, (_, i) => f(i));
    const queryCases = [
      { id: 'search.mid', label: 'GET /payments/search, mid-size org', paths: variants((i) => searchPath(searchVariant('mid', i))) },
      { id: 'search.largest', label: 'GET /payments/search, largest org', paths: variants((i) => searchPath(searchVariant('largest', i))) },
      { id: 'stats.mid', label: 'GET /payments/stats 30 days, mid-size org', paths: variants((i) => statsPath(statsVariant('mid', i))) },
      { id: 'stats.largest', label: 'GET /payments/stats 30 days, largest org', paths: variants((i) => statsPath(statsVariant('largest', i))) },
    ];
    const queries: HttpResults['queries'] = [];
    for (const q of queryCases) {
      const opts: LoadOptions = { url: service.url, connections: CONNECTIONS, durationS: d, requests: rotate(q.paths) };
      await warm(service, opts, S.httpWarmupS);
      log(q.label);
      queries.push({ id: q.id, label: q.label, result: await load(q.label, service, opts) });
    }

    log('stall: GET alone, then GET with search + stats in parallel');
    const stallGet: LoadOptions = { url: service.url, connections: STALL_GET_CONNECTIONS, durationS: d, requests: rotate(getPaths) };
    const mixed: string[] = [];
    for (let i = 0; i < 64; i++) for (const q of queryCases) mixed.push(q.paths[i]);
    const stallQueries: LoadOptions = { url: service.url, connections: STALL_QUERY_CONNECTIONS, durationS: d, requests: rotate(mixed) };
    const alone = await load('stall: GET alone', service, stallGet);
    const [withQueries, queriesDuring] = await loadTogether('stall: GET + search/stats', service, [stallGet, stallQueries]);

    const postTrio = await mirrored('POST /payments', [bare, service, nest], (s) => ({
      url: s.url,
      connections: CONNECTIONS,
      durationS: d,
      method: 'POST',
      setupRequest: postRequests(`bench-${s.kind}-${Math.random().toString(36).slice(2, 8)}-`),
    }));
    const post = { service: postTrio.service, bare: postTrio.bare, nest: postTrio.nest };
    // every server stored what it acknowledged (the first id of its last POST run)
    for (const s of [bare, service, nest]) {
      const probe = postRequests('probe-')!({ method: 'POST' } as autocannon.Request);
      const res = await fetch(s.url + '/payments', { method: 'POST', headers: probe.headers as Record<string, string>, body: probe.body as string });
      if (res.status !== 201) throw new Error(`${s.kind}: POST /payments answered ${res.status}: ${await res.text()}`);
      await verifyCreated(s, 'probe-0', 'org-bench-post');
    }

    return {
      servers: [bare.info, service.info, nest.info],
      checkedAnswers,
      getP1,
      getP10,
      post,
      queries,
      stall: { alone, withQueries, queries: queriesDuring },
    };
  } finally {
    await bare.stop();
    await service?.stop();
    await nest?.stop();
  }
}

// ---------------------------------------------------------------------------- report

async function main(): Promise<void> {
  const started = Date.now();
  const machine = machineInfo();
  const taskset = hasTaskset();
  const pinned = taskset && machine.cores >= 2 && pinSelf(1);
  log(`N=${N}${SMOKE ? ' (smoke)' : ''}, ${machine.cpu} × ${machine.cores}, node ${machine.node}, ` +
    (pinned ? 'bench pinned to core 1, servers to core 0' : 'not pinned (no taskset or one core)'));
  const noiseBefore = noiseSample(5);
  // the servers' build, made now: the HTTP and PostgreSQL phases run this snapshot of the code
  if (WITH_HTTP || process.env.BENCH_PG !== '0') compiled('bench/http-server.ts');

  const ip = await inProcess();
  gc();
  const http = WITH_HTTP ? await httpPhase(ip.expectations, ip.getPaths, pinned ? 0 : undefined) : undefined;
  gc();
  // OpenTelemetry's cost on the HTTP path (bench/bench-tracing.ts): skipped with BENCH_HTTP=0 or BENCH_TRACING=0, and in a smoke run
  const tracing = WITH_HTTP ? await tracingSection({ smoke: SMOKE, pinned, log }) : undefined;
  gc();
  // PostgreSQL mode (bench/postgres.ts): skipped with BENCH_PG=0 or when the server is unreachable
  const pg = await postgresSection({ n: N, smoke: SMOKE, pinned, log });
  // RabbitMQ (bench/bench-messaging.ts): skipped with BENCH_MESSAGING=0, in a smoke run, or without a broker
  const messaging = await messagingSection({ smoke: SMOKE, pinned, log });
  const noiseAfter = noiseSample(5);
  const noiseAll = [...noiseBefore, ...noiseAfter];
  const noise = {
    loopMs: noiseAll.map((x) => Number(x.toFixed(1))),
    spreadPct: ((Math.max(...noiseAll) - Math.min(...noiseAll)) / Math.min(...noiseAll)) * 100,
  };

  const L = (id: string) => ip.latency.find((c) => c.id === id)!;
  const Q = (id: string) => http?.queries.find((q) => q.id === id)?.result;
  const getRate = http?.getP1.service.rps;
  const values: Record<string, number | undefined> = {
    'search.mid.p99': L('search.mid').project.p99,
    'search.largest.p99': L('search.largest').project.p99,
    'search.mid.vsNaive': L('search.mid').vsNaive,
    'search.largest.vsNaive': L('search.largest').vsNaive,
    'search.mid.vsLoki': L('search.mid').vsLoki,
    'search.largest.vsLoki': L('search.largest').vsLoki,
    'stats.mid.p99': L('stats.mid').project.p99,
    'stats.largest.p99': L('stats.largest').project.p99,
    'insert.rate': ip.inserts.find((c) => c.id === 'new')!.projectPerS,
    'memory.perPayment': ip.memory.storeBytesPerPayment,
    'http.get.vsBare': http && http.getP1.service.rps / http.getP1.bare.rps,
    'http.post.vsBare': http && http.post.service.rps / http.post.bare.rps,
    'http.search.mid.vsGet': getRate && Q('search.mid')!.rps / getRate,
    'http.search.largest.vsGet': getRate && Q('search.largest')!.rps / getRate,
    'http.stats.mid.vsGet': getRate && Q('stats.mid')!.rps / getRate,
    'http.stats.largest.vsGet': getRate && Q('stats.largest')!.rps / getRate,
    'http.stall.p99': http?.stall.withQueries.p99,
    'pg.load.s': pg.load && pg.load.startMs / 1000,
  };
  const goals = evaluateGoals(values);

  // the last column: CPU that other processes used meanwhile (this machine is shared), % of one core
  const other = (...xs: (number | undefined)[]) => xs.map((x) => (x === undefined ? '?' : x.toFixed(0))).join(' / ');
  const rows: string[][] = [['case', 'this project', 'naive / bare Fastify', 'LokiJS', 'ratios', 'goals (issue 4)', 'other load %']];
  const latencyGoals: Record<string, string[]> = {
    'search.mid': ['search.mid.p99', 'search.mid.vsNaive', 'search.mid.vsLoki'],
    'search.largest': ['search.largest.p99', 'search.largest.vsNaive', 'search.largest.vsLoki'],
    'search.window': [],
    'stats.mid': ['stats.mid.p99'],
    'stats.largest': ['stats.largest.p99'],
  };
  for (const c of ip.latency) {
    rows.push([
      `${c.label}, ms p50 / p99`,
      lat(c.project),
      lat(c.naive),
      latOrSkipped(c.loki),
      `${ratio(c.vsNaive)} naive, ${ratio(c.vsLoki)} Loki (p50)`,
      latencyGoals[c.id].length ? goalCell(goals, latencyGoals[c.id]) : '- (no goal: a dashboard list)',
      other(c.project.otherCpuPct, c.naive.otherCpuPct, c.loki.otherCpuPct),
    ]);
  }
  for (const c of ip.ordered) {
    rows.push([
      `${c.label}, payments inserted in createdAt order, ms p50 / p99`,
      lat(c.timing),
      '-',
      '-',
      `${ratio(c.randomOrderP50 / c.timing.p50)} the p50 in generation order`,
      '- (no goal: the order of a live store)',
      other(c.otherCpuPct),
    ]);
  }
  for (const c of ip.inserts) {
    rows.push([
      `${c.label}: ${int(c.count)} at N, per s`,
      int(c.projectPerS),
      int(c.naivePerS),
      WITH_LOKI ? `${int(c.lokiPerS)}${c.lokiTimed < c.count ? ` (first ${int(c.lokiTimed)} timed)` : ''}` : '-',
      `${ratio(c.projectPerS / c.naivePerS)} naive, ${ratio(c.projectPerS / c.lokiPerS)} Loki`,
      c.id === 'new' ? goalCell(goals, ['insert.rate']) : '- (no goal: worst case)',
      other(...c.otherCpuPct),
    ]);
  }
  const mem = ip.memory;
  rows.push([
    'memory, bytes per payment',
    `store ${int(mem.storeBytesPerPayment)} all in (heap ${int(mem.storeHeapBytesPerPayment)} + buffers ${int(mem.storeBufferBytesPerPayment)}); the payment objects alone ${int(mem.objectsBytesPerPayment)}`,
    `Map ${int(mem.naiveMapBytesPerPayment)}`,
    WITH_LOKI ? `copies + indices ${int(mem.lokiBytesPerPayment)}` : '-',
    `store = ${mem.storeOverheadPct.toFixed(0)}% of the objects`,
    goalCell(goals, ['memory.perPayment']),
    '-',
  ]);
  if (http) {
    const h = http;
    const vsBare = (label: string, pair: { service: LoadResult; bare: LoadResult }, goalIds: string[]) =>
      rows.push([
        label,
        rps(pair.service),
        rps(pair.bare),
        '-',
        `${ratio(pair.service.rps / pair.bare.rps)} bare`,
        goalIds.length ? goalCell(goals, goalIds) : '-',
        other(pair.service.otherCpuPct, pair.bare.otherCpuPct),
      ]);
    // a NestJS reference of the same case (nest-reference.ts): no goal, the framework alone
    const reference = (label: string, trio: { service: LoadResult; bare: LoadResult; nest: LoadResult }) =>
      rows.push([
        label,
        rps(trio.nest),
        rps(trio.bare),
        '-',
        `${ratio(trio.nest.rps / trio.bare.rps)} bare; service ${ratio(trio.service.rps / trio.nest.rps)} of it`,
        '-',
        other(trio.nest.otherCpuPct, trio.bare.otherCpuPct),
      ]);
    vsBare(`HTTP GET /payments/:id, ${CONNECTIONS} conn`, h.getP1, ['http.get.vsBare']);
    reference(`  reference: plain NestJS + QueryBus, same GET (no hooks, auth, logs, metrics)`, h.getP1);
    vsBare(`HTTP GET /payments/:id, ${CONNECTIONS} conn, pipelining 10`, h.getP10, []);
    vsBare(`HTTP POST /payments, ${CONNECTIONS} conn`, h.post, ['http.post.vsBare']);
    reference(`  reference: NestJS + class-validator ValidationPipe + CommandBus, same POST`, h.post);
    for (const q of h.queries) {
      rows.push([
        `HTTP ${q.label.replace('GET ', '')}, ${CONNECTIONS} conn`,
        rps(q.result),
        '-',
        '-',
        `${ratio(q.result.rps / getRate!)} of GET-by-id`,
        goalCell(goals, [`http.${q.id}.vsGet`]),
        other(q.result.otherCpuPct),
      ]);
    }
    const st = h.stall;
    rows.push([
      `stall: GET ${STALL_GET_CONNECTIONS} conn + search/stats ${STALL_QUERY_CONNECTIONS} conn`,
      `GET p50 ${ms(st.withQueries.p50)} / p99 ${ms(st.withQueries.p99)} ms, ${int(st.withQueries.rps)} GET/s + ${int(st.queries.rps)} queries/s`,
      `GET alone: p50 ${ms(st.alone.p50)} / p99 ${ms(st.alone.p99)} ms, ${int(st.alone.rps)}/s`,
      '-',
      // autocannon's latencies are whole milliseconds: a p99 of 0 alone has no meaningful ratio
      st.alone.p99 > 0 ? `p99 ${ratio(st.withQueries.p99 / st.alone.p99)} alone` : 'alone p99 < 1 ms (autocannon counts whole ms)',
      goalCell(goals, ['http.stall.p99']),
      other(st.withQueries.otherCpuPct, st.alone.otherCpuPct),
    ]);
  }

  const head = [
    `payments-cqs benchmark${SMOKE ? ' (SMOKE)' : ''}: N = ${int(N)} payments, seed fixed; commit ${machine.commit}${machine.srcDirty ? ' + uncommitted src changes' : ''}`,
    `machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, node ${machine.node}, ${machine.platform}; ` +
      (pinned ? 'bench + autocannon pinned to core 1, servers to core 0 (taskset)' : 'not pinned') +
      (realtimeTiming() ? '; timed in-process loops and inserts at real-time priority (chrt -f; BENCH_RT=0 turns it off)' : '; timed loops at normal priority'),
    describeIdle(machine.idle),
    `noise: fixed CPU loop ×10 (5 before, 5 after): ${noise.loopMs.join(', ')} ms, spread ${noise.spreadPct.toFixed(1)}%; ` +
      "'other load %' = CPU other processes used while each figure was measured, % of one core (this project / naive / LokiJS, or service / bare)",
    `iterations (this project / naive / LokiJS): ${ip.latency.map((c) => `${c.id} ${c.project.iterations}/${c.naive.iterations}/${c.loki.iterations}`).join(', ')}; ` +
      `every baseline answer matched this project's (checksums of ids + total, and of stats)` +
      (http ? `; ${http.checkedAnswers} HTTP answers matched the naive baseline` : ''),
    `load: generate ${(ip.generateMs / 1000).toFixed(1)} s; this project ${(ip.loadMs.project / 1000).toFixed(1)} s (insertIfAbsent + update), naive ${(ip.loadMs.naive / 1000).toFixed(1)} s, LokiJS ${(ip.loadMs.loki / 1000).toFixed(1)} s` +
      (http ? `; HTTP ${S.httpS} s per case after a ${S.httpWarmupS} s warm-up, cache off, ${http.getP1.service.loadgenCpuPct.toFixed(0)}% load-generator CPU on GET; service processes run with the node flags of npm run start:prod (${serviceNodeFlags().join(' ') || 'none'}), bare Fastify with node's defaults` : ''),
  ];
  const goalLines = goals.map((g) => goalLine(g, SMOKE));
  const failed = SMOKE && SPEED_GATE ? goals.filter((g) => g.enforced && !g.smokePass) : [];

  const report = [
    '',
    ...head,
    '',
    table(rows),
    '',
    tracingReport(tracing),
    '',
    postgresReport(pg, goals),
    '',
    messagingReport(messaging),
    '',
    `GC in the bench process (this project's timed loops): p99 over the samples no GC pause overlapped, pauses, pause ms: ` +
      ip.latency
        .map((c) => `${c.id} ${ms(c.project.p99WithoutGc ?? NaN)} ms (${c.project.gcPauses} pauses, ${ms(c.project.gcMs ?? 0)} ms)`)
        .join('; '),
    '',
    `goals: ${goals.filter((g) => g.met).length} of ${goals.length} met${N < 1_000_000 ? ' (bounds are defined at 1M; this run is smaller)' : ''}`,
    ...goalLines,
    '',
  ].join('\n');
  process.stdout.write(report + '\n');

  const out = resolve(__dirname, 'results', SMOKE ? 'smoke.json' : 'latest.json');
  mkdirSync(resolve(__dirname, 'results'), { recursive: true });
  writeFileSync(
    out,
    JSON.stringify(
      { n: N, smoke: SMOKE, startedAt: new Date(started).toISOString(), durationS: (Date.now() - started) / 1000, machine, pinned, realtime: realtimeTiming(), noise, settings: S, inProcess: { ...ip, expectations: undefined, getPaths: undefined }, http, tracing, postgres: pg, messaging, goals },
      null,
      2,
    ) + '\n',
  );
  log(`results written to ${out}; ${((Date.now() - started) / 1000).toFixed(0)} s in all`);

  if (failed.length > 0) {
    process.stderr.write(`SMOKE FAILED: ${failed.map((g) => `${g.text} = ${g.value} (threshold ${g.smokeThreshold})`).join('; ')}\n`);
    process.exit(1);
  }
  process.exit(0);
}

main().catch((e) => {
  process.stderr.write(`\nBENCH FAILED: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
