import { setTimeout as sleep } from 'node:timers/promises';
import type { ClientBase, QueryConfig } from 'pg';
import { Budget, processCpuMs, summarize, Timing, timeIterations } from './measure';
import {
  Engine,
  SearchAnswer,
  SearchQuery,
  searchChecksum,
  searchVariant,
  StatsAnswer,
  statsChecksum,
  StatsQuery,
  statsVariant,
  windowSearchVariant,
} from './queries';

/**
 * "PostgreSQL queried directly" (issue 18): what a team would build without this service. The
 * same searches (one page + the total) and stats as the in-memory engine, written as SQL over
 * the same rows (the PostgreSQL section's filled table), with the indexes below, each answer
 * checked against the in-memory engine's for the same query (a mismatch fails the bench), and
 * timed beside that engine in the same run, in mirrored order (engine, SQL, SQL, engine).
 *
 * What is timed is what an application pays: node-postgres on one connection, a parameterised
 * query (unnamed, so PostgreSQL plans each call for its values, as an organization of 190k rows
 * and one of 5k need different plans), the round trip over the loopback, and the rows parsed.
 * A search is two statements one after the other (page, then total), as a paged API runs them.
 */

/**
 * The indexes a careful engineer would add for the API's reads (every read names one
 * organization; search filters by status, currency, amount and time, sorts by createdAt or
 * amount with the paymentId tie-break; stats fold a time window):
 *
 *   created: the default order, newest first, the tie-break in the column order (so a page is the
 *            first 20 entries of one range, and keyset pages follow); it carries the stats'
 *            columns, so that a time window's stats and a filtered page or total are read from
 *            the index alone (an index-only scan: no heap page, and the heap's rows are spread
 *            over every page, as writes of 100 organizations interleave);
 *   status:   one status in createdAt order: the dashboard's "completed, last 7 days" list
 *            without stepping over the other statuses;
 *   amount:   sort by amount, and amount ranges (a search's total over an amount window).
 *
 * payment_id is compared with COLLATE "C" (bytes, as the service compares ids), whatever the
 * database's collation; ORDER BY names the same collation, so the index serves the order.
 */
export const DIRECT_INDEXES: readonly { name: string; sql: string }[] = [
  {
    name: 'payments_direct_created',
    sql: `CREATE INDEX payments_direct_created ON payments (organization_id, created_at DESC, payment_id COLLATE "C")
            INCLUDE (status, currency, amount, refunded_amount)`,
  },
  {
    name: 'payments_direct_status',
    sql: `CREATE INDEX payments_direct_status ON payments (organization_id, status, created_at DESC, payment_id COLLATE "C")
            INCLUDE (currency, amount)`,
  },
  {
    name: 'payments_direct_amount',
    sql: `CREATE INDEX payments_direct_amount ON payments (organization_id, amount, payment_id COLLATE "C")
            INCLUDE (status, currency, created_at)`,
  },
];

/** The WHERE clause of a search: every filter the query holds, as parameters ($1...). */
function searchWhere(q: SearchQuery): { where: string; values: unknown[] } {
  const values: unknown[] = [q.organizationId, q.statuses, q.currencies];
  const parts = ['organization_id = $1', 'status = ANY($2::text[])', 'currency = ANY($3::text[])'];
  const add = (condition: (param: string) => string, value: unknown) => {
    values.push(value);
    parts.push(condition(`$${values.length}`));
  };
  if (q.minAmount !== undefined) add((p) => `amount >= ${p}`, q.minAmount);
  if (q.maxAmount !== undefined) add((p) => `amount <= ${p}`, q.maxAmount);
  if (q.from !== undefined) add((p) => `created_at >= ${p}::timestamptz`, q.from);
  if (q.to !== undefined) add((p) => `created_at < ${p}::timestamptz`, q.to);
  return { where: parts.join(' AND '), values };
}

/** One page, newest first, ties by paymentId ascending (the service's order), and the total. */
export function searchSql(q: SearchQuery): { page: QueryConfig; total: QueryConfig } {
  const { where, values } = searchWhere(q);
  return {
    page: {
      text: `SELECT payment_id FROM payments WHERE ${where} ORDER BY created_at DESC, payment_id COLLATE "C" LIMIT $${values.length + 1}`,
      values: [...values, q.size],
    },
    total: { text: `SELECT count(*)::int AS total FROM payments WHERE ${where}`, values },
  };
}

/**
 * The stats document's figures in one scan: the total, counts per status, and counts and exact
 * sums per currency (numeric, never summed across currencies). GROUPING() tells the three sets
 * apart (status and currency are never NULL).
 */
export function statsSql(q: StatsQuery): QueryConfig {
  return {
    text: `SELECT GROUPING(status, currency) AS g, status, currency, count(*)::int AS n,
             sum(amount)::text AS amount, sum(refunded_amount)::text AS refunded
           FROM payments WHERE organization_id = $1 AND created_at >= $2::timestamptz AND created_at < $3::timestamptz
           GROUP BY GROUPING SETS ((), (status), (currency))`,
    values: [q.organizationId, q.from, q.to],
  };
}

interface StatsRow {
  g: number;
  status: string | null;
  currency: string | null;
  n: number;
  amount: string | null;
  refunded: string | null;
}

/** A sum as the service answers it: a number while exact in a double, else its decimal string. */
const money = (sum: string | null): number | string => {
  const x = Number(sum ?? 0);
  return Number.isSafeInteger(x) ? x : (sum as string);
};

export function statsFromRows(rows: readonly StatsRow[]): StatsAnswer {
  const out: StatsAnswer = {
    total: 0,
    byStatus: { pending: 0, completed: 0, failed: 0, refunded: 0 },
    byCurrency: {},
    amountByCurrency: {},
    refundedAmountByCurrency: {},
  };
  for (const r of rows) {
    if (r.g === 3) out.total = r.n;
    else if (r.g === 1) out.byStatus[r.status!] = r.n;
    else {
      out.byCurrency[r.currency!] = r.n;
      out.amountByCurrency[r.currency!] = money(r.amount);
      out.refundedAmountByCurrency[r.currency!] = money(r.refunded);
    }
  }
  return out;
}

/** The baseline's two reads over one connection; `lastSearch` splits the latest search's time. */
export class PgDirectEngine {
  readonly name = 'PostgreSQL queried directly';
  lastSearch = { pageMs: 0, totalMs: 0 };

  constructor(private readonly sql: ClientBase) {}

  async search(q: SearchQuery): Promise<SearchAnswer> {
    const { page, total } = searchSql(q);
    const t0 = performance.now();
    const ids = (await this.sql.query<{ payment_id: string }>(page)).rows.map((r) => r.payment_id);
    const t1 = performance.now();
    const n = (await this.sql.query<{ total: number }>(total)).rows[0].total;
    this.lastSearch = { pageMs: t1 - t0, totalMs: performance.now() - t1 };
    return { ids, total: n };
  }

  async stats(q: StatsQuery): Promise<StatsAnswer> {
    return statsFromRows((await this.sql.query<StatsRow>(statsSql(q))).rows);
  }
}

// ---------------------------------------------------------------------------- the case

export type ShapeId = 'search.mid' | 'search.largest' | 'search.window' | 'stats.mid' | 'stats.largest';

interface Shape {
  id: ShapeId;
  label: string;
  kind: 'search' | 'stats';
  query: (i: number) => SearchQuery | StatsQuery;
}

/** bench/bench.ts' latency cases, variant for variant (bench/queries.ts). */
export const SHAPES: readonly Shape[] = [
  { id: 'search.mid', label: 'search, mid-size org (Zipf ranks 10-30)', kind: 'search', query: (i) => searchVariant('mid', i) },
  { id: 'search.largest', label: 'search, largest org', kind: 'search', query: (i) => searchVariant('largest', i) },
  { id: 'search.window', label: 'search, largest org, completed, 7-day window', kind: 'search', query: windowSearchVariant },
  { id: 'stats.mid', label: 'stats 30 days, mid-size org', kind: 'stats', query: (i) => statsVariant('mid', i) },
  { id: 'stats.largest', label: 'stats 30 days, largest org', kind: 'stats', query: (i) => statsVariant('largest', i) },
];

export interface PgDirectSettings {
  /** timed calls per shape and engine, half in each of the two mirrored blocks */
  samples: number;
  /** untimed calls before each timed block (after the warm pass: every variant once through SQL) */
  warmup: number;
}

/** 200 calls per shape and engine (BENCH_PG_DIRECT_SAMPLES), 40 in a smoke run. */
export function pgDirectSettings(smoke: boolean, override?: number): PgDirectSettings {
  const samples = override !== undefined && override > 0 ? override : smoke ? 40 : 200;
  return { samples: 2 * Math.ceil(samples / 2), warmup: smoke ? 3 : 5 };
}

/** A statement's plan, in short: its scans (index names) and what EXPLAIN ANALYZE saw once warm. */
export interface PlanSummary {
  scans: string;
  planningMs: number;
  executionMs: number;
  heapFetches: number;
  jit: boolean;
}

export interface PgDirectShape {
  id: ShapeId;
  label: string;
  pg: Timing;
  memory: Timing;
  /** a search's two statements apart (p50 / p99 of each over the timed calls) */
  page?: { p50: number; p99: number };
  total?: { p50: number; p99: number };
  /** CPU of the PostgreSQL backend per call (ms), over the timed SQL calls */
  backendCpuMsPerCall: number | undefined;
  /** CPU other processes used while each engine was timed, % of one core (the backend excluded) */
  otherCpuPct: { memory: number | undefined; pg: number | undefined };
  /** pg p50 / memory p50, pg p99 / memory p99 */
  ratioP50: number;
  ratioP99: number;
  /** SQL answers compared with the in-memory engine's (every timed call) */
  checked: number;
  plans: { statement: string; plan: PlanSummary }[];
}

export interface PgDirectCase {
  n: number;
  settings: PgDirectSettings;
  indexes: { name: string; definition: string; mb: number }[];
  indexBuildS: number;
  /** VACUUM (ANALYZE) until every heap page is all-visible (or 10 tries) */
  analyzeS: number;
  /** share of the heap's pages marked all-visible (index-only scans skip the heap on those) */
  allVisible: number;
  /** the warm pass: every variant of every shape once through SQL, untimed */
  warmPassS: number;
  tableMB: number;
  server: Record<string, string>;
  shapes: PgDirectShape[];
}

interface PlanNode {
  'Node Type': string;
  'Index Name'?: string;
  'Heap Fetches'?: number;
  Plans?: PlanNode[];
}

function scansOf(node: PlanNode, out: string[] = []): string[] {
  if (node['Node Type'].includes('Scan')) out.push(`${node['Node Type']}${node['Index Name'] ? ` ${node['Index Name']}` : ''}`);
  for (const child of node.Plans ?? []) scansOf(child, out);
  return out;
}

function heapFetchesOf(node: PlanNode): number {
  return (node['Heap Fetches'] ?? 0) + (node.Plans ?? []).reduce((a, c) => a + heapFetchesOf(c), 0);
}

async function explain(sql: ClientBase, q: QueryConfig): Promise<PlanSummary> {
  const { rows } = await sql.query<{ 'QUERY PLAN': [{ Plan: PlanNode; 'Planning Time': number; 'Execution Time': number; JIT?: unknown }] }>({
    text: `EXPLAIN (ANALYZE, FORMAT JSON) ${q.text}`,
    values: q.values,
  });
  const [top] = rows[0]['QUERY PLAN'];
  return {
    scans: scansOf(top.Plan).join(' + '),
    planningMs: top['Planning Time'],
    executionMs: top['Execution Time'],
    heapFetches: heapFetchesOf(top.Plan),
    jit: top.JIT !== undefined,
  };
}

const SERVER_SETTINGS = ['shared_buffers', 'work_mem', 'effective_cache_size', 'random_page_cost', 'max_parallel_workers_per_gather', 'jit', 'plan_cache_mode'];

const quantiles = (xs: number[]) => {
  const { p50, p99 } = summarize(xs);
  return { p50, p99 };
};

/** The two mirrored blocks of one engine as one distribution. */
function merge(a: { timing: Timing; samples: number[] }, b: { timing: Timing; samples: number[] }): Timing {
  return {
    ...summarize([...a.samples, ...b.samples]),
    gcPauses: (a.timing.gcPauses ?? 0) + (b.timing.gcPauses ?? 0),
    gcMs: (a.timing.gcMs ?? 0) + (b.timing.gcMs ?? 0),
  };
}

/**
 * VACUUM (ANALYZE) until the visibility map covers the heap, as autovacuum keeps a table whose
 * rows no longer change. One pass is not always enough: an autoanalyze that started during the
 * fill holds a snapshot older than the last rows, and VACUUM cannot mark their pages all-visible
 * until it ends. Returns the share of pages marked.
 */
async function vacuumUntilAllVisible(sql: ClientBase, log: (msg: string) => void): Promise<number> {
  let share = 0;
  for (let attempt = 1; attempt <= 10; attempt++) {
    await sql.query('VACUUM (ANALYZE) payments');
    const { pages, visible } = (
      await sql.query<{ pages: number; visible: number }>(`SELECT relpages AS pages, relallvisible AS visible FROM pg_class WHERE oid = 'payments'::regclass`)
    ).rows[0];
    share = pages === 0 ? 1 : visible / pages;
    if (share >= 1) break;
    log(`PostgreSQL direct: ${(share * 100).toFixed(1)}% of the heap all-visible after VACUUM ${attempt}; again in 1 s`);
    await sleep(1000);
  }
  return share;
}

/**
 * Builds the indexes on `sql`'s `payments` (the filled table, rows as the data set), runs the
 * shapes through SQL and through `memory` (the in-memory engine over the same data set), and
 * throws on the first SQL answer that differs from the engine's. `sql` is one connection: the
 * timing is sequential, one query at a time.
 */
export async function pgDirectCase(o: {
  sql: ClientBase;
  memory: Engine;
  n: number;
  settings: PgDirectSettings;
  log: (msg: string) => void;
  /** shapes to run (default all) */
  only?: readonly ShapeId[];
}): Promise<PgDirectCase> {
  const { sql, memory, settings, log } = o;
  const shapes = SHAPES.filter((s) => o.only === undefined || o.only.includes(s.id));
  let t = performance.now();
  for (const index of DIRECT_INDEXES) {
    log(`PostgreSQL direct: CREATE INDEX ${index.name}`);
    await sql.query(`DROP INDEX IF EXISTS ${index.name}`);
    await sql.query(index.sql);
  }
  const indexBuildS = (performance.now() - t) / 1000;
  t = performance.now();
  const allVisible = await vacuumUntilAllVisible(sql, log);
  const analyzeS = (performance.now() - t) / 1000;
  const indexes = (
    await sql.query<{ name: string; definition: string; bytes: string }>(
      `SELECT i.indexname AS name, i.indexdef AS definition, pg_relation_size(c.oid)::text AS bytes
         FROM pg_indexes i JOIN pg_class c ON c.relname = i.indexname AND c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = i.schemaname)
        WHERE i.tablename = 'payments' AND i.schemaname = current_schema() ORDER BY i.indexname`,
    )
  ).rows.map((r) => ({ name: r.name, definition: r.definition, mb: Number(r.bytes) / 2 ** 20 }));
  const tableMB = Number((await sql.query(`SELECT pg_table_size('payments')::text AS b`)).rows[0].b) / 2 ** 20;
  const server: Record<string, string> = {};
  for (const name of SERVER_SETTINGS) server[name] = (await sql.query(`SELECT current_setting($1) AS v`, [name])).rows[0].v;
  const backendPid = Number((await sql.query('SELECT pg_backend_pid() AS pid')).rows[0].pid);

  const engine = new PgDirectEngine(sql);
  const run = (e: Pick<Engine, 'search' | 'stats'>, shape: Shape, i: number) => {
    const q = shape.query(i);
    return shape.kind === 'search' ? e.search(q as SearchQuery) : e.stats(q as StatsQuery);
  };
  const checksum = (shape: Shape, a: SearchAnswer | StatsAnswer) =>
    shape.kind === 'search' ? searchChecksum(a as SearchAnswer) : statsChecksum(a as StatsAnswer);

  // a warm cache, as a database in service has for its hot organizations: every page the timed
  // calls read is read once before
  t = performance.now();
  log(`PostgreSQL direct: warm pass, ${settings.samples} variants of ${shapes.length} shapes through SQL`);
  for (const shape of shapes) for (let i = 0; i < settings.samples; i++) await run(engine, shape, i);
  const warmPassS = (performance.now() - t) / 1000;

  const h = settings.samples / 2;
  const budget: Budget = { warmup: settings.warmup, min: h, max: h, ms: Infinity };
  const out: PgDirectShape[] = [];
  for (const shape of shapes) {
    const expected: string[] = [];
    const got: string[] = [];
    const pageMs: number[] = [];
    const totalMs: number[] = [];
    let backendMs: number | undefined = 0;
    const timeMemory = (offset: number) => {
      log(`PostgreSQL direct: ${shape.label}: in-memory engine, variants ${offset}-${offset + h - 1}`);
      return timeIterations(budget, (i) => run(memory, shape, offset + i), (i, a) => (expected[offset + i] = checksum(shape, a)));
    };
    const timeSql = async (offset: number) => {
      log(`PostgreSQL direct: ${shape.label}: SQL, variants ${offset}-${offset + h - 1}`);
      const cpu0 = processCpuMs(backendPid);
      const r = await timeIterations(
        budget,
        (i) => run(engine, shape, offset + i),
        (i, a) => {
          got[offset + i] = checksum(shape, a);
          // after() sees the timed calls only: the split of exactly the timed searches
          if (shape.kind === 'search') {
            pageMs.push(engine.lastSearch.pageMs);
            totalMs.push(engine.lastSearch.totalMs);
          }
        },
      );
      const cpu1 = processCpuMs(backendPid);
      // the block's warm-up calls ran on the backend too: its CPU is shared out over every call
      const ms = cpu0 === undefined || cpu1 === undefined ? undefined : (cpu1 - cpu0) * (h / (h + settings.warmup));
      if (backendMs !== undefined) backendMs = ms === undefined ? undefined : backendMs + ms;
      const wallMs = r.samples.reduce((a, b) => a + b, 0);
      const otherPct = r.otherCpuPct === undefined || ms === undefined ? r.otherCpuPct : Math.max(0, r.otherCpuPct - (ms / wallMs) * 100);
      return { ...r, otherCpuPct: otherPct };
    };
    // mirrored: engine, SQL, SQL, engine; the second pair on the next variants
    const m1 = await timeMemory(0);
    const p1 = await timeSql(0);
    const p2 = await timeSql(h);
    const m2 = await timeMemory(h);
    for (let i = 0; i < settings.samples; i++) {
      if (got[i] !== expected[i]) {
        throw new Error(
          `MISMATCH in "PostgreSQL queried directly: ${shape.label}", variant ${i}: the in-memory engine's answer has checksum ${expected[i]}, ` +
            `the SQL's ${got[i]} (${JSON.stringify(shape.query(i))}). A fast wrong answer is a failure.`,
        );
      }
    }
    const pg = merge(p1, p2);
    const mem = merge(m1, m2);
    const q0 = shape.query(0);
    const plans =
      shape.kind === 'search'
        ? [
            { statement: 'page', plan: await explain(sql, searchSql(q0 as SearchQuery).page) },
            { statement: 'total', plan: await explain(sql, searchSql(q0 as SearchQuery).total) },
          ]
        : [{ statement: 'stats', plan: await explain(sql, statsSql(q0 as StatsQuery)) }];
    const avg = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined ? undefined : (a + b) / 2);
    out.push({
      id: shape.id,
      label: shape.label,
      pg,
      memory: mem,
      ...(shape.kind === 'search' ? { page: quantiles(pageMs), total: quantiles(totalMs) } : {}),
      backendCpuMsPerCall: backendMs === undefined ? undefined : backendMs / settings.samples,
      otherCpuPct: { memory: avg(m1.otherCpuPct, m2.otherCpuPct), pg: avg(p1.otherCpuPct, p2.otherCpuPct) },
      ratioP50: pg.p50 / mem.p50,
      ratioP99: pg.p99 / mem.p99,
      checked: settings.samples,
      plans,
    });
  }
  return { n: o.n, settings, indexes, indexBuildS, analyzeS, allVisible, warmPassS, tableMB, server, shapes: out };
}
