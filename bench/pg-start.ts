/**
 * The PostgreSQL mode's start (issue 18), as an operator sees it: from
 * spawning `node dist/main.js` (the production entry, with start:prod's flags) until
 * GET /health/ready answers 200, over a table of BENCH_N payments of the bench's data set.
 * Several builds side by side in one run, in mirrored order (A B B A ...), so that the noise of
 * this shared machine falls on each alike: compare the ratios.
 *
 * Run: `node --expose-gc --max-old-space-size=8192 -r ts-node/register/transpile-only bench/pg-start.ts`
 *
 *   BENCH_N                  payments (default 1,000,000)
 *   PGSTART_VARIANTS         name=commit pairs, comma-separated; `.` is the working tree
 *                            (default `new=.`; e.g. `base=d4e1aa3,new=.`; empty: the fill alone)
 *   PGSTART_ROUNDS           rounds of the mirrored pair (default 1: A B B A for two variants)
 *   PGSTART_CHECK=0          skip the check: each variant's store (bench/pg-server.ts) must hold
 *                            the data set field for field (digest), and every variant answer the
 *                            bench's searches and stats alike
 *   PGSTART_KEEP=0           drop the filled database at the end (default: kept, as
 *                            pgstart_<N>, so that the next run skips the fill: 10M take minutes)
 *   BENCH_PG_URL             a database to connect to for CREATE DATABASE (default the local test one)
 *
 * Per start: wall time to ready, the service's own "loaded ... in" figure (PostgresPrimaryRepository: BEGIN to
 * COMMIT, migrations excluded), its CPU, the CPU of the PostgreSQL backends of the database,
 * its peak RSS, and the heap after the load.
 */
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, Pool } from 'pg';
import { freePort, NodeProcess, ServiceProcess, statusOf } from '../test/service-process';
import { compiled, compiledAt, serviceNodeFlags } from './build';
import { DatasetGenerator } from './dataset';
import { INSERT_PAYMENTS, insertParams } from '../src/persistence/payment-rows';
import { migrate } from '../src/persistence/migrations';
import { paymentsDigest } from './pg-checks';
import { processCpuMs } from './measure';
import type { Payment } from '../src/payments/payment';

const N = Number(process.env.BENCH_N ?? 1_000_000);
const BASE_URL = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const DB = `pgstart_${N}`;
const ROUNDS = Number(process.env.PGSTART_ROUNDS ?? 1);
const CHECK = process.env.PGSTART_CHECK !== '0';
const FILL_BATCH = 5000;
const READY_TIMEOUT_MS = 900_000;

const log = (msg: string) => process.stderr.write(`[pg-start ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);

function urlOf(database: string): string {
  const url = new URL(BASE_URL);
  url.pathname = `/${database}`;
  return url.toString();
}

async function withClient<T>(url: string, f: (c: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await f(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** The service's INSERT less its ON CONFLICT: the fill builds the keys after the rows (as bench/pg-fill.ts' fill). */
const FILL_INSERT = INSERT_PAYMENTS.replace(/\s*ON CONFLICT \(organization_id, payment_id\) DO NOTHING\s*$/, '');

/** Fills pgstart_<N> with the first N payments of the data set, unless a finished fill is there. */
async function ensureFilled(): Promise<string> {
  const url = urlOf(DB);
  const exists = await withClient(BASE_URL, async (c) => (await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [DB])).rowCount === 1);
  if (exists) {
    const digest = await withClient(url, async (c) => {
      const r = await c.query<{ n: number; digest: string }>('SELECT n, digest FROM bench_fill').catch(() => undefined);
      return r?.rows[0]?.n === N ? r.rows[0].digest : undefined;
    });
    if (digest !== undefined) {
      log(`${DB}: filled before (${N.toLocaleString('en-US')} payments), kept`);
      return digest;
    }
    await withClient(BASE_URL, (c) => c.query(`DROP DATABASE ${DB} WITH (FORCE)`));
  }
  await withClient(BASE_URL, (c) => c.query(`CREATE DATABASE ${DB}`));
  log(`${DB}: filling ${N.toLocaleString('en-US')} payments`);
  const started = performance.now();
  const pool = new Pool({ connectionString: url, max: 2 });
  const generator = new DatasetGenerator();
  let a = 0;
  let b = 0;
  try {
    await migrate(pool);
    // rows first, keys and indexes after (each one sort), as bench/pg-fill.ts' fill
    const { rows: indexes } = await pool.query<{ name: string; def: string }>(
      `SELECT indexname AS name, indexdef AS def FROM pg_indexes WHERE tablename = 'payments'
         AND indexname NOT IN (SELECT conname FROM pg_constraint WHERE conrelid = 'payments'::regclass)`,
    );
    const { rows: keys } = await pool.query<{ tbl: string; name: string; def: string; type: string }>(
      `SELECT conrelid::regclass::text AS tbl, conname AS name, pg_get_constraintdef(oid) AS def, contype AS type FROM pg_constraint
        WHERE (conrelid = 'payments'::regclass AND contype = 'p') OR (confrelid = 'payments'::regclass AND contype = 'f')`,
    );
    const ordered = [...keys.filter((k) => k.type === 'f'), ...keys.filter((k) => k.type === 'p')];
    for (const k of ordered) await pool.query(`ALTER TABLE ${k.tbl} DROP CONSTRAINT ${k.name}`);
    for (const i of indexes) await pool.query(`DROP INDEX ${i.name}`);
    const digestParts: string[] = [];
    let written = 0;
    const batches = async function* (): AsyncGenerator<Payment[]> {
      while (written < N) {
        const batch = generator.take(Math.min(FILL_BATCH, N - written));
        written += batch.length;
        const d = paymentsDigest(batch).split(':');
        a = (a + parseInt(d[1], 16)) % 4294967296;
        b = (b + parseInt(d[2], 16)) % 4294967296;
        yield batch;
      }
    };
    const source = batches();
    await Promise.all(
      [0, 1].map(async () => {
        const client = await pool.connect();
        try {
          await client.query('SET synchronous_commit = off');
          for (;;) {
            const next = await source.next();
            if (next.done) return;
            await client.query(FILL_INSERT, insertParams(next.value));
            if (written % 500_000 === 0) log(`  ${written.toLocaleString('en-US')} written`);
          }
        } finally {
          client.release();
        }
      }),
    );
    digestParts.push(String(N));
    const c = await pool.connect();
    try {
      await c.query(`SET maintenance_work_mem = '1GB'`);
      for (const i of indexes) await c.query(i.def);
      for (const k of [...keys.filter((k) => k.type === 'p'), ...keys.filter((k) => k.type === 'f')]) {
        await c.query(`ALTER TABLE ${k.tbl} ADD CONSTRAINT ${k.name} ${k.def}`);
      }
    } finally {
      c.release();
    }
    await pool.query('VACUUM (ANALYZE) payments');
    const digest = `${N}:${a.toString(16)}:${b.toString(16)}`;
    await pool.query('CREATE TABLE bench_fill (n integer NOT NULL, digest text NOT NULL)');
    await pool.query('INSERT INTO bench_fill VALUES ($1, $2)', [N, digest]);
    log(`${DB}: filled in ${((performance.now() - started) / 1000).toFixed(0)} s`);
    return digest;
  } finally {
    await pool.end();
  }
}

function peakRssMB(pid: number): number | undefined {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

async function backendsCpuMs(admin: Client): Promise<Map<number, number>> {
  const { rows } = await admin.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = $1', [DB]);
  return new Map(rows.map((r) => [r.pid, processCpuMs(r.pid) ?? 0]));
}

interface StartRun {
  variant: string;
  readyMs: number;
  loadMs: number | undefined;
  serviceCpuMs: number;
  postgresCpuMs: number;
  peakRssMB: number | undefined;
}

/** One start of `main` (a build's dist/main.js): spawn to /health/ready 200. */
async function startOnce(variant: string, main: string, admin: Client): Promise<StartRun> {
  const port = await freePort();
  const before = await backendsCpuMs(admin);
  const t0 = performance.now();
  const service = new ServiceProcess(port, {
    nodeArgs: [...serviceNodeFlags(), main],
    env: { ...process.env, DATABASE_URL: urlOf(DB), PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'info', NODE_ENV: 'development' },
    keepLast: 1 << 20,
  });
  // the load's connection ends with the load: its backend's CPU is sampled while it lives
  const seen = new Map<number, number>();
  const sample = async () => {
    for (const [pid, ms] of await backendsCpuMs(admin)) seen.set(pid, Math.max(ms, seen.get(pid) ?? 0));
  };
  try {
    let lastSample = 0;
    for (;;) {
      if (!service.running) throw new Error(`${variant} exited before it was ready:\n${service.output().slice(-2000)}`);
      if ((await statusOf(`${service.url}/health/ready`, 1000)) === 200) break;
      if (performance.now() - t0 > READY_TIMEOUT_MS) throw new Error(`${variant} not ready after ${READY_TIMEOUT_MS / 1000} s`);
      if (performance.now() - lastSample > 250) {
        lastSample = performance.now();
        await sample();
      }
      await sleep(20);
    }
    const readyMs = performance.now() - t0;
    const serviceCpuMs = processCpuMs(service.pid) ?? NaN;
    await sample();
    let postgresCpuMs = 0;
    for (const [pid, t] of seen) postgresCpuMs += t - (before.get(pid) ?? 0);
    // logged before the service is ready, so in the output kept by then
    const m = /loaded (\d+) payments from PostgreSQL in (\d+) ms/.exec(service.output());
    const loadMs = m ? Number(m[2]) : undefined;
    return { variant, readyMs, loadMs, serviceCpuMs, postgresCpuMs, peakRssMB: peakRssMB(service.pid) };
  } finally {
    await service.stop(15_000);
  }
}

/** The store a build loads, checked: bench/pg-server.ts of that build, its 'checks' command. */
async function checkVariant(variant: string, server: string): Promise<{ digest: string; size: number; answers: { query: string; checksum: string }[] }> {
  const instance = new NodeProcess({
    nodeArgs: [...serviceNodeFlags(), '--expose-gc', '--max-old-space-size=8192', server],
    env: { ...process.env, BENCH_PG_APP_URL: urlOf(DB) },
    stdio: 'inherit',
    ipc: true,
  });
  const child = instance.child;
  try {
    await new Promise<void>((res, rej) => {
      void instance.exited.then(({ code }) => rej(new Error(`${variant}: pg-server exited (${code})`)));
      child.on('message', (m: { type?: string }) => m.type === 'ready' && res());
    });
    return await new Promise((res, rej) => {
      child.on('message', (m: { id?: number; result?: unknown; error?: string }) => {
        if (m.id !== 1) return;
        if (m.error !== undefined) rej(new Error(m.error));
        else res(m.result as never);
      });
      child.send({ id: 1, cmd: 'checks' });
    });
  } finally {
    instance.kill9();
  }
}

async function main(): Promise<void> {
  const variants = (process.env.PGSTART_VARIANTS ?? 'new=.').split(',').filter(Boolean).map((v) => {
    const [name, commit] = v.split('=');
    return { name, commit };
  });
  const builds = variants.map(({ name, commit }) => {
    const entry = (e: string) => (commit === '.' ? compiled(e) : compiledAt(commit, e));
    return { name, main: entry('src/main.ts'), server: entry('bench/pg-server.ts') };
  });
  const digest = await ensureFilled();
  const admin = new Client({ connectionString: BASE_URL });
  await admin.connect();
  const runs: StartRun[] = [];
  try {
    if (CHECK) {
      let first: Awaited<ReturnType<typeof checkVariant>> | undefined;
      for (const b of builds) {
        const got = await checkVariant(b.name, b.server);
        if (got.size !== N || got.digest !== digest) throw new Error(`MISMATCH: ${b.name} holds ${got.size} payments, digest ${got.digest}, not ${digest}`);
        first ??= got;
        got.answers.forEach((a, i) => {
          if (a.checksum !== first!.answers[i].checksum) throw new Error(`MISMATCH: ${b.name} answers ${a.query} unlike ${builds[0].name}`);
        });
        log(`${b.name}: the loaded store holds the data set (digest ${got.digest}), ${got.answers.length} answers as ${builds[0].name}'s`);
      }
    }
    const order: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const forward = variants.map((_, i) => i);
      order.push(...forward, ...forward.reverse());
    }
    for (const i of order) {
      const run = await startOnce(builds[i].name, builds[i].main, admin);
      runs.push(run);
      log(
        `${run.variant}: ready in ${(run.readyMs / 1000).toFixed(2)} s (load ${((run.loadMs ?? NaN) / 1000).toFixed(2)} s), ` +
          `CPU service ${(run.serviceCpuMs / 1000).toFixed(1)} s, PostgreSQL ${(run.postgresCpuMs / 1000).toFixed(1)} s, peak RSS ${run.peakRssMB?.toFixed(0)} MB`,
      );
    }
  } finally {
    await admin.end();
    if (process.env.PGSTART_KEEP === '0') await withClient(BASE_URL, (c) => c.query(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`));
  }
  if (variants.length === 0) process.exit(0);
  const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor((xs.length - 1) / 2)];
  const byVariant = variants.map((v) => {
    const mine = runs.filter((r) => r.variant === v.name);
    return { name: v.name, commit: v.commit, readyMs: median(mine.map((r) => r.readyMs)), all: mine.map((r) => (r.readyMs / 1000).toFixed(2)) };
  });
  process.stdout.write(`\nPostgreSQL mode start, N = ${N.toLocaleString('en-US')}: spawn → /health/ready 200 (median of ${ROUNDS * 2} runs each)\n`);
  for (const v of byVariant) {
    process.stdout.write(`  ${v.name} (${v.commit}): ${(v.readyMs / 1000).toFixed(2)} s [${v.all.join(', ')}]` +
      (v === byVariant[0] ? '' : `, ${(v.readyMs / byVariant[0].readyMs).toFixed(2)}× ${byVariant[0].name}`) + '\n');
  }
  process.exit(0);
}

main().catch((e) => {
  process.stderr.write(`\npg-start FAILED: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
