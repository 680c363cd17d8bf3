import { Command } from '@nestjs/cqrs';

/** Rebuilds the in-memory store (or one organization of it) from the primary repository. */
export class SynchronizeStoreCommand extends Command<{ synchronized: number }> {
  constructor(readonly organizationId?: string) {
    super();
  }
}
