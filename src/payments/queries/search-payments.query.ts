import { Query } from '@nestjs/cqrs';
import { Payment } from '../payment';
import { SearchSort } from '../payment-query';
import { PaymentFilter } from '../payment-filter';

export interface SearchRequest {
  filter: PaymentFilter;
  sort: SearchSort;
  size: number;
  page?: number;
  cursor?: string;
}

export interface SearchResult {
  items: Payment[];
  total: number;
  page: number;
  size: number;
  nextCursor: string | null;
}

export class SearchPaymentsQuery extends Query<SearchResult> {
  constructor(readonly request: SearchRequest) {
    super();
  }
}
