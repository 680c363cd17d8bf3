import { DAY_MS } from '../store/daily-aggregates';
import { COUNT_ENTRY_COST, ROW_COST } from '../store/query-planner';
import { FilterParams } from '../store/row-filter';

/*
 * The search's side of the cost model (in the model's nanoseconds, see ROW_COST): what a walk of
 * the sort's index costs beside the planner's scan, and what counting the matches costs. A
 * walked row costs a hundred times a scanned entry (its fields are scattered over the store, the
 * cells' arrays are read in order), so a walk pays only where few rows are walked per match.
 */

/** A count through the daily aggregates: its fixed cost, and each day of the window. */
export const AGGREGATE_FIXED_COST = 10_000;
export const AGGREGATE_DAY_COST = 50;

/** Counting the matches by a pass over the selected cells' arrays: `entries` entries read in order. */
export function cellsCountCost(entries: number): number {
  return COUNT_ENTRY_COST * entries;
}

/**
 * Counting a filter's matches as the stats do, through the daily aggregates, or Infinity where
 * they cannot (an amount bound, an open end of the window, an empty window, inexact aggregates:
 * sums past 2^53; then the stats scan). `windowRows`: the organization's (or everyone's)
 * payments in the window. The whole days cost a few adds each; the two ragged ends read about
 * half a day's payments between them, at random (ROW_COST each).
 */
export function aggregateCountCost(params: FilterParams, windowRows: number, aggregatesExact: boolean): number {
  const { from, to } = params;
  if (params.minAmount !== -Infinity || params.maxAmount !== Infinity || !Number.isFinite(from) || !Number.isFinite(to)) return Infinity;
  if (!(from < to) || !aggregatesExact) return Infinity;
  const days = (to - from) / DAY_MS;
  return AGGREGATE_FIXED_COST + AGGREGATE_DAY_COST * days + ROW_COST * Math.min(windowRows, windowRows / days);
}

/**
 * A keyset walk of the sort's index: the count of the matches (`countCost`), then the rows
 * walked to find `size + 1` matches if the `matches` are spread evenly over the `span` of rows
 * within the sort key's bounds: (size + 1) x span / matches rows at ROW_COST each. `matches`
 * may be an upper bound (the selected cells' size, before counting): the walk then looks
 * cheaper than it is, never dearer, so a first check with it only rules walks out.
 */
export function walkCost(countCost: number, size: number, span: number, matches: number): number {
  return countCost + ROW_COST * (size + 1) * (span / matches);
}

/** The walk is taken only when it costs strictly less than the planner's scan (a tie scans). */
export function walkBeatsScan(walk: number, scan: number): boolean {
  return walk < scan;
}
