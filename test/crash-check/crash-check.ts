/**
 * Crash-durability check of the PostgreSQL mode: the service runs as a real process (the way
 * `npm start` runs it), takes a concurrent write load, is killed with SIGKILL in the middle
 * of it, restarts on the same database, and every answer the clients got is checked against
 * what survived, through the HTTP API and directly in SQL.
 *
 * The model. A payment is (organizationId, paymentId): paymentIds are unique per organization,
 * so the same paymentId in another organization is another payment (a create of it is a 201,
 * and both must survive the kills), and event ids are deduplicated per payment of an
 * organization. Every read and event names the payment's organization (`?organizationId=`).
 * Writes to one payment are issued one at a time (a payment is locked while a
 * request on it is in flight), except in deliberate races (two identical creates of one
 * new id; creates of one new id in two organizations; three refunds on one payment of which
 * exactly two fit). So every answer is
 * predictable from the last acknowledged state: its status code (201/200/400/404/409/422) and
 * its body are checked as the load runs. A request that gets no answer (the kill) makes its
 * payment "uncertain" for the rest of the round: after the restart its stored state must be
 * either the last acknowledged one, or that state with the in-flight request applied, and
 * nothing else. Then the stored state becomes the baseline of the next round.
 *
 * Checked after every restart:
 * - lost = 0: every acknowledged payment is stored with exactly the fields of its latest
 *   acknowledged answer (deep equality, metadata key order free), or with a later version
 *   that only a request in flight at the kill can explain (exactly that request applied);
 * - refused writes left no trace: a 400 create is absent (in every organization; reserved
 *   paymentIds too), a 409 re-create changed nothing, a 422 refund moved no money and recorded
 *   no event id, a 404 event (an unknown id, or an id known only in other organizations)
 *   created nothing and touched no other organization's payment;
 * - no (organizationId, paymentId) the clients never sent (or only sent in a refused create) is stored;
 * - the applied-event table agrees with the payments: every acknowledged event id is recorded
 *   (else a redelivery would apply twice), none of a refused request is, and an in-flight
 *   event is recorded if and only if its payment change was committed (one transaction);
 * - GET /payments/:id?organizationId= and the SQL row agree field by field; /admin/store counts
 *   the rows; GET /payments/:id without organizationId is the only organization's payment, a 409
 *   PAYMENT_ID_AMBIGUOUS when several organizations have that paymentId, a 404 when none has;
 * - in later rounds, redelivered event ids (acknowledged before a kill) change nothing.
 *
 * Run from jest (test/crash.pg-spec.ts), or on its own:
 *   npx ts-node --transpile-only test/crash-check/crash-check.ts
 * which makes a database of its own on TEST_PG_URL's server (default
 * postgres://postgres@127.0.0.1:5432/test) and drops it at the end. Environment: ROUNDS (3),
 * CLIENTS (32), SEED, KILL_AFTER_WRITES (the kill comes when this many writes of the round are
 * answered; default seeded random in 2000-2800 per round), CRASH_UNSAFE_TEXT=1 to
 * put lone UTF-16 surrogates in some texts and event ids: valid JSON (`\ud800`) the service
 * accepts and acknowledges as sent, but PostgreSQL text stores U+FFFD instead, so this mode
 * reports "lost" writes as long as the service does not refuse such strings with a 400.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { maintenance, runDatabaseUrl, TEST_PG_URL } from '../postgres-run';
import { mulberry32 } from '../seeded-random';
import { Load } from './load';
import type { RoundStats } from './model';
import { killStrayServices, ServiceProcess, startService, waitUntil } from '../service-process';
import { verify } from './verify';

export interface CrashCheckOptions {
  /** An empty database or schema (the url may carry options=-c search_path=...). */
  databaseUrl: string;
  rounds?: number;
  clients?: number;
  seed?: number;
  /**
   * Kill as this many writes of the round are answered (acknowledged or refused), at once, with
   * the other clients' requests in flight: a slow, cold or shared machine gets the same load,
   * only over a longer time. Default: seeded random in 2000-2800 per round.
   */
  killAfterWrites?: number;
  /** Guard: a load that has not got there after this long is killed anyway and reported; default 120 s. */
  maxLoadMs?: number;
  logLevel?: string;
  /** Put lone UTF-16 surrogates in some texts (the service mangles them: see the report). */
  unsafeText?: boolean;
}

export interface CrashCheckResult {
  rounds: RoundStats[];
  acknowledged: number;
  refused: number;
  unknown: number;
  checked: number;
  /** Acknowledged writes not found as acknowledged (or explained by an in-flight request). */
  lost: string[];
  /** Every other broken invariant (traces of refused writes, phantom ids, SQL vs HTTP...). */
  problems: string[];
  /** Answers during the load that the contract does not allow (wrong status or body, 5xx). */
  unexpected: string[];
  ms: number;
  summary: string;
}

// ---------------------------------------------------------------------------------------
// The rounds

/**
 * src/main.ts on a free port with DATABASE_URL, once /health/ready answers 200 (the 120 s only
 * guard against a service that never gets there). MAX_EVENT_LOOP_DELAY_MS=0 (startService's):
 * shedding by event-loop delay measures how loaded the machine is; a 503 from it is not what
 * this check is about (it would report it as unexpected). The last 20 kB of its output are kept.
 */
async function startOnDatabase(databaseUrl: string, logLevel: string): Promise<ServiceProcess> {
  const service = await startService([], { LOG_LEVEL: logLevel, DATABASE_URL: databaseUrl }, 20_000);
  await waitUntil(service, '/health/ready', { intervalMs: 50, timeoutMs: 120_000 });
  return service;
}

/** How many paymentIds are known in two organizations or more (that the per-organization case ran). */
function sharedIds(load: Load): number {
  const orgs = new Map<string, number>();
  for (const p of load.payments.values()) if (p.known) orgs.set(p.id, (orgs.get(p.id) ?? 0) + 1);
  return [...orgs.values()].filter((n) => n > 1).length;
}

export async function runCrashCheck(options: CrashCheckOptions): Promise<CrashCheckResult> {
  const started = Date.now();
  const rounds = options.rounds ?? 3;
  const clients = options.clients ?? 32;
  const seed = options.seed ?? 20260301;
  const logLevel = options.logLevel ?? 'warn';
  const load = new Load(options.unsafeText ?? false);
  const lost: string[] = [];
  const problems: string[] = [];
  const stats: RoundStats[] = [];
  const timing = mulberry32(seed);

  let service = await startOnDatabase(options.databaseUrl, logLevel);
  try {
    for (let round = 1; round <= rounds; round++) {
      load.round = round;
      load.stop = false;
      load.port = service.port;
      load.agent = new http.Agent({ keepAlive: true, maxSockets: clients * 4 });
      const killAfterWrites = options.killAfterWrites ?? 2000 + Math.floor(timing() * 800);
      load.stats = { round, acknowledged: 0, refused: 0, unknown: 0, refusedByStatus: {}, killAfterWrites, killedAtMs: 0, inFlightAtKill: 0, checked: 0, lost: 0 };
      const loadStarted = Date.now();
      const victim = service;
      const killed = new Promise<void>((resolve) => {
        load.killAt = {
          writes: killAfterWrites,
          kill: () => {
            load.stats.killedAtMs = Date.now() - loadStarted;
            load.stop = true;
            load.stats.inFlightAtKill = load.inFlightRequests;
            victim.kill9();
            resolve();
          },
        };
      });
      const guard = setTimeout(() => {
        load.note(`only ${load.stats.acknowledged + load.stats.refused} of ${killAfterWrites} writes answered after ${options.maxLoadMs ?? 120_000} ms: killed then`);
        load.killAt?.kill();
      }, options.maxLoadMs ?? 120_000);

      const workers = Array.from({ length: clients }, async (_, w) => {
        const rng = mulberry32(seed + round * 7919 + w * 104_729);
        for (let n = 0; !load.stop; n++) await load.step(rng, `${round}-${w}-${n}`);
      });
      await killed;
      clearTimeout(guard);
      load.killAt = undefined;
      await Promise.all(workers);
      await service.exited;
      load.agent.destroy();

      service = await startOnDatabase(options.databaseUrl, logLevel);
      const verdict = await verify(load, service, options.databaseUrl);
      load.stats.checked = verdict.checked;
      load.stats.lost = verdict.lost.length;
      lost.push(...verdict.lost.map((l) => `round ${round}: ${l}`));
      problems.push(...verdict.problems.map((p) => `round ${round}: ${p}`));
      stats.push(load.stats);
    }
  } finally {
    await service.stop(10_000);
  }

  const sum = (f: (s: RoundStats) => number) => stats.reduce((a, s) => a + f(s), 0);
  const result = {
    rounds: stats,
    acknowledged: sum((s) => s.acknowledged),
    refused: sum((s) => s.refused),
    unknown: sum((s) => s.unknown),
    checked: sum((s) => s.checked),
    lost,
    problems,
    unexpected: load.unexpected,
    ms: Date.now() - started,
  };
  const refusedBy: Record<string, number> = {};
  for (const s of stats) for (const [k, v] of Object.entries(s.refusedByStatus)) refusedBy[k] = (refusedBy[k] ?? 0) + v;
  const summary =
    `crash durability: rounds=${stats.length} acknowledged=${result.acknowledged} refused=${result.refused} ` +
    `(${Object.entries(refusedBy).map(([k, v]) => `${k}:${v}`).join(' ')}) unknown(in flight at kill)=${result.unknown} ` +
    `checked=${result.checked} lost=${lost.length} problems=${problems.length} unexpected=${load.unexpected.length} ` +
    `payments=${[...load.payments.values()].filter((p) => p.known).length} (paymentIds held by several organizations=${sharedIds(load)}) ` +
    `per round [ack/refused/unknown, killed at the Nth answer after ms]=${stats.map((s) => `${s.acknowledged}/${s.refused}/${s.unknown}@${s.killAfterWrites}/${s.killedAtMs}ms`).join(', ')} ` +
    `time=${((Date.now() - started) / 1000).toFixed(1)}s`;
  return { ...result, summary };
}

// ---------------------------------------------------------------------------------------
// On its own: a database of its own, dropped at the end

async function main(): Promise<void> {
  const name = `crash_check_${process.pid}_${randomBytes(3).toString('hex')}`;
  await maintenance(TEST_PG_URL, `CREATE DATABASE ${name}`);
  const onSignal = () => killStrayServices();
  process.once('SIGINT', onSignal);
  try {
    const result = await runCrashCheck({
      databaseUrl: runDatabaseUrl(name),
      rounds: Number(process.env.ROUNDS ?? 3),
      clients: Number(process.env.CLIENTS ?? 32),
      seed: process.env.SEED ? Number(process.env.SEED) : undefined,
      killAfterWrites: process.env.KILL_AFTER_WRITES ? Number(process.env.KILL_AFTER_WRITES) : undefined,
      unsafeText: process.env.CRASH_UNSAFE_TEXT === '1',
      logLevel: process.env.LOG_LEVEL ?? 'warn',
    });
    console.log(result.summary);
    for (const line of [...result.lost, ...result.problems, ...result.unexpected].slice(0, 50)) console.log(`  ${line}`);
    process.exitCode = result.lost.length + result.problems.length + result.unexpected.length === 0 ? 0 : 1;
  } finally {
    killStrayServices();
    await maintenance(TEST_PG_URL, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  }
}

if (require.main === module) {
  main().catch((e) => {
    killStrayServices();
    console.error(e);
    process.exit(2);
  });
}
