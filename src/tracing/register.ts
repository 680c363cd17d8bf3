import { startTracing } from './tracing';

/**
 * Imported first by main.ts: starts tracing, when the OTEL_* variables ask for it, before
 * anything requires the modules the instrumentations patch. The handle flushes spans at shutdown.
 */
// eslint-disable-next-line no-restricted-properties -- OTEL_* are the SDK's own variables, read before config.ts loads
export const tracing = startTracing(process.env);
