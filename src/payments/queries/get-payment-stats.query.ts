import { Query } from '@nestjs/cqrs';
import { PaymentFilter } from '../store/payment-filter';
import { Interval, PaymentStats } from '../store/stats';

export interface StatsRequest {
  filter: PaymentFilter;
  interval?: Interval;
}

export class GetPaymentStatsQuery extends Query<PaymentStats> {
  constructor(readonly request: StatsRequest) {
    super();
  }
}
