import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createApp } from '../src/app.setup';
import { AppConfig } from '../src/config';

export interface TestApp {
  app: NestFastifyApplication;
  /** Base URL of the app listening on a random local port (real HTTP, as in production). */
  url: string;
  close(): Promise<void>;
}

/** Boots the same application main.ts boots, on a random port, silent unless LOG_LEVEL is set. */
export async function startTestApp(overrides: Partial<AppConfig> = {}): Promise<TestApp> {
  const config = new AppConfig({ logLevel: process.env.LOG_LEVEL ?? 'silent', ...overrides });
  const app = await createApp(config);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.getHttpServer().address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return { app, url: `http://127.0.0.1:${port}`, close: () => app.close() };
}
