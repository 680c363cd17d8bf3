import { Query } from '@nestjs/cqrs';
import { PaymentFilter } from '../payment-filter';
import { Interval, PaymentStats } from '../payment-query';

export interface StatsRequest {
  filter: PaymentFilter;
  interval?: Interval;
}

export class GetPaymentStatsQuery extends Query<PaymentStats> {
  constructor(readonly request: StatsRequest) {
    super();
  }
}
