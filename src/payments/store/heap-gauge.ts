import { constants, PerformanceObserver } from 'node:perf_hooks';
import v8 from 'node:v8';

/** A measurement of the live heap: a new object each time one is taken (compare by identity). */
export interface HeapSample {
  readonly liveBytes: number;
}

/** What the store's capacity reads of the real heap (a spec gives its own). */
export interface HeapGauge {
  /** V8's heap_size_limit: what the process may hold before "Reached heap limit". */
  readonly limitBytes: number;
  /** The old generation in use right after the last full GC (live data; at start, what is in use). */
  readonly sample: HeapSample;
  /** The old generation in use now, garbage included: never less than what is live. O(heap spaces). */
  usedBytes(): number;
}

/** The old generation in use: every heap space but the young generation's. */
function oldGenerationUsed(): number {
  let used = 0;
  for (const space of v8.getHeapSpaceStatistics()) if (!space.space_name.startsWith('new_')) used += space.space_used_size;
  return used;
}

let processGauge: HeapGauge | undefined;

/**
 * The process's heap, one gauge per process: a PerformanceObserver takes a sample after each
 * full (mark-compact) GC, when the old generation holds live data only. It costs nothing per
 * write, one heap-space read per full GC, and does not keep the process alive.
 */
export function processHeapGauge(): HeapGauge {
  if (processGauge !== undefined) return processGauge;
  const gauge = {
    limitBytes: v8.getHeapStatistics().heap_size_limit,
    sample: { liveBytes: oldGenerationUsed() } as HeapSample,
    usedBytes: oldGenerationUsed,
  };
  new PerformanceObserver((list) => {
    const full = list.getEntries().some((entry) => (entry as { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR);
    if (full) gauge.sample = { liveBytes: oldGenerationUsed() };
  }).observe({ entryTypes: ['gc'] });
  processGauge = gauge;
  return gauge;
}
