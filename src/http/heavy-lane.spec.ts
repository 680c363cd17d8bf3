import { HeavyLane } from './heavy-lane';

describe('HeavyLane', () => {
  it('gives one turn per event-loop iteration, in order, and I/O runs between turns', async () => {
    const lane = new HeavyLane();
    let iteration = 0;
    let ticking = true;
    const tick = () => {
      iteration++;
      if (ticking) setImmediate(tick);
    };
    setImmediate(tick);
    const seen: { who: number; iteration: number }[] = [];
    await Promise.all(
      [0, 1, 2, 3].map(async (who) => {
        await lane.turn();
        seen.push({ who, iteration });
      }),
    );
    ticking = false;
    expect(seen.map((s) => s.who)).toEqual([0, 1, 2, 3]);
    const iterations = seen.map((s) => s.iteration);
    expect(new Set(iterations).size).toBe(4); // never two turns in one iteration
    expect(lane.waiting).toBe(0);
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
