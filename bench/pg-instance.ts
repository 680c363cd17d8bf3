/** A service instance of the PostgreSQL section (bench/pg-server.ts) as a child process, driven over IPC. */
import type { ChildProcess } from 'node:child_process';
import { NodeProcess } from '../test/service-process';
import { compiled, serviceNodeFlags } from './build';
import type { Ctx } from './pg-context';

export interface Ready {
  port?: number;
  startMs: number;
  loadMs: number;
  rows: number;
  size: number;
  heapMB: number;
  selfCpuPct: number;
  otherCpuPct: number | undefined;
  waitPct: number | undefined;
}

/** A service instance (bench/pg-server.ts) in its own process, with an IPC channel. */
export class Instance {
  static readonly live = new Set<Instance>();
  #next = 0;
  readonly #waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  private constructor(
    readonly ctx: Ctx,
    readonly name: string,
    readonly child: ChildProcess,
    readonly ready: Ready,
  ) {
    child.on('message', (m: { id?: number; result?: unknown; error?: string }) => {
      if (m.id === undefined) return;
      const w = this.#waiting.get(m.id);
      this.#waiting.delete(m.id);
      if (m.error !== undefined) w?.reject(new Error(`${name}: ${m.error}`));
      else w?.resolve(m.result);
    });
    child.once('exit', (code) => {
      Instance.live.delete(this);
      for (const w of this.#waiting.values()) w.reject(new Error(`${name} exited (code ${code})`));
      this.#waiting.clear();
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  get url(): string {
    return `http://127.0.0.1:${this.ready.port}`;
  }

  static start(ctx: Ctx, name: string, env: Record<string, string>, core: number | undefined): Promise<Instance> {
    const nodeArgs = [...serviceNodeFlags(), '--expose-gc', '--max-old-space-size=8192', compiled('bench/pg-server.ts')];
    const { child } = new NodeProcess({ nodeArgs, env: { ...process.env, ...env }, core, stdio: 'inherit', ipc: true });
    return new Promise((resolvePromise, reject) => {
      const onExit = (code: number | null) => reject(new Error(`${name} exited with code ${code} before it was loaded`));
      child.once('exit', onExit);
      child.on('message', function first(m: { type?: string } & Ready) {
        if (m.type !== 'ready') return;
        child.off('message', first);
        child.off('exit', onExit);
        const instance = new Instance(ctx, name, child, m);
        Instance.live.add(instance);
        resolvePromise(instance);
      });
    });
  }

  request<T>(cmd: string, args: Record<string, unknown> = {}, timeoutMs = 600_000): Promise<T> {
    const id = this.#next++;
    return new Promise<T>((res, rej) => {
      const timer = setTimeout(() => {
        this.#waiting.delete(id);
        rej(new Error(`${this.name}: no answer to ${cmd} within ${timeoutMs / 1000} s`));
      }, timeoutMs);
      this.#waiting.set(id, {
        resolve: (v) => {
          clearTimeout(timer);
          res(v as T);
        },
        reject: (e) => {
          clearTimeout(timer);
          rej(e);
        },
      });
      this.child.send({ id, cmd, args });
    });
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((done) => this.child.once('exit', () => done()));
    await this.request('exit', {}, 15_000).catch(() => this.child.kill('SIGKILL'));
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  }
}
