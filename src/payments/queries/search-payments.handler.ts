import { IQueryHandler, QueryHandler } from '@nestjs/cqrs';
import { PaymentReader, SearchResult } from './payment.reader';
import { SearchPaymentsQuery } from './search-payments.query';

@QueryHandler(SearchPaymentsQuery)
export class SearchPaymentsHandler implements IQueryHandler<SearchPaymentsQuery> {
  constructor(private readonly reader: PaymentReader) {}

  execute({ request }: SearchPaymentsQuery): Promise<SearchResult> {
    return this.reader.search(request);
  }
}
