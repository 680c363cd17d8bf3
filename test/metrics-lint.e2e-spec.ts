import { spawn, spawnSync } from 'node:child_process';
import request from 'supertest';
import { rawGet } from './raw-http';
import { AppConfig } from '../src/config';
import { ERROR_CATALOGUE, ErrorCode } from '../src/errors';
import { TestBroker, TEST_BROKER_URL, until } from './broker-helpers';
import { createPayment, expectProblem, expectStatus, paymentBody, paymentPath, sendEvent } from './e2e-helpers';
import { metricsText, metricValue, TcpProxy } from './pg-helpers';
import { createTestDatabase, startTestApp, TestApp, TEST_MODE } from './test-app';

/**
 * /metrics as an operator's Prometheus reads it (memory and PostgreSQL modes, messaging on):
 * conventional names that `promtool check metrics` passes, and the series the alert rules of
 * ops/prometheus/alerts.yml need, there before the first error.
 */

/** Debian's prometheus package gives promtool; without it that check is skipped, unless CI requires it. */
const PROMTOOL = spawnSync('promtool', ['--version']).error === undefined || process.env.PROMETHEUS_REQUIRED === '1';

const MAX_PAYMENTS = 12_345;
const MAX_STORE_BYTES = 256 * 1024 * 1024;

/** `promtool check metrics` on an exposition: its exit code and everything it printed. */
function promtoolCheckMetrics(exposition: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('promtool', ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
    child.stdin.end(exposition);
  });
}

const problemSeries = (code: ErrorCode) => `payments_http_problems_total{code="${code}",status="${ERROR_CATALOGUE[code].status}"}`;

/** Every code's count in payments_http_problems_total (undefined: no series). */
function problemCounts(text: string): Record<string, number | undefined> {
  return Object.fromEntries(Object.keys(ERROR_CATALOGUE).map((code) => [code, metricValue(text, problemSeries(code as ErrorCode))]));
}

describe(`metrics for the operator (${TEST_MODE} mode, messaging on)`, () => {
  let app: TestApp;
  let broker: TestBroker;

  beforeAll(async () => {
    broker = await TestBroker.open();
    app = await startTestApp({ brokerUrl: TEST_BROKER_URL, brokerPrefix: broker.prefix, maxPayments: MAX_PAYMENTS, maxStoreBytes: MAX_STORE_BYTES });
    await broker.waitForConsumer();
    // a little of everything: a create, a 404, a 400, a lifecycle event over HTTP, a create through the broker
    const payment = await createPayment(app.url);
    expectProblem(await request(app.url).get(paymentPath('no-such-payment')).query({ organizationId: payment.organizationId }), 404);
    expectProblem(await request(app.url).post('/payments').send({ ...paymentBody(), amount: -1 }), 400);
    expectStatus(await sendEvent(app.url, payment.paymentId, { type: 'PaymentProcessed' }), 200);
    const viaBroker = paymentBody();
    await broker.publish({ type: 'CreatePayment', subject: viaBroker.paymentId as string, data: { ...viaBroker, paymentId: undefined } });
    await until(async () => (await request(app.url).get(paymentPath(viaBroker.paymentId as string)).query({ organizationId: viaBroker.organizationId })).status === 200);
  });

  afterAll(async () => {
    await app?.close();
    await broker?.remove();
  });

  it('names every counter with _total and nothing else with it', async () => {
    const types = [...(await metricsText(app.url)).matchAll(/^# TYPE (\S+) (\S+)$/gm)].map(([, name, type]) => ({ name, type }));

    expect(types).toEqual(expect.arrayContaining([{ name: 'payments_messages_consumed_total', type: 'counter' }, { name: 'nodejs_active_handles', type: 'gauge' }]));
    expect(types.filter(({ name, type }) => name.endsWith('_total') !== (type === 'counter'))).toEqual([]);
  });

  (PROMTOOL ? it : it.skip)('passes promtool check metrics without a word', async () => {
    expect(await promtoolCheckMetrics(await metricsText(app.url))).toEqual({ code: 0, output: '' });
  });

  it('counts each problem answer once under its code, wherever it is answered, and every other code stays', async () => {
    const maxUrlLength = app.app.get(AppConfig).maxUrlLength;
    const cases: Array<[ErrorCode, () => request.Test]> = [
      ['VALIDATION_FAILED', () => request(app.url).post('/payments').send({ ...paymentBody(), currency: 'euro' })], // the pipe, through the filter
      ['PAYMENT_NOT_FOUND', () => request(app.url).get(paymentPath('nobody')).query({ organizationId: 'nobody' })], // a handler
      ['ROUTE_NOT_FOUND', () => request(app.url).get('/no-such-route')], // Nest's not-found handler
      ['URI_TOO_LONG', () => request(app.url).get(`/payments/${'x'.repeat(maxUrlLength)}`)], // an onRequest hook
      ['BAD_REQUEST', () => request(app.url).get('/payments/%zz')], // the router (frameworkErrors)
    ];
    for (const [code, send] of cases) {
      const before = problemCounts(await metricsText(app.url));
      const res = await send();
      expectProblem(res, ERROR_CATALOGUE[code].status);
      expect(res.body.code).toBe(code);
      const after = problemCounts(await metricsText(app.url));

      expect({ code, after }).toEqual({ code, after: { ...before, [code]: (before[code] ?? NaN) + 1 } });
    }
    // Node's HTTP parser, before there is a request (the clientErrorHandler writes to the socket)
    const before = problemCounts(await metricsText(app.url));
    const answer = await rawGet(app.url, '/payments', { 'x-big': 'x'.repeat(20_000) });
    expect(JSON.parse(answer.body)).toMatchObject({ status: 431, code: 'HEADERS_TOO_LARGE' });
    const after = problemCounts(await metricsText(app.url));
    expect(after).toEqual({ ...before, HEADERS_TOO_LARGE: (before.HEADERS_TOO_LARGE ?? NaN) + 1 });
  });

  it('has OVERLOADED at 0 before any overload, so that its rate exists', async () => {
    expect(metricValue(await metricsText(app.url), problemSeries('OVERLOADED'))).toBe(0);
  });

  it('has every dead-letter code at 0 before its first dead letter, so that the first one is an increase', async () => {
    const text = await metricsText(app.url);
    expect(metricValue(text, 'payments_messages_dead_lettered_total{code="VALIDATION_FAILED"}')).toBe(0);
    expect(metricValue(text, 'payments_messages_dead_lettered_total{code="UNKNOWN_MESSAGE_TYPE"}')).toBe(0);
  });

  it('shows the store against MAX_PAYMENTS and its byte budget', async () => {
    const text = await metricsText(app.url);
    const bytes = metricValue(text, 'payments_store_bytes');

    expect(metricValue(text, 'payments_store_max_payments')).toBe(MAX_PAYMENTS);
    expect(metricValue(text, 'payments_store_size')).toBeGreaterThanOrEqual(2);
    expect(metricValue(text, 'payments_store_max_bytes')).toBe(MAX_STORE_BYTES);
    expect(bytes).toBeGreaterThan(0);
    expect(bytes).toBeLessThan(MAX_STORE_BYTES);
  });

  if (TEST_MODE === 'memory') {
    it('has no payments_database_up in memory mode (there is no database)', async () => {
      expect(await metricsText(app.url)).not.toMatch(/^payments_database_up /m);
    });
  } else {
    it('has payments_database_up at 1 while PostgreSQL answers', async () => {
      expect(metricValue(await metricsText(app.url), 'payments_database_up')).toBe(1);
    });

    it('reads payments_database_up at each scrape: 0 while the database is cut off, 1 again once it is back', async () => {
      const db = await createTestDatabase();
      const proxy = await TcpProxy.start(Number(new URL(db.url).port || 5432), new URL(db.url).hostname);
      const cutOff = await startTestApp({ databaseUrl: proxy.urlFor(db.url) });
      try {
        expect(metricValue(await metricsText(cutOff.url), 'payments_database_up')).toBe(1);
        proxy.cut();
        expect(metricValue(await metricsText(cutOff.url), 'payments_database_up')).toBe(0);
        proxy.restore();
        await until(async () => metricValue(await metricsText(cutOff.url), 'payments_database_up') === 1);
      } finally {
        proxy.restore();
        await cutOff.close();
        await proxy.close();
        await db.drop();
      }
    });
  }
});
