import { randomUUID } from 'node:crypto';
import { CacheModule } from '@nestjs/cache-manager';
import { DynamicModule, Global, Module } from '@nestjs/common';
import { CqrsModule } from '@nestjs/cqrs';
import { createKeyv } from 'cacheable';
import { LoggerModule } from 'nestjs-pino';
import { AppConfig } from './config';
import { HealthModule } from './health/health.module';
import { MetricsModule } from './metrics/metrics.module';
import { PaymentsModule } from './payments/payments.module';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

@Global()
@Module({})
class ConfigModule {
  static register(config: AppConfig): DynamicModule {
    return { module: ConfigModule, providers: [{ provide: AppConfig, useValue: config }], exports: [AppConfig] };
  }
}

@Module({})
export class AppModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.register(config),
        CqrsModule.forRoot(),
        LoggerModule.forRoot({
          pinoHttp: {
            level: config.logLevel,
            // One id per request, taken from X-Request-Id when the caller sends a sane one,
            // echoed back, and on every log line of the request.
            genReqId: (req, res) => {
              const given = req.headers['x-request-id'];
              const id = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
              res.setHeader('x-request-id', id);
              return id;
            },
            redact: ['req.headers.authorization', 'req.headers.cookie'],
            customLogLevel: (_req, res, err) => (err || res.statusCode >= 500 ? 'error' : 'info'),
          },
        }),
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
        PaymentsModule,
        HealthModule,
      ],
    };
  }
}
