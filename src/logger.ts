import pino, { Logger } from 'pino';
import { AppConfig } from './config';

/**
 * The one pino logger of an app: Nest's own logs go through it (nestjs-pino), and the request
 * hook in app.setup.ts writes one line per request with it. JSON on stdout.
 */
export function createRootLogger(config: AppConfig): Logger {
  return pino({
    level: config.logLevel,
    redact: ['req.headers.authorization', 'req.headers.cookie'],
  });
}
