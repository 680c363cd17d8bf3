import { Logger } from '@nestjs/common';
import type { QueryBus } from '@nestjs/cqrs';
import { AppConfig } from '../../config';
import { StreamsFullError, TooManyStreamsError } from '../../errors';
import { createPayment } from '../payment';
import { PaymentCreated, PaymentSynced } from '../payment.events';
import { PaymentStats } from '../payment-query';
import { GetPaymentStatsQuery } from './get-payment-stats.query';
import { PING_INTERVAL_MS, STREAM_MIN_INTERVAL_MS, StatsStreams, StatsSink, StreamTimers } from './stats-streams';

/** Lets every promise that can settle now settle (a flush awaits the QueryBus). */
const settled = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Timers on a clock that moves only when the spec says so. */
class ManualTimers implements StreamTimers {
  #now = 0;
  #ids = 0;
  readonly #timers = new Map<number, { at: number; every?: number; run: () => void }>();

  now(): number {
    return this.#now;
  }

  once(ms: number, run: () => void): () => void {
    return this.#add(ms, run);
  }

  every(ms: number, run: () => void): () => void {
    return this.#add(ms, run, ms);
  }

  /** Timers scheduled and not yet run or cancelled. */
  get pending(): number {
    return this.#timers.size;
  }

  /** Moves the clock `ms` on, running each timer due on the way at its time, in order. */
  async advance(ms: number): Promise<void> {
    const end = this.#now + ms;
    for (;;) {
      const [due] = [...this.#timers.entries()].filter(([, t]) => t.at <= end).sort(([i, a], [j, b]) => a.at - b.at || i - j);
      if (due === undefined) break;
      const [id, timer] = due;
      this.#now = timer.at;
      if (timer.every === undefined) this.#timers.delete(id);
      else timer.at += timer.every;
      timer.run();
      await settled();
    }
    this.#now = end;
    await settled();
  }

  #add(ms: number, run: () => void, every?: number): () => void {
    const id = this.#ids++;
    this.#timers.set(id, { at: this.#now + ms, every, run });
    return () => this.#timers.delete(id);
  }
}

/** A subscriber's end of the stream: what it received, and when. */
class RecordingSink implements StatsSink {
  readonly sent: { at: number; total: number }[] = [];
  pings = 0;
  ended = false;

  constructor(private readonly timers: ManualTimers) {}

  send(stats: PaymentStats): void {
    this.sent.push({ at: this.timers.now(), total: stats.total });
  }

  ping(): void {
    this.pings += 1;
  }

  end(): void {
    this.ended = true;
  }
}

const statsQuery = (organizationId?: string) => new GetPaymentStatsQuery({ filter: { organizationId } });
const created = (organizationId: string) =>
  new PaymentCreated(createPayment({ organizationId, userId: 'u', amount: 100, currency: 'EUR' }, `pay-${organizationId}`, '2026-03-01T12:00:00.000Z'));

describe('StatsStreams', () => {
  let timers: ManualTimers;
  /** The stats every query answers: `total` is the number of writes made so far. */
  let writes: number;
  let execute: jest.Mock<Promise<PaymentStats>, [GetPaymentStatsQuery]>;
  let streams: StatsStreams;

  beforeEach(() => {
    timers = new ManualTimers();
    writes = 0;
    execute = jest.fn<Promise<PaymentStats>, [GetPaymentStatsQuery]>(async () => ({ total: writes }) as PaymentStats);
    streams = new StatsStreams({ execute } as unknown as QueryBus, new AppConfig({ statsStreamsPerCaller: 2, statsStreamsMax: 3 }), timers);
  });

  /** A write of `organizationId` at the current time, as the EventBus delivers it. */
  const write = (organizationId: string) => {
    writes += 1;
    streams.handle(created(organizationId));
  };

  /** A stream of `owner` (a caller, or a client address): its sink and its unsubscribe function. */
  const open = (organizationId?: string, owner = 'caller-1') => {
    const sink = new RecordingSink(timers);
    return { sink, close: streams.open(statsQuery(organizationId), sink, streams.reserve(owner)) };
  };

  it('computes and sends nothing for a write of another organization; a stream of every organization gets it', async () => {
    const mine = open('org-a');
    const all = open();

    write('org-b');
    await timers.advance(10_000);

    expect(mine.sink.sent).toEqual([]);
    expect(all.sink.sent).toEqual([{ at: 1000, total: 1 }]);
    expect(execute).toHaveBeenCalledTimes(1);
  });

  it('sends a change at once when the last document is a second old or more', async () => {
    const { sink } = open('org-a');
    await timers.advance(5000);

    write('org-a');
    await timers.advance(0);

    expect(sink.sent).toEqual([{ at: 5000, total: 1 }]);
  });

  it('holds a change back until a second after the last document, then sends the state of that moment', async () => {
    const { sink } = open('org-a');
    await timers.advance(300);
    write('org-a');
    await timers.advance(STREAM_MIN_INTERVAL_MS - 300 - 1);
    expect(sink.sent).toEqual([]);

    await timers.advance(1);

    expect(sink.sent).toEqual([{ at: 1000, total: 1 }]);
  });

  it('sends at most one document a second while writes keep coming, and the last one is up to date', async () => {
    const { sink } = open('org-a');

    // 30 writes, one every 50 ms from t = 25 ms to t = 1475 ms
    await timers.advance(25);
    for (let i = 0; i < 30; i++) {
      write('org-a');
      await timers.advance(50);
    }
    await timers.advance(10_000);

    // the first document (t = 0) was sent by the controller; then one a second: 20 writes by t = 1000, all 30 by t = 2000
    expect(sink.sent).toEqual([
      { at: 1000, total: 20 },
      { at: 2000, total: 30 },
    ]);
    expect(execute).toHaveBeenCalledTimes(2);
  });

  it('sends a change made while a document is computed a second after that document', async () => {
    const { sink } = open('org-a');
    let answer: (stats: PaymentStats) => void = () => undefined;
    execute.mockImplementationOnce(() => new Promise((resolve) => (answer = resolve)));

    write('org-a');
    await timers.advance(1200); // the document of t = 1000 is being computed
    write('org-a');
    await timers.advance(300);
    answer({ total: 1 } as PaymentStats);
    await timers.advance(0);
    expect(sink.sent).toEqual([{ at: 1500, total: 1 }]);

    await timers.advance(10_000);

    expect(sink.sent).toEqual([
      { at: 1500, total: 1 },
      { at: 2500, total: 2 },
    ]);
  });

  it('pings every 15 s while a stream is open, and stops its timers when the last one closes', async () => {
    const first = open('org-a');
    const second = open('org-b');
    await timers.advance(2 * PING_INTERVAL_MS);
    first.close();
    await timers.advance(PING_INTERVAL_MS);

    expect([first.sink.pings, second.sink.pings]).toEqual([2, 3]);
    write('org-b');
    second.close();
    expect(streams.subscribers).toBe(0);
    expect(timers.pending).toBe(0);
    await timers.advance(10_000);
    expect(second.sink.sent).toEqual([]);
    expect(execute).not.toHaveBeenCalled();
  });

  it('lets go of a closed stream: a later write is neither computed nor sent', async () => {
    const { sink, close } = open('org-a');
    close();

    write('org-a');
    await timers.advance(10_000);

    expect(streams.subscribers).toBe(0);
    expect(sink.sent).toEqual([]);
    expect(execute).not.toHaveBeenCalled();
  });

  it('ends every open stream on shutdown, and schedules nothing after', async () => {
    const first = open('org-a');
    const second = open();
    write('org-a');

    streams.onModuleDestroy();

    expect([first.sink.ended, second.sink.ended]).toEqual([true, true]);
    expect(streams.subscribers).toBe(0);
    expect(timers.pending).toBe(0);
  });

  it('ends a stream whose document cannot be computed', async () => {
    const error = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    try {
      const { sink } = open('org-a');
      execute.mockRejectedValueOnce(new Error('no store'));

      write('org-a');
      await timers.advance(1000);

      expect(sink.ended).toBe(true);
      expect(sink.sent).toEqual([]);
      expect(streams.subscribers).toBe(0);
      expect(error).toHaveBeenCalledWith(expect.stringContaining('no store'));
    } finally {
      error.mockRestore();
    }
  });

  it('reacts to a write of another instance (PaymentSynced) as to one of its own', async () => {
    const { sink } = open('org-a');

    writes += 1;
    streams.handle(new PaymentSynced(created('org-a').payment));
    await timers.advance(1000);

    expect(sink.sent).toEqual([{ at: 1000, total: 1 }]);
  });
});

describe('StatsStreams: caps per caller and in all', () => {
  let timers: ManualTimers;
  let execute: jest.Mock<Promise<PaymentStats>, [GetPaymentStatsQuery]>;
  let streams: StatsStreams;

  beforeEach(() => {
    timers = new ManualTimers();
    execute = jest.fn<Promise<PaymentStats>, [GetPaymentStatsQuery]>(async () => ({ total: 0 }) as PaymentStats);
    streams = new StatsStreams({ execute } as unknown as QueryBus, new AppConfig({ statsStreamsPerCaller: 2, statsStreamsMax: 3 }), timers);
  });

  const open = (owner: string, organizationId = 'org-a') => {
    const sink = new RecordingSink(timers);
    return { sink, close: streams.open(statsQuery(organizationId), sink, streams.reserve(owner)) };
  };
  const refusal = (owner: string): unknown => {
    try {
      streams.reserve(owner);
    } catch (e) {
      return e;
    }
    return undefined;
  };

  it('refuses a caller past its own cap with TOO_MANY_STREAMS (429 + Retry-After), while another caller still gets one', () => {
    open('caller-1');
    open('caller-1');

    const refused = refusal('caller-1');

    expect(refused).toBeInstanceOf(TooManyStreamsError);
    expect(refused).toMatchObject({ code: 'TOO_MANY_STREAMS', status: 429, headers: { 'Retry-After': expect.stringMatching(/^\d+$/) } });
    expect(streams.subscribers).toBe(2);
    open('caller-2');
    expect(streams.subscribers).toBe(3);
  });

  it('refuses every caller past the total with STREAMS_FULL (503 + Retry-After), a reserved slot counting as open', () => {
    open('caller-1');
    const reserved = streams.reserve('caller-2'); // its first document is being computed
    open('caller-3');

    const refused = refusal('caller-4');

    expect(refused).toBeInstanceOf(StreamsFullError);
    expect(refused).toMatchObject({ code: 'STREAMS_FULL', status: 503, headers: { 'Retry-After': expect.stringMatching(/^\d+$/) } });
    reserved.release(); // the first document failed: no stream after all
    open('caller-4');
    expect(streams.subscribers).toBe(3);
  });

  it('frees the slot of a stream however it closes: unsubscribed (once, however often), a document that fails, shutdown', async () => {
    const error = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    try {
      const first = open('caller-1');
      open('caller-1');
      first.close();
      first.close();
      expect(streams.openBy('caller-1')).toBe(1);
      open('caller-1');
      expect(refusal('caller-1')).toBeInstanceOf(TooManyStreamsError);

      execute.mockRejectedValue(new Error('no store'));
      streams.handle(created('org-a'));
      await timers.advance(STREAM_MIN_INTERVAL_MS);
      expect([streams.subscribers, streams.openBy('caller-1')]).toEqual([0, 0]);

      open('caller-1');
      open('caller-2');
      streams.onModuleDestroy();
      expect([streams.subscribers, streams.openBy('caller-1'), streams.openBy('caller-2')]).toEqual([0, 0, 0]);
      for (const owner of ['caller-1', 'caller-1', 'caller-2']) open(owner);
    } finally {
      error.mockRestore();
    }
  });

  it('tells a waiter when a stream closes, its slot free by then', async () => {
    open('caller-1');
    const second = open('caller-1');
    let closed = false;
    const next = streams.nextClose().then(() => {
      closed = true;
      return streams.openBy('caller-1');
    });
    await timers.advance(0);
    expect(closed).toBe(false);

    second.close();

    await expect(next).resolves.toBe(1);
  });
});
