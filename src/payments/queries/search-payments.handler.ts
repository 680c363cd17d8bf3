import { IQueryHandler, QueryHandler } from '@nestjs/cqrs';
import { canonicalFilter } from '../payment-filter';
import { QueryCache } from './query-cache';
import { SearchCalculator } from './search-calculator';
import { SearchPaymentsQuery, SearchResult } from './search-payments.query';

/**
 * One page of the payments that match a filter, in the sort's order: from the cache when no
 * write since could change it, else computed through the pacer (see QueryCache).
 */
@QueryHandler(SearchPaymentsQuery)
export class SearchPaymentsHandler implements IQueryHandler<SearchPaymentsQuery> {
  constructor(
    private readonly cache: QueryCache,
    private readonly search: SearchCalculator,
  ) {}

  execute({ request }: SearchPaymentsQuery): Promise<SearchResult> {
    const { filter, sort, size, page, cursor } = request;
    // the canonical filter also keys the cursor: formatted once for both
    const filterText = canonicalFilter(filter);
    const key = () => `${filterText}|${sort}|${size}|${page ?? ''}|${cursor ?? ''}`;
    return this.cache.answer('search', filter, key, (pace) => this.search.calculate(request, filterText, pace));
  }
}
