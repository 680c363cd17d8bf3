import { ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import { join } from 'node:path';

const ROOT = join(__dirname, '..');

export interface ServiceProcess {
  child: ChildProcess;
  url: string;
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string;
  /** The exit code or signal, once it has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM, then its exit. */
  stop(): Promise<void>;
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
export async function startService(nodeFlags: string[], env: Record<string, string>): Promise<ServiceProcess> {
  const port = await freePort();
  let output = '';
  const child = spawn(process.execPath, [...nodeFlags, '-r', 'ts-node/register/transpile-only', 'src/main.ts'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: String(port), LOG_LEVEL: 'warn', MAX_EVENT_LOOP_DELAY_MS: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (b) => (output += b));
  child.stderr?.on('data', (b) => (output += b));
  const exited = once(child, 'exit').then(([code, signal]) => ({ code: code as number | null, signal: signal as NodeJS.Signals | null }));
  return {
    child,
    url: `http://127.0.0.1:${port}`,
    output: () => output,
    exited,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/**
 * Resolves once `path` answers 200. Between attempts it waits a moment (the process is still
 * compiling and booting: no deadline but jest's); it stops at once if the process exits.
 */
export async function waitUntil(service: ServiceProcess, path: string): Promise<void> {
  let exited = false;
  void service.exited.then(() => (exited = true));
  for (;;) {
    if (exited) throw new Error(`the service exited before ${path} answered 200:\n${service.output()}`);
    try {
      if ((await fetch(`${service.url}${path}`)).status === 200) return;
    } catch {
      // not listening yet
    }
    await Promise.race([new Promise((resolve) => setTimeout(resolve, 100)), service.exited]);
  }
}
