import { DynamicModule, Module, Provider } from '@nestjs/common';
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

export interface PaymentsModuleOptions {
  /**
   * The module that provides the primary repository and its writer (PrimaryRepository and
   * PaymentWriter): PostgreSQL's PersistenceModule.forRoot(config) when DATABASE_URL is set.
   * Without one, memory is the primary repository: the store itself.
   */
  primary?: DynamicModule;
}

/** Memory as the primary repository: every write is one synchronous store call. */
const MEMORY_PRIMARY: Provider[] = [
  { provide: PrimaryRepository, useClass: MemoryPrimaryRepository },
  { provide: PaymentWriter, useClass: MemoryPaymentWriter },
];

@Module({})
export class PaymentsModule {
  /** The primary repository decides the writer: memory by default, or the one `primary` provides. */
  static forRoot({ primary }: PaymentsModuleOptions = {}): DynamicModule {
    return {
      module: PaymentsModule,
      // the store and the primary repository are needed by health and metrics too
      global: true,
      imports: primary === undefined ? [] : [primary],
      controllers: [PaymentsController, AdminController],
      providers: [
        PaymentStore,
        ...(primary === undefined ? MEMORY_PRIMARY : []),
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
      // a primary module exports its own (it is global: health, metrics and messaging read it)
      exports: [PaymentStore, ...(primary === undefined ? [PrimaryRepository] : [])],
    };
  }
}
