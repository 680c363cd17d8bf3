import { CellRun } from '../store/payment-cells';
import { paced, pacedRows } from './paced';
import { Pace } from './read-pacer';

/** A pace whose every check is due (or never, with `due` false), recording where it paused. */
function recordingPace(stepEntries: number, stepRows: number, due = true) {
  const log: string[] = [];
  const pace: Pace = {
    stepEntries,
    stepRows,
    due: () => due,
    pause: async () => void log.push('pause'),
  };
  return { pace, log };
}

const run = (start: number, end: number) => ({ start, end }) as CellRun;

describe('paced', () => {
  it('reads runs in batches of at least stepEntries entries, pausing between two batches, never after the last', async () => {
    const { pace, log } = recordingPace(10, 1);
    const runs = [run(0, 4), run(0, 4), run(0, 4), run(0, 30), run(0, 2)];
    await paced(runs, pace, (batch) => void log.push(batch.map((r) => r.end - r.start).join('+')));
    expect(log).toEqual(['4+4+4', 'pause', '30', 'pause', '2']);
  });

  it('hands the runs over as they are, in one call, when they fit one batch', async () => {
    const { pace } = recordingPace(100, 1);
    const runs = [run(0, 4), run(0, 5)];
    const batches: (readonly CellRun[])[] = [];
    await paced(runs, pace, (batch) => void batches.push(batch));
    expect(batches).toEqual([runs]);
    expect(batches[0]).toBe(runs);
  });

  it('goes on without pausing while the slice is not used', async () => {
    const { pace, log } = recordingPace(1, 1, false);
    await paced([run(0, 1), run(0, 1), run(0, 1)], pace, () => void log.push('read'));
    expect(log).toEqual(['read', 'read', 'read']);
  });
});

describe('pacedRows', () => {
  it('visits every row in order, pausing after every stepRows rows, never after the last', async () => {
    const { pace, log } = recordingPace(1, 3);
    await pacedRows([1, 2, 3, 4, 5, 6], pace, (row) => void log.push(String(row)));
    expect(log).toEqual(['1', '2', '3', 'pause', '4', '5', '6']);
  });
});
