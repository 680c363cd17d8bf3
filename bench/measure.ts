import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { PerformanceObserver } from 'node:perf_hooks';

/** Nearest-rank percentile of samples (ms); p in (0, 1]. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];
}

/** Samples (ms) summed up: how many, p50, p99, the largest and the mean. */
export interface Distribution {
  n: number;
  p50: number;
  p99: number;
  max: number;
  mean: number;
}

export function distribution(xs: number[]): Distribution {
  const sorted = [...xs].sort((a, b) => a - b);
  return {
    n: sorted.length,
    p50: percentile(sorted, 0.5),
    p99: percentile(sorted, 0.99),
    max: sorted[sorted.length - 1] ?? NaN,
    mean: sorted.reduce((a, b) => a + b, 0) / Math.max(1, sorted.length),
  };
}

export interface Timing {
  iterations: number;
  p50: number;
  p99: number;
  mean: number;
  max: number;
  /** GC pauses of this process during the timed loop */
  gcPauses?: number;
  gcMs?: number;
  /** p99 over the samples that no GC pause overlapped: the algorithm's own tail */
  p99WithoutGc?: number;
}

export function summarize(samplesMs: number[]): Timing {
  const { n, p50, p99, mean, max } = distribution(samplesMs);
  return { iterations: n, p50, p99, mean, max };
}

/** GC pauses of this process as [start, end] in performance.now() time, as V8 reports them. */
const gcPauses: [number, number][] = [];
let gcObserver: PerformanceObserver | undefined;
function watchGc(): void {
  if (gcObserver) return;
  gcObserver = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) gcPauses.push([e.startTime, e.startTime + e.duration]);
  });
  gcObserver.observe({ entryTypes: ['gc'] });
}

export interface Budget {
  warmup: number;
  min: number;
  max: number;
  /** Stop after this many ms once `min` iterations ran. */
  ms: number;
}

/**
 * Times `run(i)` for i = 0, 1, ... (after a full GC and `warmup` untimed calls) until
 * `max` iterations, or `ms` elapsed once `min` ran. `after(i, result)` (untimed) sees each result.
 */
/**
 * Whether the timed loops run at real-time priority (SCHED_FIFO through `chrt`): other
 * processes of this shared machine then cannot preempt a timed call on the bench's core, so a
 * p99 is the code's own tail (GC included). Off with BENCH_RT=0, or where chrt is refused.
 */
let realtimeUsable: boolean | undefined;
export function realtimeTiming(): boolean {
  if (realtimeUsable === undefined) realtimeUsable = process.env.BENCH_RT !== '0' && setRealtime(true) && setRealtime(false);
  return realtimeUsable;
}

/** Runs `fn` at real-time priority when realtimeTiming() allows (see there). */
export function atRealtimePriority<T>(fn: () => T): T {
  const on = realtimeTiming() && setRealtime(true);
  try {
    return fn();
  } finally {
    if (on) setRealtime(false);
  }
}

function setRealtime(on: boolean): boolean {
  try {
    const policy = on ? ['-f', '-a', '-p', '10'] : ['-o', '-a', '-p', '0'];
    execFileSync('chrt', [...policy, String(process.pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export async function timeIterations<T>(
  budget: Budget,
  run: (i: number) => T | Promise<T>,
  after: (i: number, result: T) => void,
): Promise<{ timing: Timing; samples: number[]; otherCpuPct: number | undefined }> {
  // start from a collected heap: the previous engine's garbage is not this engine's pause
  gc();
  watchGc();
  gcPauses.length = 0;
  for (let i = 0; i < budget.warmup; i++) await run(i);
  const realtime = realtimeTiming() && setRealtime(true);
  const probe = new CpuProbe();
  const samples: number[] = [];
  const windows: [number, number][] = [];
  const started = performance.now();
  for (let i = 0; i < budget.max; i++) {
    if (i >= budget.min && performance.now() - started > budget.ms) break;
    const t0 = performance.now();
    const result = await run(i);
    const t1 = performance.now();
    samples.push(t1 - t0);
    windows.push([t0, t1]);
    after(i, result);
  }
  const otherCpuPct = probe.stop().otherPct;
  const ended = performance.now();
  if (realtime) setRealtime(false);
  // GC entries arrive on a later turn of the event loop
  await new Promise((r) => setTimeout(r, 20));
  const pauses = gcPauses.filter(([a, b]) => b >= started && a <= ended);
  const hit = (w: [number, number]) => pauses.some(([a, b]) => a < w[1] && b > w[0]);
  const clean = samples.filter((_, i) => !hit(windows[i]));
  const timing: Timing = {
    ...summarize(samples),
    gcPauses: pauses.length,
    gcMs: pauses.reduce((n, [a, b]) => n + (b - a), 0),
    p99WithoutGc: summarize(clean).p99,
  };
  return { timing, samples, otherCpuPct };
}

export function gc(): void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (!g) throw new Error('run node with --expose-gc (npm run bench does)');
  for (let i = 0; i < 3; i++) g();
}

export function heapUsed(): number {
  gc();
  return process.memoryUsage().heapUsed;
}

/** A fixed CPU loop (integer mixing, no allocation); its run-to-run spread is the noise floor. */
export function cpuLoopMs(): number {
  const t0 = performance.now();
  let x = 0x12345678;
  let acc = 0;
  for (let i = 0; i < 30_000_000; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    acc = (acc + (x & 0xff)) | 0;
  }
  if (acc === 42) console.log('');
  return performance.now() - t0;
}

/** `times` runs of the loop after one untimed warm-up run (the first run includes the JIT). */
export function noiseSample(times = 5): number[] {
  cpuLoopMs();
  return Array.from({ length: times }, () => cpuLoopMs());
}

/** Busy CPU time of the whole machine (ms, every core), from /proc/stat; undefined off Linux. */
function machineBusyMs(): number | undefined {
  try {
    const [user, nice, system, , , irq, softirq, steal] = readFileSync('/proc/stat', 'utf8')
      .split('\n')[0]
      .trim()
      .split(/\s+/)
      .slice(1)
      .map(Number);
    return ((user + nice + system + irq + softirq + steal) * 1000) / 100;
  } catch {
    return undefined;
  }
}

/**
 * How busy the machine was with work that is not the bench's during a window: every core's
 * busy time minus this process's and the given child processes'. Other sessions' test runs on
 * a shared machine show up here (in % of one core), beside the figures they disturb.
 */
export class CpuProbe {
  readonly #t0 = performance.now();
  readonly #busy0 = machineBusyMs();
  readonly #self0 = process.cpuUsage();
  readonly #pids: number[];
  readonly #pid0: (number | undefined)[];

  constructor(pids: number[] = []) {
    this.#pids = pids;
    this.#pid0 = pids.map(processCpuMs);
  }

  /** % of one core used by everything else (other processes, kernel work not charged to ours). */
  stop(): { wallMs: number; selfPct: number; childrenPct: number[]; otherPct: number | undefined } {
    const wallMs = performance.now() - this.#t0;
    const self = process.cpuUsage(this.#self0);
    const selfMs = (self.user + self.system) / 1000;
    const children = this.#pids.map((pid, i) => {
      const now = processCpuMs(pid);
      const before = this.#pid0[i];
      return now === undefined || before === undefined ? 0 : now - before;
    });
    const busy1 = machineBusyMs();
    const otherMs =
      busy1 === undefined || this.#busy0 === undefined
        ? undefined
        : Math.max(0, busy1 - this.#busy0 - selfMs - children.reduce((a, b) => a + b, 0));
    return {
      wallMs,
      selfPct: (selfMs / wallMs) * 100,
      childrenPct: children.map((c) => (c / wallMs) * 100),
      otherPct: otherMs === undefined ? undefined : (otherMs / wallMs) * 100,
    };
  }
}

export function hasTaskset(): boolean {
  try {
    execFileSync('taskset', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Pins this process (every thread) to one core; false when taskset is missing or refuses. */
export function pinSelf(core: number): boolean {
  try {
    execFileSync('taskset', ['-a', '-p', '-c', String(core), String(process.pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function gitInfo(): { commit: string; srcDirty: boolean } {
  const env = { ...process.env, GIT_OPTIONAL_LOCKS: '0' };
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { env, encoding: 'utf8' }).trim();
    let srcDirty = false;
    try {
      execFileSync('git', ['diff', '--quiet', 'HEAD', '--', 'src'], { env, stdio: 'ignore' });
    } catch {
      srcDirty = true;
    }
    return { commit, srcDirty };
  } catch {
    return { commit: 'unknown', srcDirty: false };
  }
}

function readSys(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/**
 * How idle CPUs wait (Linux cpuidle): the governor and, under `haltpoll` (a virtual machine's),
 * how long an idle vCPU polls before it halts. A halted vCPU is woken through the hypervisor,
 * and the process that wakes it pays: a server's `writev` of a response to a load generator
 * that sleeps on the other core. The slower the server, the more often the load generator
 * sleeps between responses, so this cost grows as a server's rate falls (README, "What bounds
 * the HTTP figures"). Printed with every run; undefined off Linux.
 */
export function idleInfo(): { governor: string; haltPollNs?: number } | undefined {
  const governor = readSys('/sys/devices/system/cpu/cpuidle/current_governor') ?? readSys('/sys/devices/system/cpu/cpuidle/current_governor_ro');
  if (governor === undefined) return undefined;
  const poll = readSys('/sys/module/haltpoll/parameters/guest_halt_poll_ns');
  return { governor, haltPollNs: poll === undefined || poll === '' ? undefined : Number(poll) };
}

export function machineInfo() {
  const c = cpus();
  return {
    cpu: c[0]?.model ?? 'unknown',
    cores: c.length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    idle: idleInfo(),
    ...gitInfo(),
  };
}

/** The idle line of the report: governor and halt-poll window. */
export function describeIdle(idle: ReturnType<typeof idleInfo>): string {
  if (idle === undefined) return 'idle CPUs: unknown (no cpuidle in /sys)';
  if (idle.haltPollNs === undefined) return `idle CPUs: cpuidle governor ${idle.governor}`;
  return (
    `idle CPUs: cpuidle governor ${idle.governor}, guest_halt_poll_ns ${idle.haltPollNs}` +
    (idle.haltPollNs === 0 ? ' (an idle vCPU halts at once: waking the load generator costs the server more the slower it is)' : '')
  );
}

/** CPU time (user + system, ms) a process has used, from /proc; undefined off Linux. */
export function processCpuMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[11], fields[12] are utime and stime (fields 14 and 15 of the full line), in clock ticks
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return undefined;
  }
}

/**
 * Time (ms) the main thread of a process spent runnable but waiting for a CPU (run-queue
 * delay), from /proc/<pid>/schedstat; undefined off Linux. A pinned process starved by other
 * load on its core shows it here.
 */
export function runQueueWaitMs(pid: number | 'self'): number | undefined {
  try {
    const [, waitNs] = readFileSync(`/proc/${pid}/schedstat`, 'utf8').trim().split(/\s+/).map(Number);
    return Number.isFinite(waitNs) ? waitNs / 1e6 : undefined;
  } catch {
    return undefined;
  }
}
