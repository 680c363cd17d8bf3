/** GET /metrics read back: the Prometheus text format parsed, counters summed, histograms and their deltas. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Prometheus text format, as GET /metrics answers it. */
export function parseMetrics(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([A-Za-z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    out.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return out;
}

export function metricValue(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  return samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((a, s) => a + s.value, 0);
}

export interface Histogram {
  buckets: [number, number][];
  sum: number;
  count: number;
}

export function histogramOf(samples: Sample[], name: string): Histogram {
  const buckets = samples
    .filter((s) => s.name === `${name}_bucket`)
    .map((s): [number, number] => [s.labels.le === '+Inf' ? Infinity : Number(s.labels.le), s.value])
    .sort((a, b) => a[0] - b[0]);
  return { buckets, sum: metricValue(samples, `${name}_sum`), count: metricValue(samples, `${name}_count`) };
}

export function histogramDelta(after: Histogram, before: Histogram): Histogram {
  return {
    buckets: after.buckets.map(([le, c], i) => [le, c - (before.buckets[i]?.[1] ?? 0)]),
    sum: after.sum - before.sum,
    count: after.count - before.count,
  };
}

/** Upper bound of the bucket holding quantile q. */
export function bucketOf(h: Histogram, q: number): number {
  const rank = q * h.count;
  return h.buckets.find(([, c]) => c >= rank)?.[0] ?? NaN;
}
