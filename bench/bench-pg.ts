/**
 * npm run bench:pg: the PostgreSQL section of the bench alone (bench/postgres.ts), on the same
 * data set. Env: BENCH_N (default 1,000,000), BENCH_SMOKE=1 (shorter runs), BENCH_PG_URL,
 * BENCH_PG=0; PostgreSQL queried directly: BENCH_PG_DIRECT=0 (skip it), BENCH_PG_DIRECT_ONLY=1
 * (the fill and that case alone), BENCH_PG_DIRECT_SAMPLES (see bench/postgres.ts). Results go to
 * bench/results/postgres.json. Run through npm (node --expose-gc).
 */
import { compiled } from './build';
import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { goalLine } from './format';
import { evaluateGoals } from './goals';
import { hasTaskset, machineInfo, pinSelf } from './measure';
import { postgresReport } from './pg-report';
import { postgresSection } from './postgres';

const N = Number(process.env.BENCH_N ?? 1_000_000);
const SMOKE = process.env.BENCH_SMOKE === '1';

function log(msg: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}

async function main(): Promise<void> {
  const started = Date.now();
  const machine = machineInfo();
  const pinned = hasTaskset() && machine.cores >= 2 && pinSelf(1);
  log(`PostgreSQL section alone: N=${N}${SMOKE ? ' (smoke)' : ''}, ${machine.cpu} × ${machine.cores}, node ${machine.node}, ` +
    (pinned ? 'bench pinned to core 1' : 'not pinned'));
  compiled('bench/pg-server.ts'); // the servers' build, made now: they run this snapshot of the code
  const pg = await postgresSection({ n: N, smoke: SMOKE, pinned, log });
  // BENCH_PG_DIRECT_ONLY=1 (or a skipped section) measures no goal: none is listed as "not met"
  const goals = evaluateGoals({ 'pg.load.s': pg.load && pg.load.startMs / 1000 }).filter((g) => g.id.startsWith('pg.') && g.value !== undefined);
  process.stdout.write(
    [
      '',
      `payments-cqs benchmark, PostgreSQL section${SMOKE ? ' (SMOKE)' : ''}: N = ${N.toLocaleString('en-US')} payments, seed fixed; commit ${machine.commit}${machine.srcDirty ? ' + uncommitted src changes' : ''}`,
      `machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, node ${machine.node}, ${machine.platform}`,
      '',
      postgresReport(pg, goals),
      '',
      goals.length === 0 ? 'goals: none measured in this run' : `goals${N < 1_000_000 ? ' (bounds are defined at 1M; this run is smaller)' : ''}:`,
      ...goals.map((g) => goalLine(g, SMOKE)),
      '',
    ].join('\n') + '\n',
  );
  mkdirSync(resolve(__dirname, 'results'), { recursive: true });
  const out = resolve(__dirname, 'results', 'postgres.json');
  writeFileSync(
    out,
    JSON.stringify({ n: N, smoke: SMOKE, startedAt: new Date(started).toISOString(), durationS: (Date.now() - started) / 1000, machine, pinned, postgres: pg, goals }, null, 2) + '\n',
  );
  log(`results written to ${out}; ${((Date.now() - started) / 1000).toFixed(0)} s in all`);
  process.exit(0);
}

main().catch((e) => {
  process.stderr.write(`\nBENCH FAILED: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
