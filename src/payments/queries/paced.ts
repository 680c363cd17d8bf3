import { CellRun } from '../store/payment-cells';
import { Plan } from '../store/query-planner';
import { Pace } from './read-pacer';

/**
 * Reads `runs` in batches of about pace.stepEntries entries (most cells are small: one call
 * and one clock read per cell would cost more than the scan), pausing between two batches
 * once the slice is used.
 */
export async function paced(runs: readonly CellRun[], pace: Pace, read: (runs: readonly CellRun[]) => void): Promise<void> {
  for (let k = 0; k < runs.length; ) {
    const first = k;
    for (let entries = 0; k < runs.length && entries < pace.stepEntries; k++) entries += runs[k].end - runs[k].start;
    read(first === 0 && k === runs.length ? runs : runs.slice(first, k));
    if (k < runs.length && pace.due()) await pace.pause();
  }
}

/** Visits `rows` in order, pausing every pace.stepRows rows once the slice is used. */
export async function pacedRows(rows: readonly number[], pace: Pace, visit: (row: number) => void): Promise<void> {
  for (let i = 0; i < rows.length; i++) {
    visit(rows[i]);
    if ((i + 1) % pace.stepRows === 0 && i + 1 < rows.length && pace.due()) await pace.pause();
  }
}

/**
 * A row driver's candidates, in its order (`descending` for a sorted index). Collecting them
 * reads the index in order (a few ns a row) and checking them is the dear part (ROW_COST a
 * row), so only the check is paced; the planner picks a row driver only when it yields few.
 */
export function candidates(plan: Plan, descending: boolean): number[] {
  const rows: number[] = [];
  plan.forEach((row) => rows.push(row), descending);
  return rows;
}
