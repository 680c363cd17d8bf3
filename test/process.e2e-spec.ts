import { ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';

const ROOT = join(__dirname, '..');

/** Runs src/main.ts as a real process, the way `npm start` runs dist/main.js (see start:prod). */
function startMain(env: Record<string, string>): { child: ChildProcess; output: () => string } {
  let output = '';
  const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', 'src/main.ts'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (b) => (output += b));
  child.stderr?.on('data', (b) => (output += b));
  return { child, output: () => output };
}

async function waitForHealth(url: string, timeoutMs = 30_000, path = '/health/live'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(`${url}${path}`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} never became live`);
}

describe('the service process', () => {
  jest.setTimeout(60_000);

  it('refuses to start on a bad setting and names the variable', async () => {
    const { child, output } = startMain({ PORT: 'eighty', CACHE_TTL_SECONDS: '-1' });
    const [code] = await once(child, 'exit');
    expect(code).toBe(1);
    expect(output()).toContain('PORT must be a whole number');
    expect(output()).toContain('CACHE_TTL_SECONDS');
  });

  it('refuses to start with a DATABASE_URL that is not a PostgreSQL URL', async () => {
    const { child, output } = startMain({ PORT: '0', DATABASE_URL: 'mysql://localhost/test' });
    const [code] = await once(child, 'exit');
    expect(code).toBe(1);
    expect(output()).toContain('DATABASE_URL must be a postgres:// or postgresql:// URL');
  });

  it('with an unreachable DATABASE_URL, starts live but not ready, answers 503 on /payments, and still exits 0 on SIGTERM', async () => {
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    const url = `http://127.0.0.1:${port}`;
    // port 1 on loopback: connection refused at once, so the service keeps retrying
    const { child } = startMain({ PORT: String(port), DATABASE_URL: 'postgres://postgres@127.0.0.1:1/none' });
    try {
      await waitForHealth(url, 30_000, '/health/live');
      const ready = await fetch(`${url}/health/ready`);
      expect(ready.status).toBe(503);
      const body = (await ready.json()) as { error: Record<string, { status: string }> };
      expect(body.error.store.status).toBe('down');
      expect(body.error.primary.status).toBe('down');
      const read = await fetch(`${url}/payments/search`);
      expect(read.status).toBe(503);
      expect(read.headers.get('content-type')).toContain('application/problem+json');
      expect(read.headers.get('retry-after')).toBe('1');
      expect(((await read.json()) as { type: string }).type).toBe('/problems/store-loading');
      child.kill('SIGTERM');
      const [code] = await once(child, 'exit');
      expect(code).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });

  it('serves, logs pino JSON with a request id, and exits 0 on SIGTERM after finishing in-flight requests', async () => {
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    const url = `http://127.0.0.1:${port}`;
    const { child, output } = startMain({ PORT: String(port) });
    try {
      await waitForHealth(url);
      const created = await fetch(`${url}/payments`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-request-id': 'req-process-test' },
        body: JSON.stringify({ organizationId: 'org-p', userId: 'u', amount: 100, currency: 'EUR' }),
      });
      expect(created.status).toBe(201);
      expect(created.headers.get('x-request-id')).toBe('req-process-test');

      // a burst of requests in flight when the signal arrives: each is answered, or refused
      // cleanly (connection refused, or 503 from Fastify for a request that arrives while closing)
      const inFlight = Array.from({ length: 50 }, () => fetch(`${url}/payments/stats`).then((r) => r.status));
      child.kill('SIGTERM');
      const statuses = await Promise.all(inFlight.map((p) => p.catch(() => 'refused')));
      const [code] = await once(child, 'exit');
      expect(code).toBe(0);
      expect(statuses.filter((s) => s === 200).length).toBeGreaterThan(0);
      expect(statuses.filter((s) => s !== 200 && s !== 503 && s !== 'refused')).toEqual([]);

      const lines = output()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l));
      const requestLog = lines.find((l) => l.req?.id === 'req-process-test');
      expect(requestLog).toMatchObject({ level: 30, res: { statusCode: 201 } });
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
