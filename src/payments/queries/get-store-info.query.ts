import { Query } from '@nestjs/cqrs';

export interface StoreInfo {
  payments: number;
  indexes: Record<string, number>;
  /** The process's memory: the whole service's, so left out of one organization's view. */
  memory?: { heapUsed: number; rss: number };
}

/** The whole store, or (an organization's admin) one organization's part of it. */
export class GetStoreInfoQuery extends Query<StoreInfo> {
  constructor(readonly organizationId?: string) {
    super();
  }
}
