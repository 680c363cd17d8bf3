import type { GoalResult } from './goals';
import type { LoadResult } from './http';
import type { Timing } from './measure';

/** Number formats and the table of the bench's report (bench.ts, and the PostgreSQL section). */

export const ms = (x: number) =>
  Number.isInteger(x) ? String(x) : x < 1 ? x.toFixed(3) : x < 10 ? x.toFixed(2) : x < 100 ? x.toFixed(1) : x.toFixed(0);
export const int = (x: number) => Math.round(x).toLocaleString('en-US');
export const ratio = (x: number) => (x >= 10 ? x.toFixed(0) : x.toFixed(2)) + '×';
export const lat = (t: Timing) => `${ms(t.p50)} / ${ms(t.p99)} ms`;
/** autocannon's latencies are whole milliseconds */
export const rps = (r: LoadResult) => `${int(r.rps)} req/s, p50 ${ms(r.p50)} / p99 ${ms(r.p99)} ms`;

export function goalCell(goals: GoalResult[], ids: string[]): string {
  return ids
    .map((id) => goals.find((g) => g.id === id)!)
    .map((g) => `${g.direction === 'atLeast' ? '≥' : '≤'}${g.goal}${g.unit === '×' ? '×' : g.unit === '/s' ? '/s' : ` ${g.unit}`} ${g.met ? 'met' : 'NOT met'}`)
    .join('; ');
}

export function table(rows: string[][]): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  const line = (r: string[]) => `| ${r.map((cell, c) => cell.padEnd(widths[c])).join(' | ')} |`;
  return [line(rows[0]), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.slice(1).map(line)].join('\n');
}

/** One line of the goals list under the table. */
export function goalLine(g: GoalResult, smoke: boolean): string {
  const v = g.value === undefined ? 'n/a' : g.unit === '/s' ? int(g.value) : g.unit === '%' ? g.value.toFixed(1) : g.value < 10 ? g.value.toFixed(3) : g.value.toFixed(1);
  const cmp = g.direction === 'atLeast' ? '≥' : '≤';
  const note = smoke
    ? g.enforced
      ? `; smoke threshold ${cmp}${g.smokeThreshold} ${g.smokePass ? 'passes' : 'FAILS'}`
      : `; smoke threshold ${cmp}${g.smokeThreshold} report-only (${g.smokePass ? 'would pass' : 'would fail'})`
    : g.enforced ? '; enforced by the smoke' : '; report-only in the smoke';
  return `  ${g.met ? 'met    ' : 'NOT met'}  ${g.text}: ${v} ${g.unit} (goal ${cmp}${g.goal} ${g.unit})${note}`;
}
