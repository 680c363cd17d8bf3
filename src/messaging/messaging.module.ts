import { DynamicModule, Module, Provider } from '@nestjs/common';
import { AppConfig } from '../config';
import { BrokerConnection } from './broker.connection';
import { BrokerHealth } from './broker.health';
import { InboundConsumer } from './inbound.consumer';
import { MessagingMetrics } from './messaging.metrics';
import { MemoryOutbox, Outbox, PostgresOutbox } from './outbox';
import { OutboxRelay } from './outbox.relay';

/**
 * RabbitMQ messaging, on with BROKER_URL: commands in (InboundConsumer -> the CommandBus), the
 * committed changes out (the outbox -> OutboxRelay -> the events exchange). Off: nothing here
 * is created, and no broker is needed.
 */
@Module({})
export class MessagingModule {
  static forRoot(config: AppConfig): DynamicModule {
    if (config.brokerUrl === undefined) {
      return { module: MessagingModule, global: true, providers: [{ provide: BrokerHealth, useValue: undefined }], exports: [BrokerHealth] };
    }
    // one provider only: the CQRS explorer would register an events handler provided twice twice
    const outbox: Provider = { provide: Outbox, useClass: config.databaseUrl ? PostgresOutbox : MemoryOutbox };
    return {
      module: MessagingModule,
      global: true,
      providers: [MessagingMetrics, BrokerConnection, outbox, OutboxRelay, InboundConsumer, BrokerHealth],
      exports: [BrokerHealth, BrokerConnection],
    };
  }
}
