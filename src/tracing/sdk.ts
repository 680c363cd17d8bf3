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
import type { IncomingMessage } from 'node:http';

/**
 * The OpenTelemetry SDK and the instrumentations of this stack. Only tracing.ts requires this
 * file, and only when tracing is on: with tracing off, none of these packages is loaded.
 */
export function startSdk(serviceName: string, spanProcessors?: SpanProcessor[]): { shutdown(): Promise<void>; w3c: TextMapPropagator } {
  const instrumentations = [
    // Accepts W3C traceparent on incoming requests. Scrapes and probes run with tracing
    // suppressed, so they make no trace at all (not even the Fastify and Nest spans).
    new HttpInstrumentation({ ignoreIncomingRequestHook: isScrapeOrProbe }),
    // Hook spans would cost a span per hook per request for little insight: the request and
    // its handler are enough.
    new FastifyOtelInstrumentation({ registerOnInitialization: true, instrumentHooks: false }),
    new NestInstrumentation(),
    // Only queries inside a traced operation: the change feed's polls would each be a trace.
    new PgInstrumentation({ requireParentSpan: true }),
    new AmqplibInstrumentation(),
    // Log correlation (trace_id, span_id in each line) only: the logs stay on stdout.
    new PinoInstrumentation({ disableLogSending: true }),
  ];
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

function isScrapeOrProbe(request: IncomingMessage): boolean {
  const url = request.url ?? '';
  const end = url.indexOf('?');
  const path = end === -1 ? url : url.slice(0, end);
  return path === '/metrics' || path.startsWith('/health/');
}
