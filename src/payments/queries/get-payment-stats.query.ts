import { Query } from '@nestjs/cqrs';
import { PaymentStats } from '../store/stats';
import { StatsRequest } from './payment.reader';

export class GetPaymentStatsQuery extends Query<PaymentStats> {
  constructor(readonly request: StatsRequest) {
    super();
  }
}
