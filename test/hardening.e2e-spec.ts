import { SignJWT } from 'jose';
import request, { Response } from 'supertest';
import { expectInvalidFields, expectProblem, expectStatus, Payment, paymentBody, paymentPath, uniqueId } from './e2e-helpers';
import { eventually } from './pg-helpers';
import { startTestApp, TestApp } from './test-app';

/** Hardening at the edge: rate limit, security headers, CORS, overload, capacity, hostile input. */

const SECRET = 'hardening-e2e-secret-0123456789abcdef-0123456789';

async function bearer(org: string, sub: string, scope = 'payments:read payments:write admin'): Promise<string> {
  const token = await new SignJWT({ org, scope })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(sub)
    .setIssuedAt()
    .setExpirationTime('10m')
    .sign(new TextEncoder().encode(SECRET));
  return `Bearer ${token}`;
}

/** Payments in the store, as /admin/store reports it (auth off unless `authorization`). */
async function storeSize(url: string, authorization?: string): Promise<number> {
  const req = request(url).get('/admin/store');
  const res = await (authorization ? req.set('Authorization', authorization) : req);
  expectStatus(res, 200);
  return res.body.payments as number;
}

/** A sane Retry-After: a whole number of seconds, at least 1. */
function expectRetryAfter(res: Response, maxSeconds: number): void {
  expect(res.headers['retry-after']).toMatch(/^\d+$/);
  const seconds = Number(res.headers['retry-after']);
  expect(seconds).toBeGreaterThanOrEqual(1);
  expect(seconds).toBeLessThanOrEqual(maxSeconds);
}

describe('rate limit per caller', () => {
  const LIMIT = 3;
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ authJwtSecret: SECRET, rateLimitPerMinute: LIMIT });
  });

  afterAll(async () => {
    await t.close();
  });

  /** Spends a caller's whole budget on reads that succeed. */
  async function spend(authorization: string): Promise<void> {
    for (let i = 0; i < LIMIT; i++) expectStatus(await request(t.url).get('/payments/search').set('Authorization', authorization), 200);
  }

  it('answers a caller past its budget with 429, problem+json and Retry-After, and runs nothing', async () => {
    const caller = await bearer(uniqueId('org'), 'spender');
    const operator = await bearer(uniqueId('org-ops'), 'operator', 'operator');
    const before = await storeSize(t.url, operator);
    await spend(caller);
    const body = paymentBody();
    delete body.organizationId;

    const res = await request(t.url).post('/payments').set('Authorization', caller).send(body);

    expectProblem(res, 429);
    expectRetryAfter(res, 60);
    expect(await storeSize(t.url, operator)).toBe(before);
  });

  it('keeps refusing a caller past its budget on every /payments route', async () => {
    const caller = await bearer(uniqueId('org'), 'spender');
    await spend(caller);

    for (const path of ['/payments/search', '/payments/stats', paymentPath(uniqueId('pay'))]) {
      const res = await request(t.url).get(path).set('Authorization', caller);
      expect({ path, status: res.status }).toEqual({ path, status: 429 });
    }
  });

  it('counts /admin requests as well', async () => {
    const operator = await bearer(uniqueId('org-ops'), 'operator', 'operator');
    for (let i = 0; i < LIMIT; i++) expectStatus(await request(t.url).get('/admin/store').set('Authorization', operator), 200);

    const res = await request(t.url).get('/admin/store').set('Authorization', operator);

    expectProblem(res, 429);
    expectRetryAfter(res, 60);
  });

  it('gives two callers separate budgets', async () => {
    const org = uniqueId('org');
    const first = await bearer(org, 'first');
    await spend(first);

    const otherOrg = await request(t.url).get('/payments/search').set('Authorization', await bearer(uniqueId('org'), 'first'));
    const otherSubject = await request(t.url).get('/payments/search').set('Authorization', await bearer(org, 'second'));
    const firstAgain = await request(t.url).get('/payments/search').set('Authorization', first);

    expectStatus(otherOrg, 200);
    expectStatus(otherSubject, 200);
    expectProblem(firstAgain, 429);
  });

  it('counts a new token for the same caller against the same budget', async () => {
    const org = uniqueId('org');
    await spend(await bearer(org, 'same'));

    const res = await request(t.url).get('/payments/search').set('Authorization', await bearer(org, 'same'));

    expectProblem(res, 429);
  });

  it('limits requests without a token by client address, apart from token callers', async () => {
    for (let i = 0; i < LIMIT; i++) expectProblem(await request(t.url).get('/payments/search'), 401);

    const anonymous = await request(t.url).get('/payments/search');
    const withToken = await request(t.url).get('/payments/search').set('Authorization', await bearer(uniqueId('org'), 'fresh'));

    expectProblem(anonymous, 429);
    expectRetryAfter(anonymous, 60);
    expectStatus(withToken, 200);
  });

  it('never limits health checks', async () => {
    const caller = await bearer(uniqueId('org'), 'prober');
    await spend(caller);

    for (let i = 0; i < LIMIT * 4; i++) {
      expectStatus(await request(t.url).get('/health/live'), 200);
      expectStatus(await request(t.url).get('/health/ready').set('Authorization', caller), 200);
    }
  });
});

describe('security headers and CORS', () => {
  const ALLOWED = 'https://app.example.com';
  let open: TestApp;
  let withCors: TestApp;

  beforeAll(async () => {
    [open, withCors] = await Promise.all([startTestApp(), startTestApp({ corsOrigins: [ALLOWED] })]);
  });

  afterAll(async () => {
    await Promise.all([open.close(), withCors.close()]);
  });

  it.each([
    ['a payment search', '/payments/search'],
    ['a 404 problem of the API', '/payments/no-such-payment'],
    ['a 400 problem', '/payments/search?size=0'],
    ['an admin route', '/admin/no-such-route'],
  ])('sends the API security headers (OWASP REST) on %s, and no copy of it may be stored', async (_name, path) => {
    const res = await request(open.url).get(path);

    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['x-frame-options']).toBe('DENY');
    expect(res.headers['content-security-policy']).toBe("default-src 'none'; frame-ancestors 'none'");
    expect(res.headers['strict-transport-security']).toMatch(/max-age=\d+/);
    expect(res.headers['cache-control']).toBe('no-store');
    // the document-only headers stay on the pages
    expect(res.headers).not.toHaveProperty('cross-origin-opener-policy');
    expect(res.headers).not.toHaveProperty('x-powered-by');
  });

  it.each([
    ['a health check', '/health/live'],
    ['the API docs', '/docs/json'],
    ['a 404 outside the API', '/nope'],
  ])('sends helmet\'s document headers on %s', async (_name, path) => {
    const res = await request(open.url).get(path);

    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['x-frame-options']).toBe('SAMEORIGIN');
    expect(res.headers['content-security-policy']).toMatch(/default-src 'self'/);
    expect(res.headers['cross-origin-opener-policy']).toBe('same-origin');
    expect(res.headers['strict-transport-security']).toMatch(/max-age=\d+/);
    expect(res.headers).not.toHaveProperty('x-powered-by');
  });

  it('allows a listed origin', async () => {
    const res = await request(withCors.url).get('/payments/search').set('Origin', ALLOWED);

    expectStatus(res, 200);
    expect(res.headers['access-control-allow-origin']).toBe(ALLOWED);
  });

  it('answers a preflight from a listed origin', async () => {
    const res = await request(withCors.url)
      .options('/payments')
      .set('Origin', ALLOWED)
      .set('Access-Control-Request-Method', 'POST')
      .set('Access-Control-Request-Headers', 'authorization,content-type');

    expect(res.status).toBeLessThan(300);
    expect(res.headers['access-control-allow-origin']).toBe(ALLOWED);
    expect(res.headers['access-control-allow-methods']).toMatch(/POST/);
  });

  it('grants nothing to an origin that is not listed', async () => {
    const res = await request(withCors.url).get('/payments/search').set('Origin', 'https://evil.example.com');

    expect(res.headers).not.toHaveProperty('access-control-allow-origin');
  });

  it('grants no origin at all without corsOrigins', async () => {
    const simple = await request(open.url).get('/payments/search').set('Origin', ALLOWED);
    const preflight = await request(open.url).options('/payments').set('Origin', ALLOWED).set('Access-Control-Request-Method', 'POST');

    expect(simple.headers).not.toHaveProperty('access-control-allow-origin');
    expect(preflight.headers).not.toHaveProperty('access-control-allow-origin');
  });
});

describe('overload shedding', () => {
  let t: TestApp;

  /** Payments in the store, through readiness (which is never shed). */
  async function readySize(): Promise<number> {
    const res = await request(t.url).get('/health/ready');
    expectStatus(res, 200);
    return res.body.details.store.payments as number;
  }

  beforeAll(async () => {
    // Any heap is over 1 byte: the first sample (a second after the start) puts the service
    // under pressure, and every later one keeps it there.
    t = await startTestApp({ maxHeapUsedBytes: 1 });
    await eventually(async () => expectProblem(await request(t.url).get('/admin/store'), 503), 20_000, 50);
  });

  afterAll(async () => {
    await t.close();
  });

  it('answers /payments with 503, problem+json and Retry-After', async () => {
    for (const path of ['/payments/search', '/payments/stats', paymentPath(uniqueId('pay')), '/admin/store']) {
      const res = await request(t.url).get(path);

      expectProblem(res, 503);
      expectRetryAfter(res, 60);
    }
  });

  it('runs no write while shedding', async () => {
    const before = await readySize();
    const body = paymentBody();

    const create = await request(t.url).post('/payments').send(body);
    const bulk = await request(t.url).post('/payments/bulk').send({ payments: [paymentBody()] });

    expectProblem(create, 503);
    expectProblem(bulk, 503);
    expect(await readySize()).toBe(before);
  });

  it('keeps health, metrics and docs up', async () => {
    for (const path of ['/health/live', '/health/ready', '/metrics', '/docs/json']) {
      const res = await request(t.url).get(path);
      expect({ path, status: res.status }).toEqual({ path, status: 200 });
    }
  });
});

describe('store capacity (maxPayments)', () => {
  const CAPACITY = 2;
  let t: TestApp;
  let stored: Payment[];

  beforeAll(async () => {
    t = await startTestApp({ maxPayments: CAPACITY });
    stored = [];
    for (let i = 0; i < CAPACITY; i++) {
      const res = await request(t.url).post('/payments').send(paymentBody());
      expectStatus(res, 201);
      stored.push(res.body as Payment);
    }
  });

  afterAll(async () => {
    await t.close();
  });

  it('answers a create past capacity with 507 and stores nothing', async () => {
    const body = paymentBody();

    const res = await request(t.url).post('/payments').send(body);

    expectProblem(res, 507);
    expect(await storeSize(t.url)).toBe(CAPACITY);
    expectProblem(await request(t.url).get(paymentPath(body.paymentId as string)), 404);
  });

  it('fails a bulk item past capacity with 507 and stores nothing', async () => {
    const body = paymentBody();

    const res = await request(t.url).post('/payments/bulk').send({ payments: [body] });

    expectStatus(res, 200);
    expect(res.body).toMatchObject({ created: 0, failed: 1, results: [{ index: 0, status: 507 }] });
    expect(await storeSize(t.url)).toBe(CAPACITY);
    expectProblem(await request(t.url).get(paymentPath(body.paymentId as string)), 404);
  });

  it('leaves the stored payments untouched and still replays and updates them when full', async () => {
    const [first] = stored;
    const replay = await request(t.url)
      .post('/payments')
      .send({ paymentId: first.paymentId, organizationId: first.organizationId, userId: first.userId, amount: first.amount, currency: first.currency });
    const processed = await request(t.url).post(`${paymentPath(first.paymentId)}/events`).send({ type: 'PaymentProcessed' });

    expectStatus(replay, 200);
    expect(replay.body).toEqual(first);
    expectStatus(processed, 200);
    expect(processed.body).toMatchObject({ status: 'completed', version: 2 });
    expect((await request(t.url).get(paymentPath(stored[1].paymentId))).body).toEqual(stored[1]);
  });
});

describe('hostile input', () => {
  const BULK_MAX_ITEMS = 5;
  const BODY_LIMIT = 64 * 1024;
  const MAX_JSON_DEPTH = 8;
  const MAX_URL_LENGTH = 2048;
  let t: TestApp;
  let existing: Payment;

  beforeAll(async () => {
    t = await startTestApp({ bulkMaxItems: BULK_MAX_ITEMS, bodyLimitBytes: BODY_LIMIT, maxJsonDepth: MAX_JSON_DEPTH, maxUrlLength: MAX_URL_LENGTH });
    const res = await request(t.url).post('/payments').send(paymentBody());
    expectStatus(res, 201);
    existing = res.body as Payment;
  });

  afterAll(async () => {
    await t.close();
  });

  let before: number;
  beforeEach(async () => {
    before = await storeSize(t.url);
  });

  /** After a refused request: the store holds what it held, and the existing payment is as it was. */
  async function expectNothingChanged(...notStored: string[]): Promise<void> {
    expect(await storeSize(t.url)).toBe(before);
    for (const paymentId of notStored) expectProblem(await request(t.url).get(paymentPath(paymentId)), 404);
    expect((await request(t.url).get(paymentPath(existing.paymentId))).body).toEqual(existing);
  }

  function postRaw(path: string, body: string | Buffer): request.Test {
    return request(t.url).post(path).set('Content-Type', 'application/json').send(body);
  }

  /** A create body written by hand: `amount` as raw JSON text, `extra` raw members appended. */
  function rawCreate(paymentId: string, { amount = '1000', extra = '' }: { amount?: string; extra?: string } = {}): string {
    return `{"paymentId":"${paymentId}","organizationId":"org-hostile","userId":"user-hostile","amount":${amount},"currency":"EUR"${extra}}`;
  }

  function expectNoPollution(): void {
    const probe: Record<string, unknown> = {};
    expect(probe.polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('polluted');
    expect(probe.status).toBeUndefined();
  }

  describe('prototype keys', () => {
    it.each([
      ['__proto__ at the top of the body', ',"__proto__":{"polluted":"yes","status":"completed"}'],
      ['constructor.prototype at the top of the body', ',"constructor":{"prototype":{"polluted":"yes"}}'],
      ['a top-level constructor key', ',"constructor":"x"'],
      ['a top-level toString key', ',"toString":"x"'],
      ['a top-level prototype key', ',"prototype":{"polluted":"yes"}'],
      ['__proto__ as an object in metadata', ',"metadata":{"__proto__":{"polluted":"yes"}}'],
      ['__proto__ as a string in metadata', ',"metadata":{"__proto__":"yes"}'],
      ['constructor.prototype in metadata', ',"metadata":{"constructor":{"prototype":{"polluted":"yes"}}}'],
      ['a constructor key in metadata', ',"metadata":{"constructor":"yes"}'],
      ['a prototype key in metadata', ',"metadata":{"prototype":"yes"}'],
    ])('refuses a create with %s with 400 and stores nothing', async (_name, extra) => {
      const paymentId = uniqueId('pay');

      const res = await postRaw('/payments', rawCreate(paymentId, { extra }));

      expectProblem(res, 400);
      await expectNothingChanged(paymentId);
      expectNoPollution();
    });

    it('refuses a whole bulk import when an item carries __proto__, storing none of it', async () => {
      const good = uniqueId('pay');
      const bad = uniqueId('pay');

      const res = await postRaw('/payments/bulk', `{"payments":[${rawCreate(good)},${rawCreate(bad, { extra: ',"__proto__":{"polluted":"yes"}' })}]}`);

      expectProblem(res, 400);
      await expectNothingChanged(good, bad);
      expectNoPollution();
    });

    it('refuses an event carrying __proto__ and leaves the payment as it was', async () => {
      const res = await postRaw(`${paymentPath(existing.paymentId)}/events`, '{"type":"PaymentProcessed","__proto__":{"status":"refunded","polluted":"yes"}}');

      expectProblem(res, 400);
      await expectNothingChanged();
      expectNoPollution();
    });

    it('stores metadata keys named like Object methods exactly as sent', async () => {
      const metadata = { toString: 'a', valueOf: 'b', hasOwnProperty: 'c', isPrototypeOf: 'd' };
      const body = paymentBody({ metadata });

      const res = await request(t.url).post('/payments').send(body);

      expectStatus(res, 201);
      expect(res.body.metadata).toEqual(metadata);
      expect((await request(t.url).get(paymentPath(body.paymentId as string))).body.metadata).toEqual(metadata);
      expectNoPollution();
    });

    it.each(['__proto__', 'constructor', 'prototype', '__proto__[polluted]', 'toString'])('refuses a %s query parameter with 400', async (name) => {
      const res = await request(t.url).get(`/payments/search?${encodeURIComponent(name)}=yes`);

      expectProblem(res, 400);
      expectNoPollution();
    });
  });

  describe('nesting and size', () => {
    it('refuses JSON nested deeper than maxJsonDepth with 400 and stores nothing', async () => {
      const paymentId = uniqueId('pay');
      const deep = '{"a":'.repeat(MAX_JSON_DEPTH) + '"x"' + '}'.repeat(MAX_JSON_DEPTH);

      const res = await postRaw('/payments', rawCreate(paymentId, { extra: `,"metadata":${deep}` }));

      expectProblem(res, 400);
      await expectNothingChanged(paymentId);
    });

    it('refuses arrays nested tens of thousands deep with 400 and stays up', async () => {
      const depth = 30_000;

      const res = await postRaw('/payments', '['.repeat(depth) + ']'.repeat(depth));

      expectProblem(res, 400);
      expectStatus(await request(t.url).get('/health/live'), 200);
      await expectNothingChanged();
    });

    it('refuses a bulk import over the item limit with 400 naming payments, storing none of it', async () => {
      const items = Array.from({ length: BULK_MAX_ITEMS + 1 }, () => paymentBody());

      const res = await request(t.url).post('/payments/bulk').send({ payments: items });

      expectInvalidFields(res, ['payments']);
      await expectNothingChanged(...items.map((i) => i.paymentId as string));
    });

    it('refuses a bulk import of a huge array of junk with 400', async () => {
      const res = await postRaw('/payments/bulk', `{"payments":[${Array(25_000).fill('0').join(',')}]}`);

      expectProblem(res, 400);
      await expectNothingChanged();
    });

    it.each([
      ['a short array', ['a', 'b']],
      ['a huge array', Array(10_000).fill('x')],
    ])('refuses metadata given as %s with 400 naming metadata', async (_name, metadata) => {
      const body = paymentBody({ metadata });

      const res = await request(t.url).post('/payments').send(body);

      expectInvalidFields(res, ['metadata']);
      await expectNothingChanged(body.paymentId as string);
    });

    it('refuses a body over the size limit with 413 and stores nothing', async () => {
      const body = paymentBody({ description: 'x'.repeat(BODY_LIMIT) });

      const res = await request(t.url).post('/payments').send(body);

      expectProblem(res, 413);
      await expectNothingChanged(body.paymentId as string);
    });
  });

  describe('URLs and query strings', () => {
    it('answers a URL longer than maxUrlLength with 414', async () => {
      const path = '/payments/search?userId=';
      const res = await request(t.url).get(path + 'u'.repeat(MAX_URL_LENGTH + 1 - path.length));

      expectProblem(res, 414);
    });

    it('serves a URL of exactly maxUrlLength', async () => {
      const path = '/health/live?pad=';
      const atLimit = await request(t.url).get(path + 'p'.repeat(MAX_URL_LENGTH - path.length));
      const overLimit = await request(t.url).get(path + 'p'.repeat(MAX_URL_LENGTH + 1 - path.length));

      expectStatus(atLimit, 200);
      expectProblem(overLimit, 414);
    });

    it('refuses a create under a too-long URL with 414 and stores nothing', async () => {
      const body = paymentBody();

      const res = await request(t.url).post(`/payments?pad=${'p'.repeat(MAX_URL_LENGTH)}`).send(body);

      expectProblem(res, 414);
      await expectNothingChanged(body.paymentId as string);
    });

    it.each([
      ['GET', ''],
      ['POST', '/events'],
    ])('answers %s on a payment id making the URL longer than maxUrlLength with 414 problem+json', async (method, suffix) => {
      const path = `/payments/${'a'.repeat(MAX_URL_LENGTH)}${suffix}`;

      const res = await (method === 'GET' ? request(t.url).get(path) : request(t.url).post(path).send({ type: 'PaymentProcessed' }));

      expectProblem(res, 414);
      await expectNothingChanged();
    });

    it('answers a payment id far longer than any paymentId with a problem+json 404 or 414', async () => {
      const res = await request(t.url).get(`/payments/${'a'.repeat(300)}`);

      expect([404, 414]).toContain(res.status);
      expectProblem(res, res.status);
    });

    // status and currency are lists: repeating them is allowed (test/list-parameters.e2e-spec.ts)
    it.each([
      ['/payments/stats', 'interval=day&interval=hour', 'interval'],
      ['/payments/search', 'sort=amount&sort=-amount', 'sort'],
      ['/payments/search', 'organizationId=a&organizationId=b', 'organizationId'],
      ['/payments/search', 'size=5&size=10', 'size'],
      ['/payments/stats', 'minAmount=1&minAmount=2', 'minAmount'],
    ])('answers %s?%s with 400 naming the repeated parameter', async (path, query, field) => {
      const res = await request(t.url).get(`${path}?${query}`);

      expectInvalidFields(res, [field]);
    });
  });

  describe('encodings and numbers', () => {
    it.each([
      ['a 0xFF byte', Buffer.from([0xff, 0xfe])],
      ['a Latin-1 é', Buffer.from([0xe9])],
      ['a truncated multi-byte sequence', Buffer.from([0xe2, 0x82])],
      ['an encoded UTF-16 surrogate', Buffer.from([0xed, 0xa0, 0x80])],
      ['an overlong encoding of "/"', Buffer.from([0xc0, 0xaf])],
    ])('refuses a body holding %s (not UTF-8) with 400 and stores nothing', async (_name, bytes) => {
      const paymentId = uniqueId('pay');
      const [head, tail] = rawCreate(paymentId, { extra: ',"description":"@"' }).split('@');

      const res = await postRaw('/payments', Buffer.concat([Buffer.from(head), bytes, Buffer.from(tail)]));

      expectProblem(res, 400);
      await expectNothingChanged(paymentId);
    });

    it.each([
      ['2^53 + 1', '9007199254740993'],
      ['2^53', '9007199254740992'],
      ['a 30-digit integer', '123456789012345678901234567890'],
      ['a huge negative integer', '-9007199254740993'],
    ])('refuses an amount of %s with 400 and stores nothing', async (_name, amount) => {
      const paymentId = uniqueId('pay');

      const res = await postRaw('/payments', rawCreate(paymentId, { amount }));

      expectProblem(res, 400);
      await expectNothingChanged(paymentId);
    });

    it('refuses a refundAmount past 2^53 with 400 and refunds nothing', async () => {
      const target = (await request(t.url).post('/payments').send(paymentBody())).body as Payment;
      const completed = await request(t.url).post(`${paymentPath(target.paymentId)}/events`).send({ type: 'PaymentProcessed' });
      expectStatus(completed, 200);
      before = await storeSize(t.url);

      const res = await postRaw(`${paymentPath(target.paymentId)}/events`, '{"type":"PaymentRefunded","data":{"refundAmount":9007199254740993}}');

      expectProblem(res, 400);
      await expectNothingChanged();
      expect((await request(t.url).get(paymentPath(target.paymentId))).body).toEqual(completed.body);
    });

    it.each(['1e3', '1E3', '1e+3', '10e2', '1.5e3', '1000e0'])('refuses an amount written %s with 400 naming amount', async (amount) => {
      const paymentId = uniqueId('pay');

      const res = await postRaw('/payments', rawCreate(paymentId, { amount }));

      expectInvalidFields(res, ['amount']);
      await expectNothingChanged(paymentId);
    });

    it.each(['-0', '-0.0'])('refuses an amount written %s with 400', async (amount) => {
      const paymentId = uniqueId('pay');

      const res = await postRaw('/payments', rawCreate(paymentId, { amount }));

      expectInvalidFields(res, ['amount']);
      await expectNothingChanged(paymentId);
    });

    it.each([
      ['minAmount', '1e3'],
      ['maxAmount', '1E3'],
      ['minAmount', '-0'],
      ['maxAmount', '9007199254740993'],
    ])('answers a search with %s=%s with 400 naming it', async (name, value) => {
      const res = await request(t.url).get(`/payments/search?${name}=${encodeURIComponent(value)}`);

      expectInvalidFields(res, [name]);
    });
  });

  describe('impossible dates', () => {
    it.each(['2026-02-30T10:00:00.000Z', '2026-02-29T10:00:00.000Z', '2026-04-31T10:00:00Z', '2026-13-01T10:00:00Z', '2026-01-01T24:00:00Z', '2026-02-30'])(
      'refuses a createdAt of %s with 400 naming createdAt',
      async (createdAt) => {
        const body = paymentBody({ createdAt });

        const res = await request(t.url).post('/payments').send(body);

        expectInvalidFields(res, ['createdAt']);
        await expectNothingChanged(body.paymentId as string);
      },
    );

    it('refuses an event occurredAt of 2026-02-30 with 400 and leaves the payment as it was', async () => {
      const res = await request(t.url)
        .post(`${paymentPath(existing.paymentId)}/events`)
        .send({ type: 'PaymentProcessed', occurredAt: '2026-02-30T10:00:00.000Z' });

      expectInvalidFields(res, ['occurredAt']);
      await expectNothingChanged();
    });

    it.each([
      ['/payments/search', 'from'],
      ['/payments/search', 'to'],
      ['/payments/stats', 'from'],
    ])('answers %s with %s=2026-02-30 with 400 naming it', async (path, name) => {
      const res = await request(t.url).get(`${path}?${name}=2026-02-30T00:00:00Z`);

      expectInvalidFields(res, [name]);
    });
  });
});
