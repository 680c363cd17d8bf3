import fc from 'fast-check';
import { DAY_MS, DailyAggregates, DayTotals } from './daily-aggregates';
import { FC_SEED } from '../../../test/fc-seed';

const SEED = FC_SEED;
const runs = (numRuns: number, salt: number): fc.Parameters<unknown> => ({ numRuns, seed: SEED + salt });

type P = { org: number; createdAtMs: number; status: number; currency: number; amount: number; refunded: number };
type Cell = [count: number, amount: number, refunded: number];

/** Every non-empty cell forEachCell visits, keyed `day:status:currency`. */
function visited(agg: DailyAggregates, org: number | undefined, fromDay: number, toDay: number): Map<string, Cell> {
  const out = new Map<string, Cell>();
  agg.forEachCell(org, fromDay, toDay, (dayMs, status, currency, count, amount, refunded) => {
    const key = `${dayMs / DAY_MS}:${status}:${currency}`;
    if (out.has(key)) throw new Error(`cell ${key} visited twice`);
    if (count === 0) throw new Error(`empty cell ${key} visited`);
    out.set(key, [count, amount, refunded]);
  });
  return out;
}

/** The same cells recomputed from the live payments (with multiplicities; negative = removed more than added). */
function recomputed(live: Map<P, number>, org: number | undefined, fromDay: number, toDay: number): Map<string, Cell> {
  const out = new Map<string, Cell>();
  for (const [p, times] of live) {
    const day = Math.floor(p.createdAtMs / DAY_MS);
    if (times === 0 || (org !== undefined && p.org !== org) || !(day >= fromDay && day < toDay)) continue;
    const key = `${day}:${p.status}:${p.currency}`;
    const cell = out.get(key) ?? [0, 0, 0];
    cell[0] += times;
    cell[1] += times * p.amount;
    cell[2] += times * p.refunded;
    out.set(key, cell);
  }
  for (const [key, cell] of out) if (cell[0] === 0) out.delete(key);
  return out;
}

/** Would any cell (per organization or over all) have passed 2^53 - 1 after this state? */
function overflows(live: Map<P, number>): boolean {
  const sums = new Map<string, number>();
  for (const [p, times] of live) {
    const day = Math.floor(p.createdAtMs / DAY_MS);
    for (const scope of [`o${p.org}`, 'all']) {
      for (const [what, v] of [['a', p.amount], ['r', p.refunded]] as const) {
        const key = `${scope}:${day}:${p.status}:${p.currency}:${what}`;
        sums.set(key, (sums.get(key) ?? 0) + times * v);
      }
    }
  }
  return [...sums.values()].some((v) => v > Number.MAX_SAFE_INTEGER);
}

const BASE_DAY = 20_500;
/** Nearby days, days before 1970, and days far enough apart to give up the dense day directory. */
const dayArb = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: BASE_DAY - 5, max: BASE_DAY + 5 }) },
  { weight: 1, arbitrary: fc.integer({ min: -3, max: 2 }) },
  { weight: 1, arbitrary: fc.constantFrom(BASE_DAY - 40_000, BASE_DAY + 3_000, BASE_DAY + 100_000) },
);
const paymentArb = (bigAmounts: boolean): fc.Arbitrary<P> =>
  fc
    .record({
      org: fc.constantFrom(0, 1, 2, 7, 1_000),
      day: dayArb,
      msInDay: fc.integer({ min: 0, max: DAY_MS - 1 }),
      status: fc.integer({ min: 0, max: 3 }),
      // currencies seen in any order: an organization's slab re-lays itself out for each new one
      currency: fc.constantFrom(0, 1, 2, 3, 4, 9, 300),
      amount: bigAmounts
        ? fc.oneof(fc.integer({ min: 1, max: 1_000_000 }), fc.constantFrom(99_999_999_999, 2 ** 31, 2 ** 52, Number.MAX_SAFE_INTEGER))
        : fc.oneof(fc.integer({ min: 1, max: 1_000_000 }), fc.constantFrom(99_999_999_999, 2 ** 31 - 1, 2 ** 31)),
      refundPercent: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 100 })),
      // as the state machine has it (only 'refunded' carries a refund), or any input at all
      anyStatusRefunds: fc.boolean(),
    })
    .map(({ org, day, msInDay, status, currency, amount, refundPercent, anyStatusRefunds }) => ({
      org,
      createdAtMs: day * DAY_MS + msInDay,
      status,
      currency,
      amount,
      refunded: status === 3 || anyStatusRefunds ? Math.floor((amount * refundPercent) / 100) : 0,
    }));

/** ops: [payment index, remove?, how many times] */
const scenario = (bigAmounts: boolean) =>
  fc.record({
    payments: fc.array(paymentArb(bigAmounts), { minLength: 1, maxLength: 40 }),
    ops: fc.array(fc.tuple(fc.nat(), fc.boolean(), fc.integer({ min: 1, max: 3 })), { maxLength: 200 }),
    ranges: fc.array(
      fc.tuple(fc.oneof(fc.constant(-Infinity), dayArb), fc.oneof(fc.constant(Infinity), dayArb)),
      { maxLength: 4 },
    ),
  });

function play(payments: P[], ops: [number, boolean, number][], check: (agg: DailyAggregates, live: Map<P, number>) => void) {
  const agg = new DailyAggregates();
  const live = new Map<P, number>(payments.map((p) => [p, 0]));
  ops.forEach(([i, remove, times], step) => {
    const p = payments[i % payments.length];
    for (let k = 0; k < times; k++) {
      // removals only of what was added: the store removes a payment's old version before adding the new one
      const sign = remove && live.get(p)! > 0 ? -1 : 1;
      agg.apply(sign, p.org, p.createdAtMs, p.status, p.currency, p.amount, p.refunded);
      live.set(p, live.get(p)! + sign);
    }
    if (step % 20 === 19) check(agg, live);
  });
  check(agg, live);
}

/** addDays() into fresh DayTotals, as `${status}:${currency}` -> [count, amount, refunded]. */
function summed(agg: DailyAggregates, org: number | undefined, from: number, to: number): Map<string, number[]> {
  const out = new DayTotals(301);
  agg.addDays(org, from, to, out);
  const m = new Map<string, number[]>();
  out.forEach((status, currency, count, amount, refunded) => m.set(`${status}:${currency}`, [count, amount, refunded]));
  return m;
}

/** The cells visited by forEachCell, summed over their days the same way. */
function summedVisits(agg: DailyAggregates, org: number | undefined, from: number, to: number): Map<string, number[]> {
  const m = new Map<string, number[]>();
  for (const [key, [count, amount, refunded]] of visited(agg, org, from, to)) {
    const k = key.slice(key.indexOf(':') + 1);
    const t = m.get(k) ?? [0, 0, 0];
    m.set(k, [t[0] + count, t[1] + amount, t[2] + refunded]);
  }
  return m;
}

describe('DailyAggregates', () => {
  it('dayOf is the UTC day number', () => {
    expect(DailyAggregates.dayOf(0)).toBe(0);
    expect(DailyAggregates.dayOf(DAY_MS - 1)).toBe(0);
    expect(DailyAggregates.dayOf(-1)).toBe(-1);
    expect(DailyAggregates.dayOf(Date.parse('2026-03-01T23:59:59.999Z'))).toBe(Date.parse('2026-03-01T00:00:00Z') / DAY_MS);
  });

  it('visits nothing before any write, or for an unknown organization', () => {
    const agg = new DailyAggregates();
    expect(visited(agg, undefined, -Infinity, Infinity).size).toBe(0);
    agg.apply(1, 1, 0, 1, 0, 100, 0);
    expect(visited(agg, 2, -Infinity, Infinity).size).toBe(0);
    expect(agg.exact).toBe(true);
  });

  it('matches a recomputation from the payments after random adds and removals (per organization, over all, any day range)', () => {
    fc.assert(
      fc.property(scenario(false), ({ payments, ops, ranges }) => {
        play(payments, ops, (agg, live) => {
          expect(agg.exact).toBe(true); // no cell can pass 2^53 here
          for (const org of [undefined, 0, 1, 2, 7, 1_000, 3]) {
            for (const [from, to] of [[-Infinity, Infinity], ...ranges]) {
              expect(visited(agg, org, from, to)).toEqual(recomputed(live, org, from, to));
              expect(summed(agg, org, from, to)).toEqual(summedVisits(agg, org, from, to));
            }
          }
        });
      }),
      runs(300, 1),
    );
  });

  it('goes back to visiting nothing once every payment is removed', () => {
    fc.assert(
      fc.property(fc.array(paymentArb(false), { minLength: 1, maxLength: 60 }), (payments) => {
        const agg = new DailyAggregates();
        for (const p of payments) agg.apply(1, p.org, p.createdAtMs, p.status, p.currency, p.amount, p.refunded);
        for (const p of [...payments].reverse()) agg.apply(-1, p.org, p.createdAtMs, p.status, p.currency, p.amount, p.refunded);
        for (const org of [undefined, 0, 1, 2, 7, 1_000]) expect(visited(agg, org, -Infinity, Infinity).size).toBe(0);
      }),
      runs(200, 2),
    );
  });

  it('marks itself inexact once a cell passes 2^53 - 1, and stays so; exact sums until then', () => {
    fc.assert(
      fc.property(scenario(true), ({ payments, ops }) => {
        let everOver = false;
        play(payments, ops, (agg, live) => {
          everOver ||= overflows(live);
          // checked at every 20th step only: a cell may pass 2^53 between two checks and come back
          if (everOver) expect(agg.exact).toBe(false);
          if (agg.exact) {
            for (const org of [undefined, 0, 1, 2, 7, 1_000]) expect(visited(agg, org, -Infinity, Infinity)).toEqual(recomputed(live, org, -Infinity, Infinity));
          }
        });
      }),
      runs(300, 3),
    );
    const agg = new DailyAggregates();
    agg.apply(1, 1, 0, 1, 0, Number.MAX_SAFE_INTEGER, 0);
    expect(agg.exact).toBe(true);
    agg.apply(1, 2, 0, 1, 0, 1, 0); // the all-organizations cell passes
    expect(agg.exact).toBe(false);
    agg.apply(-1, 2, 0, 1, 0, 1, 0);
    expect(agg.exact).toBe(false);
    const refunds = new DailyAggregates();
    refunds.apply(1, 1, 0, 3, 0, 1, Number.MAX_SAFE_INTEGER);
    refunds.apply(1, 1, 0, 3, 0, 1, 1);
    expect(refunds.exact).toBe(false);
  });

  it('keeps counts and sums exact as cells outgrow 8, 16 and 32 bits', () => {
    const agg = new DailyAggregates();
    const day = BASE_DAY * DAY_MS;
    for (let i = 0; i < 70_000; i++) agg.apply(1, 1, day + i, 1, 2, 40_000, 0); // count past 2^16, sum past 2^31
    agg.apply(1, 1, day, 3, 2, 99_999_999_999, 99_999_999_998);
    agg.apply(1, 1, day + DAY_MS, 0, 0, 0.5, 0); // a fraction (not money, but apply takes it)
    agg.apply(-1, 2, day, 2, 2, 7, 0); // removal of what was never added
    const cells = visited(agg, 1, -Infinity, Infinity);
    expect(cells).toEqual(
      new Map([
        [`${BASE_DAY}:1:2`, [70_000, 70_000 * 40_000, 0]],
        [`${BASE_DAY}:3:2`, [1, 99_999_999_999, 99_999_999_998]],
        [`${BASE_DAY + 1}:0:0`, [1, 0.5, 0]],
      ]),
    );
    expect(visited(agg, 2, -Infinity, Infinity)).toEqual(new Map([[`${BASE_DAY}:2:2`, [-1, -7, 0]]]));
    expect(visited(agg, undefined, BASE_DAY, BASE_DAY + 1).get(`${BASE_DAY}:2:2`)).toEqual([-1, -7, 0]);
    expect(agg.exact).toBe(true);
  });

  it('keeps a refund on a status other than refunded (never made by the state machine)', () => {
    const agg = new DailyAggregates();
    agg.apply(1, 1, 0, 1, 0, 100, 40);
    agg.apply(1, 1, 0, 1, 0, 100, 0);
    agg.apply(1, 1, 0, 3, 0, 100, 30);
    expect(visited(agg, 1, 0, 1)).toEqual(
      new Map([
        ['0:1:0', [2, 200, 40]],
        ['0:3:0', [1, 100, 30]],
      ]),
    );
    agg.apply(-1, 1, 0, 1, 0, 100, 40);
    expect(visited(agg, undefined, 0, 1).get('0:1:0')).toEqual([1, 100, 0]);
  });

  it('visits only whole days of [fromDay, toDay), each at its start', () => {
    const agg = new DailyAggregates();
    for (let d = BASE_DAY; d < BASE_DAY + 10; d++) agg.apply(1, 1, d * DAY_MS + 5, 1, 0, d, 0);
    const days: number[] = [];
    agg.forEachCell(1, BASE_DAY + 2, BASE_DAY + 5, (dayMs, _s, _c, _n, amount) => {
      expect(dayMs % DAY_MS).toBe(0);
      days.push(amount);
    });
    expect(days.sort()).toEqual([BASE_DAY + 2, BASE_DAY + 3, BASE_DAY + 4]);
    expect(visited(agg, 1, BASE_DAY + 5, BASE_DAY + 5).size).toBe(0);
    expect(visited(agg, 1, -Infinity, BASE_DAY + 1).size).toBe(1);
    expect(visited(agg, 1, BASE_DAY + 9, Infinity).size).toBe(1);
  });

  it('rejects a status outside 0..3 and a currency code outside 0..65535 without touching any cell', () => {
    const agg = new DailyAggregates();
    expect(() => agg.apply(1, 1, 0, 4, 0, 1, 0)).toThrow(RangeError);
    expect(() => agg.apply(1, 1, 0, 0, -1, 1, 0)).toThrow(RangeError);
    expect(() => agg.apply(1, 1, 0, 0, 70_000, 1, 0)).toThrow(RangeError);
    expect(visited(agg, undefined, -Infinity, Infinity).size).toBe(0);
    expect(visited(agg, 1, -Infinity, Infinity).size).toBe(0);
  });
});

describe('DayTotals', () => {
  it('is exact until a sum passes Number.MAX_SAFE_INTEGER', () => {
    const agg = new DailyAggregates();
    agg.apply(1, 1, 0, 1, 0, 5e15, 0);
    agg.apply(1, 1, DAY_MS, 1, 0, 4e15, 0);
    const one = new DayTotals(1);
    agg.addDays(1, 0, 2, one);
    expect([one.exact, one.amount[1]]).toEqual([true, 9e15]);
    agg.apply(1, 1, 2 * DAY_MS, 1, 0, 1e15, 0); // 1e16 in one status and currency
    const two = new DayTotals(1);
    agg.addDays(1, 0, 3, two);
    expect(two.exact).toBe(false);
  });
});
