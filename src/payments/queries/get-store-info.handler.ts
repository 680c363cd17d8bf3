import { IQueryHandler, QueryHandler } from '@nestjs/cqrs';
import { PaymentStore } from '../store/payment.store';
import { GetStoreInfoQuery, StoreInfo } from './get-store-info.query';

@QueryHandler(GetStoreInfoQuery)
export class GetStoreInfoHandler implements IQueryHandler<GetStoreInfoQuery> {
  constructor(private readonly store: PaymentStore) {}

  async execute({ organizationId }: GetStoreInfoQuery): Promise<StoreInfo> {
    const capacity = this.store.capacity;
    const { limits } = capacity;
    if (organizationId !== undefined) {
      const usage = capacity.usageOf(organizationId);
      return {
        payments: this.store.countOf(organizationId),
        indexes: this.store.describeIndexes(organizationId),
        capacity: { payments: usage.payments, maxPayments: limits.orgMaxPayments, bytes: usage.bytes, maxBytes: limits.orgMaxBytes },
      };
    }
    const { heapUsed, rss } = process.memoryUsage();
    return {
      payments: this.store.size,
      indexes: this.store.describeIndexes(),
      capacity: { payments: capacity.payments, maxPayments: limits.maxPayments, bytes: capacity.bytes, maxBytes: limits.maxBytes },
      memory: { heapUsed, rss },
    };
  }
}
