import { createCache } from 'cache-manager';
import { createKeyv } from 'cacheable';
import { AppConfig } from '../../config';
import { MetricsService } from '../../metrics/metrics.service';
import { createPayment } from '../payment';
import { PaymentStore } from '../store/payment.store';
import { PaymentFilter } from '../payment-filter';
import { QueryCache } from './query-cache';
import { Pace, ReadPacer } from './read-pacer';

const NOW = '2026-03-05T00:00:00.000Z';

/** A QueryCache over a real store, a real in-memory cache (as in AppModule) and a real metrics registry. */
function setup(overrides: Partial<AppConfig> = {}, pacer?: ReadPacer) {
  const config = new AppConfig(overrides);
  const store = new PaymentStore(config);
  const cache = createCache({ stores: [createKeyv({ ttl: 300_000, lruSize: 10_000, useClone: false, checkInterval: 0 })] });
  const metrics = new MetricsService();
  const queryCache = new QueryCache(store, cache, metrics, config, pacer);
  let n = 0;
  const write = (organizationId: string) =>
    store.insertIfAbsent(createPayment({ organizationId, userId: 'u', amount: 1, currency: 'EUR', createdAt: NOW }, `p${n++}`, NOW));
  const count = async (which: 'cacheHits' | 'cacheMisses', query: 'search' | 'stats') =>
    (await metrics[which].get()).values.find((v) => v.labels.query === query)?.value ?? 0;
  // each computation answers with its own number, so a served answer tells which one it was
  let computed = 0;
  const compute = async () => ++computed;
  const ask = (filter: PaymentFilter, query: 'search' | 'stats' = 'stats') => queryCache.answer(query, filter, () => 'request', compute);
  return { store, queryCache, write, count, ask, computed: () => computed };
}

describe('QueryCache', () => {
  it('serves a repeated query from the cache while no write lands', async () => {
    const { write, ask, computed } = setup();
    write('org-a');
    expect(await ask({ organizationId: 'org-a' })).toBe(1);
    expect(await ask({ organizationId: 'org-a' })).toBe(1);
    expect(computed()).toBe(1);
  });

  it("computes afresh after a write in the filter's organization, and keeps the answer through a write in another", async () => {
    const { write, ask } = setup();
    expect(await ask({ organizationId: 'org-a' })).toBe(1);
    write('org-b');
    expect(await ask({ organizationId: 'org-a' })).toBe(1);
    write('org-a');
    expect(await ask({ organizationId: 'org-a' })).toBe(2);
  });

  it('computes a query of every organization afresh after a write in any of them', async () => {
    const { write, ask } = setup();
    expect(await ask({})).toBe(1);
    write('org-b');
    expect(await ask({})).toBe(2);
  });

  it('keys search and stats apart, and by the request the handler names', async () => {
    const { queryCache, ask } = setup();
    expect(await ask({}, 'search')).toBe(1);
    expect(await ask({}, 'stats')).toBe(2);
    expect(await queryCache.answer('stats', {}, () => 'another request', async () => 'other')).toBe('other');
    expect(await ask({}, 'stats')).toBe(2);
  });

  it('counts hits and misses by query', async () => {
    const { ask, count } = setup();
    await ask({}, 'search');
    await ask({}, 'search');
    await ask({}, 'stats');
    expect([await count('cacheHits', 'search'), await count('cacheMisses', 'search')]).toEqual([1, 1]);
    expect([await count('cacheHits', 'stats'), await count('cacheMisses', 'stats')]).toEqual([0, 1]);
  });

  it.each([
    ['a TTL of 0', { cacheTtlSeconds: 0 }],
    ['no entries', { cacheMaxEntries: 0 }],
  ])('computes every query and never names its key when turned off (%s)', async (_name, overrides) => {
    const { queryCache, ask, count } = setup(overrides);
    expect(await ask({})).toBe(1);
    expect(await ask({})).toBe(2);
    const rest = jest.fn(() => 'request');
    await queryCache.answer('stats', {}, rest, async () => 0);
    expect(rest).not.toHaveBeenCalled();
    expect(await count('cacheMisses', 'stats')).toBe(0);
  });

  it('keys an answer with the version its last attempt started from: one started over after a write is served after it', async () => {
    let onPause = () => {};
    // a slice of 0 ms on a clock that never moves: every check is due
    const pacer = new ReadPacer({ sliceMs: 0, restarts: 2, stepEntries: 1, stepRows: 1, now: () => 0, pauseTurn: async () => onPause() });
    const { queryCache, write } = setup({}, pacer);
    write('org-a');
    onPause = () => {
      onPause = () => {};
      write('org-a');
    };
    let attempts = 0;
    const compute = async (pace: Pace) => {
      attempts++;
      if (pace.due()) await pace.pause();
      return attempts;
    };
    expect(await queryCache.answer('stats', { organizationId: 'org-a' }, () => 'request', compute)).toBe(2);
    expect(pacer.restarted).toBe(1);
    // the answer of the second attempt is keyed with the version after the write: a hit now
    expect(await queryCache.answer('stats', { organizationId: 'org-a' }, () => 'request', compute)).toBe(2);
    expect(attempts).toBe(2);
  });
});
