import { HeavyLane } from './heavy-lane';

/** Counts event-loop iterations (a setImmediate chain) while `run` goes on. */
async function countingIterations<T>(run: (iteration: () => number) => Promise<T>): Promise<T> {
  let iteration = 0;
  let ticking = true;
  const tick = () => {
    iteration++;
    if (ticking) setImmediate(tick);
  };
  setImmediate(tick);
  try {
    return await run(() => iteration);
  } finally {
    ticking = false;
  }
}

/** A clock the spec moves by hand: a heavy read "takes" exactly the time it adds. */
function manualClock(): { now: () => number; advance: (ms: number) => void } {
  let t = 1_000;
  return { now: () => t, advance: (ms) => (t += ms) };
}

/** Runs `reads.length` heavy reads through the lane, each taking reads[i] ms of the clock. */
async function iterationsOf(lane: HeavyLane, clock: ReturnType<typeof manualClock>, reads: number[]): Promise<number[][]> {
  const seen = await countingIterations(async (iteration) => {
    const seen: { who: number; iteration: number }[] = [];
    await Promise.all(
      reads.map(async (ms, who) => {
        await lane.turn();
        seen.push({ who, iteration: iteration() });
        clock.advance(ms); // the heavy read computing without yielding
      }),
    );
    return seen;
  });
  expect(seen.map((s) => s.who)).toEqual(reads.map((_, who) => who)); // FIFO
  const perIteration = new Map<number, number[]>();
  for (const s of seen) perIteration.set(s.iteration, [...(perIteration.get(s.iteration) ?? []), s.who]);
  return [...perIteration.values()];
}

describe('HeavyLane', () => {
  it('gives turns in order and yields to the loop once an iteration has used its budget', async () => {
    const clock = manualClock();
    const lane = new HeavyLane(5, clock.now);
    // 2 ms each: a 5 ms budget fits 3 of them per iteration (the third overruns it)
    expect(await iterationsOf(lane, clock, Array(8).fill(2))).toEqual([[0, 1, 2], [3, 4, 5], [6, 7]]);
    expect(lane.waiting).toBe(0);
  });

  it('yields as soon as the budget is used exactly, and gives a slow read an iteration of its own', async () => {
    const clock = manualClock();
    const lane = new HeavyLane(5, clock.now);
    expect(await iterationsOf(lane, clock, [2.5, 2.5, 9, 1, 1, 1])).toEqual([[0, 1], [2], [3, 4, 5]]);
  });

  it('gives many cheap turns in one iteration', async () => {
    const clock = manualClock();
    const lane = new HeavyLane(1, clock.now);
    expect(await iterationsOf(lane, clock, Array(20).fill(0.01))).toEqual([Array.from({ length: 20 }, (_, i) => i)]);
  });

  it('answers a turn at once when the lane is idle (one loop turn), and keeps working after', async () => {
    const lane = new HeavyLane();
    for (let i = 0; i < 3; i++) {
      let done = false;
      const p = lane.turn().then(() => (done = true));
      expect(done).toBe(false);
      await p;
      expect(done).toBe(true);
    }
  });
});
