/**
 * The one configuration object. Nothing else reads process.env: the environment is read and
 * checked once at boot, and a bad value stops the start with a message naming the variable.
 */
export class AppConfig {
  nodeEnv = 'development';
  port = 3000;
  host = '0.0.0.0';
  logLevel = 'info';
  cacheTtlSeconds = 300;
  cacheMaxEntries = 10_000;
  bulkMaxItems = 1000;
  bodyLimitBytes = 1_048_576;
  maxPayments = 20_000_000;
  /** Estimated bytes of payments the store may hold (see capacity.ts); 0 = derived from the heap limit. */
  maxStoreBytes = 0;
  /** One organization's share: payments and estimated bytes; 0 = half of maxPayments / of the store's byte budget. */
  orgMaxPayments = 0;
  orgMaxStoreBytes = 0;
  corsOrigins: string[] = [];
  /** HS256 secret; unset = open mode (development only). */
  authJwtSecret?: string = undefined;
  /** Tolerance on exp/nbf, for clocks that disagree a little. */
  authClockSkewSeconds = 30;
  /** Longest a token may live (exp - iat, or exp - now without iat); a token without exp is refused. */
  authMaxTokenLifetimeSeconds = 86_400;
  /** Requests per caller per minute on /payments and /admin; 0 = off. */
  rateLimitPerMinute = 0;
  /** With auth on, /metrics needs a token with the admin scope. */
  metricsRequireAdmin = false;
  /** Overload shedding (503 + Retry-After) past these; 0 = that check is off. */
  maxEventLoopDelayMs = 1000;
  maxHeapUsedBytes = 0;
  /** Live stats streams (SSE) open at once per caller (token subject, else client address), and in all. */
  statsStreamsPerCaller = 10;
  statsStreamsMax = 1000;
  maxUrlLength = 4096;
  maxJsonDepth = 32;
  /** Node's own NODE_OPTIONS, as node read them (the heap's young generation depends on them; see capacity.ts). */
  nodeOptions = '';
  /** PostgreSQL primary repository; unset = memory is the primary (embedded mode). */
  databaseUrl?: string = undefined;
  /** Connections per instance to PostgreSQL (writes, catch-up reads, health). */
  databasePoolSize = 10;
  /** Writes grouped into one transaction at most (1 = one transaction per write). */
  groupCommitMaxBatch = 100;
  /** Safety-net poll of the change feed, besides LISTEN/NOTIFY wake-ups. */
  syncPollMs = 1000;
  /** A database round trip longer than this fails (the write gets a 503). */
  databaseTimeoutMs = 5000;
  /** RabbitMQ (AMQP 0-9-1); unset = messaging off (see src/messaging and README "Messaging"). */
  brokerUrl?: string = undefined;
  /** First part of every exchange and queue name: <prefix>.commands, <prefix>.events, ... */
  brokerPrefix = 'payments';
  /** The CloudEvents `source` of what this service publishes. */
  brokerSource = '/payments-service';
  /** Inbound messages in flight at once (unacknowledged); bounds memory and the share of the event loop. */
  brokerPrefetch = 100;
  /** Longest wait between two attempts of a message whose outcome was transient (database down, overloaded). */
  brokerRetryMaxMs = 5000;
  /** A message redelivered more often than this (it crashed consumers) is dead-lettered by the broker. */
  brokerDeliveryLimit = 20;
  /** Outbox rows published per round (PostgreSQL mode), and events held unpublished in memory mode at most. */
  outboxBatch = 500;
  outboxMemoryMax = 100_000;

  constructor(overrides: Partial<AppConfig> = {}) {
    Object.assign(this, overrides);
  }
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

/** HS256 needs a key at least as long as its output: 256 bits. */
export const MIN_SECRET_BYTES = 32;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export function loadConfig(env: Record<string, string | undefined> = process.env): AppConfig {
  const problems: string[] = [];
  const defaults = new AppConfig();

  const int = (name: string, fallback: number, min: number, max: number): number => {
    const raw = env[name];
    if (raw === undefined || raw.trim() === '') return fallback;
    if (!/^\d+$/.test(raw.trim())) {
      problems.push(`${name} must be a whole number, got '${raw}'`);
      return fallback;
    }
    const n = Number(raw.trim());
    if (n < min || n > max) problems.push(`${name} must be between ${min} and ${max}, got ${n}`);
    return n;
  };
  const str = (name: string, fallback: string): string => {
    const raw = env[name];
    return raw === undefined || raw.trim() === '' ? fallback : raw.trim();
  };

  const logLevel = str('LOG_LEVEL', defaults.logLevel);
  if (!LOG_LEVELS.includes(logLevel)) problems.push(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got '${logLevel}'`);

  const corsOrigins = str('CORS_ORIGINS', '')
    .split(',')
    .map((o) => o.trim())
    .filter((o) => o !== '');
  for (const origin of corsOrigins) {
    if (origin !== '*' && !/^https?:\/\/[^/\s]+$/.test(origin)) {
      problems.push(`CORS_ORIGINS entries must be origins like https://app.example.com, got '${origin}'`);
    }
  }

  const databaseUrl = env.DATABASE_URL === undefined || env.DATABASE_URL.trim() === '' ? undefined : env.DATABASE_URL.trim();
  if (databaseUrl !== undefined && !/^postgres(ql)?:\/\/\S+$/.test(databaseUrl)) {
    problems.push('DATABASE_URL must be a postgres:// or postgresql:// URL');
  }
  const brokerUrl = env.BROKER_URL === undefined || env.BROKER_URL.trim() === '' ? undefined : env.BROKER_URL.trim();
  if (brokerUrl !== undefined && !/^amqps?:\/\/\S+$/.test(brokerUrl)) problems.push('BROKER_URL must be an amqp:// or amqps:// URL');
  const brokerPrefix = str('BROKER_PREFIX', defaults.brokerPrefix);
  if (!/^[A-Za-z0-9_.-]{1,100}$/.test(brokerPrefix)) problems.push(`BROKER_PREFIX may only hold letters, digits and _ . - (at most 100), got '${brokerPrefix}'`);
  const nodeEnv = str('NODE_ENV', defaults.nodeEnv);
  const secret = env.AUTH_JWT_SECRET === undefined || env.AUTH_JWT_SECRET === '' ? undefined : env.AUTH_JWT_SECRET;
  if (secret === undefined && nodeEnv === 'production') {
    problems.push('AUTH_JWT_SECRET is required when NODE_ENV=production (the service will not run open in production)');
  }
  if (secret !== undefined && Buffer.byteLength(secret, 'utf8') < MIN_SECRET_BYTES) {
    problems.push(`AUTH_JWT_SECRET must be at least ${MIN_SECRET_BYTES} bytes long (HS256), got ${Buffer.byteLength(secret, 'utf8')}`);
  }
  const bool = (name: string, fallback: boolean): boolean => {
    const raw = str(name, String(fallback)).toLowerCase();
    if (raw !== 'true' && raw !== 'false') problems.push(`${name} must be true or false, got '${env[name]}'`);
    return raw === 'true';
  };

  const config = new AppConfig({
    nodeEnv,
    nodeOptions: env.NODE_OPTIONS ?? '',
    authJwtSecret: secret,
    authClockSkewSeconds: int('AUTH_CLOCK_SKEW_SECONDS', defaults.authClockSkewSeconds, 0, 600),
    authMaxTokenLifetimeSeconds: int('AUTH_MAX_TOKEN_LIFETIME_SECONDS', defaults.authMaxTokenLifetimeSeconds, 60, 30 * 86_400),
    rateLimitPerMinute: int('RATE_LIMIT_PER_MINUTE', defaults.rateLimitPerMinute, 0, 1_000_000_000),
    metricsRequireAdmin: bool('METRICS_REQUIRE_ADMIN', defaults.metricsRequireAdmin),
    maxEventLoopDelayMs: int('MAX_EVENT_LOOP_DELAY_MS', defaults.maxEventLoopDelayMs, 0, 60_000),
    maxHeapUsedBytes: int('MAX_HEAP_USED_BYTES', defaults.maxHeapUsedBytes, 0, Number.MAX_SAFE_INTEGER),
    statsStreamsPerCaller: int('STATS_STREAMS_PER_CALLER', defaults.statsStreamsPerCaller, 1, 100_000),
    statsStreamsMax: int('STATS_STREAMS_MAX', defaults.statsStreamsMax, 1, 1_000_000),
    port: int('PORT', defaults.port, 0, 65_535),
    host: str('HOST', defaults.host),
    logLevel,
    cacheTtlSeconds: int('CACHE_TTL_SECONDS', defaults.cacheTtlSeconds, 0, 86_400 * 30),
    cacheMaxEntries: int('CACHE_MAX_ENTRIES', defaults.cacheMaxEntries, 0, 10_000_000),
    bulkMaxItems: int('BULK_MAX_ITEMS', defaults.bulkMaxItems, 1, 100_000),
    bodyLimitBytes: int('BODY_LIMIT_BYTES', defaults.bodyLimitBytes, 1024, 1024 * 1024 * 1024),
    maxPayments: int('MAX_PAYMENTS', defaults.maxPayments, 1, 1_000_000_000),
    maxStoreBytes: int('MAX_STORE_BYTES', defaults.maxStoreBytes, 0, Number.MAX_SAFE_INTEGER),
    orgMaxPayments: int('ORG_MAX_PAYMENTS', defaults.orgMaxPayments, 0, 1_000_000_000),
    orgMaxStoreBytes: int('ORG_MAX_STORE_BYTES', defaults.orgMaxStoreBytes, 0, Number.MAX_SAFE_INTEGER),
    corsOrigins,
    databaseUrl,
    databasePoolSize: int('DATABASE_POOL_SIZE', defaults.databasePoolSize, 2, 100),
    groupCommitMaxBatch: int('GROUP_COMMIT_MAX_BATCH', defaults.groupCommitMaxBatch, 1, 1000),
    syncPollMs: int('SYNC_POLL_MS', defaults.syncPollMs, 50, 60_000),
    databaseTimeoutMs: int('DATABASE_TIMEOUT_MS', defaults.databaseTimeoutMs, 100, 120_000),
    brokerUrl,
    brokerPrefix,
    brokerSource: str('BROKER_SOURCE', defaults.brokerSource),
    brokerPrefetch: int('BROKER_PREFETCH', defaults.brokerPrefetch, 1, 10_000),
    brokerRetryMaxMs: int('BROKER_RETRY_MAX_MS', defaults.brokerRetryMaxMs, 100, 300_000),
    brokerDeliveryLimit: int('BROKER_DELIVERY_LIMIT', defaults.brokerDeliveryLimit, 1, 1000),
    outboxBatch: int('OUTBOX_BATCH', defaults.outboxBatch, 1, 10_000),
    outboxMemoryMax: int('OUTBOX_MEMORY_MAX', defaults.outboxMemoryMax, 1, 10_000_000),
  });
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}
