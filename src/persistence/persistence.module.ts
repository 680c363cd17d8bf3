import { DynamicModule, Module } from '@nestjs/common';
import { Pool } from 'pg';
import { AppConfig } from '../config';
import { PaymentWriter } from '../payments/commands/payment.writer';
import { PrimaryRepository } from '../payments/primary.repository';
import { PostgresPrimaryRepository } from './postgres-primary.repository';
import { createPool } from './postgres';
import { PostgresPaymentWriter } from './postgres.writer';
import { WatchdogClock } from './stall-watchdog';

/**
 * PostgreSQL as the primary repository (DATABASE_URL): the adapters behind the payments side's
 * ports, PrimaryRepository and PaymentWriter (commit first, then the store; change feed; sync).
 * PaymentsModule.forRoot({ primary }) takes it; the store it keeps comes from there.
 */
@Module({})
export class PersistenceModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: PersistenceModule,
      // Global, as PaymentsModule is: health, metrics and the outbox read the primary repository.
      // Global modules shut down last, in reverse order of import: the outbox (MessagingModule,
      // imported after PaymentsModule) stops before the repository ends the pool.
      global: true,
      providers: [
        // one pool for the writer, the repository and the outbox; the repository ends it
        { provide: Pool, useFactory: () => createPool(config) },
        WatchdogClock,
        PostgresPrimaryRepository,
        { provide: PrimaryRepository, useExisting: PostgresPrimaryRepository },
        { provide: PaymentWriter, useClass: PostgresPaymentWriter },
      ],
      exports: [Pool, PostgresPrimaryRepository, PrimaryRepository, PaymentWriter],
    };
  }
}
