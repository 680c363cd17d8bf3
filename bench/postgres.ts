/**
 * The PostgreSQL section of the bench: run by `npm run bench` after the other cases, or alone
 * with `npm run bench:pg` (bench/bench-pg.ts). Every service instance is a child process
 * (bench/pg-server.ts: createApp with a databaseUrl), pinned to a core when taskset exists.
 *
 *   load:        N payments of the data set written to the table (untimed: the rows by
 *                INSERT ... SELECT FROM unnest, then the keys and indexes), then a fresh
 *                instance timed from createApp() until PostgresPrimaryRepository has loaded them; its store
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
import { Client } from 'pg';
import { gc } from './measure';
import { commitCase, directCase, loadCase, replicationCase } from './pg-cases';
import type { Ctx } from './pg-context';
import { PG_DEFAULT_URL, redact, urlOf, withClient } from './pg-database';
import type { PgDirectCase } from './pg-direct';
import { Filled, fillCase } from './pg-fill';
import { Instance } from './pg-instance';
import { multiCase } from './pg-multi';
import type { PgLoadCase, PgResults } from './pg-results';
import { pgSettings } from './pg-settings';

// bench.ts takes the report from here too (bench-pg.ts from pg-report.ts)

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
