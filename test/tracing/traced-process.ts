import { ChildProcess, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { join } from 'node:path';
import type { Reply, SpanRecord } from './traced-service';

/**
 * The test's side of test/tracing/traced-service.ts: the service in a child process with the
 * real instrumentations and an in-memory exporter (tracing.e2e-spec, tracing-messaging.e2e-spec).
 */

const ROOT = join(__dirname, '..', '..');

export interface TracedService {
  url: string;
  /** Every span finished so far. */
  spans(): Promise<SpanRecord[]>;
  /** The JSON lines the service wrote to stdout. */
  logLines(): Record<string, unknown>[];
  stop(): Promise<void>;
}

export async function startTracedService(env: Record<string, string>): Promise<TracedService> {
  let stdout = '';
  const child: ChildProcess = fork(join(ROOT, 'test/tracing/traced-service.ts'), [], {
    cwd: ROOT,
    execArgv: ['-r', 'ts-node/register/transpile-only'],
    // no OTEL_* from the machine: tracing is on by the launcher's in-memory exporter alone
    env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'info', MAX_EVENT_LOOP_DELAY_MS: '0', ...env },
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  });
  child.stdout!.on('data', (b) => (stdout += b));
  const exited = once(child, 'exit');
  const reply = async (): Promise<Reply> => {
    const [message] = (await Promise.race([once(child, 'message'), exited.then(() => [undefined])])) as [Reply | undefined];
    if (message === undefined) throw new Error(`the traced service exited:\n${stdout}`);
    return message;
  };
  const ready = await reply();
  if (!('ready' in ready)) throw new Error('the traced service did not start');
  return {
    url: ready.ready,
    spans: async () => {
      child.send('spans');
      const answer = await reply();
      if (!('spans' in answer)) throw new Error('the traced service did not send its spans');
      return answer.spans;
    },
    logLines: () =>
      stdout
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as Record<string, unknown>),
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.send('stop');
      await exited;
    },
  };
}

/** `span`, then its parent, and so on up to the first span whose parent is not among `spans`. */
export function ancestry(spans: SpanRecord[], span: SpanRecord): SpanRecord[] {
  const byId = new Map(spans.map((s) => [s.spanId, s]));
  const chain = [span];
  for (let parent = byId.get(span.parentSpanId ?? ''); parent !== undefined; parent = byId.get(parent.parentSpanId ?? '')) chain.push(parent);
  return chain;
}

export function caller(): { traceId: string; spanId: string; traceparent: string } {
  const traceId = randomBytes(16).toString('hex');
  const spanId = randomBytes(8).toString('hex');
  return { traceId, spanId, traceparent: `00-${traceId}-${spanId}-01` };
}
