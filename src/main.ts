// First: the instrumentations patch http, fastify, pg, pino, amqplib and NestJS as they are required.
import { tracing } from './tracing/register';
import 'reflect-metadata';
import { createApp } from './app.setup';
import { ConfigError, loadConfig } from './config';
import { Logger as LoggerToken } from 'nestjs-pino';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`${e.message}\n`);
      process.exit(1);
    }
    throw e;
  }
  const app = await createApp(config);
  await app.listen({ port: config.port, host: config.host });

  // SIGTERM/SIGINT: stop accepting, let in-flight requests finish, exit 0.
  let closing = false;
  const shutdown = (signal: string) => {
    if (closing) return;
    closing = true;
    app.get(LoggerToken).log(`${signal} received: draining and shutting down`);
    // Spans last: those of the drain are flushed too.
    app
      .close()
      .then(() => tracing?.shutdown())
      .then(
        () => process.exit(0),
        (err) => {
          process.stderr.write(`shutdown failed: ${String(err)}\n`);
          process.exit(1);
        },
      );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

void main();
