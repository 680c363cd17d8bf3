import { DynamicModule, Module, Provider } from '@nestjs/common';
import { AppConfig } from '../config';
import { PostgresPaymentWriter } from '../persistence/postgres.writer';
import { StoreSync } from '../persistence/store-sync';
import { AdminController } from './admin.controller';
import { ApplyPaymentEventHandler } from './commands/apply-payment-event.handler';
import { CreatePaymentHandler } from './commands/create-payment.handler';
import { ImportPaymentsHandler } from './commands/import-payments.handler';
import { MemoryPaymentWriter, PaymentWriter } from './commands/payment.writer';
import { SynchronizeStoreHandler } from './commands/synchronize-store.handler';
import { PaymentEventsMetrics } from './payment-events.metrics';
import { PaymentsController } from './payments.controller';
import { MemoryPrimaryRepository, PrimaryRepository } from './primary.repository';
import { CheckSyncHandler } from './queries/check-sync.handler';
import { GetPaymentStatsHandler } from './queries/get-payment-stats.handler';
import { GetPaymentHandler } from './queries/get-payment.handler';
import { GetStoreInfoHandler } from './queries/get-store-info.handler';
import { QueryCache } from './queries/query-cache';
import { SearchCalculator } from './queries/search-calculator';
import { StatsCalculator } from './queries/stats-calculator';
import { SearchPaymentsHandler } from './queries/search-payments.handler';
import { StatsStreams } from './queries/stats-streams';
import { PaymentStore } from './store/payment.store';

@Module({})
export class PaymentsModule {
  /**
   * The primary repository decides the writer: memory (the store itself) by default, or
   * PostgreSQL when DATABASE_URL is set (commit first, then the store; change feed; sync).
   */
  static forRoot(config: AppConfig): DynamicModule {
    const primary: Provider[] = config.databaseUrl
      ? [
          StoreSync,
          { provide: PrimaryRepository, useExisting: StoreSync },
          { provide: PaymentWriter, useClass: PostgresPaymentWriter },
        ]
      : [
          { provide: PrimaryRepository, useClass: MemoryPrimaryRepository },
          { provide: PaymentWriter, useClass: MemoryPaymentWriter },
        ];
    return {
      module: PaymentsModule,
      // the store and the primary repository are needed by health and metrics too
      global: true,
      controllers: [PaymentsController, AdminController],
      providers: [
        PaymentStore,
        ...primary,
        // command side: the only path to the writer
        CreatePaymentHandler,
        ImportPaymentsHandler,
        ApplyPaymentEventHandler,
        SynchronizeStoreHandler,
        // query side: the handlers compute through the calculators, behind the query cache
        QueryCache,
        SearchCalculator,
        StatsCalculator,
        GetPaymentHandler,
        SearchPaymentsHandler,
        GetPaymentStatsHandler,
        GetStoreInfoHandler,
        CheckSyncHandler,
        StatsStreams,
        PaymentEventsMetrics,
      ],
      exports: [PaymentStore, PrimaryRepository, ...(config.databaseUrl ? [StoreSync] : [])],
    };
  }
}
