import v8 from 'node:v8';
import vm from 'node:vm';
import { processHeapGauge } from './heap-gauge';

const MiB = 1024 * 1024;

/** A full GC on demand (the flag can be set at run time; a new context then has gc()). */
function fullGc(): void {
  v8.setFlagsFromString('--expose-gc');
  (vm.runInNewContext('gc') as () => void)();
}

/** Garbage of about `bytes` in the old generation, unreachable once this returns. */
function oldGarbage(bytes: number): void {
  const kept: number[][] = [];
  for (let i = 0; i < bytes / 8192; i++) kept.push(new Array<number>(1024).fill(i)); // 8 KiB each
  fullGc(); // moved to the old generation while still reachable
  if (kept.length === 0) throw new Error('unreachable');
}

describe('processHeapGauge', () => {
  it('is one gauge per process, whose limit is V8\'s heap_size_limit', () => {
    expect(processHeapGauge()).toBe(processHeapGauge());
    expect(processHeapGauge().limitBytes).toBe(v8.getHeapStatistics().heap_size_limit);
  });

  it('takes a new sample after a full GC, of the live data only, which the heap in use (garbage counted) never falls under', async () => {
    const gauge = processHeapGauge();
    oldGarbage(40 * MiB);
    const withGarbage = gauge.usedBytes();
    const before = gauge.sample;

    fullGc();
    const afterGc = gauge.usedBytes();
    while (gauge.sample === before) await new Promise((resolve) => setImmediate(resolve)); // the observer runs after the GC

    expect(withGarbage - afterGc).toBeGreaterThan(35 * MiB);
    expect(gauge.sample.liveBytes).toBeGreaterThanOrEqual(afterGc - MiB);
    expect(gauge.sample.liveBytes).toBeLessThan(afterGc + 4 * MiB);
    expect(gauge.usedBytes()).toBeGreaterThanOrEqual(gauge.sample.liveBytes - MiB);
  });
});
