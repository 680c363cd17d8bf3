/** The PostgreSQL section's table (the bench's style) and notes, from its results. */
import { goalCell, int, lat, ms, ratio, rps, table } from './format';
import type { GoalResult } from './goals';
import type { PgDirectCase } from './pg-direct';
import type { Cpu, PgMultiInstance, PgResults } from './pg-results';

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
      `PostgresPrimaryRepository.load ${sec(l.primaryLoadMs)} s; apart: COPY read ${sec(b.copyMs)} s (this side's CPU ${sec(b.copyCpuMs)} s; executor ${sec(b.executorMs)} s) + decoding ${sec(b.decodeMs)} s + store appends ${sec(b.appendMs)} s + index builds ${sec(b.indexMs)} s`,
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
