/** The PostgreSQL section's settings (bench/postgres.ts): run lengths, rates and connections, smaller in a smoke run. */
export interface PgSettings {
  connections: number;
  /** requests of the untimed warm-up before each measured POST run */
  commitWarmup: number;
  /** a timed run after the warm-up, whose rate sizes the measured run */
  commitCalibrationS: number;
  /** target length of each measured POST run (a request count calibrated on the warm-up) */
  commitS: number;
  replicationRate: number;
  replicationS: number;
  replicationConnections: number;
  fillBatch: number;
  fillConnections: number;
  /** several instances on one database: instance counts, in order */
  multiInstances: number[];
  /** target length of each measured run of that case, at the rate of one instance */
  multiS: number;
  /** timed warm-up of k > 1 instances (k = 1: commitCalibrationS, the calibration) */
  multiWarmS: number;
  /** longest wait after the last answer for every instance's store to hold the table's rows */
  multiConvergeS: number;
  /** pause between two GET /admin/store of one instance while waiting for that */
  multiPollMs: number;
  /** pg_stat_activity sampled this often during the measured runs */
  multiSampleMs: number;
}

export function pgSettings(smoke: boolean): PgSettings {
  return {
    connections: 50,
    commitWarmup: 500,
    commitCalibrationS: 2,
    commitS: smoke ? 5 : 10,
    replicationRate: 1000,
    replicationS: smoke ? 5 : 10,
    // enough that the rate holds while a write waits for its group commit
    replicationConnections: 50,
    fillBatch: 5000,
    fillConnections: 2,
    multiInstances: [1, 2, 3],
    multiS: smoke ? 4 : 8,
    multiWarmS: 1,
    multiConvergeS: 30,
    multiPollMs: 5,
    multiSampleMs: 100,
  };
}
