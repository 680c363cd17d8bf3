import { CacheModule } from '@nestjs/cache-manager';
import { DynamicModule, Global, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { CqrsModule } from '@nestjs/cqrs';
import { ScopesGuard } from './auth/scopes.guard';
import { createKeyv } from 'cacheable';
import { DashboardModule } from './dashboard/dashboard.module';
import { LoggerModule } from 'nestjs-pino';
import type { Logger } from 'pino';
import { AppConfig } from './config';
import { HealthModule } from './health/health.module';
import { MessagingModule } from './messaging/messaging.module';
import { MetricsModule } from './metrics/metrics.module';
import { ClassEventIds } from './payments/event-ids';
import { PaymentsModule } from './payments/payments.module';
import { PersistenceModule } from './persistence/persistence.module';
import { BusTracing } from './tracing/bus-tracing';

@Global()
@Module({})
class ConfigModule {
  static register(config: AppConfig): DynamicModule {
    return { module: ConfigModule, providers: [{ provide: AppConfig, useValue: config }], exports: [AppConfig] };
  }
}

@Module({})
export class AppModule {
  static forRoot(config: AppConfig, logger: Logger): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.register(config),
        CqrsModule.forRoot({ eventIdProvider: new ClassEventIds() }),
        // Nest's logs through the app's pino logger. No per-request middleware: the request
        // line is written by a Fastify hook (app.setup.ts), which costs far less per request than
        // pino-http behind Nest's middleware bridge and AsyncLocalStorage.
        LoggerModule.forRoot({ pinoHttp: { logger }, forRoutes: [] }),
        CacheModule.register({
          isGlobal: true,
          // Bounded in entries (LRU); values are returned by reference, never cloned: cached
          // answers hold frozen payments and are never mutated.
          stores: [
            createKeyv({
              ttl: config.cacheTtlSeconds * 1000,
              lruSize: config.cacheMaxEntries,
              useClone: false,
              checkInterval: 0,
            }),
          ],
        }),
        MetricsModule,
        // PostgreSQL is the primary repository with DATABASE_URL; else memory (the store itself)
        PaymentsModule.forRoot({ primary: config.databaseUrl === undefined ? undefined : PersistenceModule.forRoot(config) }),
        MessagingModule.forRoot(config),
        HealthModule,
        DashboardModule,
      ],
      // Scopes and tenancy need a verified token: in open mode (no AUTH_JWT_SECRET) every route
      // is public, and no guard runs on every request for nothing.
      providers: [BusTracing, ...(config.authJwtSecret === undefined ? [] : [{ provide: APP_GUARD, useClass: ScopesGuard }])],
    };
  }
}
