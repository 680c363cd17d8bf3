import { AppConfig } from '../../config';
import { createPayment, PAYMENT_STATUSES, transition } from '../payment';
import { matchesFilter, PaymentFilter } from '../payment-filter';
import { PaymentStore } from '../store/payment.store';
import { StatsAccumulator } from '../store/stats';
import { Pace } from './read-pacer';
import { StatsCalculator } from './stats-calculator';

/** A read that runs to its end at once (the pacing is read-pacer.spec's and the handlers'). */
const ONE_GO: Pace = { stepEntries: Infinity, stepRows: Infinity, due: () => false, pause: () => Promise.resolve() };

function lcg(seed: number) {
  return () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
}

/** The aggregated stats path (whole days from cells, ragged ends scanned) against a plain fold. */
describe('StatsCalculator: stats from the daily aggregates', () => {
  const rnd = lcg(2026);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)];
  const base = Date.parse('2026-03-01T00:00:00Z');
  const hour = 3_600_000;
  const store = new PaymentStore(new AppConfig());
  const calculator = new StatsCalculator(store);
  let n = 0;

  function write(): void {
    if (n === 0 || rnd() < 0.6) {
      store.insertIfAbsent(
        createPayment(
          {
            // o4 is small: its ragged ends are scanned through its partition, not the createdAt index
            organizationId: rnd() < 0.05 ? 'o4' : pick(['o1', 'o2']),
            userId: 'u',
            amount: 1 + Math.floor(rnd() * 10_000),
            currency: pick(['EUR', 'USD', 'JPY']),
            createdAt: new Date(base + Math.floor(rnd() * 10 * 24 * hour)).toISOString(),
          },
          `p${n++}`,
          '2026-04-01T00:00:00.000Z',
        ),
      );
      return;
    }
    const id = `p${Math.floor(rnd() * n)}`;
    const type = pick(['PaymentProcessed', 'PaymentFailed', 'PaymentRefunded'] as const);
    try {
      store.update(ownerOf(store, id), id, undefined, (c) =>
        transition(
          c,
          { type, occurredAt: '2026-04-01T00:00:00.000Z', error: 'x', refundAmount: rnd() < 0.5 ? undefined : 1 },
          '2026-04-01T00:00:00.000Z',
        ),
      );
    } catch {
      // a refused transition changes nothing
    }
  }

  function reference(f: PaymentFilter, interval?: 'day') {
    const acc = new StatsAccumulator(interval ? { fromMs: Date.parse(f.from!), toMs: Date.parse(f.to!), interval } : undefined);
    for (let row = 0; row < store.size; row++) if (matchesFilter(store.row(row), f)) acc.add(store.row(row));
    return acc.result();
  }

  it('matches a plain fold over random windows, filters and interleaved writes', async () => {
    for (let round = 0; round < 200; round++) {
      for (let w = 0; w < 10; w++) write();
      const a = base + Math.floor(rnd() * 10 * 24) * hour + (rnd() < 0.3 ? 0 : Math.floor(rnd() * hour));
      const b = a + Math.floor(rnd() * 6 * 24) * hour + Math.floor(rnd() * hour);
      const f: PaymentFilter = {};
      if (rnd() < 0.7) f.organizationId = pick(['o1', 'o2', 'o3', 'o4', 'o4']);
      if (rnd() < 0.8) f.from = new Date(a).toISOString();
      if (rnd() < 0.8) f.to = new Date(b).toISOString();
      if (rnd() < 0.3) f.statuses = PAYMENT_STATUSES.filter(() => rnd() < 0.5);
      if (rnd() < 0.3) f.currencies = ['EUR', 'JPY', 'GBP'].filter(() => rnd() < 0.6);
      const interval = f.from && f.to && rnd() < 0.5 ? ('day' as const) : undefined;
      expect(await calculator.calculate({ filter: f, interval }, ONE_GO)).toEqual(reference(f, interval));
    }
  });
});

describe('StatsCalculator for a small organization among big ones', () => {
  it('counts each payment once across whole days and ragged ends read through its partition', async () => {
    const store = new PaymentStore(new AppConfig());
    const calculator = new StatsCalculator(store);
    const add = (id: string, org: string, createdAt: string) =>
      store.insertIfAbsent(createPayment({ organizationId: org, userId: 'u', amount: 100, currency: 'EUR', createdAt }, id, '2026-04-01T00:00:00.000Z'));
    // a big organization fills the ragged ends, so the small one's partition is the cheaper scan
    for (let i = 0; i < 500; i++) add(`big-${i}`, 'big', new Date(Date.parse('2026-03-01T00:00:00Z') + i * 518_400).toISOString());
    add('t1', 'tiny', '2026-03-01T23:00:00.000Z'); // ragged start
    add('t2', 'tiny', '2026-03-02T00:30:00.000Z'); // first hour of the whole day
    add('t3', 'tiny', '2026-03-03T01:00:00.000Z'); // ragged end
    add('t4', 'tiny', '2026-03-03T13:00:00.000Z'); // after the window
    const request = {
      filter: { organizationId: 'tiny', from: '2026-03-01T12:00:00.000Z', to: '2026-03-03T12:00:00.000Z' },
      interval: 'day' as const,
    };
    const stats = await calculator.calculate(request, ONE_GO);
    expect(stats.total).toBe(3);
    expect(stats.amountByCurrency).toEqual({ EUR: 300 });
    expect(stats.series?.map((b) => b.total)).toEqual([1, 1, 1]);
  });
});

describe('StatsCalculator: a ragged end as its whole day minus the rest of the day', () => {
  it('takes the day aggregate and subtracts the fewer payments outside the window, listing no emptied currency', async () => {
    const store = new PaymentStore(new AppConfig());
    const calculator = new StatsCalculator(store);
    const at = (iso: string, id: string, amount: number, currency: string, refund?: number) => {
      store.insertIfAbsent(createPayment({ organizationId: 'o', userId: 'u', amount, currency, createdAt: iso }, id, '2026-04-01T00:00:00.000Z'));
      if (refund !== undefined) {
        for (const event of [
          { type: 'PaymentProcessed' as const, occurredAt: '2026-04-01T00:00:00.000Z' },
          { type: 'PaymentRefunded' as const, occurredAt: '2026-04-01T00:00:00.000Z', refundAmount: refund },
        ]) {
          store.update(ownerOf(store, id), id, undefined, (c) => transition(c, event, '2026-04-01T00:00:00.000Z'));
        }
      }
    };
    // 2 March: one JPY payment before 01:00 (outside the window), many EUR ones after it
    at('2026-03-02T00:10:00.000Z', 'early-jpy', 7, 'JPY', 3);
    for (let i = 0; i < 40; i++) at(new Date(Date.parse('2026-03-02T01:00:00Z') + i * 1_800_000).toISOString(), `e${i}`, 100 + i, 'EUR', i % 5 === 0 ? 10 : undefined);
    // 3 and 4 March: whole days, then a ragged end that covers most of 5 March
    for (let i = 0; i < 30; i++) at(new Date(Date.parse('2026-03-03T00:00:00Z') + i * 7_200_000).toISOString(), `w${i}`, 1_000, 'USD');
    for (let i = 0; i < 40; i++) at(new Date(Date.parse('2026-03-05T00:00:00Z') + i * 2_000_000).toISOString(), `l${i}`, 50, 'EUR');
    at('2026-03-05T23:30:00.000Z', 'late-gbp', 9, 'GBP');

    const visited: [number, number][] = [];
    const addDays = store.aggregates.addDays.bind(store.aggregates);
    jest.spyOn(store.aggregates, 'addDays').mockImplementation((org, first, end, out) => {
      visited.push([first, end]);
      addDays(org, first, end, out);
    });
    const filter = { organizationId: 'o', from: '2026-03-02T01:00:00.000Z', to: '2026-03-05T23:00:00.000Z' };
    const stats = await calculator.calculate({ filter }, ONE_GO);

    const expected = new StatsAccumulator();
    for (let row = 0; row < store.size; row++) if (matchesFilter(store.row(row), filter)) expected.add(store.row(row));
    expect(stats).toEqual(expected.result());
    expect(stats.byCurrency).toEqual({ EUR: 80, USD: 30 }); // JPY and GBP only outside the window
    expect(stats.refundedAmountByCurrency).toEqual({ EUR: 80, USD: 0 });
    const day = (iso: string) => Date.parse(iso) / 86_400_000;
    // whole days 3-4 March, then each ragged end's whole day (2 and 5 March)
    expect(visited).toEqual([
      [day('2026-03-03T00:00:00Z'), day('2026-03-05T00:00:00Z')],
      [day('2026-03-02T00:00:00Z'), day('2026-03-03T00:00:00Z')],
      [day('2026-03-05T00:00:00Z'), day('2026-03-06T00:00:00Z')],
    ]);
  });
});

describe('StatsCalculator: whole days summed in place', () => {
  it('adds whole days cell by cell, exactly, once their sum passes Number.MAX_SAFE_INTEGER', async () => {
    const store = new PaymentStore(new AppConfig());
    const calculator = new StatsCalculator(store);
    // each day's cell is exact (5e15 < 2^53), their sum is not
    const big = 5_000_000_000_000_001;
    // (their sum, 2 x big + 1, is odd past 2^53: a float sum would round it)
    for (const [id, day, amount] of [['a', '2026-03-02', big], ['b', '2026-03-03', big + 1]] as const) {
      store.insertIfAbsent(createPayment({ organizationId: 'o', userId: 'u', amount, currency: 'EUR', createdAt: `${day}T10:00:00.000Z` }, id, '2026-04-01T00:00:00.000Z'));
    }
    store.insertIfAbsent(createPayment({ organizationId: 'o', userId: 'u', amount: 7, currency: 'USD', createdAt: '2026-03-02T11:00:00.000Z' }, 'c', '2026-04-01T00:00:00.000Z'));
    expect(store.aggregates.exact).toBe(true);
    const stats = await calculator.calculate({ filter: { organizationId: 'o', from: '2026-03-01T00:00:00.000Z', to: '2026-03-05T00:00:00.000Z' } }, ONE_GO);
    expect(stats.amountByCurrency).toEqual({ EUR: (2n * BigInt(big) + 1n).toString(), USD: 7 });
    expect(stats.byCurrency).toEqual({ EUR: 2, USD: 1 });
  });
});

/** The organization of the only payment `paymentId` in `store` ('' when there is none). */
function ownerOf(store: PaymentStore, paymentId: string): string {
  return store.resolve(paymentId, undefined)?.organizationId ?? '';
}
