import { Query } from '@nestjs/cqrs';

/** What is held against what may be held: payments, and their estimated bytes (see capacity.ts). */
export interface CapacityInfo {
  payments: number;
  maxPayments: number;
  bytes: number;
  maxBytes: number;
}

export interface StoreInfo {
  payments: number;
  indexes: Record<string, number>;
  /** The store's limits, or (one organization's view) its quota, and the usage against them. */
  capacity: CapacityInfo;
  /** The process's memory: the whole service's, so left out of one organization's view. */
  memory?: { heapUsed: number; rss: number };
}

/** The whole store, or (an organization's admin) one organization's part of it. */
export class GetStoreInfoQuery extends Query<StoreInfo> {
  constructor(readonly organizationId?: string) {
    super();
  }
}
