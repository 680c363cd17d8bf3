import { performance } from 'node:perf_hooks';
import { heavyLane } from '../../http/heavy-lane';

/** Thrown out of Pace.pause() when the store changed during the pause: the read starts over. */
class StoreChanged extends Error {}

/**
 * How a read paces itself: it checks due() between two steps of its work (a run of a cell, a
 * batch of rows) and, when due, awaits pause(), which gives the event loop back.
 */
export interface Pace {
  /** Cell entries a read scans between two checks of due() (a batch of runs). */
  readonly stepEntries: number;
  /** Rows a read checks or walks through another index between two checks of due(). */
  readonly stepRows: number;
  /** True once the read has held the event loop for its slice. One clock read. */
  due(): boolean;
  /**
   * Gives the event loop back, then resumes the read for another slice; rejects (and the
   * read starts over) if the store changed meanwhile.
   */
  pause(): Promise<void>;
}

/** For a read that runs to its end at once: never due. */
const UNPACED: Pace = { stepEntries: Infinity, stepRows: Infinity, due: () => false, pause: () => Promise.resolve() };

export interface PacerOptions {
  /** The longest a read holds the loop before it pauses, in the clock's milliseconds. */
  sliceMs: number;
  /** Attempts begun anew before the last one runs unpaced. */
  restarts: number;
  /**
   * The steps due() is checked between: cell entries (16,384: 20-60 µs of a scan) and rows
   * reached through another index (1,024: 0.1-0.4 ms), so that a step is short beside a slice
   * and the clock is read seldom.
   */
  stepEntries: number;
  stepRows: number;
  /** The clock of the slices, in milliseconds (a spec drives its own). */
  now: () => number;
  /** How a read gives the loop back (a spec drives its own). */
  pauseTurn: () => Promise<void>;
}

/**
 * Reads that may hold the event loop for long (a stats or search scan over millions of
 * entries) run in slices of at most `sliceMs`, and between two slices every other request
 * runs: a GET by id waits for one slice, not for the whole scan.
 *
 * An answer still reflects one state of the store, never a mix: after each pause the read
 * compares the store's version (the organization's when the filter names one) with the one it
 * started from and, if a write happened, starts over from the state after it. A read that had
 * to start over `restarts` times runs its last attempt to its end without pausing, so a steady
 * stream of writes cannot starve it: then it holds the loop for one whole read (a scan of the
 * cells: ~6-10 ms over 1M payments). Read-your-writes holds: every attempt starts after the
 * writes answered before the read began.
 *
 * Costs: a slice is one event-loop iteration (the pause waits for a turn of the heavy lane, so
 * several long reads take slices in turn, and cheap search and stats queries get theirs in
 * between); a restart wastes at most the slices read before the write was seen.
 */
export class ReadPacer {
  #restarted = 0;
  readonly options: Readonly<PacerOptions>;

  constructor(options: Partial<PacerOptions> = {}) {
    this.options = {
      sliceMs: DEFAULT_SLICE_MS,
      restarts: DEFAULT_RESTARTS,
      stepEntries: 16_384,
      stepRows: 1024,
      now: () => performance.now(),
      // a turn of the heavy lane: long reads take slices in turn, cheap ones get theirs between
      pauseTurn: () => heavyLane.turn(),
      ...options,
    };
  }

  /** Reads begun anew because the store changed during one of their pauses, since start. */
  get restarted(): number {
    return this.#restarted;
  }

  /**
   * Runs `read` to its answer. `version`: the store version the answer depends on, read once
   * as each attempt starts and again after each of its pauses. Every attempt starts
   * synchronously with the call (the first one) or right after a pause.
   */
  async run<T>(version: () => number, read: (pace: Pace) => T | Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const pace = attempt < this.options.restarts ? this.#pace(version) : UNPACED;
      try {
        return await read(pace);
      } catch (e) {
        if (!(e instanceof StoreChanged)) throw e;
        this.#restarted++;
      }
    }
  }

  #pace(version: () => number): Pace {
    const { sliceMs, stepEntries, stepRows, now, pauseTurn } = this.options;
    const startedAt = version();
    let sliceStart = now();
    return {
      stepEntries,
      stepRows,
      due: () => now() - sliceStart >= sliceMs,
      pause: async () => {
        await pauseTurn();
        if (version() !== startedAt) throw new StoreChanged();
        sliceStart = now();
      },
    };
  }
}

/**
 * A slice of 2 ms, twice the heavy lane's budget per iteration: a GET by id beside a long scan
 * waits for about that (plus the requests queued before it), and the scan pays one event-loop
 * iteration per 2 ms of its work. Chosen, not tuned: on the shared bench machine the scheduler's
 * noise (tens of ms) is larger than the slice.
 */
const DEFAULT_SLICE_MS = 2;
/** Two paced attempts, then one unpaced. */
const DEFAULT_RESTARTS = 2;
