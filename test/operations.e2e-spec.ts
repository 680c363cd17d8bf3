import request from 'supertest';
import {
  createPayment,
  expectNotStored,
  expectProblem,
  expectStatus,
  getPayment,
  paymentBody,
  paymentPath,
  storedTotal,
  uniqueId,
} from './e2e-helpers';
import { startTestApp, TestApp } from './test-app';

let t: TestApp;

beforeAll(async () => {
  t = await startTestApp();
});

afterAll(async () => {
  await t.close();
});

/** The value of one Prometheus sample (`name{labels} value`); 0 when it is not exposed yet. */
function sample(metrics: string, name: string, labels: Record<string, string> = {}): number {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  let sum = 0;
  for (const line of metrics.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (m && m[1] === name && wanted.every((w) => (m[2] ?? '').split(',').includes(w))) sum += Number(m[3]);
  }
  return sum;
}

async function scrape(): Promise<string> {
  const res = await request(t.url).get('/metrics');
  expectStatus(res, 200);
  return res.text;
}

describe('health', () => {
  it('answers /health/live 200 in terminus format', async () => {
    const res = await request(t.url).get('/health/live');

    expectStatus(res, 200);
    expect(res.headers['content-type']).toMatch(/^application\/json\b/);
    expect(res.body).toEqual({ status: 'ok', info: expect.any(Object), error: {}, details: expect.any(Object) });
  });

  it('answers /health/ready 200 in terminus format once the store is loaded', async () => {
    const res = await request(t.url).get('/health/ready');

    expectStatus(res, 200);
    expect(res.body).toEqual({ status: 'ok', info: expect.any(Object), error: {}, details: expect.any(Object) });
    expect(Object.values(res.body.details as Record<string, { status: string }>).every((d) => d.status === 'up')).toBe(true);
  });
});

describe('GET /metrics', () => {
  it('serves Prometheus text with request counts, latencies, store size and cache hits and misses', async () => {
    await request(t.url).get('/payments/search').query({ organizationId: uniqueId('org') });

    const res = await request(t.url).get('/metrics');

    expectStatus(res, 200);
    expect(res.headers['content-type']).toMatch(/^text\/plain\b/);
    for (const name of ['http_requests_total', 'http_request_duration_seconds', 'payments_store_size', 'payments_query_cache_hits_total', 'payments_query_cache_misses_total']) {
      expect(res.text).toMatch(new RegExp(`^# TYPE ${name} `, 'm'));
    }
    expect(res.text).toMatch(/^http_request_duration_seconds_bucket\{/m);
  });

  it('counts requests per route pattern, not per concrete URL', async () => {
    const { paymentId } = await createPayment(t.url);
    const before = await scrape();

    await request(t.url).get(paymentPath(paymentId));
    await request(t.url).get(paymentPath(uniqueId('missing')));
    const after = await scrape();

    const labels = { method: 'GET', route: '/payments/:id' };
    expect(sample(after, 'http_requests_total', { ...labels, status: '200' }) - sample(before, 'http_requests_total', { ...labels, status: '200' })).toBe(1);
    expect(sample(after, 'http_requests_total', { ...labels, status: '404' }) - sample(before, 'http_requests_total', { ...labels, status: '404' })).toBe(1);
    expect(after).not.toContain(paymentId);
  });

  it('reports the store size as the number of stored payments', async () => {
    await createPayment(t.url);
    await createPayment(t.url);

    const metrics = await scrape();

    expect(sample(metrics, 'payments_store_size')).toBe(await storedTotal(t.url));
    expect(sample(metrics, 'payments_store_size')).toBeGreaterThanOrEqual(2);
  });

  it('counts a repeated identical search with no write between as a cache hit', async () => {
    const organizationId = uniqueId('org');
    await request(t.url).get('/payments/search').query({ organizationId });
    const before = await scrape();

    await request(t.url).get('/payments/search').query({ organizationId });
    const after = await scrape();

    expect(sample(after, 'payments_query_cache_hits_total') - sample(before, 'payments_query_cache_hits_total')).toBe(1);
  });
});

describe('API documentation', () => {
  it('serves the Swagger UI as HTML on /docs', async () => {
    const res = await request(t.url).get('/docs').redirects(2);

    expectStatus(res, 200);
    expect(res.headers['content-type']).toMatch(/^text\/html\b/);
    expect(res.text).toMatch(/swagger/i);
  });

  describe('the OpenAPI document on /docs/json', () => {
    interface Operation {
      parameters?: { name: string; in: string }[];
      responses: Record<string, { content?: Record<string, unknown> }>;
    }
    let doc: { openapi: string; paths: Record<string, Record<string, Operation>> };

    beforeAll(async () => {
      const res = await request(t.url).get('/docs/json');
      expectStatus(res, 200);
      doc = res.body;
    });

    it('is OpenAPI 3', () => {
      expect(doc.openapi).toMatch(/^3\.\d+\.\d+$/);
    });

    it.each<[string, string]>([
      ['/payments', 'post'],
      ['/payments/bulk', 'post'],
      ['/payments/{id}', 'get'],
      ['/payments/search', 'get'],
      ['/payments/stats', 'get'],
      ['/payments/stats/stream', 'get'],
      ['/payments/{id}/events', 'post'],
      ['/health/live', 'get'],
      ['/health/ready', 'get'],
      ['/metrics', 'get'],
      ['/admin/store', 'get'],
      ['/admin/sync', 'post'],
      ['/admin/sync/{paymentId}', 'get'],
    ])('lists %s %s', (path, method) => {
      expect(Object.keys(doc.paths[path] ?? {})).toContain(method);
    });

    it('lists every search query parameter', () => {
      const names = (doc.paths['/payments/search'].get.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name);

      expect(names.sort()).toEqual(
        ['organizationId', 'userId', 'status', 'currency', 'minAmount', 'maxAmount', 'from', 'to', 'sort', 'page', 'size', 'cursor'].sort(),
      );
    });

    it('lists every stats query parameter', () => {
      const names = (doc.paths['/payments/stats'].get.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name);

      expect(names.sort()).toEqual(['organizationId', 'userId', 'status', 'currency', 'minAmount', 'maxAmount', 'from', 'to', 'interval'].sort());
    });

    it.each<[string, string, string[]]>([
      ['/payments', 'post', ['400', '409', '413', '415', '507']],
      ['/payments/bulk', 'post', ['400', '413', '415']],
      ['/payments/{id}', 'get', ['404']],
      ['/payments/search', 'get', ['400']],
      ['/payments/stats', 'get', ['400']],
      ['/payments/{id}/events', 'post', ['400', '404', '409', '413', '415', '422']],
    ])('describes the problem responses of %s %s as application/problem+json', (path, method, statuses) => {
      const responses = doc.paths[path][method].responses;

      for (const status of statuses) {
        expect({ status, content: Object.keys(responses[status]?.content ?? {}) }).toEqual({ status, content: ['application/problem+json'] });
      }
    });
  });
});

describe('GET /admin/store', () => {
  it('answers the number of payments, distinct values per index, usage against the capacity limits and process memory', async () => {
    const before = await request(t.url).get('/admin/store');
    const organizationId = uniqueId('org');
    await createPayment(t.url, { organizationId, userId: uniqueId('user') });
    await createPayment(t.url, { organizationId, userId: uniqueId('user') });

    const res = await request(t.url).get('/admin/store');

    expectStatus(res, 200);
    expect(res.body).toEqual({
      payments: expect.any(Number),
      indexes: {
        organizationId: expect.any(Number),
        userId: expect.any(Number),
        status: expect.any(Number),
        currency: expect.any(Number),
        amount: expect.any(Number),
        createdAt: expect.any(Number),
      },
      capacity: { payments: expect.any(Number), maxPayments: 20_000_000, bytes: expect.any(Number), maxBytes: expect.any(Number) },
      memory: { heapUsed: expect.any(Number), rss: expect.any(Number) },
    });
    expect(res.body.payments).toBe(before.body.payments + 2);
    expect(res.body.capacity.payments).toBe(res.body.payments);
    expect(res.body.capacity.bytes).toBeGreaterThan(before.body.capacity.bytes);
    expect(res.body.payments).toBe(await storedTotal(t.url));
    expect(res.body.indexes.organizationId).toBe(before.body.indexes.organizationId + 1);
    expect(res.body.indexes.userId).toBe(before.body.indexes.userId + 2);
    expect(res.body.memory.heapUsed).toBeGreaterThan(0);
    expect(res.body.memory.rss).toBeGreaterThanOrEqual(res.body.memory.heapUsed);
  });
});

describe('admin sync (in either mode)', () => {
  it('POST /admin/sync reloads everything (no body) or one organization, and the store serves the same after it', async () => {
    const organizationId = uniqueId('org');
    const a = await createPayment(t.url, { organizationId });
    const b = await createPayment(t.url, { organizationId, amount: 777 });
    const total = await storedTotal(t.url);

    const one = await request(t.url).post('/admin/sync').send({ organizationId });
    expectStatus(one, 200);
    expect(one.body).toEqual({ synchronized: 2 });
    const all = await request(t.url).post('/admin/sync');
    expectStatus(all, 200);
    expect(all.body).toEqual({ synchronized: total });

    expect(await getPayment(t.url, a.paymentId)).toEqual(a);
    expect(await getPayment(t.url, b.paymentId)).toEqual(b);
    expect(await storedTotal(t.url)).toBe(total);
    const search = await request(t.url).get('/payments/search').query({ organizationId, minAmount: 777, maxAmount: 777 });
    expect(search.body.items.map((p: { paymentId: string }) => p.paymentId)).toEqual([b.paymentId]);
  });

  it('GET /admin/sync/:paymentId says a payment is in sync, and 404 for an unknown one', async () => {
    const p = await createPayment(t.url);
    const res = await request(t.url).get(`/admin/sync/${encodeURIComponent(p.paymentId)}`);
    expectStatus(res, 200);
    expect(res.body).toEqual({ paymentId: p.paymentId, organizationId: p.organizationId, inSync: true, differingFields: [], memoryVersion: 1, primaryVersion: 1 });
    expectProblem(await request(t.url).get(`/admin/sync/${uniqueId('nope')}`), 404);
  });

  it('POST /admin/sync refuses a bad body with a 400 naming the field', async () => {
    const bad = await request(t.url).post('/admin/sync').send({ organizationId: '' });
    expectProblem(bad, 400);
    expect(bad.body.errors.map((e: { field: string }) => e.field)).toEqual(['organizationId']);
    const unknown = await request(t.url).post('/admin/sync').send({ organization: 'x' });
    expectProblem(unknown, 400);
    expect(unknown.body.errors.map((e: { field: string }) => e.field)).toEqual(['organization']);
  });
});

describe('unknown routes and request ids', () => {
  it.each<[string, string]>([
    ['get', '/nope'],
    ['get', '/payments/abc/events'],
    ['post', '/payments/abc/refunds'],
    ['get', '/v2/payments'],
  ])('answers %s %s with 404 problem details', async (method, path) => {
    const res = method === 'get' ? await request(t.url).get(path) : await request(t.url).post(path).send({});

    expectProblem(res, 404);
  });

  it('echoes the X-Request-Id the caller sends', async () => {
    const requestId = uniqueId('req');

    const ok = await request(t.url).get('/health/live').set('X-Request-Id', requestId);
    const problem = await request(t.url).get('/nope').set('X-Request-Id', requestId);

    expect(ok.headers['x-request-id']).toBe(requestId);
    expect(problem.headers['x-request-id']).toBe(requestId);
  });

  it('gives every request without an X-Request-Id one of its own', async () => {
    const first = await request(t.url).get('/health/live');
    const second = await request(t.url).get('/health/live');

    expect(first.headers['x-request-id']).toMatch(/\S/);
    expect(second.headers['x-request-id']).toMatch(/\S/);
    expect(first.headers['x-request-id']).not.toBe(second.headers['x-request-id']);
  });
});

describe('a store at its capacity (maxPayments)', () => {
  let full: TestApp;

  beforeAll(async () => {
    full = await startTestApp({ maxPayments: 3 });
  });

  afterAll(async () => {
    await full.close();
  });

  it('answers 507 for a create past capacity, stores nothing and keeps every stored payment', async () => {
    const stored = [await createPayment(full.url), await createPayment(full.url), await createPayment(full.url)];
    const extra = paymentBody();

    const res = await request(full.url).post('/payments').send(extra);

    expectProblem(res, 507);
    await expectNotStored(full.url, extra.paymentId as string);
    expect(await storedTotal(full.url)).toBe(3);
    for (const p of stored) expect(await getPayment(full.url, p.paymentId)).toEqual(p);
  });

  it('still answers a retry of a stored payment 200 and still applies events when full', async () => {
    const first = (await request(full.url).get('/payments/search').query({ size: 1, sort: 'createdAt' })).body.items[0];
    const retryBody = {
      paymentId: first.paymentId,
      organizationId: first.organizationId,
      userId: first.userId,
      amount: first.amount,
      currency: first.currency,
    };

    const retry = await request(full.url).post('/payments').send(retryBody);
    const event = await request(full.url).post(`${paymentPath(first.paymentId)}/events`).send({ type: 'PaymentProcessed' });

    expectStatus(retry, 200);
    expect(retry.body).toEqual(first);
    expectStatus(event, 200);
    expect(event.body.status).toBe('completed');
    expect(await storedTotal(full.url)).toBe(3);
  });
});
