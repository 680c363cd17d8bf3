import { context, ROOT_CONTEXT, SpanStatusCode, trace, TraceFlags } from '@opentelemetry/api';
import type { CommandBus, QueryBus } from '@nestjs/cqrs';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { AppError, PaymentIdConflictError } from '../errors';
import { CreatePaymentCommand } from '../payments/commands/create-payment.command';
import { GetPaymentQuery } from '../payments/queries/get-payment.query';
import { BusTracing } from './bus-tracing';
import { contextFromTraceHeaders, startTracing, TracingHandle, traceHeaders, tracingOn } from './tracing';

const exporter = new InMemorySpanExporter();
const processor = new SimpleSpanProcessor(exporter);
let handle: TracingHandle | undefined;

beforeAll(() => {
  handle = startTracing({}, { spanProcessors: [processor] });
});
// Also unpatches the modules the instrumentations patched: nothing stays instrumented in this worker.
afterAll(async () => {
  await handle?.shutdown();
  expect(tracingOn()).toBe(false);
});
beforeEach(() => exporter.reset());

async function finished() {
  await processor.forceFlush();
  return exporter.getFinishedSpans();
}

const TRACE_ID = '0af7651916cd43dd8448eb211c80319c';
const SPAN_ID = 'b7ad6b7169203331';

describe('with tracing on', () => {
  it('starts with span processors given, even with no OTEL_* variable', () => {
    expect(handle).toBeDefined();
    expect(tracingOn()).toBe(true);
  });

  it('writes W3C headers that read back as the same span context', () => {
    const ctx = trace.setSpanContext(ROOT_CONTEXT, { traceId: TRACE_ID, spanId: SPAN_ID, traceFlags: TraceFlags.SAMPLED });
    const headers = traceHeaders(ctx);
    expect(headers).toEqual({ traceparent: `00-${TRACE_ID}-${SPAN_ID}-01` });
    const read = trace.getSpanContext(contextFromTraceHeaders(headers!, ROOT_CONTEXT));
    expect(read).toMatchObject({ traceId: TRACE_ID, spanId: SPAN_ID, traceFlags: TraceFlags.SAMPLED, isRemote: true });
  });

  it('keeps tracestate both ways', () => {
    const read = contextFromTraceHeaders({ traceparent: `00-${TRACE_ID}-${SPAN_ID}-00`, tracestate: 'vendor=a1,other=b2' }, ROOT_CONTEXT);
    expect(traceHeaders(read)).toEqual({ traceparent: `00-${TRACE_ID}-${SPAN_ID}-00`, tracestate: 'vendor=a1,other=b2' });
  });

  it('has no headers for a context without a valid span', () => {
    expect(traceHeaders(ROOT_CONTEXT)).toBeUndefined();
    const invalid = trace.setSpanContext(ROOT_CONTEXT, { traceId: '0'.repeat(32), spanId: SPAN_ID, traceFlags: TraceFlags.SAMPLED });
    expect(traceHeaders(invalid)).toBeUndefined();
  });

  it('ignores headers that are not valid W3C trace context', () => {
    const base = context.active();
    for (const traceparent of [undefined, 42, '', 'garbage', `00-${TRACE_ID}-${SPAN_ID}`, `00-${'0'.repeat(32)}-${SPAN_ID}-01`, `00-${TRACE_ID}-${'0'.repeat(16)}-01`]) {
      const read = contextFromTraceHeaders({ traceparent, tracestate: 'vendor=a1' }, base);
      expect(trace.getSpanContext(read)).toBeUndefined();
    }
  });
});

describe('bus tracing', () => {
  function tracedBuses(execute: (message: object) => Promise<unknown>) {
    const commands = { execute } as unknown as CommandBus;
    const queries = { execute } as unknown as QueryBus;
    new BusTracing(commands, queries).onModuleInit();
    return { commands, queries };
  }

  it('runs each command in a span named after its class, active in the handler, under the caller', async () => {
    let inHandler: string | undefined;
    const { commands } = tracedBuses(async () => {
      inHandler = trace.getActiveSpan()?.spanContext().spanId;
      return 'done';
    });
    const caller = trace.setSpanContext(ROOT_CONTEXT, { traceId: TRACE_ID, spanId: SPAN_ID, traceFlags: TraceFlags.SAMPLED });
    const command = new CreatePaymentCommand({ organizationId: 'org-1', paymentId: 'p-1', userId: 'u', amount: 5, currency: 'EUR' });
    await expect(context.with(caller, () => commands.execute(command))).resolves.toBe('done');
    const [span] = await finished();
    expect(span.name).toBe('CreatePaymentCommand');
    expect(span.spanContext().traceId).toBe(TRACE_ID);
    expect(span.parentSpanContext?.spanId).toBe(SPAN_ID);
    expect(inHandler).toBe(span.spanContext().spanId);
    expect(span.attributes).toEqual({ 'payments.organization_id': 'org-1', 'payments.payment_id': 'p-1' });
    expect(span.status.code).toBe(SpanStatusCode.UNSET);
  });

  it('makes no span under a caller that is not sampled (its children would not be), and still runs the handler', async () => {
    let ran = 0;
    const active: (string | undefined)[] = [];
    const { commands, queries } = tracedBuses(async () => {
      active.push(trace.getActiveSpan()?.spanContext().spanId);
      return ++ran;
    });
    const unsampled = trace.setSpanContext(ROOT_CONTEXT, { traceId: TRACE_ID, spanId: SPAN_ID, traceFlags: TraceFlags.NONE });
    await context.with(unsampled, () => commands.execute(new CreatePaymentCommand({ organizationId: 'o', userId: 'u', amount: 1, currency: 'EUR' })));
    await context.with(unsampled, () => queries.execute(new GetPaymentQuery('p-0')));
    expect(ran).toBe(2);
    // the handler ran in the caller's context itself: no span of its own was started
    expect(active).toEqual([SPAN_ID, SPAN_ID]);
    expect(await finished()).toEqual([]);
  });

  it('names query spans after the query, with what the query addresses', async () => {
    const { queries } = tracedBuses(async () => undefined);
    await queries.execute(new GetPaymentQuery('p-2', 'org-2'));
    const [span] = await finished();
    expect(span.name).toBe('GetPaymentQuery');
    expect(span.attributes).toEqual({ 'payments.organization_id': 'org-2', 'payments.payment_id': 'p-2' });
  });

  it("records a 4xx AppError as the caller's: the exception, no error status", async () => {
    const refusal = new PaymentIdConflictError('p-3', ['amount']);
    const { commands } = tracedBuses(() => Promise.reject(refusal));
    await expect(commands.execute(new CreatePaymentCommand({ organizationId: 'o', userId: 'u', amount: 1, currency: 'EUR' }))).rejects.toBe(refusal);
    const [span] = await finished();
    expect(span.events.map((e) => e.name)).toEqual(['exception']);
    expect(span.status.code).toBe(SpanStatusCode.UNSET);
  });

  it('marks anything else, a 5xx AppError or a plain error, as an ERROR', async () => {
    for (const failure of [new AppError('DATABASE_UNAVAILABLE', 'down'), new Error('bug')]) {
      const { queries } = tracedBuses(() => Promise.reject(failure));
      await expect(queries.execute(new GetPaymentQuery('p-4'))).rejects.toBe(failure);
    }
    const spans = await finished();
    expect(spans.map((s) => [s.status.code, s.status.message, s.events.length])).toEqual([
      [SpanStatusCode.ERROR, 'down', 1],
      [SpanStatusCode.ERROR, 'bug', 1],
    ]);
  });
});
