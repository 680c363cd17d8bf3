import { createPayment, Payment, PaymentEvent, transition } from '../payment';
import { PAYMENT_STATUSES } from '../payment';
import { bucketCount, bucketStarts, Interval } from '../payment-query';
import { ExactSum, StatsAccumulator, StatsFold } from './stats';

/** A small seeded generator, so a failure can be replayed. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const MAX = Number.MAX_SAFE_INTEGER;
const MAX_AMOUNT = 99_999_999_999;

/** What the API must write for an exact sum: a number while safe, else its exact digits. */
function expectedJson(sum: bigint): number | string {
  return sum <= BigInt(MAX) ? Number(sum) : sum.toString();
}

let seq = 0;
function pay(amount: number, currency: string, createdAt = '2026-03-01T12:00:00.000Z', events: PaymentEvent[] = []): Payment {
  let p = createPayment({ organizationId: 'o', userId: 'u', amount, currency, createdAt }, `p${seq++}`, createdAt);
  for (const e of events) p = transition(p, e, createdAt);
  return p;
}

const processed: PaymentEvent = { type: 'PaymentProcessed', occurredAt: '2026-03-01T12:00:00.000Z' };
const failed: PaymentEvent = { type: 'PaymentFailed', occurredAt: '2026-03-01T12:00:00.000Z', error: 'x' };
const refund = (refundAmount?: number): PaymentEvent => ({ type: 'PaymentRefunded', occurredAt: '2026-03-01T12:00:00.000Z', refundAmount });

describe('ExactSum', () => {
  it('is 0 before anything is added', () => {
    expect(new ExactSum().toJSON()).toBe(0);
  });

  it('stays a number up to and including Number.MAX_SAFE_INTEGER', () => {
    const s = new ExactSum();
    s.add(MAX - 10);
    s.add(10);
    expect(s.toJSON()).toBe(MAX);
  });

  it('becomes a string of exact digits one past Number.MAX_SAFE_INTEGER', () => {
    const s = new ExactSum();
    s.add(MAX);
    s.add(1);
    expect(s.toJSON()).toBe('9007199254740992');
  });

  it('keeps odd digits that a float would round away', () => {
    const s = new ExactSum();
    s.add(MAX);
    s.add(MAX);
    s.add(3);
    expect(s.toJSON()).toBe((2n * BigInt(MAX) + 3n).toString());
    s.add(1);
    expect(s.toJSON()).toBe((2n * BigInt(MAX) + 4n).toString());
  });

  it('serializes to JSON as the string, never as a rounded number', () => {
    const s = new ExactSum();
    s.add(MAX);
    s.add(2);
    expect(JSON.stringify({ sum: s })).toBe('{"sum":"9007199254740993"}');
  });

  it('matches BigInt arithmetic over random large sums, at every step', () => {
    const rand = lcg(17);
    for (let round = 0; round < 20; round++) {
      const s = new ExactSum();
      let ref = 0n;
      for (let i = 0; i < 500; i++) {
        const x = rand() < 0.1 ? Math.floor(rand() * MAX) : Math.floor(rand() * MAX_AMOUNT) + 1;
        s.add(x);
        ref += BigInt(x);
        expect(s.toJSON()).toStrictEqual(expectedJson(ref));
      }
      expect(typeof s.toJSON()).toBe('string');
    }
  });

  it('sums 100,000 maximal amounts exactly', () => {
    const s = new ExactSum();
    for (let i = 0; i < 100_000; i++) s.add(MAX_AMOUNT);
    expect(s.toJSON()).toBe((100_000n * BigInt(MAX_AMOUNT)).toString());
  });
});

describe('bucketStarts and bucketCount', () => {
  it('covers [from, to) with UTC hours, the first one holding from', () => {
    const from = Date.parse('2026-03-01T10:30:00.000Z');
    const to = Date.parse('2026-03-01T13:00:00.000Z');
    expect(bucketStarts(from, to, 'hour').map((t) => new Date(t).toISOString())).toEqual([
      '2026-03-01T10:00:00.000Z',
      '2026-03-01T11:00:00.000Z',
      '2026-03-01T12:00:00.000Z',
    ]);
    expect(bucketCount(from, to, 'hour')).toBe(3);
  });

  it('adds the unit that holds `to` only when `to` is past its start', () => {
    const from = Date.parse('2026-03-01T00:00:00.000Z');
    expect(bucketCount(from, Date.parse('2026-03-03T00:00:00.000Z'), 'day')).toBe(2);
    expect(bucketCount(from, Date.parse('2026-03-03T00:00:00.001Z'), 'day')).toBe(3);
    expect(bucketStarts(from, Date.parse('2026-03-03T00:00:00.001Z'), 'day').map((t) => new Date(t).toISOString())).toEqual([
      '2026-03-01T00:00:00.000Z',
      '2026-03-02T00:00:00.000Z',
      '2026-03-03T00:00:00.000Z',
    ]);
  });

  it('aligns days to UTC midnight, whatever time of day from is', () => {
    const starts = bucketStarts(Date.parse('2026-03-01T23:59:59.999Z'), Date.parse('2026-03-02T00:00:00.001Z'), 'day');
    expect(starts.map((t) => new Date(t).toISOString())).toEqual(['2026-03-01T00:00:00.000Z', '2026-03-02T00:00:00.000Z']);
  });

  it('has no buckets for an empty range [t, t), aligned or not', () => {
    const aligned = Date.parse('2026-03-01T10:00:00.000Z');
    const unaligned = Date.parse('2026-03-01T10:30:00.000Z');
    for (const t of [aligned, unaligned]) {
      expect(bucketCount(t, t, 'hour')).toBe(0);
      expect(bucketStarts(t, t, 'hour')).toEqual([]);
      expect(bucketStarts(t, t, 'day')).toEqual([]);
    }
  });

  it('has no buckets for an inverted range, even inside one unit', () => {
    const t = Date.parse('2026-03-01T10:30:00.000Z');
    expect(bucketCount(t + HOUR, t, 'day')).toBe(0);
    expect(bucketStarts(t + HOUR, t, 'day')).toEqual([]);
    expect(bucketStarts(t + 60_000, t, 'hour')).toEqual([]);
  });


  it('has one bucket for a range inside one unit', () => {
    const from = Date.parse('2026-03-01T10:10:00.000Z');
    expect(bucketStarts(from, from + 1, 'hour')).toEqual([Date.parse('2026-03-01T10:00:00.000Z')]);
    expect(bucketCount(from, from + 1, 'hour')).toBe(1);
  });

  it('agrees between count and starts on random ranges, with aligned, consecutive starts covering [from, to)', () => {
    const rand = lcg(5);
    for (let round = 0; round < 500; round++) {
      const interval = rand() < 0.5 ? 'hour' : 'day';
      const step = interval === 'hour' ? HOUR : DAY;
      const from = Date.UTC(2020, 0, 1) + Math.floor(rand() * 5 * 365 * DAY);
      const to = from + Math.floor(rand() * 40 * step);
      const starts = bucketStarts(from, to, interval);
      if (from >= to) continue; // pinned above
      expect(bucketCount(from, to, interval)).toBe(starts.length);
      expect(starts[0]).toBeLessThanOrEqual(from);
      expect(starts[0] + step).toBeGreaterThan(from);
      expect(starts[starts.length - 1]).toBeLessThan(to);
      expect(starts[starts.length - 1] + step).toBeGreaterThanOrEqual(to);
      starts.forEach((s, i) => {
        expect(s % step).toBe(0);
        if (i > 0) expect(s - starts[i - 1]).toBe(step);
      });
    }
  });
});

describe('StatsAccumulator', () => {
  it('lists all four statuses at zero and no currencies when nothing matched', () => {
    expect(new StatsAccumulator().result()).toEqual({
      total: 0,
      byStatus: { pending: 0, completed: 0, failed: 0, refunded: 0 },
      byCurrency: {},
      amountByCurrency: {},
      refundedAmountByCurrency: {},
    });
  });

  it('counts by status and currency and sums amounts and refunds per currency, never across', () => {
    const acc = new StatsAccumulator();
    acc.add(pay(10_000, 'EUR'));
    acc.add(pay(30_000, 'EUR', undefined, [processed]));
    acc.add(pay(20_000, 'USD', undefined, [failed]));
    acc.add(pay(5_000, 'USD', undefined, [processed, refund(1_500)]));
    acc.add(pay(700, 'JPY', undefined, [processed, refund()]));
    expect(acc.result()).toEqual({
      total: 5,
      byStatus: { pending: 1, completed: 1, failed: 1, refunded: 2 },
      byCurrency: { EUR: 2, USD: 2, JPY: 1 },
      amountByCurrency: { EUR: 40_000, USD: 25_000, JPY: 700 },
      refundedAmountByCurrency: { EUR: 0, USD: 1_500, JPY: 700 },
    });
  });

  it('gives a series of no buckets for stats over an empty range', () => {
    const t = Date.parse('2026-03-01T10:30:00.000Z');
    expect(new StatsAccumulator({ fromMs: t, toMs: t, interval: 'hour' }).result().series).toEqual([]);
  });

  it('omits series unless one was asked for', () => {
    const acc = new StatsAccumulator();
    acc.add(pay(1, 'EUR'));
    expect(acc.result()).not.toHaveProperty('series');
  });

  it('writes a sum past Number.MAX_SAFE_INTEGER as its exact digits, in that currency only', () => {
    const acc = new StatsAccumulator();
    const n = 90_100; // 90,100 * 99,999,999,999 > 2^53
    const big = pay(MAX_AMOUNT, 'EUR', undefined, [processed, refund()]);
    for (let i = 0; i < n; i++) acc.add(big);
    acc.add(pay(1, 'USD'));
    const stats = acc.result();
    expect(stats.amountByCurrency.EUR).toBe((BigInt(n) * BigInt(MAX_AMOUNT)).toString());
    expect(stats.refundedAmountByCurrency.EUR).toBe((BigInt(n) * BigInt(MAX_AMOUNT)).toString());
    expect(stats.amountByCurrency.USD).toBe(1);
    expect(stats.byCurrency).toEqual({ EUR: n, USD: 1 });
    expect(stats.byStatus.refunded).toBe(n);
  });

  it('matches BigInt arithmetic per currency over random payments', () => {
    const rand = lcg(8);
    const acc = new StatsAccumulator();
    const ref = new Map<string, { count: number; amount: bigint; refunded: bigint }>();
    for (let i = 0; i < 2000; i++) {
      const currency = ['EUR', 'USD', 'GBP'][Math.floor(rand() * 3)];
      const amount = rand() < 0.5 ? MAX_AMOUNT - Math.floor(rand() * 1000) : 1 + Math.floor(rand() * 10_000);
      const p = rand() < 0.5 ? pay(amount, currency, undefined, [processed, refund(1 + Math.floor(rand() * amount))]) : pay(amount, currency);
      // A shared payment object added many times stands for many payments.
      const copies = currency === 'EUR' ? 400 : 1;
      for (let c = 0; c < copies; c++) acc.add(p);
      const r = ref.get(currency) ?? { count: 0, amount: 0n, refunded: 0n };
      r.count += copies;
      r.amount += BigInt(p.amount) * BigInt(copies);
      r.refunded += BigInt(p.refundedAmount) * BigInt(copies);
      ref.set(currency, r);
    }
    const stats = acc.result();
    expect(typeof stats.amountByCurrency.EUR).toBe('string');
    for (const [currency, r] of ref) {
      expect(stats.byCurrency[currency]).toBe(r.count);
      expect(stats.amountByCurrency[currency]).toStrictEqual(expectedJson(r.amount));
      expect(stats.refundedAmountByCurrency[currency]).toStrictEqual(expectedJson(r.refunded));
    }
  });

  it('fills one bucket per UTC hour of [from, to), empty ones included', () => {
    const acc = new StatsAccumulator({
      fromMs: Date.parse('2026-03-01T10:00:00.000Z'),
      toMs: Date.parse('2026-03-01T14:00:00.000Z'),
      interval: 'hour',
    });
    acc.add(pay(100, 'EUR', '2026-03-01T10:00:00.000Z'));
    acc.add(pay(200, 'USD', '2026-03-01T10:59:59.999Z'));
    acc.add(pay(300, 'EUR', '2026-03-01T10:30:00.000Z'));
    acc.add(pay(400, 'EUR', '2026-03-01T13:59:59.999Z'));
    expect(acc.result().series).toEqual([
      { start: '2026-03-01T10:00:00.000Z', total: 3, amountByCurrency: { EUR: 400, USD: 200 } },
      { start: '2026-03-01T11:00:00.000Z', total: 0, amountByCurrency: {} },
      { start: '2026-03-01T12:00:00.000Z', total: 0, amountByCurrency: {} },
      { start: '2026-03-01T13:00:00.000Z', total: 1, amountByCurrency: { EUR: 400 } },
    ]);
  });

  it('fills UTC-day buckets starting at the midnight before an unaligned from', () => {
    const acc = new StatsAccumulator({
      fromMs: Date.parse('2026-03-01T18:00:00.000Z'),
      toMs: Date.parse('2026-03-03T06:00:00.000Z'),
      interval: 'day',
    });
    acc.add(pay(1, 'EUR', '2026-03-01T18:00:00.000Z'));
    acc.add(pay(2, 'EUR', '2026-03-02T00:00:00.000Z'));
    acc.add(pay(4, 'EUR', '2026-03-02T23:59:59.999Z'));
    acc.add(pay(8, 'EUR', '2026-03-03T05:59:59.999Z'));
    expect(acc.result().series).toEqual([
      { start: '2026-03-01T00:00:00.000Z', total: 1, amountByCurrency: { EUR: 1 } },
      { start: '2026-03-02T00:00:00.000Z', total: 2, amountByCurrency: { EUR: 6 } },
      { start: '2026-03-03T00:00:00.000Z', total: 1, amountByCurrency: { EUR: 8 } },
    ]);
  });

  it('keeps bucket sums exact past Number.MAX_SAFE_INTEGER', () => {
    const acc = new StatsAccumulator({ fromMs: Date.parse('2026-03-01T00:00:00.000Z'), toMs: Date.parse('2026-03-02T00:00:00.000Z'), interval: 'day' });
    const p = pay(MAX_AMOUNT, 'EUR', '2026-03-01T06:00:00.000Z');
    for (let i = 0; i < 90_100; i++) acc.add(p);
    expect(acc.result().series?.[0].amountByCurrency.EUR).toBe((90_100n * BigInt(MAX_AMOUNT)).toString());
  });

  it('has a bucket total that adds up to the overall total when every payment lies in [from, to)', () => {
    const rand = lcg(21);
    const fromMs = Date.parse('2026-03-01T00:00:00.000Z');
    const toMs = fromMs + 3 * DAY;
    const acc = new StatsAccumulator({ fromMs, toMs, interval: 'hour' });
    const perHour = new Array(72).fill(0);
    for (let i = 0; i < 1000; i++) {
      const t = fromMs + Math.floor(rand() * 3 * DAY);
      perHour[Math.floor((t - fromMs) / HOUR)]++;
      acc.add(pay(1, 'EUR', new Date(t).toISOString()));
    }
    const stats = acc.result();
    expect(stats.series).toHaveLength(72);
    expect(stats.series!.map((b) => b.total)).toEqual(perHour);
    expect(stats.total).toBe(1000);
  });
});

describe('StatsAccumulator: taking groups out again', () => {
  it('writes a sum that went past Number.MAX_SAFE_INTEGER and came back as a number', () => {
    const acc = new StatsAccumulator();
    const eur = acc.totalsOf('EUR');
    acc.addTo(1, eur, 90_100, 90_100 * MAX_AMOUNT, 0, 0);
    acc.addTo(1, eur, 1, MAX_AMOUNT, 0, 0);
    expect(acc.result().amountByCurrency.EUR).toBe((90_101n * BigInt(MAX_AMOUNT)).toString());
    acc.addTo(1, eur, -90_100, -90_100 * MAX_AMOUNT, 0, 0);
    expect(acc.result().amountByCurrency.EUR).toBe(MAX_AMOUNT);
    expect(acc.result().byStatus.completed).toBe(1);
  });

  it('lists no currency whose count came back to zero', () => {
    const acc = new StatsAccumulator();
    acc.addGroup('completed', 'USD', 2, 30, 0, 0);
    acc.addGroup('completed', 'USD', -2, -30, 0, 0);
    acc.addGroup('pending', 'EUR', 1, 5, 0, 0);
    expect(acc.result()).toEqual({
      total: 1,
      byStatus: { pending: 1, completed: 0, failed: 0, refunded: 0 },
      byCurrency: { EUR: 1 },
      amountByCurrency: { EUR: 5 },
      refundedAmountByCurrency: { EUR: 0 },
    });
  });
});

describe('StatsFold', () => {
  const CODES = ['CHF', 'EUR', 'JPY', 'USD'];

  /** Random payments as column values, folded one by one and in groups, against a StatsAccumulator fed payment by payment. */
  function compare(seed: number, interval: Interval | undefined, amountOf: (rand: () => number) => number) {
    const rand = lcg(seed);
    const fromMs = Date.parse('2026-03-01T07:30:00.000Z');
    const toMs = fromMs + 3 * DAY;
    const series = interval && { fromMs, toMs, interval };
    const reference = new StatsAccumulator(series);
    const fold = new StatsFold(CODES.length, series);
    for (let i = 0; i < 2000; i++) {
      const status = Math.floor(rand() * 4);
      const currency = Math.floor(rand() * CODES.length);
      const amount = amountOf(rand);
      const refunded = status === 3 ? Math.floor(rand() * amount) : 0;
      // inside [from, to), but for a few outside it (counted, in no bucket: as the accumulator does)
      const at = fromMs - HOUR + Math.floor(rand() * (3 * DAY + 2 * HOUR));
      reference.addValues(PAYMENT_STATUSES[status], CODES[currency], amount, refunded, at);
      fold.addOne(status, currency, amount, refunded, at);
    }
    return { reference, fold };
  }

  it.each([undefined, 'hour', 'day'] as const)('hands the accumulator what payment-by-payment adds give (series: %s)', (interval) => {
    const { reference, fold } = compare(31, interval, (rand) => 1 + Math.floor(rand() * 1_000_000));
    expect(fold.exact).toBe(true);
    const acc = new StatsAccumulator(interval && { fromMs: Date.parse('2026-03-01T07:30:00.000Z'), toMs: Date.parse('2026-03-04T07:30:00.000Z'), interval });
    fold.addTo(acc, (code) => CODES[code]);
    expect(acc.result()).toEqual(reference.result());
  });

  it('adds groups summed elsewhere (a cell run) to the same totals as one payment at a time', () => {
    const a = new StatsFold(2);
    const b = new StatsFold(2);
    a.add(1, 0, 3, 30, 0);
    a.add(3, 1, 2, 500, 120);
    for (const [s, c, amount, r] of [[1, 0, 10, 0], [1, 0, 15, 0], [1, 0, 5, 0], [3, 1, 200, 20], [3, 1, 300, 100]]) b.addOne(s, c, amount, r, 0);
    const accA = new StatsAccumulator();
    const accB = new StatsAccumulator();
    a.addTo(accA, (code) => CODES[code]);
    b.addTo(accB, (code) => CODES[code]);
    expect(accA.result()).toEqual(accB.result());
    expect(accA.result()).toMatchObject({ total: 5, byCurrency: { CHF: 3, EUR: 2 }, amountByCurrency: { CHF: 30, EUR: 500 }, refundedAmountByCurrency: { CHF: 0, EUR: 120 } });
  });

  it('says it is not exact once a sum of a status, a refund or a bucket passes Number.MAX_SAFE_INTEGER', () => {
    const day = { fromMs: 0, toMs: DAY, interval: 'day' as const };
    const atMax = new StatsFold(1, day);
    atMax.add(0, 0, 1, MAX, 0);
    expect(atMax.exact).toBe(true);
    const status = new StatsFold(1);
    for (let i = 0; i < 90_100; i++) status.addOne(1, 0, MAX_AMOUNT, 0, 0);
    expect(status.exact).toBe(false);
    // two statuses under the bound each, their bucket over it
    const bucket = new StatsFold(1, day);
    for (let i = 0; i < 90_100; i++) bucket.addOne(i % 2, 0, MAX_AMOUNT, 0, HOUR);
    expect(bucket.amount.every((x) => x <= MAX)).toBe(true);
    expect(bucket.exact).toBe(false);
    const refunds = new StatsFold(1);
    for (let i = 0; i < 90_100; i++) refunds.add(3, 0, 1, 1, MAX_AMOUNT);
    expect(refunds.exact).toBe(false);
  });
});
