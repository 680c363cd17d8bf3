import { Module } from '@nestjs/common';
import { AdminController } from './admin.controller';
import { ApplyPaymentEventHandler } from './commands/apply-payment-event.handler';
import { CreatePaymentHandler } from './commands/create-payment.handler';
import { ImportPaymentsHandler } from './commands/import-payments.handler';
import { PaymentEventsMetrics } from './payment-events.metrics';
import { PaymentsController } from './payments.controller';
import { GetPaymentStatsHandler } from './queries/get-payment-stats.handler';
import { GetPaymentHandler } from './queries/get-payment.handler';
import { GetStoreInfoHandler } from './queries/get-store-info.handler';
import { PaymentReader } from './queries/payment.reader';
import { SearchPaymentsHandler } from './queries/search-payments.handler';
import { PaymentStore } from './store/payment.store';

@Module({
  controllers: [PaymentsController, AdminController],
  providers: [
    PaymentStore,
    // command side: the only path to the store's write methods
    CreatePaymentHandler,
    ImportPaymentsHandler,
    ApplyPaymentEventHandler,
    // query side: reads through the cached reader
    PaymentReader,
    GetPaymentHandler,
    SearchPaymentsHandler,
    GetPaymentStatsHandler,
    GetStoreInfoHandler,
    PaymentEventsMetrics,
  ],
  exports: [PaymentStore],
})
export class PaymentsModule {}
