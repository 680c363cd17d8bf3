import { FastifyOtelInstrumentation } from '@fastify/otel';
import type { TextMapPropagator } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { AmqplibInstrumentation } from '@opentelemetry/instrumentation-amqplib';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { NestInstrumentation } from '@opentelemetry/instrumentation-nestjs-core';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { PinoInstrumentation } from '@opentelemetry/instrumentation-pino';
import { defaultResource, resourceFromAttributes } from '@opentelemetry/resources';
import { NodeSDK } from '@opentelemetry/sdk-node';
import type { SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { Instrumentation } from '@opentelemetry/instrumentation';
import { isScrapeOrProbe } from './tracing';

/**
 * The OpenTelemetry SDK and the instrumentations of this stack. Only tracing.ts requires this
 * file, and only when tracing is on: with tracing off, none of these packages is loaded.
 */
export function startSdk(
  serviceName: string,
  env: Record<string, string | undefined>,
  spanProcessors?: SpanProcessor[],
): { shutdown(): Promise<void>; w3c: TextMapPropagator } {
  const instrumentations = instrumentationNames(env).map((name) => INSTRUMENTATIONS[name]());
  const sdk = new NodeSDK({
    // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES (the env detector) still win over this default.
    resource: defaultResource().merge(resourceFromAttributes({ 'service.name': serviceName })),
    // Sampler, exporter and protocol come from the OTEL_* variables the SDK reads itself; a test
    // passes its own processors instead of an exporter.
    ...(spanProcessors === undefined ? {} : { spanProcessors }),
    // Traces only: metrics are Prometheus' (/metrics) and logs are pino's JSON on stdout.
    metricReaders: [],
    logRecordProcessors: [],
    instrumentations,
  });
  sdk.start();
  return {
    w3c: new W3CTraceContextPropagator(),
    // the SDK flushes and stops; the modules are unpatched (the SDK leaves them patched)
    shutdown: async () => {
      await sdk.shutdown();
      for (const instrumentation of instrumentations) instrumentation.disable();
    },
  };
}

/** The instrumentations, by the names OTEL_NODE_ENABLED_INSTRUMENTATIONS / OTEL_NODE_DISABLED_INSTRUMENTATIONS use. */
const INSTRUMENTATIONS: Record<string, () => Instrumentation> = {
  // The request's SERVER span: Fastify's own instrumentation reads the W3C traceparent and times
  // the request from its first hook to its answer. Scrapes and probes get none (nor children:
  // tracing-hooks.ts suppresses tracing for them). Hook spans would cost a span per hook per
  // request for little insight: the request and its handler are enough.
  fastify: () =>
    new FastifyOtelInstrumentation({ registerOnInitialization: true, instrumentHooks: false, ignorePaths: (route: { url: string }) => isScrapeOrProbe(route.url) }),
  // Outgoing requests only. Its incoming side would be a second SERVER span around Fastify's,
  // and costs more than every other instrumentation together: it rebinds each request's and
  // response's event emitters to the span's context (about 110 µs of CPU per GET in side runs,
  // as much as the whole GET without tracing).
  http: () => new HttpInstrumentation({ disableIncomingRequestInstrumentation: true }),
  'nestjs-core': () => new NestInstrumentation(),
  // Only queries inside a traced operation: the change feed's polls would each be a trace.
  pg: () => new PgInstrumentation({ requireParentSpan: true }),
  amqplib: () => new AmqplibInstrumentation(),
  // Log correlation (trace_id, span_id in each line) only: the logs stay on stdout.
  pino: () => new PinoInstrumentation({ disableLogSending: true }),
};

/** Every instrumentation, less those the standard variables leave out (read as the auto-instrumentations read them). */
export function instrumentationNames(env: Record<string, string | undefined>): string[] {
  const list = (value: string | undefined) =>
    (value ?? '')
      .split(',')
      .map((name) => name.trim())
      .filter(Boolean);
  const enabled = list(env.OTEL_NODE_ENABLED_INSTRUMENTATIONS);
  const disabled = new Set(list(env.OTEL_NODE_DISABLED_INSTRUMENTATIONS));
  return Object.keys(INSTRUMENTATIONS).filter((name) => (enabled.length === 0 || enabled.includes(name)) && !disabled.has(name));
}
