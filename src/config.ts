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
  maxPayments = 5_000_000;
  corsOrigins: string[] = [];

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

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** Variables of the contract that later versions implement; set, they stop the start. */
const NOT_YET_SUPPORTED = ['DATABASE_URL', 'AUTH_JWT_SECRET'];

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

  for (const name of NOT_YET_SUPPORTED) {
    if (env[name]) problems.push(`${name} is not supported by this version of the service; unset it`);
  }
  const rateLimit = int('RATE_LIMIT_PER_MINUTE', 0, 0, 1_000_000_000);
  if (rateLimit !== 0) problems.push('RATE_LIMIT_PER_MINUTE is not supported by this version of the service; set it to 0');

  const config = new AppConfig({
    nodeEnv: str('NODE_ENV', defaults.nodeEnv),
    port: int('PORT', defaults.port, 0, 65_535),
    host: str('HOST', defaults.host),
    logLevel,
    cacheTtlSeconds: int('CACHE_TTL_SECONDS', defaults.cacheTtlSeconds, 0, 86_400 * 30),
    cacheMaxEntries: int('CACHE_MAX_ENTRIES', defaults.cacheMaxEntries, 0, 10_000_000),
    bulkMaxItems: int('BULK_MAX_ITEMS', defaults.bulkMaxItems, 1, 100_000),
    bodyLimitBytes: int('BODY_LIMIT_BYTES', defaults.bodyLimitBytes, 1024, 1024 * 1024 * 1024),
    maxPayments: int('MAX_PAYMENTS', defaults.maxPayments, 1, 1_000_000_000),
    corsOrigins,
  });
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}
