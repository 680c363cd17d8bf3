import autocannon from 'autocannon';
import { createInterface } from 'node:readline';
import { NodeProcess } from '../test/service-process';
import { compiled, serviceNodeFlags } from './build';
import { CpuProbe } from './measure';
import { searchChecksum, statsChecksum, StatsAnswer } from './queries';

export type ServerKind = 'service' | 'bare' | 'nest';

/** A server process (bench/http-server.ts, compiled: see build.ts), pinned to `core` when taskset exists. */
export class ServerProcess {
  /** Every server process alive, so that their CPU is not counted as other processes' load. */
  static readonly live = new Set<ServerProcess>();

  private constructor(
    readonly kind: ServerKind,
    readonly node: NodeProcess,
    readonly url: string,
    readonly info: Record<string, unknown>,
  ) {}

  /** The longest garbage-collection pause the server printed since the last takeGcMaxMs() (needs --trace-gc in its flags). */
  #gcMaxMs = 0;
  #gcPauses = 0;

  /** The longest GC pause since the last call, ms, and how many pauses (0, 0 without --trace-gc); resets both. */
  takeGcMax(): { maxMs: number; pauses: number } {
    const out = { maxMs: this.#gcMaxMs, pauses: this.#gcPauses };
    this.#gcMaxMs = 0;
    this.#gcPauses = 0;
    return out;
  }

  /** Reads one line of the server's stdout: a --trace-gc line gives a pause (its first time, the main thread's). */
  #read(line: string): void {
    const m = GC_TRACE.exec(line);
    if (m === null) return;
    this.#gcPauses++;
    this.#gcMaxMs = Math.max(this.#gcMaxMs, Number(m[1]));
  }

  get pid(): number {
    return this.node.pid;
  }

  /** `env`: variables added to the server's environment (the tracing section's OTEL_* settings). */
  static start(
    kind: ServerKind,
    n: number,
    core: number | undefined,
    env: Record<string, string> = {},
    /** The server script: this build's, or another commit's (the tracing section's baseline). */
    script = compiled('bench/http-server.ts'),
    /** More node flags for this server (e.g. --trace-gc: see takeGcMax). */
    flags: string[] = [],
  ): Promise<ServerProcess> {
    // BENCH_SERVER_NODE_ARGS: extra node flags for the server processes (e.g. --cpu-prof
    // --cpu-prof-dir=.scratch/prof: a profile is written when the bench stops them with SIGTERM)
    const extra = (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean);
    const production = kind === 'service' ? serviceNodeFlags() : [];
    const nodeArgs = [...production, ...extra, ...flags, '--expose-gc', '--max-old-space-size=8192', script, kind];
    const node = new NodeProcess({ nodeArgs, env: { ...process.env, ...env, BENCH_N: String(n) }, core, stdio: 'stdout' });
    const child = node.child;
    return new Promise((resolvePromise, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`${kind} server did not start within 10 minutes`));
      }, 600_000);
      const early = (code: number | null) => {
        clearTimeout(timer);
        reject(new Error(`${kind} server exited with code ${code} before it was ready`));
      };
      child.once('exit', early);
      const lines = createInterface({ input: child.stdout! });
      let server: ServerProcess | undefined;
      lines.on('line', (line) => {
        if (server !== undefined) return server.#read(line);
        const m = /^READY (\d+) (.*)$/.exec(line);
        if (!m) return;
        clearTimeout(timer);
        child.off('exit', early);
        const ready = new ServerProcess(kind, node, `http://127.0.0.1:${m[1]}`, JSON.parse(m[2]));
        server = ready;
        ServerProcess.live.add(ready);
        child.once('exit', () => ServerProcess.live.delete(ready));
        resolvePromise(ready);
      });
    });
  }

  stop(): Promise<void> {
    return this.node.stop();
  }
}

/** A --trace-gc line: `[pid:0x...]  12345 ms: Scavenge 60.5 (118.2) -> 46.7 (118.2) MB, 2.22 / 0.00 ms ...`; group 1 the pause. */
const GC_TRACE = /^\[\d+:0x[0-9a-f]+\]\s+\d+ ms: [A-Za-z-]+(?: \([^)]*\))? [0-9.]+ \([0-9.]+\) -> [0-9.]+ \([0-9.]+\) MB, ([0-9.]+) \/ [0-9.]+ ms/;

export interface LoadResult {
  rps: number;
  p50: number;
  p99: number;
  requests: number;
  durationS: number;
  connections: number;
  pipelining: number;
  /** CPU use of the server process over the run, % of one core (saturated at ~100). */
  serverCpuPct?: number;
  /** CPU use of this (load generator) process over the run, % of one core. */
  loadgenCpuPct: number;
  /** CPU used by anything else on the machine meanwhile (other sessions, kernel), % of one core. */
  otherCpuPct?: number;
}

export interface LoadOptions {
  url: string;
  connections: number;
  pipelining?: number;
  durationS: number;
  /** Prebuilt requests, cycled per connection (cheapest for the load generator). */
  requests?: autocannon.Request[];
  /** Or a request rebuilt per call (unique bodies). */
  setupRequest?: (req: autocannon.Request) => autocannon.Request;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
}

function toOptions(o: LoadOptions): autocannon.Options {
  return {
    url: o.url,
    connections: o.connections,
    pipelining: o.pipelining ?? 1,
    duration: o.durationS,
    method: o.method ?? 'GET',
    headers: o.headers,
    requests: o.setupRequest ? [{ method: o.method ?? 'GET', setupRequest: o.setupRequest }] : o.requests,
  };
}

function check(label: string, r: autocannon.Result): void {
  if (r.non2xx > 0 || r.errors > 0 || r.timeouts > 0 || r.requests.total === 0) {
    throw new Error(
      `${label}: ${r.requests.total} requests, ${r.non2xx} non-2xx (${JSON.stringify(r.statusCodeStats ?? {})}), ` +
        `${r.errors} errors, ${r.timeouts} timeouts: a benchmark of errors measures nothing`,
    );
  }
}

export function toLoadResult(r: autocannon.Result): Omit<LoadResult, 'loadgenCpuPct' | 'serverCpuPct'> {
  return {
    rps: r.requests.total / r.duration,
    p50: r.latency.p50,
    p99: r.latency.p99,
    requests: r.requests.total,
    durationS: r.duration,
    connections: r.connections,
    pipelining: r.pipelining,
  };
}

/** Runs autocannon instances together against one server; fails on any non-2xx or error. */
export async function loadTogether(label: string, server: ServerProcess, runs: LoadOptions[]): Promise<LoadResult[]> {
  const servers = [...ServerProcess.live];
  const probe = new CpuProbe(servers.map((s) => s.pid));
  const results = await Promise.all(runs.map((o) => autocannon(toOptions(o))));
  const cpu = probe.stop();
  results.forEach((r, i) => check(`${label}${runs.length > 1 ? ` #${i + 1}` : ''}`, r));
  const serverCpuPct = cpu.childrenPct[servers.indexOf(server)];
  return results.map((r) => ({ ...toLoadResult(r), loadgenCpuPct: cpu.selfPct, serverCpuPct, otherCpuPct: cpu.otherPct }));
}

/** Pools runs of the same case: rate over all requests, p50 averaged, p99 the worst run's. */
export function pool(runs: LoadResult[]): LoadResult {
  const sum = (f: (r: LoadResult) => number) => runs.reduce((a, r) => a + f(r), 0);
  const avg = (f: (r: LoadResult) => number | undefined) => {
    const xs = runs.map(f).filter((x): x is number => x !== undefined);
    return xs.length === 0 ? undefined : xs.reduce((a, b) => a + b, 0) / xs.length;
  };
  return {
    rps: sum((r) => r.requests) / sum((r) => r.durationS),
    p50: avg((r) => r.p50)!,
    p99: Math.max(...runs.map((r) => r.p99)),
    requests: sum((r) => r.requests),
    durationS: sum((r) => r.durationS),
    connections: runs[0].connections,
    pipelining: runs[0].pipelining,
    serverCpuPct: avg((r) => r.serverCpuPct),
    loadgenCpuPct: avg((r) => r.loadgenCpuPct)!,
    otherCpuPct: avg((r) => r.otherCpuPct),
  };
}

export async function load(label: string, server: ServerProcess, o: LoadOptions): Promise<LoadResult> {
  return (await loadTogether(label, server, [o]))[0];
}

/** Untimed warm-up of a route (JIT, connection pools), same shape as the measured run. */
export async function warm(server: ServerProcess, o: LoadOptions, durationS: number): Promise<void> {
  await loadTogether('warm-up', server, [{ ...o, durationS }]);
}

/** POST /payments bodies with unique paymentIds `${prefix}0`, `${prefix}1`, ... (one per request sent). */
export function postRequests(prefix: string, organizationId = 'org-bench-post'): LoadOptions['setupRequest'] {
  let k = 0;
  return (req) => {
    const i = k++;
    return {
      ...req,
      method: 'POST',
      path: '/payments',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        paymentId: `${prefix}${i}`,
        organizationId,
        userId: `user-${String(1 + (i % 10_000)).padStart(5, '0')}`,
        amount: 1 + (i % 1_000_000),
        currency: 'EUR',
        description: 'bench payment',
        metadata: { source: 'bench', batch: prefix },
      }),
    };
  };
}

// ---- answers over HTTP, checked against the in-process baselines before any load ----

async function getJson(url: string): Promise<unknown> {
  const res = await fetch(url);
  if (res.status !== 200) throw new Error(`GET ${url}: HTTP ${res.status} ${await res.text()}`);
  return res.json();
}

/** JSON with sorted keys: equal documents give equal strings whatever their key order. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

export interface HttpExpectations {
  /** GET path -> canonical JSON of the payment */
  payments: { path: string; json: string }[];
  search: { path: string; checksum: string }[];
  stats: { path: string; checksum: string }[];
}

/** Every server answers as the in-process naive baseline does; throws on the first difference. */
export async function verifyAnswers(server: ServerProcess, expect: HttpExpectations, withQueries: boolean): Promise<number> {
  let checked = 0;
  for (const { path, json } of expect.payments) {
    const got = canonicalJson(await getJson(server.url + path));
    if (got !== json) throw new Error(`${server.kind} GET ${path}: answer differs from the data set\n got ${got}\nwant ${json}`);
    checked++;
  }
  if (!withQueries) return checked;
  for (const { path, checksum } of expect.search) {
    const body = (await getJson(server.url + path)) as { items: { paymentId: string }[]; total: number };
    const got = searchChecksum({ ids: body.items.map((p) => p.paymentId), total: body.total });
    if (got !== checksum) throw new Error(`${server.kind} GET ${path}: checksum ${got}, naive baseline says ${checksum}`);
    checked++;
  }
  for (const { path, checksum } of expect.stats) {
    const got = statsChecksum((await getJson(server.url + path)) as StatsAnswer);
    if (got !== checksum) throw new Error(`${server.kind} GET ${path}: checksum ${got}, naive baseline says ${checksum}`);
    checked++;
  }
  return checked;
}

/** After the POST load: the last created payment can be read back with the fields sent. */
export async function verifyCreated(server: ServerProcess, paymentId: string, organizationId: string): Promise<void> {
  const body = (await getJson(`${server.url}/payments/${paymentId}`)) as { paymentId: string; organizationId: string };
  if (body.paymentId !== paymentId || body.organizationId !== organizationId) {
    throw new Error(`${server.kind}: POSTed payment ${paymentId} reads back as ${JSON.stringify(body)}`);
  }
}
