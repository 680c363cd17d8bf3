import { AppConfig, ConfigError, loadConfig } from './config';

function problemsOf(env: Record<string, string | undefined>): string[] {
  try {
    loadConfig(env);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).problems;
  }
  throw new Error('loadConfig accepted the environment');
}

describe('loadConfig', () => {
  it('uses the documented defaults for an empty environment', () => {
    const config = loadConfig({});
    expect(config).toBeInstanceOf(AppConfig);
    expect({ ...config }).toEqual({
      nodeEnv: 'development',
      nodeOptions: '',
      port: 3000,
      host: '0.0.0.0',
      logLevel: 'info',
      cacheTtlSeconds: 300,
      cacheMaxEntries: 10_000,
      bulkMaxItems: 1000,
      bodyLimitBytes: 1_048_576,
      maxPayments: 20_000_000,
      maxStoreBytes: 0,
      orgMaxPayments: 0,
      orgMaxStoreBytes: 0,
      corsOrigins: [],
      authJwtSecret: undefined,
      authClockSkewSeconds: 30,
      authMaxTokenLifetimeSeconds: 86_400,
      rateLimitPerMinute: 0,
      metricsRequireAdmin: false,
      maxEventLoopDelayMs: 1000,
      maxHeapUsedBytes: 0,
      statsStreamsPerCaller: 10,
      statsStreamsMax: 1000,
      maxUrlLength: 4096,
      maxJsonDepth: 32,
      databaseUrl: undefined,
      databasePoolSize: 10,
      groupCommitMaxBatch: 100,
      syncPollMs: 1000,
      databaseTimeoutMs: 5000,
      brokerUrl: undefined,
      brokerPrefix: 'payments',
      brokerSource: '/payments-service',
      brokerPrefetch: 100,
      brokerRetryMaxMs: 5000,
      brokerDeliveryLimit: 20,
      outboxBatch: 500,
      outboxMemoryMax: 100_000,
    });
  });

  it('treats empty and blank variables as unset', () => {
    expect({ ...loadConfig({ PORT: '', HOST: '  ', LOG_LEVEL: '', CORS_ORIGINS: ' ' }) }).toEqual({ ...loadConfig({}) });
  });

  it('reads every variable it knows, trimming spaces', () => {
    const config = loadConfig({
      NODE_ENV: 'test',
      NODE_OPTIONS: '--max-semi-space-size=32',
      PORT: ' 8080 ',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'debug',
      CACHE_TTL_SECONDS: '0',
      CACHE_MAX_ENTRIES: '50',
      BULK_MAX_ITEMS: '10',
      BODY_LIMIT_BYTES: '2048',
      MAX_PAYMENTS: '100',
      MAX_STORE_BYTES: '100000000',
      ORG_MAX_PAYMENTS: '40',
      ORG_MAX_STORE_BYTES: '30000000',
      CORS_ORIGINS: 'https://app.example.com, http://localhost:4200 ,*',
      RATE_LIMIT_PER_MINUTE: '120',
      AUTH_JWT_SECRET: 'a-secret-of-at-least-thirty-two-bytes!',
      AUTH_CLOCK_SKEW_SECONDS: '5',
      AUTH_MAX_TOKEN_LIFETIME_SECONDS: '3600',
      METRICS_REQUIRE_ADMIN: 'true',
      MAX_EVENT_LOOP_DELAY_MS: '250',
      MAX_HEAP_USED_BYTES: '1000000000',
      STATS_STREAMS_PER_CALLER: '3',
      STATS_STREAMS_MAX: '50',
      DATABASE_URL: 'postgresql://app:pw@db:5432/payments',
      DATABASE_POOL_SIZE: '4',
      GROUP_COMMIT_MAX_BATCH: '50',
      SYNC_POLL_MS: '500',
      DATABASE_TIMEOUT_MS: '2000',
      BROKER_URL: 'amqps://u:p@mq.example.com/payments',
      BROKER_PREFIX: 'acme',
      BROKER_SOURCE: 'https://payments.example.com',
      BROKER_PREFETCH: '20',
      BROKER_RETRY_MAX_MS: '1000',
      BROKER_DELIVERY_LIMIT: '5',
      OUTBOX_BATCH: '100',
      OUTBOX_MEMORY_MAX: '1000',
    });
    expect({ ...config }).toEqual({
      nodeEnv: 'test',
      nodeOptions: '--max-semi-space-size=32',
      port: 8080,
      host: '127.0.0.1',
      logLevel: 'debug',
      cacheTtlSeconds: 0,
      cacheMaxEntries: 50,
      bulkMaxItems: 10,
      bodyLimitBytes: 2048,
      maxPayments: 100,
      maxStoreBytes: 100_000_000,
      orgMaxPayments: 40,
      orgMaxStoreBytes: 30_000_000,
      corsOrigins: ['https://app.example.com', 'http://localhost:4200', '*'],
      authJwtSecret: 'a-secret-of-at-least-thirty-two-bytes!',
      authClockSkewSeconds: 5,
      authMaxTokenLifetimeSeconds: 3600,
      rateLimitPerMinute: 120,
      metricsRequireAdmin: true,
      maxEventLoopDelayMs: 250,
      maxHeapUsedBytes: 1_000_000_000,
      statsStreamsPerCaller: 3,
      statsStreamsMax: 50,
      maxUrlLength: 4096,
      maxJsonDepth: 32,
      databaseUrl: 'postgresql://app:pw@db:5432/payments',
      databasePoolSize: 4,
      groupCommitMaxBatch: 50,
      syncPollMs: 500,
      databaseTimeoutMs: 2000,
      brokerUrl: 'amqps://u:p@mq.example.com/payments',
      brokerPrefix: 'acme',
      brokerSource: 'https://payments.example.com',
      brokerPrefetch: 20,
      brokerRetryMaxMs: 1000,
      brokerDeliveryLimit: 5,
      outboxBatch: 100,
      outboxMemoryMax: 1000,
    });
  });

  it('ignores variables it does not know', () => {
    expect({ ...loadConfig({ SOMETHING_ELSE: 'x', PATH: '/bin' }) }).toEqual({ ...loadConfig({}) });
  });

  it('accepts the bounds of each range', () => {
    expect(loadConfig({ PORT: '0' }).port).toBe(0);
    expect(loadConfig({ PORT: '65535' }).port).toBe(65_535);
    expect(loadConfig({ BULK_MAX_ITEMS: '1' }).bulkMaxItems).toBe(1);
    expect(loadConfig({ BODY_LIMIT_BYTES: '1024' }).bodyLimitBytes).toBe(1024);
    expect(loadConfig({ MAX_PAYMENTS: '1' }).maxPayments).toBe(1);
    expect(loadConfig({ MAX_STORE_BYTES: '0', ORG_MAX_PAYMENTS: '0', ORG_MAX_STORE_BYTES: '0' })).toMatchObject({ maxStoreBytes: 0, orgMaxPayments: 0, orgMaxStoreBytes: 0 });
    expect(loadConfig({ ORG_MAX_PAYMENTS: '1000000000' }).orgMaxPayments).toBe(1_000_000_000);
    expect(loadConfig({ STATS_STREAMS_PER_CALLER: '1', STATS_STREAMS_MAX: '1' })).toMatchObject({ statsStreamsPerCaller: 1, statsStreamsMax: 1 });
    expect(loadConfig({ STATS_STREAMS_PER_CALLER: '100000', STATS_STREAMS_MAX: '1000000' })).toMatchObject({
      statsStreamsPerCaller: 100_000,
      statsStreamsMax: 1_000_000,
    });
    expect(loadConfig({ AUTH_MAX_TOKEN_LIFETIME_SECONDS: '60' }).authMaxTokenLifetimeSeconds).toBe(60);
    expect(loadConfig({ AUTH_MAX_TOKEN_LIFETIME_SECONDS: '2592000' }).authMaxTokenLifetimeSeconds).toBe(2_592_000);
  });

  it.each([
    ['PORT', 'abc'],
    ['PORT', '-1'],
    ['PORT', '80.5'],
    ['PORT', '1e3'],
    ['PORT', '65536'],
    ['CACHE_TTL_SECONDS', 'five'],
    ['CACHE_TTL_SECONDS', '2592001'],
    ['CACHE_MAX_ENTRIES', '10000001'],
    ['BULK_MAX_ITEMS', '0'],
    ['BULK_MAX_ITEMS', '100001'],
    ['BODY_LIMIT_BYTES', '1023'],
    ['BODY_LIMIT_BYTES', '1 MiB'],
    ['MAX_PAYMENTS', '0'],
    ['MAX_PAYMENTS', '-5'],
    ['MAX_STORE_BYTES', '-1'],
    ['MAX_STORE_BYTES', '1GiB'],
    ['ORG_MAX_PAYMENTS', '1000000001'],
    ['ORG_MAX_STORE_BYTES', '1e9'],
    ['LOG_LEVEL', 'verbose'],
    ['LOG_LEVEL', 'INFO '],
    ['CORS_ORIGINS', 'app.example.com'],
    ['CORS_ORIGINS', 'https://app.example.com/path'],
    ['CORS_ORIGINS', 'https://ok.example.com,ftp://bad.example.com'],
    ['RATE_LIMIT_PER_MINUTE', 'lots'],
    ['METRICS_REQUIRE_ADMIN', 'yes'],
    ['AUTH_CLOCK_SKEW_SECONDS', '601'],
    ['STATS_STREAMS_PER_CALLER', '0'],
    ['STATS_STREAMS_PER_CALLER', 'ten'],
    ['STATS_STREAMS_MAX', '0'],
    ['STATS_STREAMS_MAX', '1000001'],
    ['AUTH_MAX_TOKEN_LIFETIME_SECONDS', '59'],
    ['AUTH_MAX_TOKEN_LIFETIME_SECONDS', '2592001'],
    ['AUTH_MAX_TOKEN_LIFETIME_SECONDS', '1e300'],
    ['DATABASE_URL', 'mysql://localhost/payments'],
    ['DATABASE_URL', 'localhost:5432'],
    ['GROUP_COMMIT_MAX_BATCH', '0'],
    ['DATABASE_POOL_SIZE', '1'],
    ['SYNC_POLL_MS', '10'],
    ['AUTH_JWT_SECRET', 'secret'],
    ['BROKER_URL', 'http://rabbitmq:5672'],
    ['BROKER_PREFIX', 'pay ments'],
    ['BROKER_PREFETCH', '0'],
    ['BROKER_RETRY_MAX_MS', '50'],
    ['BROKER_DELIVERY_LIMIT', '0'],
    ['OUTBOX_BATCH', '10001'],
    ['OUTBOX_MEMORY_MAX', '0'],
  ])('stops with a ConfigError naming %s when it is %j', (name, value) => {
    const problems = problemsOf({ [name]: value });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain(name);
  });

  it('turns messaging on with an amqp BROKER_URL, and reads its settings', () => {
    const config = loadConfig({ BROKER_URL: ' amqp://u:p@rabbitmq:5672/vh ', BROKER_PREFIX: 'acme.payments', BROKER_PREFETCH: '10', OUTBOX_BATCH: '50' });
    expect(config).toMatchObject({ brokerUrl: 'amqp://u:p@rabbitmq:5672/vh', brokerPrefix: 'acme.payments', brokerPrefetch: 10, outboxBatch: 50 });
    expect(loadConfig({}).brokerUrl).toBeUndefined();
    expect(loadConfig({}).brokerPrefix).toBe('payments');
  });

  it('takes a PostgreSQL DATABASE_URL and the durable-mode settings', () => {
    const config = loadConfig({ DATABASE_URL: ' postgres://app@db:5432/payments ', GROUP_COMMIT_MAX_BATCH: '1', SYNC_POLL_MS: '250' });
    expect(config.databaseUrl).toBe('postgres://app@db:5432/payments');
    expect(config.groupCommitMaxBatch).toBe(1);
    expect(config.syncPollMs).toBe(250);
    expect(loadConfig({}).databaseUrl).toBeUndefined();
  });

  it('refuses to run open in production, or with a secret shorter than 32 bytes', () => {
    expect(problemsOf({ NODE_ENV: 'production' })[0]).toContain('AUTH_JWT_SECRET is required when NODE_ENV=production');
    expect(problemsOf({ NODE_ENV: 'production', AUTH_JWT_SECRET: 'x'.repeat(31) })[0]).toContain('at least 32 bytes');
    expect(loadConfig({ NODE_ENV: 'production', AUTH_JWT_SECRET: 'x'.repeat(32) }).authJwtSecret).toBe('x'.repeat(32));
  });

  it('names every bad variable at once, in the error message too', () => {
    let thrown: unknown;
    try {
      loadConfig({ PORT: 'x', LOG_LEVEL: 'loud', MAX_PAYMENTS: '0' });
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    const err = thrown as ConfigError;
    expect(err.problems).toHaveLength(3);
    for (const name of ['PORT', 'LOG_LEVEL', 'MAX_PAYMENTS']) expect(err.message).toContain(name);
  });

  it('quotes the bad value so an operator can find it', () => {
    expect(problemsOf({ PORT: 'eighty' })[0]).toContain('eighty');
  });
});

describe('AppConfig', () => {
  it('takes overrides over its defaults', () => {
    const config = new AppConfig({ maxPayments: 3 });
    expect(config.maxPayments).toBe(3);
    expect(config.port).toBe(3000);
  });
});
