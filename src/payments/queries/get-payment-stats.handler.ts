import { IQueryHandler, QueryHandler } from '@nestjs/cqrs';
import { PaymentStats } from '../store/stats';
import { GetPaymentStatsQuery } from './get-payment-stats.query';
import { PaymentReader } from './payment.reader';

@QueryHandler(GetPaymentStatsQuery)
export class GetPaymentStatsHandler implements IQueryHandler<GetPaymentStatsQuery> {
  constructor(private readonly reader: PaymentReader) {}

  execute({ request }: GetPaymentStatsQuery): Promise<PaymentStats> {
    return this.reader.stats(request);
  }
}
