import { IQueryHandler, QueryHandler } from '@nestjs/cqrs';
import { canonicalFilter } from '../payment-filter';
import { PaymentStats } from '../payment-query';
import { GetPaymentStatsQuery } from './get-payment-stats.query';
import { QueryCache } from './query-cache';
import { StatsCalculator } from './stats-calculator';

/**
 * Counts and sums of the payments that match a filter, with a series when an interval is asked:
 * from the cache when no write since could change them, else computed through the pacer (see
 * QueryCache).
 */
@QueryHandler(GetPaymentStatsQuery)
export class GetPaymentStatsHandler implements IQueryHandler<GetPaymentStatsQuery> {
  constructor(
    private readonly cache: QueryCache,
    private readonly stats: StatsCalculator,
  ) {}

  execute({ request }: GetPaymentStatsQuery): Promise<PaymentStats> {
    const { filter, interval } = request;
    const key = () => `${canonicalFilter(filter)}|${interval ?? ''}`;
    return this.cache.answer('stats', filter, key, (pace) => this.stats.calculate(request, pace));
  }
}
