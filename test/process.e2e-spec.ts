import { ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';
import { join } from 'node:path';
import { freePort } from './service-process';

const ROOT = join(__dirname, '..');

/** Runs src/main.ts as a real process, the way `npm start` runs dist/main.js (see start:prod). */
function startMain(env: Record<string, string>): { child: ChildProcess; output: () => string } {
  let output = '';
  const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', 'src/main.ts'], {
    cwd: ROOT,
    // MAX_EVENT_LOOP_DELAY_MS=0: no overload shedding unless a test asks for it; on a loaded
    // machine the event-loop delay (ts-node compiling at boot) says how busy the machine is
    env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', LOG_LEVEL: 'info', MAX_EVENT_LOOP_DELAY_MS: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (b) => (output += b));
  child.stderr?.on('data', (b) => (output += b));
  return { child, output: () => output };
}

/** Resolves once `text` is in the output (the process is slow to start on a loaded machine: no deadline but jest's). */
async function waitForOutput(output: () => string, child: ChildProcess, text: string): Promise<void> {
  while (!output().includes(text)) {
    if (child.exitCode !== null) throw new Error(`the process exited before writing ${JSON.stringify(text)}:\n${output()}`);
    await Promise.race([once(child.stdout!, 'data'), once(child, 'exit')]);
  }
}

/**
 * A POST /payments whose body is held back until `sendBody()`: `accepted` resolves when the
 * service has taken the request (its 100 Continue, written as the request is dispatched), so
 * the request is provably in flight there; `answer` resolves with the status code.
 */
function heldCreate(url: string, body: unknown): { accepted: Promise<void>; sendBody: () => void; answer: Promise<number> } {
  const payload = JSON.stringify(body);
  const req = http.request(`${url}/payments`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload), expect: '100-continue' },
  });
  const accepted = once(req, 'continue').then(() => undefined);
  const answer = once(req, 'response').then(([res]: http.IncomingMessage[]) => {
    res.resume();
    return res.statusCode ?? 0;
  });
  req.flushHeaders();
  return { accepted, sendBody: () => req.end(payload), answer };
}

async function waitForHealth(url: string, timeoutMs = 60_000, path = '/health/live'): Promise<void> {
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
  // each test boots src/main.ts through ts-node: seconds on a loaded machine
  jest.setTimeout(120_000);

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
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    // port 1 on loopback: connection refused at once, so the service keeps retrying
    const { child } = startMain({ PORT: String(port), DATABASE_URL: 'postgres://postgres@127.0.0.1:1/none' });
    try {
      await waitForHealth(url, 60_000, '/health/live');
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
    const port = await freePort();
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

      // a request the service has taken when the signal arrives, whose body comes only once
      // the service is draining: it is answered in full
      const held = heldCreate(url, { organizationId: 'org-p', userId: 'u', amount: 200, currency: 'EUR' });
      await held.accepted;
      // and a burst racing the signal: each is answered, or refused cleanly (connection
      // refused, or 503 from Fastify for a request that arrives while closing)
      const burst = Array.from({ length: 50 }, () => fetch(`${url}/payments/stats`).then((r) => r.status, () => 'refused'));
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await waitForOutput(output, child, 'SIGTERM received: draining');
      held.sendBody();
      expect(await held.answer).toBe(201);
      const statuses = await Promise.all(burst);
      const [code] = await exited;
      expect(code).toBe(0);
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
