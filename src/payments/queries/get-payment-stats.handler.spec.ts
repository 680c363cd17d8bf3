import { createCache } from 'cache-manager';
import { createKeyv } from 'cacheable';
import { AppConfig } from '../../config';
import { MetricsService } from '../../metrics/metrics.service';
import { createPayment } from '../payment';
import { PaymentStore } from '../store/payment.store';
import { GetPaymentStatsHandler } from './get-payment-stats.handler';
import { GetPaymentStatsQuery, StatsRequest } from './get-payment-stats.query';
import { QueryCache } from './query-cache';
import { StatsCalculator } from './stats-calculator';

const NOW = '2026-03-05T00:00:00.000Z';

/** The handler against a real store, a real in-memory cache (as in AppModule) and a real metrics registry. */
function setup() {
  const config = new AppConfig();
  const store = new PaymentStore(config);
  const cache = createCache({ stores: [createKeyv({ ttl: 300_000, lruSize: 10_000, useClone: false, checkInterval: 0 })] });
  const metrics = new MetricsService();
  const handler = new GetPaymentStatsHandler(new QueryCache(store, cache, metrics, config), new StatsCalculator(store));
  const stats = (request: StatsRequest) => handler.execute(new GetPaymentStatsQuery(request));
  const add = (id: string, organizationId: string, amount: number, currency: string, createdAt = NOW) =>
    store.insertIfAbsent(createPayment({ organizationId, userId: 'u', amount, currency, createdAt }, id, NOW));
  const hits = async () => (await metrics.cacheHits.get()).values.find((v) => v.labels.query === 'stats')?.value ?? 0;
  return { store, stats, add, hits };
}

describe('GetPaymentStatsHandler', () => {
  it('lists all four statuses even for no matches', async () => {
    const { stats } = setup();
    expect(await stats({ filter: {} })).toEqual({
      total: 0,
      byStatus: { pending: 0, completed: 0, failed: 0, refunded: 0 },
      byCurrency: {},
      amountByCurrency: {},
      refundedAmountByCurrency: {},
    });
  });

  it('writes sums past Number.MAX_SAFE_INTEGER as exact digits, per currency', async () => {
    const { stats, add } = setup();
    const n = 91_000; // 91,000 * 99,999,999,999 > 2^53 - 1
    for (let i = 0; i < n; i++) add(`b${i}`, 'o', 99_999_999_999, 'USD');
    add('small', 'o', 5, 'EUR');
    const answer = await stats({ filter: { organizationId: 'o' } });
    expect(answer.amountByCurrency).toEqual({ USD: (BigInt(n) * 99_999_999_999n).toString(), EUR: 5 });
    expect(answer.byCurrency).toEqual({ USD: n, EUR: 1 });
    expect(answer.total).toBe(n + 1);
  });

  it('returns one bucket per UTC hour of [from, to), empty ones included', async () => {
    const { stats, add } = setup();
    add('s1', 'org-s', 100, 'EUR', '2026-03-01T10:15:00.000Z');
    add('s2', 'org-s', 250, 'USD', '2026-03-01T12:59:59.999Z');
    add('s3', 'org-s', 999, 'JPY', '2026-03-01T13:00:00.000Z');
    const answer = await stats({
      filter: { organizationId: 'org-s', from: '2026-03-01T10:00:00.000Z', to: '2026-03-01T13:00:00.000Z' },
      interval: 'hour',
    });
    expect(answer.total).toBe(2);
    expect(answer.series?.map((b) => [b.start, b.total])).toEqual([
      ['2026-03-01T10:00:00.000Z', 1],
      ['2026-03-01T11:00:00.000Z', 0],
      ['2026-03-01T12:00:00.000Z', 1],
    ]);
  });

  it('serves a repeat from the cache, and counts a payment written since at once', async () => {
    const { stats, add, hits } = setup();
    add('p1', 'org-a', 100, 'EUR');
    const request = { filter: { organizationId: 'org-a' } };
    expect((await stats(request)).total).toBe(1);
    expect((await stats(request)).total).toBe(1);
    expect(await hits()).toBe(1);
    add('p2', 'org-a', 200, 'EUR');
    expect((await stats(request)).amountByCurrency).toEqual({ EUR: 300 });
    expect(await hits()).toBe(1);
  });
});
