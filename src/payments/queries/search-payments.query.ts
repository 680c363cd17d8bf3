import { Query } from '@nestjs/cqrs';
import { SearchRequest, SearchResult } from './payment.reader';

export class SearchPaymentsQuery extends Query<SearchResult> {
  constructor(readonly request: SearchRequest) {
    super();
  }
}
