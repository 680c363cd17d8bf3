import { context, ROOT_CONTEXT, trace, TraceFlags } from '@opentelemetry/api';
import type { CommandBus, QueryBus } from '@nestjs/cqrs';
import { BusTracing } from './bus-tracing';
import { contextFromTraceHeaders, startTracing, traceHeaders, tracer, tracingConfigured, tracingOn } from './tracing';

// Records whether the SDK module is ever required: with tracing off it must not be.
const mockSdkRequired = jest.fn();
jest.mock('./sdk', () => {
  mockSdkRequired();
  return jest.requireActual('./sdk');
});

const ENDPOINT = 'http://collector:4318';

describe('tracingConfigured', () => {
  it('is off by default', () => {
    expect(tracingConfigured({})).toBe(false);
    expect(tracingConfigured({ OTEL_SERVICE_NAME: 'payments', OTEL_TRACES_SAMPLER: 'always_on' })).toBe(false);
  });

  it('is on with an OTLP endpoint, general or for traces', () => {
    expect(tracingConfigured({ OTEL_EXPORTER_OTLP_ENDPOINT: ENDPOINT })).toBe(true);
    expect(tracingConfigured({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${ENDPOINT}/v1/traces` })).toBe(true);
    expect(tracingConfigured({ OTEL_EXPORTER_OTLP_ENDPOINT: '  ' })).toBe(false);
  });

  it('follows the traces exporter as the SDK reads the list: a first none means none, even with an endpoint', () => {
    expect(tracingConfigured({ OTEL_TRACES_EXPORTER: 'otlp' })).toBe(true);
    expect(tracingConfigured({ OTEL_TRACES_EXPORTER: 'console' })).toBe(true);
    expect(tracingConfigured({ OTEL_TRACES_EXPORTER: ' zipkin , otlp' })).toBe(true);
    expect(tracingConfigured({ OTEL_TRACES_EXPORTER: 'none' })).toBe(false);
    expect(tracingConfigured({ OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: ENDPOINT })).toBe(false);
    expect(tracingConfigured({ OTEL_TRACES_EXPORTER: '' })).toBe(false);
  });

  it('is off whatever else is set when OTEL_SDK_DISABLED is true', () => {
    expect(tracingConfigured({ OTEL_SDK_DISABLED: 'true', OTEL_EXPORTER_OTLP_ENDPOINT: ENDPOINT })).toBe(false);
    expect(tracingConfigured({ OTEL_SDK_DISABLED: ' TRUE ', OTEL_TRACES_EXPORTER: 'otlp' })).toBe(false);
    expect(tracingConfigured({ OTEL_SDK_DISABLED: 'false', OTEL_TRACES_EXPORTER: 'otlp' })).toBe(true);
  });
});

describe('with tracing off', () => {
  const spanContext = { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: TraceFlags.SAMPLED };

  beforeAll(() => {
    expect(startTracing({})).toBeUndefined();
    expect(startTracing({ OTEL_SDK_DISABLED: 'true', OTEL_EXPORTER_OTLP_ENDPOINT: ENDPOINT })).toBeUndefined();
  });

  it('starts nothing: no SDK loaded, no span recorded', () => {
    expect(mockSdkRequired).not.toHaveBeenCalled();
    expect(tracingOn()).toBe(false);
    const span = tracer.startSpan('anything');
    expect(span.isRecording()).toBe(false);
    span.end();
  });

  it('leaves the command and query buses as they are', () => {
    const execute = jest.fn();
    const commands = { execute } as unknown as CommandBus;
    const queries = { execute } as unknown as QueryBus;
    new BusTracing(commands, queries).onModuleInit();
    expect(commands.execute).toBe(execute);
    expect(queries.execute).toBe(execute);
  });

  it('carries no trace headers and reads none', () => {
    const ctx = trace.setSpanContext(ROOT_CONTEXT, spanContext);
    expect(traceHeaders(ctx)).toBeUndefined();
    const base = context.active();
    expect(contextFromTraceHeaders({ traceparent: `00-${spanContext.traceId}-${spanContext.spanId}-01` }, base)).toBe(base);
  });
});
