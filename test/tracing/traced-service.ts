import { exporter, processor, tracing } from './in-memory-tracing';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { createApp } from '../../src/app.setup';
import { loadConfig } from '../../src/config';
import { PrimaryRepository } from '../../src/payments/primary.repository';
import { PostgresPrimaryRepository } from '../../src/persistence/postgres-primary.repository';

/**
 * The service with tracing into memory, for tracing.e2e-spec.ts, run as a child process (fork,
 * through ts-node): instrumentations patch Node's require, which jest's module registry bypasses.
 * Configured by its environment (as main.ts is), it listens on 127.0.0.1, a port of the
 * system's choice, and talks over IPC: it says `{ ready: url }`, answers `'spans'` with the
 * finished spans, and on `'stop'` (or when the test goes away) closes and exits.
 */

/** A finished span as the test sees it (plain data through IPC). */
export interface SpanRecord {
  name: string;
  kind: number;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  status: { code: number; message?: string };
  attributes: Record<string, unknown>;
  events: string[];
  links: { traceId: string; spanId: string }[];
}

export type Reply = { ready: string } | { spans: SpanRecord[] };

function record(span: ReadableSpan): SpanRecord {
  const { traceId, spanId } = span.spanContext();
  return {
    name: span.name,
    kind: span.kind,
    traceId,
    spanId,
    parentSpanId: span.parentSpanContext?.spanId,
    status: { code: span.status.code, message: span.status.message },
    attributes: { ...span.attributes },
    events: span.events.map((e) => e.name),
    links: span.links.map((l) => ({ traceId: l.context.traceId, spanId: l.context.spanId })),
  };
}

async function main(): Promise<void> {
  const app = await createApp(loadConfig(process.env));
  await app.listen({ port: 0, host: '127.0.0.1' });
  const primary = app.get(PrimaryRepository);
  if (primary instanceof PostgresPrimaryRepository) await primary.whenLoaded();
  const send = (reply: Reply) => process.send?.(reply);

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await app.close();
    await tracing?.shutdown();
    process.exit(0);
  };
  process.on('disconnect', () => void stop());
  process.on('message', (message) => {
    if (message === 'stop') void stop();
    else if (message === 'spans') void processor.forceFlush().then(() => send({ spans: exporter.getFinishedSpans().map(record) }));
  });
  const address = app.getHttpServer().address();
  send({ ready: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}` });
}

void main();
