/** The crash check's service (test/crash-check/crash-check.ts): src/main.ts as a real process, killed with SIGKILL or stopped. */
import { ChildProcess, spawn } from 'node:child_process';
import net from 'node:net';
import { join } from 'node:path';
import { call } from './http-call';

const ROOT = join(__dirname, '..', '..');

const children = new Set<ChildProcess>();

/** Kills (SIGKILL, by pid) every service process this module started that is still running. */
export function killStrayServices(): void {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class ServiceProcess {
  #output = '';
  readonly exited: Promise<void>;

  private constructor(
    readonly child: ChildProcess,
    readonly port: number,
  ) {
    const keep = (chunk: Buffer) => {
      this.#output = (this.#output + chunk.toString('utf8')).slice(-20_000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
  }

  /** The last 20 kB the process wrote (shown when it fails). */
  get output(): string {
    return this.#output;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /**
   * Starts src/main.ts on a free port with DATABASE_URL and waits for /health/ready = 200
   * (`readyTimeoutMs` only guards against a service that never gets there).
   */
  static async start(databaseUrl: string, logLevel: string, readyTimeoutMs = 120_000): Promise<ServiceProcess> {
    const port = await freePort();
    const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', 'src/main.ts'], {
      cwd: ROOT,
      // MAX_EVENT_LOOP_DELAY_MS=0: shedding by event-loop delay measures how loaded the machine
      // is; a 503 from it is not what this check is about (it would report it as unexpected)
      env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: String(port), LOG_LEVEL: logLevel, DATABASE_URL: databaseUrl, MAX_EVENT_LOOP_DELAY_MS: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.add(child);
    child.once('exit', () => children.delete(child));
    const service = new ServiceProcess(child, port);
    const deadline = Date.now() + readyTimeoutMs;
    for (;;) {
      if (!service.running) throw new Error(`the service exited before it was ready:\n${service.output}`);
      const answer = await call(undefined, port, 'GET', '/health/ready', undefined, 2000);
      if (answer.status === 200) return service;
      if (Date.now() > deadline) {
        service.kill9();
        throw new Error(`the service was not ready within ${readyTimeoutMs} ms:\n${service.output}`);
      }
      await sleep(50);
    }
  }

  /** kill -9: no handler runs, nothing is flushed. */
  kill9(): void {
    if (this.running && this.child.pid !== undefined) process.kill(this.child.pid, 'SIGKILL');
  }

  /** SIGTERM (drain and exit 0), SIGKILL if it takes longer than `graceMs`. */
  async stop(graceMs = 10_000): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.kill9(), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}
