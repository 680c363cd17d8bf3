import {
  Context,
  context,
  defaultTextMapGetter,
  defaultTextMapSetter,
  isSpanContextValid,
  Span,
  SpanOptions,
  SpanStatusCode,
  TextMapPropagator,
  trace,
} from '@opentelemetry/api';
import type { SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { AppError } from '../errors';

/**
 * OpenTelemetry tracing: off by default, on with the standard OTEL_* variables. The SDK and the
 * instrumentations (./sdk) are required only when tracing starts, so with tracing off the
 * service loads none of them and its code paths (bus wrappers, per-write contexts) stay out.
 */

export const SERVICE_NAME = 'payments-service';

/** This service's own spans (commands, queries, group commits, the change feed). */
export const tracer = trace.getTracer(SERVICE_NAME);

/** W3C trace context headers, as in the CloudEvents distributed-tracing extension. */
export interface TraceHeaders {
  traceparent: string;
  tracestate?: string;
}

export interface TracingOptions {
  /** Tests: span processors (e.g. an in-memory exporter) instead of the exporter of OTEL_*. */
  spanProcessors?: SpanProcessor[];
}

export interface TracingHandle {
  /** Ends tracing: flushes the spans not yet exported; tracingOn() is false from then on. */
  shutdown(): Promise<void>;
}

type Env = Record<string, string | undefined>;

let w3c: TextMapPropagator | undefined;

/**
 * Whether the environment asks for traces: a traces exporter other than `none` (read as the SDK
 * reads OTEL_TRACES_EXPORTER: a first `none` means none, even with an endpoint), or an OTLP
 * endpoint (the SDK's default exporter is OTLP). OTEL_SDK_DISABLED=true wins over both.
 */
export function tracingConfigured(env: Env): boolean {
  if (sdkDisabled(env)) return false;
  const exporters = (env.OTEL_TRACES_EXPORTER ?? '')
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '' && name !== 'null');
  if (exporters.length > 0) return exporters[0] !== 'none';
  return present(env.OTEL_EXPORTER_OTLP_ENDPOINT) || present(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
}

/**
 * Starts the SDK when the environment asks for traces (or a test passes span processors). Call it
 * before anything requires http, fastify, pg, pino, amqplib or NestJS: instrumentations patch
 * modules as they are required. Undefined when tracing stays off.
 */
export function startTracing(env: Env, options: TracingOptions = {}): TracingHandle | undefined {
  if (w3c !== undefined) throw new Error('Tracing is already started');
  if (options.spanProcessors === undefined ? !tracingConfigured(env) : sdkDisabled(env)) return undefined;
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- lazy on purpose: nothing of the SDK loads with tracing off
  const { startSdk } = require('./sdk') as typeof import('./sdk');
  const sdk = startSdk(SERVICE_NAME, env, options.spanProcessors);
  w3c = sdk.w3c;
  return {
    shutdown: () => {
      w3c = undefined;
      return sdk.shutdown();
    },
  };
}

/** True once tracing has started (until its shutdown): the one check that keeps tracing's code paths out when off. */
export function tracingOn(): boolean {
  return w3c !== undefined;
}

/** The W3C headers of `ctx`'s span; undefined with tracing off or no valid span context. */
export function traceHeaders(ctx: Context = context.active()): TraceHeaders | undefined {
  const spanContext = trace.getSpanContext(ctx);
  if (w3c === undefined || spanContext === undefined || !isSpanContextValid(spanContext)) return undefined;
  const carrier: Record<string, string> = {};
  w3c.inject(ctx, carrier, defaultTextMapSetter);
  if (carrier.traceparent === undefined) return undefined;
  return carrier.tracestate === undefined
    ? { traceparent: carrier.traceparent }
    : { traceparent: carrier.traceparent, tracestate: carrier.tracestate };
}

/**
 * `base` with the remote span context of W3C headers (from a message, say), to parent the spans
 * that handle it. Values that are not valid W3C headers are ignored: `base` comes back.
 */
export function contextFromTraceHeaders(h: { traceparent?: unknown; tracestate?: unknown }, base: Context = context.active()): Context {
  if (w3c === undefined || typeof h.traceparent !== 'string') return base;
  const carrier: Record<string, string> =
    typeof h.tracestate === 'string' ? { traceparent: h.traceparent, tracestate: h.tracestate } : { traceparent: h.traceparent };
  return w3c.extract(base, carrier, defaultTextMapGetter);
}

/**
 * Runs `work` in a new span, child of `parent` and active while it runs (so the spans of the
 * instrumentations, pg's queries say, are its children); the span ends when `work` settles.
 */
export function inSpan<T>(name: string, options: SpanOptions, parent: Context, work: (span: Span) => Promise<T>): Promise<T> {
  return tracer.startActiveSpan(name, options, parent, async (span) => {
    try {
      return await work(span);
    } catch (error) {
      recordFailure(span, error);
      throw error;
    } finally {
      span.end();
    }
  });
}

/**
 * Records `error` on `span`. A 4xx AppError is the caller's error, not the span's: its exception
 * is recorded but the status stays unset, so error-rate views count only the service's failures.
 */
export function recordFailure(span: Span, error: unknown): void {
  span.recordException(error instanceof Error ? error : String(error));
  if (error instanceof AppError && error.status < 500) return;
  span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
}

/** Prometheus' scrapes and the orchestrator's probes: never traced. */
export function isScrapeOrProbe(rawUrl: string | undefined): boolean {
  const url = rawUrl ?? '';
  const end = url.indexOf('?');
  const path = end === -1 ? url : url.slice(0, end);
  return path === '/metrics' || path.startsWith('/health/');
}

/**
 * With tracing on: the first hook of every request. Scrapes and probes run with tracing suppressed,
 * so neither they nor what they call (Nest's handler spans, health's SQL) make a trace.
 */
export function suppressTracingOfProbes(fastify: { addHook(name: 'onRequest', hook: (request: { url: string }, reply: unknown, done: () => void) => void): unknown }): void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- with tracing on only: the SDK's core is loaded by then
  const { suppressTracing } = require('@opentelemetry/core') as typeof import('@opentelemetry/core');
  fastify.addHook('onRequest', (request, _reply, done) => {
    if (isScrapeOrProbe(request.url)) context.with(suppressTracing(context.active()), done);
    else done();
  });
}

function sdkDisabled(env: Env): boolean {
  return env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true';
}

function present(value: string | undefined): boolean {
  return value !== undefined && value.trim() !== '';
}
