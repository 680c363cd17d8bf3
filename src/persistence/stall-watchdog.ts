import { Injectable } from '@nestjs/common';
import { performance } from 'node:perf_hooks';

/**
 * The time a StallWatchdog reads, and the timer that wakes it: performance.now() and an
 * interval that never keeps the process alive. A spec passes its own, and drives time itself.
 */
@Injectable()
export class WatchdogClock {
  now(): number {
    return performance.now();
  }

  /** Calls `tick` every `ms` until the returned function is called. */
  every(ms: number, tick: () => void): () => void {
    const timer = setInterval(tick, ms);
    timer.unref();
    return () => clearInterval(timer);
  }
}

/**
 * Ends work that has stopped making progress: `onStall` runs once no progress() was reported
 * for more than `timeoutMs` (the load's COPY, whose statement may run as long as the table
 * takes, but never goes silent that long). Progress is counted, not timed: progress() is one
 * increment, and the clock is read only at a tick (every timeoutMs / 4, at least 50 ms), so a
 * stall is seen between timeoutMs and 1.25 x timeoutMs after the last progress.
 */
export class StallWatchdog {
  #progress = 0;
  #seen = -1;
  #idleSince: number;
  readonly #stop: () => void;

  constructor(timeoutMs: number, onStall: () => void, clock: WatchdogClock) {
    this.#idleSince = clock.now();
    this.#stop = clock.every(Math.max(50, timeoutMs / 4), () => {
      if (this.#progress !== this.#seen) {
        this.#seen = this.#progress;
        this.#idleSince = clock.now();
      } else if (clock.now() - this.#idleSince > timeoutMs) {
        // once: what onStall ends (a socket) does not come back
        this.#stop();
        onStall();
      }
    });
  }

  progress(): void {
    this.#progress++;
  }

  stop(): void {
    this.#stop();
  }
}
