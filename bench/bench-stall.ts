/**
 * The stall of issue 18: how long the query shapes the daily aggregates cannot answer hold
 * the event loop, and what that does to everyone else's GET /payments/:id. `npm run
 * bench:stall`. Two service processes (bench/http-server.ts `service`: createApp, cache off,
 * logs silent, N payments of the bench data set preloaded, npm run start:prod's node flags),
 * pinned to core 0 when taskset exists, this process (load generator) on core 1:
 *
 *   this: this tree's build;
 *   base: BENCH_STALL_BASE's build (git archive of that commit, compiled the same way: see
 *         build.ts compiledAt), by default the commit before the planner's cost model and the
 *         paced reads.
 *
 * Before any load, every slow shape (bench/queries.ts SLOW_SHAPES) and a GET are answered by
 * both servers, and the bodies must be byte for byte the same. Then, for each server in
 * mirrored order (this, base, base, this), after a wait until no server works any more:
 *
 *   alone:  GET /payments/:id at a fixed rate (BENCH_STALL_RATE req/s over 16 connections:
 *           latency, not throughput; the server has room to spare);
 *   beside: the same GET load while BENCH_STALL_CLIENTS loops send the slow shapes back to
 *           back (each loop its next shape as soon as the last one answered);
 *   writes: with BENCH_STALL_WRITES=<req/s>, beside again while creates land in the largest
 *           organization at that rate: a long read starts over when the store changed during
 *           one of its pauses, and runs its third attempt unpaced (see ReadPacer), so this is
 *           the case where a read may still hold the loop for a whole (fast) scan.
 *
 * Reported per server and phase: GET p50 / p99 / max (autocannon, whole ms) and its non-2xx
 * answers, the slow shapes' latency (median and max per shape, how many were answered), and
 * the longest event-loop hold: nodejs_eventloop_lag_max_seconds of the server's /metrics
 * (prom-client's monitorEventLoopDelay, reset by the scrape just before the run), and the
 * server's longest garbage-collection pause (its --trace-gc lines, see ServerProcess.takeGcMax). Figures of
 * the two runs of a server are pooled (p50 averaged, p99 and max the worse run's); `this` is
 * also given as a ratio to `base`.
 *
 * Env: BENCH_STALL_N (payments, default 1,000,000), BENCH_STALL_S (seconds per run, default
 * 10), BENCH_STALL_RATE (GET req/s, default 1000), BENCH_STALL_CLIENTS (slow loops, default 2),
 * BENCH_STALL_BASE (commit, default 30b6525), BENCH_STALL_WRITES (creates per s, default 0: no
 * writes phase). Results also go to bench/results/stall.json.
 */
import autocannon from 'autocannon';
import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { compiled, compiledAt } from './build';
import { DatasetGenerator } from './dataset';
import { int, ms, ratio, table } from './format';
import { postRequests, ServerProcess } from './http';
import { hasTaskset, machineInfo, percentile, pinSelf, processCpuMs } from './measure';
import { SLOW_SHAPES } from './queries';

const N = Number(process.env.BENCH_STALL_N ?? 1_000_000);
const DURATION_S = Number(process.env.BENCH_STALL_S ?? 10);
const RATE = Number(process.env.BENCH_STALL_RATE ?? 1000);
const CLIENTS = Number(process.env.BENCH_STALL_CLIENTS ?? 2);
const BASE = process.env.BENCH_STALL_BASE ?? '30b6525';
const WRITES = Number(process.env.BENCH_STALL_WRITES ?? 0);
const CONNECTIONS = 16;
/**
 * Above 2M payments the servers load them in bulk (BENCH_PRELOAD=bulk, as a restart from
 * PostgreSQL does: about a minute at 10M instead of over ten), when both builds can (a base from
 * before loadStoreInBulk loads write by write whatever it is told).
 */
const PRELOAD: Record<string, string> = N > 2_000_000 ? { BENCH_PRELOAD: 'bulk' } : {};

type Variant = 'this' | 'base';
type Phase = 'alone' | 'beside' | 'writes';
const PHASES: Phase[] = WRITES > 0 ? ['alone', 'beside', 'writes'] : ['alone', 'beside'];

interface GetFigures {
  p50: number;
  p99: number;
  max: number;
  requests: number;
  non2xx: number;
  errors: number;
}

interface RunResult {
  get: GetFigures;
  /** The longest event-loop delay during the run, ms. */
  loopMaxMs: number;
  /** The longest garbage-collection pause of the server during the run, ms (its --trace-gc). */
  gcMaxMs: number;
  /** Per shape label: latencies of the slow shapes answered during the run, ms. */
  slow: Record<string, number[]>;
  slowNon2xx: number;
}

interface Pooled {
  get: GetFigures;
  loopMaxMs: number;
  gcMaxMs: number;
  slow: Record<string, { answered: number; p50: number; max: number }>;
  slowNon2xx: number;
}

const log = (m: string) => process.stderr.write(`[bench:stall] ${m}\n`);

async function text(url: string): Promise<{ status: number; body: string }> {
  const res = await fetch(url);
  return { status: res.status, body: await res.text() };
}

/** The longest event-loop delay since the last scrape, ms (each scrape resets the histogram). */
async function loopMaxMs(server: ServerProcess): Promise<number> {
  const { body } = await text(`${server.url}/metrics`);
  const m = /^nodejs_eventloop_lag_max_seconds(?:\{[^}]*\})? ([0-9.e+-]+)$/m.exec(body);
  if (!m) throw new Error(`${server.url}/metrics has no nodejs_eventloop_lag_max_seconds`);
  return Number(m[1]) * 1000;
}

/** Until no server process works any more (each under 5% of a core over 250 ms, at most 10 s). */
async function settled(servers: ServerProcess[]): Promise<void> {
  for (let i = 0; i < 40; i++) {
    const before = servers.map((s) => processCpuMs(s.pid) ?? 0);
    await sleep(250);
    const busiest = Math.max(...servers.map((s, j) => (processCpuMs(s.pid) ?? 0) - before[j]));
    if (busiest < 12.5) return;
  }
}

/** `loops` clients sending the slow shapes back to back until `stop` resolves; latencies per shape. */
async function slowLoad(server: ServerProcess, loops: number, stop: Promise<void>): Promise<{ slow: Record<string, number[]>; non2xx: number }> {
  const slow: Record<string, number[]> = Object.fromEntries(SLOW_SHAPES.map((s) => [s.label, []]));
  let non2xx = 0;
  let stopped = false;
  void stop.then(() => (stopped = true));
  let next = 0;
  const loop = async (offset: number) => {
    for (let k = offset; !stopped; k += loops) {
      const shape = SLOW_SHAPES[k % SLOW_SHAPES.length];
      const i = next++;
      const t0 = performance.now();
      const { status } = await text(server.url + shape.path(i));
      if (stopped) return; // answered after the GET load ended: not measured beside it
      if (status !== 200) non2xx++;
      else slow[shape.label].push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: loops }, (_, j) => loop(j)));
  return { slow, non2xx };
}

let writeBatch = 0;

async function run(server: ServerProcess, getPaths: string[], phase: Phase): Promise<RunResult> {
  await loopMaxMs(server); // resets the server's event-loop histogram
  server.takeGcMax(); // and its longest GC pause
  let endGet!: () => void;
  const getDone = new Promise<void>((r) => (endGet = r));
  const slow = phase !== 'alone' ? slowLoad(server, CLIENTS, getDone) : undefined;
  // the slow loops are under way before the GET load starts
  if (slow !== undefined) await sleep(200);
  const writes =
    phase === 'writes'
      ? autocannon({
          url: server.url,
          connections: 4,
          overallRate: WRITES,
          duration: DURATION_S,
          method: 'POST',
          requests: [{ method: 'POST', setupRequest: postRequests(`stall-${process.pid}-${writeBatch++}-`, 'org-001') }],
        })
      : undefined;
  const r = await autocannon({
    url: server.url,
    connections: CONNECTIONS,
    overallRate: RATE,
    duration: DURATION_S,
    requests: getPaths.map((path) => ({ method: 'GET', path })),
  });
  endGet();
  const w = await writes;
  if (w !== undefined && (w.non2xx > 0 || w.errors > 0)) log(`writes: ${w.non2xx} non-2xx, ${w.errors} errors of ${w.requests.total}`);
  const slowResult = slow === undefined ? { slow: {}, non2xx: 0 } : await slow;
  const loop = await loopMaxMs(server);
  const gc = server.takeGcMax();
  return {
    get: { p50: r.latency.p50, p99: r.latency.p99, max: r.latency.max, requests: r.requests.total, non2xx: r.non2xx, errors: r.errors + r.timeouts },
    loopMaxMs: loop,
    gcMaxMs: gc.maxMs,
    slow: slowResult.slow,
    slowNon2xx: slowResult.non2xx,
  };
}

function poolRuns(runs: RunResult[]): Pooled {
  const slow: Pooled['slow'] = {};
  for (const shape of SLOW_SHAPES) {
    const xs = runs.flatMap((r) => r.slow[shape.label] ?? []).sort((a, b) => a - b);
    if (xs.length > 0) slow[shape.label] = { answered: xs.length, p50: percentile(xs, 0.5), max: xs[xs.length - 1] };
  }
  const sum = (f: (g: GetFigures) => number) => runs.reduce((a, r) => a + f(r.get), 0);
  return {
    get: {
      p50: sum((g) => g.p50) / runs.length,
      p99: Math.max(...runs.map((r) => r.get.p99)),
      max: Math.max(...runs.map((r) => r.get.max)),
      requests: sum((g) => g.requests),
      non2xx: sum((g) => g.non2xx),
      errors: sum((g) => g.errors),
    },
    loopMaxMs: Math.max(...runs.map((r) => r.loopMaxMs)),
    gcMaxMs: Math.max(...runs.map((r) => r.gcMaxMs)),
    slow,
    slowNon2xx: runs.reduce((a, r) => a + r.slowNon2xx, 0),
  };
}

/** Every slow shape (two variants each) and a GET answer the same bytes on both servers. */
async function sameAnswers(servers: Map<Variant, ServerProcess>, getPath: string): Promise<number> {
  const paths = [getPath, ...SLOW_SHAPES.flatMap((s) => [s.path(0), s.path(7)])];
  for (const path of paths) {
    const [a, b] = await Promise.all([text(servers.get('this')!.url + path), text(servers.get('base')!.url + path)]);
    if (a.status !== 200 || b.status !== 200 || a.body !== b.body) {
      throw new Error(`GET ${path}: this answers ${a.status} (${a.body.length} bytes), base ${b.status} (${b.body.length} bytes): not the same answer`);
    }
  }
  return paths.length;
}

function report(results: Record<Variant, Record<Phase, Pooled>>, checked: number, pinned: boolean): string {
  const cell = (v: Variant, p: Phase) => {
    const x = results[v][p];
    const errs = x.get.non2xx + x.get.errors > 0 ? `, ${int(x.get.non2xx)} non-2xx, ${int(x.get.errors)} errors` : '';
    return `p50 ${ms(x.get.p50)} / p99 ${ms(x.get.p99)} / max ${ms(x.get.max)} ms${errs}`;
  };
  const r = (f: (x: Pooled) => number, p: Phase) => ratio(f(results.this[p]) / Math.max(f(results.base[p]), 1e-9));
  const rows = [
    ['', `this`, `base (${BASE})`, 'this / base'],
    ['GET alone', cell('this', 'alone'), cell('base', 'alone'), `p99 ${r((x) => x.get.p99, 'alone')}, max ${r((x) => x.get.max, 'alone')}`],
    ['GET beside the slow shapes', cell('this', 'beside'), cell('base', 'beside'), `p99 ${r((x) => x.get.p99, 'beside')}, max ${r((x) => x.get.max, 'beside')}`],
  ];
  if (WRITES > 0) {
    rows.push([`GET beside them and ${int(WRITES)} creates/s`, cell('this', 'writes'), cell('base', 'writes'), `p99 ${r((x) => x.get.p99, 'writes')}, max ${r((x) => x.get.max, 'writes')}`]);
  }
  const holds = (v: Variant) => PHASES.map((p) => ms(results[v][p].loopMaxMs)).join(' / ') + ' ms';
  rows.push([`longest event-loop hold, ${PHASES.join(' / ')}`, holds('this'), holds('base'), `beside ${r((x) => x.loopMaxMs, 'beside')}`]);
  const pauses = (v: Variant) => PHASES.map((p) => ms(results[v][p].gcMaxMs)).join(' / ') + ' ms';
  rows.push([`longest GC pause (--trace-gc), ${PHASES.join(' / ')}`, pauses('this'), pauses('base'), `alone ${r((x) => x.gcMaxMs, 'alone')}`]);
  for (const shape of SLOW_SHAPES) {
    const s = (v: Variant) => results[v].beside.slow[shape.label];
    const a = s('this');
    const b = s('base');
    const fmt = (x: Pooled['slow'][string] | undefined) => (x === undefined ? 'none answered' : `p50 ${ms(x.p50)} / max ${ms(x.max)} ms (${int(x.answered)})`);
    rows.push([shape.label, fmt(a), fmt(b), a && b ? `p50 ${ratio(a.p50 / b.p50)}` : '']);
  }
  const slowErrors = results.this.beside.slowNon2xx + results.base.beside.slowNon2xx;
  return (
    `### Stall (issue 18): GET /payments/:id beside the shapes the aggregates cannot answer\n\n` +
    `${int(N)} payments; ${DURATION_S} s per run, runs mirrored (this, base, base, this), GET at ${int(RATE)} req/s over ${CONNECTIONS} connections, ` +
    `${CLIENTS} slow loops; servers ${pinned ? 'pinned to core 0, load generator to core 1' : 'not pinned'}; ${checked} answers identical on both servers\n\n` +
    table(rows) +
    (slowErrors > 0 ? `\nslow shapes answered non-2xx: this ${results.this.beside.slowNon2xx}, base ${results.base.beside.slowNon2xx}\n` : '\n')
  );
}

async function main(): Promise<void> {
  const machine = machineInfo();
  const pinned = hasTaskset() && machine.cores >= 2 && pinSelf(1);
  const core = pinned ? 0 : undefined;
  const scripts: Record<Variant, string> = { this: compiled('bench/http-server.ts'), base: compiledAt(BASE, 'bench/http-server.ts') };
  const servers = new Map<Variant, ServerProcess>();
  try {
    for (const v of ['this', 'base'] as Variant[]) {
      log(`starting the service (${v}) with ${int(N)} payments`);
      servers.set(v, await ServerProcess.start('service', N, core, PRELOAD, scripts[v], ['--trace-gc']));
    }
    // payments both servers hold: the same seeded data set
    const payments = new DatasetGenerator().take(Math.min(N, 100_000));
    const getPaths = Array.from({ length: 16 }, (_, j) => `/payments/${payments[Math.floor((j * payments.length) / 16)].paymentId}`);
    const checked = await sameAnswers(servers, getPaths[0]);
    log(`${checked} answers identical on both servers; warming up`);
    for (const s of servers.values()) {
      for (const shape of SLOW_SHAPES) for (let i = 0; i < 3; i++) await text(s.url + shape.path(1000 + i));
      await autocannon({ url: s.url, connections: CONNECTIONS, overallRate: RATE, duration: 1, requests: getPaths.map((path) => ({ method: 'GET', path })) });
    }
    const runs: Record<Variant, Record<Phase, RunResult[]>> = { this: { alone: [], beside: [], writes: [] }, base: { alone: [], beside: [], writes: [] } };
    for (const v of ['this', 'base', 'base', 'this'] as Variant[]) {
      for (const phase of PHASES) {
        await settled([...servers.values()]);
        log(`${v}: GET ${phase}`);
        runs[v][phase].push(await run(servers.get(v)!, getPaths, phase));
      }
    }
    const pooled = (v: Variant) => Object.fromEntries(PHASES.map((p) => [p, poolRuns(runs[v][p])])) as Record<Phase, Pooled>;
    const results = { this: pooled('this'), base: pooled('base') };
    process.stdout.write(report(results, checked, pinned) + '\n');
    const dir = resolve(__dirname, 'results');
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      resolve(dir, 'stall.json'),
      JSON.stringify({ startedAt: new Date().toISOString(), machine, pinned, n: N, durationS: DURATION_S, rate: RATE, clients: CLIENTS, base: BASE, results, runs }, null, 2),
    );
  } finally {
    for (const s of servers.values()) await s.stop();
  }
}

main()
  .then(() => process.exit(0))
  .catch((e) => {
    console.error(e);
    process.exit(1);
  });
