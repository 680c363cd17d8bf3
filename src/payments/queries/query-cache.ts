import { CACHE_MANAGER } from '@nestjs/cache-manager';
import { Inject, Injectable, Optional } from '@nestjs/common';
import type { Cache } from 'cache-manager';
import { AppConfig } from '../../config';
import { MetricsService } from '../../metrics/metrics.service';
import { PaymentStore } from '../store/payment.store';
import { PaymentFilter } from '../payment-filter';
import { Pace, ReadPacer } from './read-pacer';

/**
 * The cache in front of search and stats, and the pacer they compute through. A key holds the
 * store version the answer was computed from (the organization's version when the filter names
 * one, else the global one). Every write bumps those versions, so a cached answer is unreachable
 * after any write that could change it: never stale, whatever the TTL. Off when the TTL or the
 * number of entries is 0.
 *
 * A computation that reads many entries pauses between slices of its work (ReadPacer): every
 * other request runs in between, and the read starts over if that version changed meanwhile,
 * so each answer is of one state.
 */
@Injectable()
export class QueryCache {
  constructor(
    private readonly store: PaymentStore,
    @Inject(CACHE_MANAGER) private readonly cache: Cache,
    private readonly metrics: MetricsService,
    config: AppConfig,
    // no provider gives one: Nest passes nothing (@Optional), so the cache paces with the defaults
    @Optional() pacer?: ReadPacer,
  ) {
    this.#on = config.cacheTtlSeconds > 0 && config.cacheMaxEntries > 0;
    this.#pacer = pacer ?? new ReadPacer();
  }

  readonly #on: boolean;
  readonly #pacer: ReadPacer;

  /**
   * The answer from the cache, else computed through the pacer (started over on any change of
   * the version the answer depends on). The key is `query|version|rest()`: `rest` names the
   * request (filter, sort, page...) and is called only when the cache is on (it formats the
   * filter).
   */
  async answer<T>(query: 'search' | 'stats', filter: PaymentFilter, rest: () => string, compute: (pace: Pace) => Promise<T>): Promise<T> {
    const version = filter.organizationId === undefined ? () => this.store.version : () => this.store.versionOf(filter.organizationId!);
    if (!this.#on) return this.#pacer.run(version, compute);
    const keyOf = () => `${query}|${this.#versionTag(filter)}|${rest()}`;
    const hit = await this.cache.get<T>(keyOf());
    if (hit !== undefined && hit !== null) {
      this.metrics.cacheHits.inc({ query });
      return hit;
    }
    this.metrics.cacheMisses.inc({ query });
    // Computed after the await, and keyed with the version its last attempt started from (and
    // saw unchanged through its end): never older than the version in its key.
    const { key, value } = await this.#pacer.run(version, async (pace) => {
      const key = keyOf();
      return { key, value: await compute(pace) };
    });
    await this.cache.set(key, value);
    return value;
  }

  #versionTag(filter: PaymentFilter): string {
    return filter.organizationId !== undefined ? `o${this.store.versionOf(filter.organizationId)}` : `g${this.store.version}`;
  }
}
