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

function busy(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // a heavy read computing without yielding
  }
}

describe('HeavyLane', () => {
  it('gives turns in order and yields to the loop once an iteration has used its budget', async () => {
    const lane = new HeavyLane(5);
    const seen = await countingIterations(async (iteration) => {
      const seen: { who: number; iteration: number }[] = [];
      await Promise.all(
        Array.from({ length: 8 }, async (_, who) => {
          await lane.turn();
          seen.push({ who, iteration: iteration() });
          busy(2); // 2 ms each: a 5 ms budget fits 3 of them per iteration (the third overruns it)
        }),
      );
      return seen;
    });
    expect(seen.map((s) => s.who)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    const perIteration = new Map<number, number>();
    for (const s of seen) perIteration.set(s.iteration, (perIteration.get(s.iteration) ?? 0) + 1);
    expect([...perIteration.values()]).toEqual([3, 3, 2]);
    expect(lane.waiting).toBe(0);
  });

  it('gives many cheap turns in one iteration', async () => {
    const lane = new HeavyLane(50);
    const iterations = await countingIterations(async (iteration) => {
      const at = await Promise.all(Array.from({ length: 20 }, () => lane.turn().then(() => iteration())));
      return new Set(at).size;
    });
    expect(iterations).toBe(1);
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
