import { randomBytes } from 'node:crypto';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createApp } from '../src/app.setup';
import { AppConfig } from '../src/config';
import { PostgresPrimaryRepository } from '../src/persistence/postgres-primary.repository';
import { PrimaryRepository } from '../src/payments/primary.repository';
import { maintenance, runDatabaseUrl } from './postgres-run';

export interface TestApp {
  app: NestFastifyApplication;
  /** Base URL of the app listening on a random local port (real HTTP, as in production). */
  url: string;
  /** PostgreSQL mode: the app's own database (dropped by close() when the app created it). */
  databaseUrl?: string;
  close(): Promise<void>;
}

/**
 * 'postgres' when the suite runs in PostgreSQL mode (the e2e-pg jest project sets it): then
 * every app gets a database of its own, unless the test passes one.
 */
export const TEST_MODE = process.env.PAYMENTS_TEST_MODE === 'postgres' ? 'postgres' : 'memory';

export interface TestDatabase {
  /** A DATABASE_URL for the app: the run's database, with this schema first on the search path. */
  url: string;
  drop(): Promise<void>;
}

/**
 * An empty schema in this run's test database (made by the jest globalSetup), as a
 * DATABASE_URL whose connections use it: each app starts from nothing, and dropping a schema
 * is cheap where dropping a database forces a checkpoint.
 */
export async function createTestDatabase(): Promise<TestDatabase> {
  const database = process.env.TEST_PG_RUN_DATABASE;
  if (!database) throw new Error('TEST_PG_RUN_DATABASE is not set: run PostgreSQL tests through a jest project with postgres-setup');
  const runUrl = runDatabaseUrl(database);
  const schema = `app_${process.pid}_${randomBytes(4).toString('hex')}`;
  await maintenance(runUrl, `CREATE SCHEMA ${schema}`);
  const url = new URL(runUrl);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return { url: url.toString(), drop: () => maintenance(runUrl, `DROP SCHEMA IF EXISTS ${schema} CASCADE`) };
}

/**
 * Boots the same application main.ts boots, on a random port, silent unless LOG_LEVEL is set,
 * without the event-loop-delay overload check unless `overrides` set one.
 * In PostgreSQL mode it waits until the store has loaded (as a load balancer waits for ready).
 */
export async function startTestApp(overrides: Partial<AppConfig> = {}): Promise<TestApp> {
  let database: TestDatabase | undefined;
  if (TEST_MODE === 'postgres' && !('databaseUrl' in overrides)) database = await createTestDatabase();
  const config = new AppConfig({
    logLevel: process.env.LOG_LEVEL ?? 'silent',
    // Overload shedding by event-loop delay is off unless a test turns it on: on a loaded CI
    // machine (or after a test that computes synchronously) the delay says how busy the machine
    // is, not what the service does, and would turn any answer into a 503.
    maxEventLoopDelayMs: 0,
    ...(database ? { databaseUrl: database.url } : {}),
    ...overrides,
  });
  const app = await createApp(config);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const primary = app.get(PrimaryRepository);
  if (primary instanceof PostgresPrimaryRepository) await primary.whenLoaded();
  const address = app.getHttpServer().address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    app,
    url: `http://127.0.0.1:${port}`,
    databaseUrl: config.databaseUrl,
    close: async () => {
      await app.close();
      await database?.drop();
    },
  };
}
