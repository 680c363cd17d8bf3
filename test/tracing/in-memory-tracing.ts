import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { startTracing } from '../../src/tracing/tracing';

/**
 * Tracing into memory, started on import: traced-service.ts imports this first, before the app
 * (the instrumentations patch modules as they are required).
 */
export const exporter = new InMemorySpanExporter();
export const processor = new SimpleSpanProcessor(exporter);
export const tracing = startTracing(process.env, { spanProcessors: [processor] });
