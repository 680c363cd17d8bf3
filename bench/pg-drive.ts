/**
 * Load on the PostgreSQL section's instances and what it costs: autocannon runs of POST /payments
 * that fail on any error, CPU of the instances, of PostgreSQL's backends and of the rest, their
 * /metrics, and latency distributions.
 */
import autocannon from 'autocannon';
import { LoadResult, postRequests, toLoadResult } from './http';
import { CpuProbe, processCpuMs, runQueueWaitMs } from './measure';
import { parseMetrics, Sample } from './metrics-text';
import type { Ctx } from './pg-context';
import type { Instance } from './pg-instance';
import type { Cpu } from './pg-results';

export async function scrape(instance: Instance): Promise<Sample[]> {
  const res = await fetch(`${instance.url}/metrics`);
  if (res.status !== 200) throw new Error(`${instance.name}: GET /metrics answered ${res.status}`);
  return parseMetrics(await res.text());
}

export const POST_201 = { method: 'POST', route: '/payments', status: '201' };

/** CPU time (ms) of every PostgreSQL backend connected to the bench's database, by pid. */
export async function backendsCpu(ctx: Ctx): Promise<Map<number, number>> {
  const { rows } = await ctx.admin.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = $1', [ctx.db]);
  return new Map(rows.map((r) => [r.pid, processCpuMs(r.pid) ?? 0]));
}

export function backendsDelta(before: Map<number, number>, after: Map<number, number>): number {
  let ms = 0;
  for (const [pid, t] of after) ms += t - (before.get(pid) ?? 0);
  return ms;
}

/** Starts measuring CPU: the instances (children), PostgreSQL's backends of this database, the rest. */
export async function meter(ctx: Ctx, pids: number[]): Promise<() => Promise<Cpu & { childrenPct: number[] }>> {
  const pg0 = await backendsCpu(ctx);
  const wait0 = pids.map(runQueueWaitMs);
  const probe = new CpuProbe(pids);
  return async () => {
    const cpu = probe.stop();
    const waits = pids.map((pid, i) => {
      const w = runQueueWaitMs(pid);
      return w === undefined || wait0[i] === undefined ? undefined : w - wait0[i]!;
    });
    const postgresPct = (backendsDelta(pg0, await backendsCpu(ctx)) / cpu.wallMs) * 100;
    return {
      instancePct: cpu.childrenPct.reduce((a, b) => a + b, 0),
      instanceWaitPct: waits.includes(undefined) ? undefined : (waits.reduce((a, b) => a! + b!, 0)! / cpu.wallMs) * 100,
      childrenPct: cpu.childrenPct,
      postgresPct,
      restPct: cpu.otherPct === undefined ? undefined : Math.max(0, cpu.otherPct - postgresPct),
      benchPct: cpu.selfPct,
    };
  };
}

/** autocannon against one instance; any non-2xx, error or timeout fails the run. */
export async function drive(label: string, instance: Instance, o: autocannon.Options, cpuOf: Instance[] = [instance]): Promise<LoadResult & { cpu: Cpu & { childrenPct: number[] } }> {
  const stop = await meter(instance.ctx, cpuOf.map((i) => i.pid));
  const r = await autocannon(o);
  const cpu = await stop();
  if (r.non2xx > 0 || r.errors > 0 || r.timeouts > 0 || r.requests.total === 0) {
    throw new Error(
      `${label}: ${r.requests.total} requests, ${r.non2xx} non-2xx (${JSON.stringify(r.statusCodeStats ?? {})}), ` +
        `${r.errors} errors, ${r.timeouts} timeouts: a benchmark of errors measures nothing`,
    );
  }
  return {
    ...toLoadResult(r),
    serverCpuPct: cpu.childrenPct[0],
    loadgenCpuPct: cpu.benchPct,
    otherCpuPct: cpu.restPct === undefined ? undefined : cpu.restPct + cpu.postgresPct,
    cpu,
  };
}

export function postOptions(instance: Instance, prefix: string, connections: number, run: { durationS?: number; amount?: number; overallRate?: number }): autocannon.Options {
  return {
    url: instance.url,
    connections,
    pipelining: 1,
    ...(run.durationS !== undefined ? { duration: run.durationS } : {}),
    ...(run.amount !== undefined ? { amount: run.amount } : {}),
    ...(run.overallRate !== undefined ? { overallRate: run.overallRate } : {}),
    method: 'POST',
    requests: [{ method: 'POST', setupRequest: postRequests(prefix, 'org-bench-pg') }],
  };
}
