import { Query } from '@nestjs/cqrs';

export interface SyncCheck {
  paymentId: string;
  organizationId: string;
  inSync: boolean;
  differingFields: string[];
  memoryVersion: number | null;
  primaryVersion: number | null;
}

/** Compares one payment in memory with the primary repository's copy. */
export class CheckSyncQuery extends Query<SyncCheck> {
  /** `organizationId` undefined: the only payment with this paymentId (operator, or open mode). */
  constructor(
    readonly paymentId: string,
    readonly organizationId?: string,
  ) {
    super();
  }
}
