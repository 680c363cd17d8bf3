import { join } from 'node:path';
import createClient from 'openapi-fetch';
import ts from 'typescript';
import { startTestApp, TestApp } from '../test-app';
import { uniqueId } from '../e2e-helpers';
import type { paths } from './generated/payments-api';

/**
 * The README's walk-through, as a client team runs it: through a client generated from the
 * service's own /docs/json (openapi-typescript types, openapi-fetch calls; see
 * generate-client.ts, run by this project's globalSetup). Every call below is checked against
 * the generated types (the first test compiles this file against them), so a parameter, body
 * or answer that the document describes differently from what the code does fails the run.
 */
describe('a client generated from /docs/json (openapi-typescript + openapi-fetch)', () => {
  let t: TestApp;
  let api: ReturnType<typeof createClient<paths>>;
  const organizationId = uniqueId('org-client');
  const paymentId = uniqueId('pay');

  beforeAll(async () => {
    t = await startTestApp();
    api = createClient<paths>({ baseUrl: t.url });
  });
  afterAll(async () => {
    await t.close();
  });

  it('this walk-through type-checks against the types generated from the running service', () => {
    // test/client/tsconfig.json: the project's compiler options, with this folder and the generated types
    const configFile = join(__dirname, 'tsconfig.json');
    const { config } = ts.readConfigFile(configFile, (path) => ts.sys.readFile(path));
    const { options } = ts.parseJsonConfigFileContent(config, ts.sys, __dirname, undefined, configFile);
    const program = ts.createProgram([join(__dirname, 'walkthrough.client-spec.ts')], { ...options, noEmit: true });
    const problems = ts
      .getPreEmitDiagnostics(program)
      .map((d) => `${d.file ? `${d.file.fileName}:${d.file.getLineAndCharacterOfPosition(d.start ?? 0).line + 1}: ` : ''}${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`);
    expect(problems).toEqual([]);
  }, 120_000);

  it('creates a payment (201), replays a retry (200) and refuses a conflicting one (409)', async () => {
    const body = {
      paymentId,
      organizationId,
      userId: 'user-789',
      amount: 10_000,
      currency: 'EUR',
      description: 'Test payment',
      metadata: { source: 'test' },
    };
    const created = await api.POST('/payments', { body });
    expect(created.response.status).toBe(201);
    expect(created.response.headers.get('location')).toBe(`/payments/${paymentId}`);
    expect(created.data).toMatchObject({ paymentId, organizationId, amount: 10_000, currency: 'EUR', status: 'pending', version: 1 });

    const retry = await api.POST('/payments', { body });
    expect(retry.response.status).toBe(200);
    expect(retry.data).toEqual(created.data);

    const conflict = await api.POST('/payments', { body: { ...body, amount: 1 } });
    expect(conflict.response.status).toBe(409);
    expect(conflict.error).toMatchObject({ status: 409, code: 'PAYMENT_ID_CONFLICT' });
  });

  it('imports many: each item gets the status it would have had alone', async () => {
    const { data, response } = await api.POST('/payments/bulk', {
      body: {
        payments: [
          { paymentId: `${paymentId}-usd`, organizationId, userId: 'user-1', amount: 2_500, currency: 'USD', createdAt: '2026-03-01T10:00:00Z' },
          { paymentId: `${paymentId}-gbp`, organizationId, userId: 'user-2', amount: 7_000, currency: 'GBP' },
          { paymentId: `${paymentId}-bad`, organizationId, userId: 'user-2', amount: -5, currency: 'EUR' },
        ],
      },
    });
    expect(response.status).toBe(200);
    expect(data).toMatchObject({ created: 2, replayed: 0, failed: 1 });
    expect(data?.results.map((r) => r.status)).toEqual([201, 201, 400]);
    expect(data?.results[2].error?.errors?.map((e) => e.field)).toEqual(['amount']);
  });

  it('applies the three lifecycle events; a repeated eventId changes nothing', async () => {
    const events = (id: string) => ({ params: { path: { id } } });
    const processed = await api.POST('/payments/{id}/events', { ...events(paymentId), body: { eventId: `${paymentId}-e1`, type: 'PaymentProcessed' } });
    expect(processed.data).toMatchObject({ status: 'completed', version: 2 });

    const refund = { eventId: `${paymentId}-e2`, type: 'PaymentRefunded' as const, data: { refundAmount: 2_500 } };
    const refunded = await api.POST('/payments/{id}/events', { ...events(paymentId), body: refund });
    expect(refunded.data).toMatchObject({ status: 'refunded', refundedAmount: 2_500, version: 3 });
    const again = await api.POST('/payments/{id}/events', { ...events(paymentId), body: refund });
    expect(again.data).toEqual(refunded.data);

    const failed = await api.POST('/payments/{id}/events', {
      ...events(`${paymentId}-usd`),
      body: { type: 'PaymentFailed', occurredAt: '2026-03-01T10:05:00Z', data: { error: 'card_declined' } },
    });
    expect(failed.data).toMatchObject({ status: 'failed', error: 'card_declined', failedAt: '2026-03-01T10:05:00.000Z' });

    const completed = await api.POST('/payments/{id}/events', { ...events(`${paymentId}-gbp`), body: { type: 'PaymentProcessed' } });
    expect(completed.data?.status).toBe('completed');
  });

  it('searches with two statuses and two currencies, then reads the next page by its cursor', async () => {
    const query = { organizationId, status: ['completed', 'refunded'] as ('completed' | 'refunded')[], currency: ['EUR', 'GBP'], sort: '-createdAt' as const, size: 1 };
    const first = await api.GET('/payments/search', { params: { query } });
    expect(first.response.status).toBe(200);
    expect(first.data).toMatchObject({ total: 2, size: 1 });
    expect(first.data?.items.map((p) => p.paymentId)).toEqual([`${paymentId}-gbp`]);
    const cursor = first.data?.nextCursor ?? undefined;
    expect(cursor).toEqual(expect.any(String));

    const second = await api.GET('/payments/search', { params: { query: { ...query, cursor } } });
    expect(second.data?.items.map((p) => p.paymentId)).toEqual([paymentId]);
    expect(second.data?.nextCursor).toBeNull();
  });

  it('reads stats with a day series, and one payment by id', async () => {
    const stats = await api.GET('/payments/stats', {
      params: { query: { organizationId, from: '2026-03-01T00:00:00Z', to: '2026-03-03T00:00:00Z', interval: 'day' } },
    });
    expect(stats.response.status).toBe(200);
    expect(stats.data).toMatchObject({ total: 1, byStatus: { failed: 1 }, amountByCurrency: { USD: 2_500 } });
    expect(stats.data?.series?.map((b) => [b.start, b.total])).toEqual([
      ['2026-03-01T00:00:00.000Z', 1],
      ['2026-03-02T00:00:00.000Z', 0],
    ]);

    const one = await api.GET('/payments/{id}', { params: { path: { id: paymentId } } });
    expect(one.data).toMatchObject({ paymentId, status: 'refunded', refundedAmount: 2_500, amount: 10_000 });
    const unknown = await api.GET('/payments/{id}', { params: { path: { id: uniqueId('nope') } } });
    expect(unknown.response.status).toBe(404);
    expect(unknown.error).toMatchObject({ status: 404, code: 'PAYMENT_NOT_FOUND' });
  });
});
