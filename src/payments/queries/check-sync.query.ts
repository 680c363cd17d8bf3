import { Query } from '@nestjs/cqrs';

export interface SyncCheck {
  paymentId: string;
  inSync: boolean;
  differingFields: string[];
  memoryVersion: number | null;
  primaryVersion: number | null;
}

/** Compares one payment in memory with the primary repository's copy. */
export class CheckSyncQuery extends Query<SyncCheck> {
  constructor(readonly paymentId: string) {
    super();
  }
}
