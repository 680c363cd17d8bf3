/**
 * The PostgreSQL section's cases on one instance or two (bench/postgres.ts describes each): load
 * at start and where its time goes, PostgreSQL queried directly, group commit against one
 * transaction per write, and replication from A to B.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { NodeProcess } from '../test/service-process';
import { compiled, serviceNodeFlags } from './build';
import { int } from './format';
import type { LoadResult } from './http';
import { distribution } from './measure';
import { bucketOf, histogramDelta, histogramOf, metricValue } from './metrics-text';
import { createSchema, Ctx, log } from './pg-context';
import { countRows, settled, urlOf, withClient } from './pg-database';
import { PgDirectCase, pgDirectCase, pgDirectSettings } from './pg-direct';
import { backendsCpu, backendsDelta, drive, POST_201, postOptions, scrape } from './pg-drive';
import type { Filled } from './pg-fill';
import { Instance } from './pg-instance';
import type { Cpu, PgCommitCase, PgCommitRun, PgLoadCase, PgReplicationCase } from './pg-results';

const wallNow = () => performance.timeOrigin + performance.now();

export async function loadCase(ctx: Ctx, filled: Filled): Promise<PgLoadCase> {
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
    log(`PostgreSQL load: ${int(r.rows)} rows in ${(r.startMs / 1000).toFixed(1)} s (PostgresPrimaryRepository.load ${(r.loadMs / 1000).toFixed(1)} s); checking`);
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
      primaryLoadMs: r.loadMs,
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
  const out = await new Promise<string>((resolvePromise, reject) => {
    const { child } = new NodeProcess({ nodeArgs, env: { ...process.env, BENCH_PG_APP_URL: url }, core, stdio: 'stdout' });
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
export async function directCase(ctx: Ctx, filled: Filled): Promise<PgDirectCase> {
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

export async function commitCase(ctx: Ctx): Promise<PgCommitCase> {
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

export async function replicationCase(ctx: Ctx): Promise<PgReplicationCase> {
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
