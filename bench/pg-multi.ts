/**
 * The PostgreSQL section's case of several instances on one database (bench/postgres.ts): k = 1,
 * 2, 3 instances on a fresh schema each, one POST load split over them, and how long after the
 * last answer every store holds the table's rows.
 */
import autocannon from 'autocannon';
import { Agent, get as httpGet } from 'node:http';
import { cpus } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { int } from './format';
import { Histogram, histogramDelta, histogramOf, metricValue } from './metrics-text';
import { createSchema, Ctx, log } from './pg-context';
import { countRows, settled } from './pg-database';
import { meter, POST_201, postOptions, scrape } from './pg-drive';
import { Instance } from './pg-instance';
import type { Cpu, PgMultiCase, PgMultiRun } from './pg-results';

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

export async function multiCase(ctx: Ctx): Promise<PgMultiCase> {
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
