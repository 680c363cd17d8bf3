/**
 * The tracing section of the bench (src/tracing): what OpenTelemetry costs the HTTP path. Run by
 * `npm run bench` after the HTTP cases, or alone with `npm run bench:tracing` (this file is its
 * own entry). Five service processes (bench/http-server.ts `service`: createApp, cache off, logs
 * silent, N payments preloaded, npm run start:prod's node flags), pinned to core 0 when taskset
 * exists, this process (load generator and OTLP sink) on core 1:
 *
 *   off:   no OTEL_* variable: tracing is not started (the default);
 *   100%:  OTEL_EXPORTER_OTLP_ENDPOINT at the sink, OTEL_TRACES_SAMPLER=always_on;
 *   1%:    the same with OTEL_TRACES_SAMPLER=traceidratio, OTEL_TRACES_SAMPLER_ARG=0.01;
 *   lean 1%: 1% without NestJS' instrumentation (OTEL_NODE_DISABLED_INSTRUMENTATIONS=nestjs-core):
 *          the request keeps Fastify's span and the command/query spans, loses Nest's two;
 *   never: OTEL_TRACES_SAMPLER=always_off: every instrumentation in place, no span ever
 *          recorded. The floor of any sampling rate: what the instrumentations cost alone.
 *
 * The traced services export for real: OTLP over HTTP (protobuf, the SDK's default) through the
 * batch span processor to a sink in this process that reads every export and answers 200, so the
 * cost includes building, batching, encoding and sending the spans. Each case (GET /payments/:id,
 * POST /payments) runs the servers in mirrored order (off, 100%, 1%, lean, never, never, lean, 1%,
 * 100%, off) after a warm-up of each, so that a drift of the machine's load weighs on every side
 * alike, and waits before each run until no server is still busy (garbage collection, a last
 * export) on the core the next one runs on. The figures are the ratios to `off` in the same run:
 * of the rate, and of the server's CPU time per request (less sensitive to the other core's load). Goals (issue 19): GET at most 15% slower at 100%
 * sampling, 3% at 1%.
 *
 * With BENCH_TRACING_BASE=<commit> (e.g. the commit before tracing came in), one more server runs
 * that commit's build (git archive, compiled the same way), tracing off, measured right after
 * "off" each time: "off" against it shows what tracing's code costs when it is off.
 *
 * Env: BENCH_TRACING=0 (skip; a smoke run skips it unless BENCH_TRACING=1), BENCH_TRACING_N
 * (payments preloaded, default 100,000: a GET by id does not depend on it), BENCH_TRACING_S
 * (seconds per measured run, default 5). Alone, the results go to bench/results/tracing.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type autocannon from 'autocannon';
import { compiled, compiledAt } from './build';
import { DatasetGenerator } from './dataset';
import { int, ms, ratio, table } from './format';
import { load, LoadOptions, LoadResult, pool, postRequests, ServerProcess, warm } from './http';
import { hasTaskset, machineInfo, pinSelf, processCpuMs } from './measure';

const CONNECTIONS = 50;
const TRACED = ['off', '100%', '1%', 'lean 1%', 'never'] as const;
/** `base`: the service at BENCH_TRACING_BASE (a commit before tracing), tracing off: "off" must match it. */
type Variant = (typeof TRACED)[number] | 'base';

export interface TracingResults {
  n: number;
  durationS: number;
  /** The commit of the `base` server, when BENCH_TRACING_BASE named one. */
  base?: string;
  cases: { label: string; results: Partial<Record<Variant, LoadResult>> & Record<(typeof TRACED)[number], LoadResult> }[];
  /** What the sink received from each traced server: export requests and bytes. */
  exported: Record<string, { requests: number; bytes: number }>;
}

/** An OTLP/HTTP endpoint that reads every export, counts it, and answers 200 (an empty response is a valid one). */
class OtlpSink {
  readonly received = new Map<string, { requests: number; bytes: number }>();
  readonly #server: Server;

  constructor() {
    this.#server = createServer((req, res) => {
      const key = req.url ?? '';
      let bytes = 0;
      req.on('data', (chunk: Buffer) => (bytes += chunk.length));
      req.on('end', () => {
        const seen = this.received.get(key) ?? { requests: 0, bytes: 0 };
        this.received.set(key, { requests: seen.requests + 1, bytes: seen.bytes + bytes });
        res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
      });
    });
  }

  async listen(): Promise<number> {
    await new Promise<void>((done) => this.#server.listen(0, '127.0.0.1', done));
    return (this.#server.address() as AddressInfo).port;
  }

  close(): Promise<void> {
    this.#server.closeAllConnections();
    return new Promise((done) => this.#server.close(() => done()));
  }
}

/** Each variant exports to a path of its own on the sink, so its exports are counted apart. */
const SINK_PATHS: Record<Variant, string> = {
  off: '',
  base: '',
  '100%': '/all/v1/traces',
  '1%': '/one-percent/v1/traces',
  'lean 1%': '/lean/v1/traces',
  never: '/never/v1/traces',
};

function tracingEnv(variant: Variant, sinkPort: number): Record<string, string> {
  if (variant === 'off' || variant === 'base') return {};
  const common = { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `http://127.0.0.1:${sinkPort}${SINK_PATHS[variant]}`, OTEL_SERVICE_NAME: 'payments-bench' };
  if (variant === '100%') return { ...common, OTEL_TRACES_SAMPLER: 'always_on' };
  if (variant === '1%') return { ...common, OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.01' };
  if (variant === 'lean 1%') return { ...common, OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.01', OTEL_NODE_DISABLED_INSTRUMENTATIONS: 'nestjs-core' };
  return { ...common, OTEL_TRACES_SAMPLER: 'always_off' };
}

export async function tracingSection(opts: { smoke: boolean; pinned: boolean; log: (m: string) => void }): Promise<TracingResults | { skipped: string }> {
  const flag = process.env.BENCH_TRACING;
  if (flag === '0' || (opts.smoke && flag !== '1')) return { skipped: flag === '0' ? 'BENCH_TRACING=0' : 'smoke run (BENCH_TRACING=1 runs it)' };
  const n = Number(process.env.BENCH_TRACING_N ?? 100_000);
  const durationS = Number(process.env.BENCH_TRACING_S ?? (opts.smoke ? 2 : 5));
  const warmupS = opts.smoke ? 0.5 : 1;
  const core = opts.pinned ? 0 : undefined;
  const base = process.env.BENCH_TRACING_BASE;
  // the baseline right after `off`: the two are measured side by side in both halves of the mirrored order
  const VARIANTS: Variant[] = base ? ['off', 'base', ...TRACED.slice(1)] : [...TRACED];
  const baseScript = base ? compiledAt(base, 'bench/http-server.ts') : undefined;
  const sink = new OtlpSink();
  const sinkPort = await sink.listen();
  const servers = new Map<Variant, ServerProcess>();
  try {
    for (const variant of VARIANTS) {
      opts.log(`tracing: starting the service, tracing ${variant}`);
      servers.set(variant, await ServerProcess.start('service', n, core, tracingEnv(variant, sinkPort), variant === 'base' ? baseScript : undefined));
    }
    // payments every server holds: the preloaded data set is the same (bench/dataset.ts, seeded), as in the HTTP cases
    const payments = new DatasetGenerator().take(n);
    const getRequests: autocannon.Request[] = Array.from({ length: 16 }, (_, j) => ({ method: 'GET', path: `/payments/${payments[Math.floor((j * n) / 16)].paymentId}` }));
    for (const [variant, server] of servers) {
      const res = await fetch(server.url + getRequests[0].path);
      if (res.status !== 200) throw new Error(`tracing ${variant}: GET answered ${res.status}`);
      await res.arrayBuffer();
    }

    const cases: { label: string; opts: (s: ServerProcess, v: Variant) => LoadOptions }[] = [
      { label: 'GET /payments/:id', opts: (s) => ({ url: s.url, connections: CONNECTIONS, durationS, requests: getRequests }) },
      {
        label: 'POST /payments',
        opts: (s, v) => ({ url: s.url, connections: CONNECTIONS, durationS, method: 'POST', setupRequest: postRequests(`trace-${SINK_PATHS[v].split('/')[1] || 'off'}-${Math.random().toString(36).slice(2, 8)}-`) }),
      },
    ];
    const results: TracingResults['cases'] = [];
    for (const c of cases) {
      for (const v of VARIANTS) await warm(servers.get(v)!, c.opts(servers.get(v)!, v), warmupS);
      const runs = Object.fromEntries(VARIANTS.map((v) => [v, [] as LoadResult[]])) as Record<Variant, LoadResult[]>;
      for (const v of [...VARIANTS, ...[...VARIANTS].reverse()]) {
        await settled([...servers.values()]);
        opts.log(`tracing: ${c.label}, tracing ${v}`);
        const s = servers.get(v)!;
        runs[v].push(await load(`${c.label} (tracing ${v})`, s, c.opts(s, v)));
      }
      results.push({ label: c.label, results: Object.fromEntries(VARIANTS.map((v) => [v, pool(runs[v])])) as TracingResults['cases'][number]['results'] });
    }
    // the batch processor exports every 5 s or per 512 spans: stopping the servers flushes the rest (SIGTERM)
    for (const s of servers.values()) await s.stop();
    const exported = Object.fromEntries(VARIANTS.map((v) => [v, sink.received.get(SINK_PATHS[v]) ?? { requests: 0, bytes: 0 }])) as TracingResults['exported'];
    const stray = [...sink.received.keys()].filter((k) => !Object.values(SINK_PATHS).includes(k));
    if (stray.length > 0) throw new Error(`tracing: exports to unexpected paths ${stray.join(', ')}`);
    if (exported['100%'].requests === 0) throw new Error('tracing: the 100% server exported nothing: the measurement would not include tracing');
    if (exported.never.requests > 0) throw new Error('tracing: the never-sampled server exported spans');
    return { n, durationS, base, cases: results, exported };
  } finally {
    for (const s of servers.values()) await s.stop();
    await sink.close();
  }
}

export function tracingReport(r: TracingResults | { skipped: string } | undefined): string {
  if (r === undefined) return '';
  if ('skipped' in r) return `### Tracing cost\n\nskipped: ${r.skipped}\n`;
  // rate (and its ratio to off), and the server's CPU per request (less sensitive than the rate to what else runs on the machine)
  const variants: Variant[] = r.base ? ['off', 'base', ...TRACED.slice(1)] : [...TRACED];
  const header = (v: Variant) => (v === 'base' ? `${r.base} (before tracing), off` : v === 'off' ? 'tracing off' : v === 'never' ? 'never sampled (floor)' : `${v} sampled`);
  const rows = [['case', ...variants.map(header)]];
  for (const c of r.cases) {
    const off = c.results.off;
    const cell = (v: Variant) => {
      const x = c.results[v]!;
      const own = `${int(x.rps)} req/s, ${int(cpuUs(x))} µs CPU, p99 ${ms(x.p99)} ms`;
      return v === 'off' ? own : `${own}: ${ratio(x.rps / off.rps)} rate, ${ratio(cpuUs(x) / cpuUs(off))} CPU`;
    };
    rows.push([c.label, ...variants.map(cell)]);
  }
  return (
    `### Tracing cost (OpenTelemetry, OTLP/HTTP to a local sink; ${int(r.n)} payments, ${r.durationS} s per run, mirrored)\n\n` +
    table(rows) +
    `\nexported (OTLP requests, KiB): ` +
    TRACED.filter((v) => v !== 'off')
      .map((v) => `${v} ${int(r.exported[v].requests)}, ${int(r.exported[v].bytes / 1024)}`)
      .join('; ') +
    '\n'
  );
}

/**
 * Waits until no server process works any more (each under 5% of a core over 250 ms, at most
 * 10 s): after a run, a server may still collect its garbage or export its spans, on the core
 * the next server is measured on.
 */
async function settled(servers: ServerProcess[]): Promise<void> {
  for (let i = 0; i < 40; i++) {
    const before = servers.map((s) => processCpuMs(s.pid) ?? 0);
    await sleep(250);
    const busiest = Math.max(...servers.map((s, j) => (processCpuMs(s.pid) ?? 0) - before[j]));
    if (busiest < 12.5) return;
  }
}

/** The server's CPU time per request, µs (its CPU share over the run divided by the rate). */
const cpuUs = (x: LoadResult) => ((x.serverCpuPct ?? NaN) / 100 / x.rps) * 1e6;

if (require.main === module) {
  const log = (m: string) => process.stderr.write(`[bench:tracing] ${m}\n`);
  const machine = machineInfo();
  const pinned = hasTaskset() && machine.cores >= 2 && pinSelf(1);
  compiled('bench/http-server.ts');
  tracingSection({ smoke: false, pinned, log })
    .then((r) => {
      process.stdout.write(tracingReport(r) + '\n');
      const dir = resolve(__dirname, 'results');
      mkdirSync(dir, { recursive: true });
      writeFileSync(resolve(dir, 'tracing.json'), JSON.stringify({ startedAt: new Date().toISOString(), machine, pinned, result: r }, null, 2));
      process.exit(0);
    })
    .catch((e) => {
      console.error(e);
      process.exit(1);
    });
}
