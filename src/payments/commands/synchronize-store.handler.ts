import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { PrimaryRepository } from '../primary.repository';
import { SynchronizeStoreCommand } from './synchronize-store.command';

@CommandHandler(SynchronizeStoreCommand)
export class SynchronizeStoreHandler implements ICommandHandler<SynchronizeStoreCommand> {
  constructor(private readonly primary: PrimaryRepository) {}

  async execute({ organizationId }: SynchronizeStoreCommand) {
    return { synchronized: await this.primary.synchronize(organizationId) };
  }
}
