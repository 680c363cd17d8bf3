import { Pace, ReadPacer } from './read-pacer';

/** A clock the spec moves, and pauses that the spec lets go of one by one. */
function harness(sliceMs = 2, restarts = 2) {
  let now = 0;
  let version = 0;
  const waiting: (() => void)[] = [];
  const pacer = new ReadPacer({
    sliceMs,
    restarts,
    now: () => now,
    pauseTurn: () => new Promise<void>((resolve) => waiting.push(resolve)),
  });
  /** Lets the oldest pause resume, then lets the read run up to its next pause or its end. */
  const resume = async () => {
    const next = waiting.shift();
    if (next === undefined) throw new Error('no read is paused');
    next();
    await flush();
  };
  return {
    pacer,
    waiting,
    resume,
    advance: (ms: number) => (now += ms),
    write: () => version++,
    version: () => version,
  };
}

/** Lets every queued promise callback run. */
async function flush(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
}

/** A read of `steps` steps of `stepMs` each on the spec's clock, pausing when due; returns the version it saw at its start and how many attempts ran. */
function steppedRead(h: ReturnType<typeof harness>, steps: number, stepMs: number) {
  const attempts: number[] = [];
  const read = async (pace: Pace) => {
    const seen = h.version();
    attempts.push(seen);
    for (let i = 0; i < steps; i++) {
      h.advance(stepMs);
      if (pace.due()) await pace.pause();
    }
    return seen;
  };
  return { attempts, read };
}

describe('ReadPacer', () => {
  it('pauses a read once it has held the loop for its slice, and only then', async () => {
    const h = harness(2);
    const { read } = steppedRead(h, 10, 0.5);
    let answer: number | undefined;
    void h.pacer.run(h.version, read).then((v) => (answer = v));
    await flush();
    // 4 steps of 0.5 ms fill the 2 ms slice: paused after the 4th
    expect(h.waiting).toHaveLength(1);
    await h.resume(); // steps 5-8
    expect(h.waiting).toHaveLength(1);
    await h.resume(); // steps 9-10: done before the slice is used
    expect(h.waiting).toHaveLength(0);
    expect(answer).toBe(0);
    expect(h.pacer.restarted).toBe(0);
  });

  it('runs a read that fits in its slice without pausing at all', async () => {
    const h = harness(2);
    const { read } = steppedRead(h, 3, 0.5);
    await expect(h.pacer.run(h.version, read)).resolves.toBe(0);
    expect(h.waiting).toHaveLength(0);
  });

  it('starts a read over when the store changed during one of its pauses, and answers from the new state', async () => {
    const h = harness(2, 2);
    const { read, attempts } = steppedRead(h, 5, 1);
    let answer: number | undefined;
    void h.pacer.run(h.version, read).then((v) => (answer = v));
    await flush();
    expect(h.waiting).toHaveLength(1);
    h.write();
    await h.resume(); // sees the write: starts over at version 1, pauses after 2 steps
    expect(attempts).toEqual([0, 1]);
    expect(h.pacer.restarted).toBe(1);
    await h.resume(); // steps 3-4
    expect(answer).toBeUndefined();
    await h.resume(); // step 5
    expect(answer).toBe(1);
    expect(attempts).toEqual([0, 1]);
  });

  it('keeps going when nothing changed during a pause, whatever else ran', async () => {
    const h = harness(1, 2);
    const { read, attempts } = steppedRead(h, 3, 1);
    const done = h.pacer.run(h.version, read);
    await flush();
    for (let i = 0; i < 3; i++) await h.resume(); // each 1 ms step fills a slice
    await expect(done).resolves.toBe(0);
    expect(attempts).toEqual([0]);
  });

  it('runs the last attempt to its end without pausing once the read started over `restarts` times', async () => {
    const h = harness(1, 2);
    const { read, attempts } = steppedRead(h, 5, 1);
    let answer: number | undefined;
    void h.pacer.run(h.version, read).then((v) => (answer = v));
    await flush();
    h.write();
    await h.resume(); // restart 1
    h.write();
    await h.resume(); // restart 2: the third attempt runs unpaced, to its end
    expect(h.waiting).toHaveLength(0);
    expect(answer).toBe(2);
    expect(attempts).toEqual([0, 1, 2]);
    expect(h.pacer.restarted).toBe(2);
  });

  it('passes on any other failure of the read, without starting it over', async () => {
    const h = harness(1, 2);
    let attempts = 0;
    const failing = async (pace: Pace) => {
      attempts++;
      h.advance(1);
      if (pace.due()) await pace.pause();
      throw new RangeError('bad read');
    };
    const done = h.pacer.run(h.version, failing);
    const settled = expect(done).rejects.toThrow(RangeError);
    await flush();
    await h.resume();
    await settled;
    expect(attempts).toBe(1);
    expect(h.pacer.restarted).toBe(0);
  });

  it('answers a synchronous read at once', async () => {
    const h = harness();
    await expect(h.pacer.run(h.version, () => 42)).resolves.toBe(42);
  });
});
