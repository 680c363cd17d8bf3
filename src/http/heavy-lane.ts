/**
 * The lane of the heavy reads (search and stats): at most one of them starts per turn of the
 * event loop. A search or stats over a large organization computes for milliseconds without
 * yielding; several queued back to back would hold every cheap request that arrived meanwhile
 * (a GET by id, a create) for their sum. Here each heavy read waits for its turn in a
 * setImmediate callback, one per loop iteration, so between two of them the poll phase runs
 * and answers whatever arrived: a cheap request waits for at most one heavy read. Heavy reads
 * keep their order (FIFO) and their throughput (the same work, one more loop turn each when
 * they queue up). One lane per process: the event loop it shares out is the process's.
 */
export class HeavyLane {
  readonly #waiting: (() => void)[] = [];
  #head = 0;
  #scheduled = false;

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

  readonly #next = (): void => {
    this.#scheduled = false;
    const resolve = this.#waiting[this.#head++];
    if (this.#head === this.#waiting.length) {
      this.#waiting.length = 0;
      this.#head = 0;
    }
    // the caller's work runs in the microtasks right after this callback; the next turn is
    // the next iteration's check phase (an immediate queued now never runs in this one)
    resolve?.();
    this.#schedule();
  };
}

export const heavyLane = new HeavyLane();
