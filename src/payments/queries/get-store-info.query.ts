import { Query } from '@nestjs/cqrs';

export interface StoreInfo {
  payments: number;
  indexes: Record<string, number>;
  memory: { heapUsed: number; rss: number };
}

export class GetStoreInfoQuery extends Query<StoreInfo> {}
