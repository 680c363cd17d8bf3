import { instrumentationNames } from './sdk';
import { isScrapeOrProbe } from './tracing';

describe('instrumentationNames', () => {
  it('takes every instrumentation of the stack by default', () => {
    expect(instrumentationNames({})).toEqual(['fastify', 'http', 'nestjs-core', 'pg', 'amqplib', 'pino']);
  });

  it('reads OTEL_NODE_ENABLED_INSTRUMENTATIONS and OTEL_NODE_DISABLED_INSTRUMENTATIONS as the auto-instrumentations do', () => {
    expect(instrumentationNames({ OTEL_NODE_DISABLED_INSTRUMENTATIONS: 'nestjs-core, pino' })).toEqual(['fastify', 'http', 'pg', 'amqplib']);
    expect(instrumentationNames({ OTEL_NODE_ENABLED_INSTRUMENTATIONS: 'fastify,pg' })).toEqual(['fastify', 'pg']);
    expect(instrumentationNames({ OTEL_NODE_ENABLED_INSTRUMENTATIONS: 'fastify,pg', OTEL_NODE_DISABLED_INSTRUMENTATIONS: 'pg' })).toEqual(['fastify']);
    expect(instrumentationNames({ OTEL_NODE_DISABLED_INSTRUMENTATIONS: 'unknown' })).toHaveLength(6);
  });
});

describe('isScrapeOrProbe', () => {
  it('is true of /metrics and /health/*, with or without a query, and of nothing else', () => {
    for (const url of ['/metrics', '/metrics?x=1', '/health/ready', '/health/live?probe=k8s']) expect(isScrapeOrProbe(url)).toBe(true);
    for (const url of ['/payments', '/metricsx', '/health', '/payments/metrics', undefined]) expect(isScrapeOrProbe(url)).toBe(false);
  });
});
