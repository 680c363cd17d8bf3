import { performance } from 'node:perf_hooks';

/**
 * The lane of the heavy reads (search and stats). Many heavy reads queued back to back would
 * hold every cheap request that arrived meanwhile (a GET by id, a create) for their sum. Here
 * heavy reads wait for their turn in a setImmediate callback, and each loop iteration gives
 * turns, in order (FIFO), only while the heavy reads of that iteration have run for less than
 * `budgetMs`: then the poll phase runs and answers whatever arrived. A long read also comes
 * back here between two slices of its work (ReadPacer: a scan of a large organization pauses
 * every 2 ms), behind the reads already waiting. A cheap request waits for at most the budget
 * plus one slice (one whole read, fast by then, when writes made it start over twice). Within the budget, cheap heavy reads (tens of microseconds) share one
 * iteration instead of paying one each. One lane per process: the event loop it shares out is
 * the process's.
 */
export class HeavyLane {
  readonly #waiting: (() => void)[] = [];
  #head = 0;
  #scheduled = false;
  #turnStarted = 0;

  /**
   * `budgetMs`: heavy work per event-loop iteration before the lane yields to I/O. `now`: the
   * clock the budget is measured with, in milliseconds (a spec drives its own).
   */
  constructor(
    private readonly budgetMs = 1,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Resolves when it is this caller's turn; run the heavy work right after it resolves. */
  turn(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.#waiting.push(resolve);
      this.#schedule();
    });
  }

  /** Heavy reads waiting for their turn. */
  get waiting(): number {
    return this.#waiting.length - this.#head;
  }

  #schedule(): void {
    if (this.#scheduled || this.waiting === 0) return;
    this.#scheduled = true;
    setImmediate(this.#next);
  }

  /** An iteration's first turn (check phase). */
  readonly #next = (): void => {
    this.#scheduled = false;
    // the iteration before may have given every turn since this one was scheduled
    if (this.waiting === 0) return;
    this.#turnStarted = this.now();
    this.#give();
  };

  /**
   * The iteration's next turn, if its heavy reads have not used the budget yet. It runs in a
   * microtask queued after those resolve() queued for the previous turn's work, so it sees the
   * time that work took.
   */
  readonly #more = (): void => {
    if (this.waiting === 0) return;
    if (this.now() - this.#turnStarted >= this.budgetMs) this.#schedule();
    else this.#give();
  };

  #give(): void {
    const resolve = this.#waiting[this.#head++];
    if (this.#head === this.#waiting.length) {
      this.#waiting.length = 0;
      this.#head = 0;
    }
    resolve?.();
    queueMicrotask(this.#more);
  }
}

export const heavyLane = new HeavyLane();
