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

describe('HeavyLane when a turn is asked for while the iteration still gives turns', () => {
  it('keeps giving turns afterwards (an iteration scheduled for a turn already given must not lose the next ones)', async () => {
    let t = 1_000;
    let eachLookCosts = 0; // 0 while the first iteration runs; then every look at the clock "takes" a budget
    const now = () => (t += eachLookCosts);
    const lane = new HeavyLane(5, now);
    // the first turn's work asks for another turn: that schedules an iteration, but the running
    // one (within its budget) gives that turn itself, so the scheduled iteration finds none
    let nested: Promise<void> | undefined;
    await lane.turn().then(() => {
      nested = lane.turn();
    });
    await nested;
    eachLookCosts = 5; // (so that a lane that went wrong loops over iterations, not in one: the spec sees it)
    await new Promise((resolve) => setImmediate(resolve)); // the scheduled iteration, with nothing to give
    expect(lane.waiting).toBe(0);
    // then later turns are still given, in order
    const given: number[] = [];
    await Promise.all([0, 1, 2].map((i) => lane.turn().then(() => given.push(i))));
    expect(given).toEqual([0, 1, 2]);
    expect(lane.waiting).toBe(0);
  });
});
