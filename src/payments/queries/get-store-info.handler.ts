import { IQueryHandler, QueryHandler } from '@nestjs/cqrs';
import { PaymentStore } from '../store/payment.store';
import { GetStoreInfoQuery, StoreInfo } from './get-store-info.query';

@QueryHandler(GetStoreInfoQuery)
export class GetStoreInfoHandler implements IQueryHandler<GetStoreInfoQuery> {
  constructor(private readonly store: PaymentStore) {}

  async execute({ organizationId }: GetStoreInfoQuery): Promise<StoreInfo> {
    if (organizationId !== undefined) {
      return { payments: this.store.countOf(organizationId), indexes: this.store.describeIndexes(organizationId) };
    }
    const { heapUsed, rss } = process.memoryUsage();
    return { payments: this.store.size, indexes: this.store.describeIndexes(), memory: { heapUsed, rss } };
  }
}
