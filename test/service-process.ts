/**
 * Node processes of ours as children, for the tests, the crash check and the bench: one way to
 * spawn them (pinned to a core when asked), keep what they write, wait until they answer, and
 * end them (SIGTERM with a grace, or SIGKILL). What each caller waits for and measures stays
 * with the caller.
 */
import { ChildProcess, IOType, spawn } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import { join } from 'node:path';

const ROOT = join(__dirname, '..');

export interface NodeProcessOptions {
  /** node's arguments: flags, then the script and its arguments */
  nodeArgs: string[];
  /** the process's whole environment (it inherits nothing else) */
  env: NodeJS.ProcessEnv;
  /** pinned to this core (taskset -c), when given */
  core?: number;
  /**
   * keep: stdout and stderr kept for output(); stdout: stdout piped for the caller to read
   * (child.stdout), stderr to this process's; inherit: both to this process's
   */
  stdio?: 'keep' | 'stdout' | 'inherit';
  /** with stdio 'keep': only the last this many characters (default: all) */
  keepLast?: number;
  /** an IPC channel: child.send() and 'message' */
  ipc?: boolean;
}

/** Every process started here that has not exited: killStrayServices() ends them. */
const live = new Set<ChildProcess>();

/** A node process of ours, spawned in the project's root. */
export class NodeProcess {
  readonly child: ChildProcess;
  /** The exit code or signal, once it has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  #output = '';

  constructor(options: NodeProcessOptions) {
    const { nodeArgs, core, stdio = 'keep', keepLast = Infinity } = options;
    const [cmd, args] = core === undefined ? [process.execPath, nodeArgs] : ['taskset', ['-c', String(core), process.execPath, ...nodeArgs]];
    const streams: (IOType | 'ipc')[] = stdio === 'keep' ? ['ignore', 'pipe', 'pipe'] : stdio === 'stdout' ? ['ignore', 'pipe', 'inherit'] : ['ignore', 'inherit', 'inherit'];
    const child: ChildProcess = spawn(cmd, args, { cwd: ROOT, env: options.env, stdio: options.ipc ? [...streams, 'ipc'] : streams });
    this.child = child;
    if (stdio === 'keep') {
      const keep = (chunk: Buffer) => {
        this.#output += chunk.toString('utf8');
        if (this.#output.length > keepLast) this.#output = this.#output.slice(-keepLast);
      };
      child.stdout?.on('data', keep);
      child.stderr?.on('data', keep);
    }
    live.add(child);
    this.exited = once(child, 'exit').then(([code, signal]) => {
      live.delete(child);
      return { code: code as number | null, signal: signal as NodeJS.Signals | null };
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** What the process wrote to stdout and stderr so far (with stdio 'keep'). */
  output(): string {
    return this.#output;
  }

  /** kill -9: no handler runs, nothing is flushed. */
  kill9(): void {
    if (this.running && this.child.pid !== undefined) process.kill(this.child.pid, 'SIGKILL');
  }

  /** SIGTERM, then its exit; SIGKILL if that takes longer than `graceMs` (never, without it). */
  async stop(graceMs?: number): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGTERM');
    const timer = graceMs === undefined ? undefined : setTimeout(() => this.kill9(), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}

/** A service (src/main.ts, or a build of it) listening on `port` of 127.0.0.1. */
export class ServiceProcess extends NodeProcess {
  readonly url: string;

  constructor(
    readonly port: number,
    options: NodeProcessOptions,
  ) {
    super(options);
    this.url = `http://127.0.0.1:${port}`;
  }
}

/** Kills (SIGKILL, by pid) every process started here that is still running. */
export function killStrayServices(): void {
  for (const child of live) {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
}

/** A port nothing listens on now (the system's choice, not a random guess that may be taken). */
export async function freePort(): Promise<number> {
  const server = net.createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  server.close();
  await once(server, 'close');
  return port;
}

/**
 * Runs src/main.ts as a real process (as process.e2e-spec.ts does, through ts-node), with
 * `nodeFlags` for node and `env` over a minimal environment. MAX_EVENT_LOOP_DELAY_MS=0 unless
 * `env` says otherwise: on a loaded machine the event-loop delay says how busy the machine is.
 */
export async function startService(nodeFlags: string[], env: Record<string, string>, keepLast?: number): Promise<ServiceProcess> {
  const port = await freePort();
  return new ServiceProcess(port, {
    nodeArgs: [...nodeFlags, '-r', 'ts-node/register/transpile-only', 'src/main.ts'],
    env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: String(port), LOG_LEVEL: 'warn', MAX_EVENT_LOOP_DELAY_MS: '0', ...env },
    keepLast,
  });
}

/** The status of GET `url`; 0 without an answer (not listening yet, reset, or none within `timeoutMs`). */
export function statusOf(url: string, timeoutMs = 2000): Promise<number> {
  return new Promise((resolve) => {
    // a connection of its own, closed after: nothing of ours lingers on the service
    const req = http.get(url, { agent: false, timeout: timeoutMs }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      // cut off before its end: no answer (a later resolve is a no-op)
      res.on('close', () => resolve(0));
    });
    req.on('error', () => resolve(0));
    req.on('timeout', () => req.destroy(new Error('timeout')));
  });
}

/**
 * Resolves once `path` answers 200. Between attempts it waits `intervalMs` (the process is still
 * compiling and booting); it stops at once if the process exits. No deadline but the caller's,
 * unless `timeoutMs` is given: then a service not ready by then is killed (SIGKILL).
 */
export async function waitUntil(service: ServiceProcess, path: string, o: { intervalMs?: number; timeoutMs?: number } = {}): Promise<void> {
  const { intervalMs = 100, timeoutMs = Infinity } = o;
  const started = Date.now();
  for (;;) {
    if (!service.running) throw new Error(`the service exited before ${path} answered 200:\n${service.output()}`);
    if ((await statusOf(`${service.url}${path}`)) === 200) return;
    if (Date.now() - started > timeoutMs) {
      service.kill9();
      throw new Error(`${path} did not answer 200 within ${timeoutMs / 1000} s:\n${service.output()}`);
    }
    await Promise.race([new Promise((resolve) => setTimeout(resolve, intervalMs)), service.exited]);
  }
}
