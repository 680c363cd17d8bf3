import { randomBytes, randomUUID } from 'node:crypto';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { until } from './broker-helpers';
import { createTestDatabase, startTestApp, TEST_MODE, TestDatabase } from './test-app';
import type { SpanRecord } from './tracing/traced-service';
import { ancestry, caller, startTracedService, TracedService } from './tracing/traced-process';

/**
 * Tracing end to end, in memory and PostgreSQL modes: the service runs in a child process
 * (test/tracing/traced-service.ts) with the real instrumentations and an in-memory exporter,
 * one process for the whole file. Spans are matched by trace id and by the ids each request
 * names; their order is the parent chain, never their timing.
 */

const json = { 'content-type': 'application/json' };

let service: TracedService;
let database: TestDatabase | undefined;

beforeAll(async () => {
  if (TEST_MODE === 'postgres') database = await createTestDatabase();
  service = await startTracedService(database ? { DATABASE_URL: database.url } : {});
});

afterAll(async () => {
  await service?.stop();
  await database?.drop();
});

/** The spans of a request once its SERVER span (the last to end) has been exported. */
async function spansOfTrace(traceId: string): Promise<SpanRecord[]> {
  return until(async () => {
    const spans = (await service.spans()).filter((s) => s.traceId === traceId);
    return spans.some((s) => s.kind === SpanKind.SERVER) && spans;
  });
}

/** The request's `request completed` line, once written (after its spans have ended). */
function requestLine(requestId: string): Promise<Record<string, unknown>> {
  return until(() => service.logLines().find((l) => l.msg === 'request completed' && (l.req as { id: string }).id === requestId));
}

describe(`tracing (${TEST_MODE} mode)`, () => {
  it("makes one trace of a POST: the caller's traceparent, the HTTP span, the command span beneath it (and in PostgreSQL mode the group commit and its queries)", async () => {
    const parent = caller();
    const paymentId = randomUUID();
    const res = await fetch(`${service.url}/payments`, {
      method: 'POST',
      headers: { ...json, traceparent: parent.traceparent },
      body: JSON.stringify({ paymentId, organizationId: 'org-trace', userId: 'u1', amount: 1250, currency: 'EUR' }),
    });
    expect(res.status).toBe(201);
    await spansOfTrace(parent.traceId);
    const spans = await service.spans();

    const command = spans.find((s) => s.name === 'CreatePaymentCommand' && s.attributes['payments.payment_id'] === paymentId);
    expect(command).toBeDefined();
    expect(command!.traceId).toBe(parent.traceId);
    expect(command!.attributes['payments.organization_id']).toBe('org-trace');
    const chain = ancestry(spans, command!);
    expect(chain.every((s) => s.traceId === parent.traceId)).toBe(true);
    // command -> Nest's handler and controller spans -> Fastify's request span -> the HTTP span -> the caller
    const server = chain[chain.length - 1];
    expect(server.kind).toBe(SpanKind.SERVER);
    expect(server.attributes['http.request.method']).toBe('POST');
    expect(server.parentSpanId).toBe(parent.spanId);
    expect(chain.some((s) => s.attributes['nestjs.controller'] === 'PaymentsController')).toBe(true);
    expect(chain.some((s) => s.attributes['fastify.root'] === '@fastify/otel')).toBe(true);

    if (TEST_MODE === 'postgres') {
      const commit = spans.find((s) => s.name === 'payments.group_commit' && s.links.some((l) => l.spanId === command!.spanId));
      expect(commit).toBeDefined();
      expect(commit!.attributes['payments.batch_size']).toBeGreaterThanOrEqual(1);
      expect(ancestry(spans, commit!)[1]).toBe(command);
      const queries = spans.filter((s) => s.parentSpanId === commit!.spanId).map((s) => s.name);
      expect(queries).toEqual(expect.arrayContaining([expect.stringMatching(/^pg\.query:INSERT/), expect.stringMatching(/^pg\.query:COMMIT/)]));
      expect(spans.filter((s) => s.parentSpanId === commit!.spanId).every((s) => s.traceId === parent.traceId)).toBe(true);
    }

    const line = await requestLine(res.headers.get('x-request-id')!);
    expect(line.trace_id).toBe(parent.traceId);
    // the span active when the line was written: one of the request's (the server span or beneath it)
    expect(spans.filter((s) => s.traceId === parent.traceId).map((s) => s.spanId)).toContain(line.span_id);
  });

  it('traces a GET and a search as query spans under their HTTP span', async () => {
    const paymentId = randomUUID();
    const organizationId = `org-${randomBytes(4).toString('hex')}`;
    const created = await fetch(`${service.url}/payments`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ paymentId, organizationId, userId: 'u1', amount: 300, currency: 'EUR' }),
    });
    expect(created.status).toBe(201);
    const get = await fetch(`${service.url}/payments/${paymentId}?organizationId=${organizationId}`);
    expect(get.status).toBe(200);
    const search = await fetch(`${service.url}/payments/search?organizationId=${organizationId}`);
    expect(search.status).toBe(200);

    const underServer = async (name: string, attribute: string, value: string, path: string) => {
      const query = await until(async () => (await service.spans()).find((s) => s.name === name && s.attributes[attribute] === value));
      const chain = ancestry(await spansOfTrace(query.traceId), query);
      const server = chain[chain.length - 1];
      expect(server.kind).toBe(SpanKind.SERVER);
      // Fastify's instrumentation records the request URL, query included
      expect(String(server.attributes['url.path']).split('?')[0]).toBe(path);
      return server;
    };
    const getServer = await underServer('GetPaymentQuery', 'payments.payment_id', paymentId, `/payments/${paymentId}`);
    const searchServer = await underServer('SearchPaymentsQuery', 'payments.organization_id', organizationId, '/payments/search');
    expect(getServer.traceId).not.toBe(searchServer.traceId);
    expect((await requestLine(get.headers.get('x-request-id')!)).trace_id).toBe(getServer.traceId);
  });

  it("leaves the status unset for the caller's errors: a refused command records its exception, an invalid body never reaches one", async () => {
    const paymentId = randomUUID();
    const body = { paymentId, organizationId: 'org-trace', userId: 'u1', amount: 700, currency: 'EUR' };
    expect((await fetch(`${service.url}/payments`, { method: 'POST', headers: json, body: JSON.stringify(body) })).status).toBe(201);
    const conflict = caller();
    const refused = await fetch(`${service.url}/payments`, {
      method: 'POST',
      headers: { ...json, traceparent: conflict.traceparent },
      body: JSON.stringify({ ...body, amount: 701 }),
    });
    expect(refused.status).toBe(409);
    const conflictSpans = await spansOfTrace(conflict.traceId);
    const command = conflictSpans.find((s) => s.name === 'CreatePaymentCommand');
    expect(command).toMatchObject({ events: ['exception'], status: { code: SpanStatusCode.UNSET } });
    expect(conflictSpans.find((s) => s.kind === SpanKind.SERVER)!.status.code).toBe(SpanStatusCode.UNSET);

    const invalid = caller();
    const rejected = await fetch(`${service.url}/payments`, {
      method: 'POST',
      headers: { ...json, traceparent: invalid.traceparent },
      body: JSON.stringify({ ...body, paymentId: randomUUID(), amount: -1 }),
    });
    expect(rejected.status).toBe(400);
    const invalidSpans = await spansOfTrace(invalid.traceId);
    expect(invalidSpans.some((s) => s.name === 'CreatePaymentCommand')).toBe(false);
    // (Nest's instrumentation marks its controller span ERROR for any exception, a 400 too: its convention, not ours)
    expect(invalidSpans.find((s) => s.kind === SpanKind.SERVER)!.status.code).toBe(SpanStatusCode.UNSET);
  });

  it('makes no trace of scrapes and probes, even when the scraper sends a traceparent', async () => {
    const scrape = caller();
    const probes = [];
    for (const path of ['/metrics', '/health/ready', '/health/live']) {
      const res = await fetch(`${service.url}${path}`, { headers: { traceparent: scrape.traceparent } });
      await res.arrayBuffer();
      probes.push(res.headers.get('x-request-id')!);
    }
    // once a request's line is written, its spans (if it had any) have ended
    for (const id of probes) expect((await requestLine(id)).trace_id).toBeUndefined();
    const spans = await service.spans();
    expect(spans.filter((s) => s.traceId === scrape.traceId)).toEqual([]);
    expect(spans.filter((s) => s.attributes['url.path'] === '/metrics' || s.attributes['http.route'] === '/metrics')).toEqual([]);
  });

  if (TEST_MODE === 'postgres') {
    it('traces the initial load, and a change-feed catch-up that brings another instance’s write', async () => {
      const spans = await service.spans();
      const load = spans.find((s) => s.name === 'payments.initial_load');
      expect(load?.attributes).toEqual({ 'payments.load.rows': 0, 'payments.load.position': 0 });
      expect(load!.parentSpanId).toBeUndefined();
      expect(spans.some((s) => s.parentSpanId === load!.spanId && s.name.startsWith('pg.query:COPY'))).toBe(true);

      const other = await startTestApp({ databaseUrl: database!.url });
      try {
        const paymentId = randomUUID();
        const res = await fetch(`${other.url}/payments`, {
          method: 'POST',
          headers: json,
          body: JSON.stringify({ paymentId, organizationId: 'org-feed', userId: 'u1', amount: 42, currency: 'EUR' }),
        });
        expect(res.status).toBe(201);
        const catchUp = await until(async () => (await service.spans()).find((s) => s.name === 'payments.change_feed.catch_up'));
        expect(catchUp.parentSpanId).toBeUndefined();
        const { attributes } = catchUp;
        expect(attributes['payments.change_feed.rows_applied']).toBeGreaterThanOrEqual(1);
        expect(attributes['payments.change_feed.rows_read']).toBeGreaterThanOrEqual(attributes['payments.change_feed.rows_applied'] as number);
        expect(attributes['payments.change_feed.position_to']).toBeGreaterThan(attributes['payments.change_feed.position_from'] as number);
        // the write is served by the traced instance
        expect((await fetch(`${service.url}/payments/${paymentId}`)).status).toBe(200);
      } finally {
        await other.close();
      }
    });
  }
});
