/** What the PostgreSQL section (bench/postgres.ts) measures: one shape per case, as bench-pg.ts writes them to JSON. */
import type { LoadResult } from './http';
import type { Distribution } from './measure';
import type { PgDirectCase } from './pg-direct';
import type { PgSettings } from './pg-settings';

/** The data set written to the table (untimed for the figures that follow). */
export interface PgFill {
  n: number;
  generateMs: number;
  fillMs: number;
  /** table with its indexes, after the fill */
  tableMB: number;
  /** the in-memory engine over the same payments: the reference answers */
  referenceMs: number;
}

export interface PgLoadCase extends PgFill {
  /** the figure: createApp() until PostgresPrimaryRepository.whenLoaded(), in a fresh process */
  startMs: number;
  seconds: number;
  rowsPerS: number;
  /** PostgresPrimaryRepository.load alone (its lastLoad.ms: after migrations, from BEGIN to COMMIT) */
  primaryLoadMs: number;
  heapMB: number;
  /** CPU over the load, % of one core: the instance, the PostgreSQL backends serving it, the rest of the machine */
  cpu: Cpu;
  checks: { size: number; digest: string; answers: number };
  /**
   * Measured apart (see loadParts): fetch = the COPY read to the end (its CPU: this side's
   * socket reading), convert = decoding the binary rows, store = appends + index build.
   */
  breakdown: { executorMs: number; copyMs: number; copyCpuMs: number; decodeMs: number; readMs: number; storeMs: number; appendMs: number; indexMs: number };
}

/** CPU over a measured window, % of one core (PostgreSQL: the backends of the bench's database). */
export interface Cpu {
  instancePct: number | undefined;
  /** the instances' main threads runnable but waiting for a CPU (taken by anything else), % of the time */
  instanceWaitPct: number | undefined;
  postgresPct: number;
  /** the rest of the machine: other sessions, PostgreSQL's background processes, the kernel */
  restPct: number | undefined;
  /** this process (the load generator) */
  benchPct: number;
}

/** What a measured POST run committed: 201s (client, server counter, rows added) and transactions. */
export interface CommitFigures {
  created: number;
  serverCreated: number;
  rowsAdded: number;
  totalRows: number;
  /** from payments_commit_batch_size (summed over instances) */
  transactions: number;
  transactionsPerS: number;
  meanBatch: number;
  /** payments_commit_duration_seconds: checkout to COMMIT, the wait for COMMIT_LOCK included */
  meanCommitMs: number;
}

export interface PgCommitRun extends CommitFigures {
  label: string;
  groupCommitMaxBatch: number;
  load: LoadResult;
  cpu: Cpu;
}

export interface PgCommitCase {
  group: PgCommitRun;
  single: PgCommitRun;
  /** group req/s / single req/s */
  ratio: number;
}

export interface PgReplicationCase {
  layout: string;
  rate: number;
  writes: number;
  durationS: number;
  achievedRate: number;
  /** reached A's store (after A's commit) -> reached B's store */
  commitToB: Distribution;
  /** updatedAt (A's handler, ms) -> reached B's store: what payments_sync_delay_seconds measures */
  writeToB: Distribution;
  /** B's payments_sync_delay_seconds over the run: upper bounds of the buckets of p50 and p99 */
  histogram: { count: number; p50Le: number; p99Le: number; meanMs: number };
  clockOffsetMs: number;
  writeLoad: LoadResult;
  /** instancePct: A + B (each apart in aPct, bPct) */
  cpu: Cpu & { aPct: number | undefined; bPct: number | undefined };
}

export interface PgMultiInstance {
  core: number | undefined;
  connections: number;
  /** answers (all 201) of the measured run through this instance */
  requests: number;
  p50: number;
  p99: number;
  cpuPct: number | undefined;
  transactions: number;
  meanBatch: number;
  /**
   * last answer of the run (any instance) -> this instance's store holds every row: at most
   * convergedMs (the first GET /admin/store that saw them all was answered then), more than
   * notBeforeMs (the last one that saw fewer was sent then; 0: the first poll saw them all)
   */
  convergedMs: number;
  notBeforeMs: number;
  polls: number;
  /** one GET /admin/store before the run, the instance idle: the floor of convergedMs */
  idlePollMs: number;
}

/** k instances (child processes, group commit) on one fresh schema, one write load split over them. */
export interface PgMultiRun extends CommitFigures {
  instances: number;
  /**
   * untimed warm-up (counted) and a timed run cut off at its deadline (k = 1: the calibration);
   * timedRps over the timed run's second half (the first still warms up)
   */
  warmup: { requests: number; timedS: number; timedRequests: number; timedRps: number };
  /** the measured run: every request answered; first request -> last answer, wall clock */
  requests: number;
  durationS: number;
  createsPerS: number;
  /** over every answer of the run (the instances' latency histograms merged) */
  p50: number;
  p99: number;
  /** SELECT count(*) FROM pg_stat_activity WHERE datname = <bench db>, sampled during the measured run */
  pgConnections: { samples: number; min: number; max: number; mean: number; activeMean: number; lockWaitMean: number; lockWaitMax: number };
  /** the latest instance: last answer -> every store holds the table's row count (at most; more than notBeforeMs) */
  convergedMs: number;
  notBeforeMs: number;
  perInstance: PgMultiInstance[];
  /** instancePct: every instance together (each apart in perInstance) */
  cpu: Cpu;
  /** createsPerS / the first run's */
  ratio: number;
}

export interface PgMultiCase {
  layout: string;
  connections: number;
  /** requests of each measured run: ~multiS at the rate of the first run's calibration */
  requestsPerRun: number;
  calibrationRps: number;
  runs: PgMultiRun[];
}

export interface PgResults {
  skipped?: string;
  url: string;
  database?: string;
  settings?: PgSettings;
  pinned?: boolean;
  durationS?: number;
  /** BENCH_PG_DIRECT_ONLY=1: the fill and the direct case alone */
  directOnly?: boolean;
  fill?: PgFill;
  load?: PgLoadCase;
  direct?: PgDirectCase;
  commit?: PgCommitCase;
  replication?: PgReplicationCase;
  multi?: PgMultiCase;
}
