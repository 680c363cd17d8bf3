import { StallWatchdog, WatchdogClock } from './stall-watchdog';

/** A clock this spec moves: tick() is the watchdog's timer firing. */
function drivenClock() {
  const clock = { now: 0, intervalMs: 0, stopped: false, tick: (): void => undefined };
  const watchdogClock: WatchdogClock = {
    now: () => clock.now,
    every: (ms, tick) => {
      clock.intervalMs = ms;
      clock.tick = tick;
      return () => {
        clock.stopped = true;
      };
    },
  };
  return { clock, watchdogClock };
}

describe('StallWatchdog', () => {
  it('looks every quarter of the timeout, and never more often than every 50 ms', () => {
    const { clock, watchdogClock } = drivenClock();
    new StallWatchdog(1000, () => undefined, watchdogClock);
    expect(clock.intervalMs).toBe(250);
    new StallWatchdog(100, () => undefined, watchdogClock);
    expect(clock.intervalMs).toBe(50);
  });

  it('calls onStall once no progress was reported for longer than the timeout, and only once', () => {
    const { clock, watchdogClock } = drivenClock();
    let stalls = 0;
    new StallWatchdog(1000, () => stalls++, watchdogClock);
    clock.now = 1000;
    clock.tick(); // the first look sees the progress counter for the first time: idle from now
    clock.now = 2000;
    clock.tick();
    expect(stalls).toBe(0);
    clock.now = 2001;
    clock.tick();
    expect(stalls).toBe(1);
    expect(clock.stopped).toBe(true);
  });

  it('counts the idle time from the last look that saw progress', () => {
    const { clock, watchdogClock } = drivenClock();
    let stalls = 0;
    const watchdog = new StallWatchdog(1000, () => stalls++, watchdogClock);
    clock.tick();
    clock.now = 900;
    watchdog.progress();
    clock.tick();
    clock.now = 1800;
    clock.tick();
    expect(stalls).toBe(0);
    clock.now = 1901;
    clock.tick();
    expect(stalls).toBe(1);
  });

  it('stops looking when stopped', () => {
    const { clock, watchdogClock } = drivenClock();
    new StallWatchdog(1000, () => undefined, watchdogClock).stop();
    expect(clock.stopped).toBe(true);
  });
});
