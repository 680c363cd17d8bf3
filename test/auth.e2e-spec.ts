import { SignJWT } from 'jose';
import request, { Response } from 'supertest';
import { atOneInstant, Body, expectProblem, expectStatus, Payment, paymentBody, paymentPath, uniqueId, withoutKeys } from './e2e-helpers';
import { startTestApp, TestApp } from './test-app';

/**
 * Auth and tenancy with AUTH_JWT_SECRET set: real HS256 tokens made with jose, verified by the
 * real app over HTTP. 64 bytes, so that the same secret can also sign an HS512 token.
 */
const SECRET = 'auth-e2e-secret-0123456789abcdef-0123456789abcdef-0123456789abcd';
const KEY = new TextEncoder().encode(SECRET);
const OTHER_KEY = new TextEncoder().encode('another-secret-0123456789abcdef-0123456789abcdef-0123456789abcd');
const CLOCK_SKEW_SECONDS = 30;

const READ = 'payments:read';
const WRITE = 'payments:write';
const ADMIN = 'admin';
const ALL = `${READ} ${WRITE} ${ADMIN}`;

const nowSeconds = (): number => Math.floor(Date.now() / 1000);


interface TokenOptions {
  /** null leaves the claim out. */
  org?: string | null;
  scope?: string | null;
  sub?: string;
  exp?: number;
  nbf?: number;
  alg?: 'HS256' | 'HS384' | 'HS512';
  key?: Uint8Array;
}

async function mint({ org = 'org-unused', scope = ALL, sub = 'client-1', exp = nowSeconds() + 600, nbf, alg = 'HS256', key = KEY }: TokenOptions = {}): Promise<string> {
  const claims: Record<string, unknown> = {};
  if (org !== null) claims.org = org;
  if (scope !== null) claims.scope = scope;
  const jwt = new SignJWT(claims).setProtectedHeader({ alg, typ: 'JWT' }).setSubject(sub).setIssuedAt().setExpirationTime(exp);
  if (nbf !== undefined) jwt.setNotBefore(nbf);
  return jwt.sign(key);
}

const base64url = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

/** An unsigned token (`alg: none`) built by hand: header.payload. with an empty signature. */
function unsignedToken(claims: Record<string, unknown>): string {
  return `${base64url({ alg: 'none', typ: 'JWT' })}.${base64url(claims)}.`;
}

/** `Authorization` value of a valid token for `org` with `scope`. */
async function bearer(org: string, scope = ALL, sub = 'client-1'): Promise<string> {
  return `Bearer ${await mint({ org, scope, sub })}`;
}

function get(url: string, path: string, authorization?: string): request.Test {
  const req = request(url).get(path);
  return authorization === undefined ? req : req.set('Authorization', authorization);
}

function post(url: string, path: string, body: unknown, authorization?: string): request.Test {
  const req = request(url).post(path);
  return (authorization === undefined ? req : req.set('Authorization', authorization)).send(body as object);
}

/** A 401 problem that tells the client how to authenticate. */
function expectUnauthorized(res: Response): void {
  expectProblem(res, 401);
  expect(res.headers['www-authenticate']).toMatch(/^Bearer\b/);
}

/** A create body without organizationId (the token's org applies). */
function ownBody(overrides: Body = {}): Body {
  return withoutKeys(paymentBody(overrides), ['organizationId']) as Body;
}

async function create(url: string, authorization: string, overrides: Body = {}): Promise<Payment> {
  const res = await post(url, '/payments', ownBody(overrides), authorization);
  expectStatus(res, 201);
  return res.body as Payment;
}

describe('with AUTH_JWT_SECRET set', () => {
  let t: TestApp;
  /** The platform operator sees every organization's store size: proves a refused write stored nothing. */
  let admin: string;

  beforeAll(async () => {
    t = await startTestApp({ authJwtSecret: SECRET, authClockSkewSeconds: CLOCK_SKEW_SECONDS });
    admin = await bearer(uniqueId('org-platform'), 'operator', 'operator');
  });

  afterAll(async () => {
    await t.close();
  });

  async function storeSize(): Promise<number> {
    const res = await get(t.url, '/admin/store', admin);
    expectStatus(res, 200);
    return res.body.payments as number;
  }

  describe('authentication', () => {
    it('serves a request that carries a valid HS256 token with org and scope', async () => {
      const org = uniqueId('org');
      const authorization = await bearer(org);

      const created = await post(t.url, '/payments', ownBody(), authorization);
      const read = await get(t.url, paymentPath(created.body.paymentId), authorization);

      expectStatus(created, 201);
      expectStatus(read, 200);
      expect(read.body).toMatchObject({ paymentId: created.body.paymentId, organizationId: org });
    });

    const protectedRoutes: [string, (url: string, authorization?: string) => request.Test][] = [
      ['GET /payments/:id', (url, a) => get(url, paymentPath(uniqueId('pay')), a)],
      ['GET /payments/search', (url, a) => get(url, '/payments/search', a)],
      ['GET /payments/stats', (url, a) => get(url, '/payments/stats', a)],
      ['POST /payments', (url, a) => post(url, '/payments', ownBody(), a)],
      ['POST /payments/bulk', (url, a) => post(url, '/payments/bulk', { payments: [ownBody()] }, a)],
      ['POST /payments/:id/events', (url, a) => post(url, `${paymentPath(uniqueId('pay'))}/events`, { type: 'PaymentProcessed' }, a)],
      ['GET /admin/store', (url, a) => get(url, '/admin/store', a)],
    ];

    it.each(protectedRoutes)('answers %s without a token with 401, problem+json and WWW-Authenticate', async (_route, send) => {
      const before = await storeSize();

      const res = await send(t.url);

      expectUnauthorized(res);
      expect(await storeSize()).toBe(before);
    });

    const badTokens: [string, () => Promise<string>][] = [
      ['a "Basic" credential', async () => `Basic ${Buffer.from('user:password').toString('base64')}`],
      ['a garbage string', async () => 'Bearer this-is-not-a-jwt'],
      ['a bare token without the Bearer scheme', async () => mint({ org: uniqueId('org') })],
      ['an empty Bearer', async () => 'Bearer '],
      ['an unsigned token (alg: none)', async () => `Bearer ${unsignedToken({ org: uniqueId('org'), scope: ALL, sub: 'x', exp: nowSeconds() + 600 })}`],
      ['an HS512 token signed with the right secret', async () => `Bearer ${await mint({ org: uniqueId('org'), alg: 'HS512' })}`],
      ['an HS384 token signed with the right secret', async () => `Bearer ${await mint({ org: uniqueId('org'), alg: 'HS384' })}`],
      ['a token signed with another secret', async () => `Bearer ${await mint({ org: uniqueId('org'), key: OTHER_KEY })}`],
      [
        'a token whose payload was altered after signing',
        async () => {
          const [header, , signature] = (await mint({ org: uniqueId('org'), scope: READ })).split('.');
          return `Bearer ${header}.${base64url({ org: uniqueId('org'), scope: ALL, sub: 'x', exp: nowSeconds() + 600 })}.${signature}`;
        },
      ],
      ['a token that expired beyond the clock skew', async () => `Bearer ${await mint({ org: uniqueId('org'), exp: nowSeconds() - CLOCK_SKEW_SECONDS - 1 })}`],
      ['a token not valid before a time beyond the clock skew (nbf)', async () => `Bearer ${await mint({ org: uniqueId('org'), nbf: nowSeconds() + CLOCK_SKEW_SECONDS + 1 })}`],
      ['a token without an org claim', async () => `Bearer ${await mint({ org: null })}`],
      ['a token with an empty org claim', async () => `Bearer ${await mint({ org: '' })}`],
      ['a token without a scope claim', async () => `Bearer ${await mint({ org: uniqueId('org'), scope: null })}`],
    ];

    it.each(badTokens)('refuses %s with 401 and stores nothing', (_name, authorization) =>
      atOneInstant(async () => {
        const header = await authorization();
        const body = ownBody();
        const before = await storeSize();

        const write = await post(t.url, '/payments', body, header);
        const read = await get(t.url, '/payments/search', header);

        expectUnauthorized(write);
        expectUnauthorized(read);
        expect(await storeSize()).toBe(before);
      }),
    );

    it('never echoes the token or the secret in a 401', async () => {
      const token = await mint({ org: uniqueId('org'), key: OTHER_KEY });

      const res = await get(t.url, '/payments/search', `Bearer ${token}`);

      expectUnauthorized(res);
      expect(res.text).not.toContain(token);
      expect(res.text).not.toContain(token.split('.')[2]);
      expect(res.text).not.toContain(SECRET);
    });

    it('accepts a token that expired less than the clock skew ago', () =>
      atOneInstant(async () => {
        const authorization = `Bearer ${await mint({ org: uniqueId('org'), exp: nowSeconds() - CLOCK_SKEW_SECONDS + 1 })}`;

        expectStatus(await get(t.url, '/payments/search', authorization), 200);
      }));

    it('accepts a token whose nbf is less than the clock skew ahead', () =>
      atOneInstant(async () => {
        const authorization = `Bearer ${await mint({ org: uniqueId('org'), nbf: nowSeconds() + CLOCK_SKEW_SECONDS })}`;

        expectStatus(await get(t.url, '/payments/search', authorization), 200);
      }));

    it('keeps health, metrics and docs public, even with a bad token', async () => {
      for (const path of ['/health/live', '/health/ready', '/metrics', '/docs', '/docs/json']) {
        const open = await get(t.url, path);
        const withBadToken = await get(t.url, path, 'Bearer this-is-not-a-jwt');

        expect({ path, status: open.status }).toEqual({ path, status: 200 });
        expect({ path, status: withBadToken.status }).toEqual({ path, status: 200 });
      }
    });
  });

  describe('scopes', () => {
    let org: string;
    let owner: string;
    let existing: Payment;

    beforeAll(async () => {
      org = uniqueId('org');
      owner = await bearer(org, ALL);
      existing = await create(t.url, owner);
    });

    const routes: [string, string, (url: string, authorization: string) => request.Test][] = [
      ['GET /payments/:id', READ, (url, a) => get(url, paymentPath(existing.paymentId), a)],
      ['GET /payments/search', READ, (url, a) => get(url, '/payments/search', a)],
      ['GET /payments/stats', READ, (url, a) => get(url, '/payments/stats', a)],
      ['POST /payments', WRITE, (url, a) => post(url, '/payments', ownBody(), a)],
      ['POST /payments/bulk', WRITE, (url, a) => post(url, '/payments/bulk', { payments: [ownBody()] }, a)],
      ['POST /payments/:id/events', WRITE, (url, a) => post(url, `${paymentPath(existing.paymentId)}/events`, { type: 'PaymentProcessed' }, a)],
      ['POST /admin/sync', ADMIN, (url, a) => post(url, '/admin/sync', {}, a)],
    ];

    it.each(routes)('answers %s with 403 for a token with every scope but %s, and changes nothing', async (_route, scope, send) => {
      const others = ALL.split(' ').filter((s) => s !== scope).join(' ');
      const before = await storeSize();

      const res = await send(t.url, await bearer(org, others));

      expectProblem(res, 403);
      expect(await storeSize()).toBe(before);
      const after = await get(t.url, paymentPath(existing.paymentId), owner);
      expect(after.body).toMatchObject({ status: 'pending', version: 1 });
    });

    it.each(routes)('answers %s with a token that holds only %s', async (_route, scope, send) => {
      const res = await send(t.url, await bearer(org, scope, uniqueId('sub')));

      expect(res.status).toBeGreaterThanOrEqual(200);
      expect(res.status).toBeLessThan(300);
    });

    it('answers 403 to a token with an empty scope claim', async () => {
      const res = await get(t.url, '/payments/search', await bearer(org, ''));

      expectProblem(res, 403);
    });

    it('does not take a scope that is only a prefix or a longer name of the one needed', async () => {
      for (const scope of ['payments', 'payments:readonly', 'payments:read:x', 'PAYMENTS:READ']) {
        const res = await get(t.url, '/payments/search', await bearer(org, scope));

        expect({ scope, status: res.status }).toEqual({ scope, status: 403 });
      }
    });
  });

  describe('tenancy', () => {
    let orgA: string;
    let orgB: string;
    let tokenA: string;
    let tokenB: string;

    beforeEach(async () => {
      orgA = uniqueId('org-a');
      orgB = uniqueId('org-b');
      tokenA = await bearer(orgA, ALL, 'alice');
      tokenB = await bearer(orgB, ALL, 'bob');
    });

    it('stores a payment created without organizationId under the token\'s org', async () => {
      const res = await post(t.url, '/payments', ownBody(), tokenA);

      expectStatus(res, 201);
      expect(res.body.organizationId).toBe(orgA);
    });

    it('accepts a body organizationId that is the token\'s own org', async () => {
      const res = await post(t.url, '/payments', paymentBody({ organizationId: orgA }), tokenA);

      expectStatus(res, 201);
      expect(res.body.organizationId).toBe(orgA);
    });

    it('answers 403 to a create whose organizationId is another org, and stores nothing', async () => {
      const body = paymentBody({ organizationId: orgA });
      const before = await storeSize();

      const res = await post(t.url, '/payments', body, tokenB);

      expectProblem(res, 403);
      expect(await storeSize()).toBe(before);
      expectProblem(await get(t.url, paymentPath(body.paymentId as string), tokenA), 404);
    });

    it('answers 403 to a search or stats query naming another org', async () => {
      await create(t.url, tokenA);

      const search = await get(t.url, `/payments/search?organizationId=${orgA}`, tokenB);
      const stats = await get(t.url, `/payments/stats?organizationId=${orgA}`, tokenB);

      expectProblem(search, 403);
      expectProblem(stats, 403);
    });

    it('answers a search or stats query naming the token\'s own org', async () => {
      const mine = await create(t.url, tokenA);

      const search = await get(t.url, `/payments/search?organizationId=${orgA}`, tokenA);
      const stats = await get(t.url, `/payments/stats?organizationId=${orgA}`, tokenA);

      expectStatus(search, 200);
      expect(search.body.items.map((p: Payment) => p.paymentId)).toEqual([mine.paymentId]);
      expectStatus(stats, 200);
      expect(stats.body.total).toBe(1);
    });

    it('shows search and stats only the caller\'s own payments', async () => {
      const a1 = await create(t.url, tokenA, { amount: 100 });
      const a2 = await create(t.url, tokenA, { amount: 200, currency: 'USD' });
      const b1 = await create(t.url, tokenB, { amount: 300 });

      const searchA = await get(t.url, '/payments/search', tokenA);
      const searchB = await get(t.url, '/payments/search', tokenB);
      const statsA = await get(t.url, '/payments/stats', tokenA);
      const statsB = await get(t.url, '/payments/stats', tokenB);

      expectStatus(searchA, 200);
      expect(searchA.body.items.map((p: Payment) => p.paymentId).sort()).toEqual([a1.paymentId, a2.paymentId].sort());
      expect(searchA.body.total).toBe(2);
      expect(searchB.body.items.map((p: Payment) => p.paymentId)).toEqual([b1.paymentId]);
      expect(searchB.body.total).toBe(1);
      expectStatus(statsA, 200);
      expect(statsA.body).toMatchObject({ total: 2, amountByCurrency: { EUR: 100, USD: 200 } });
      expect(statsB.body).toMatchObject({ total: 1, amountByCurrency: { EUR: 300 } });
      expect(statsB.body.amountByCurrency).not.toHaveProperty('USD');
    });

    it('finds nothing of another org through search filters such as userId', async () => {
      const a = await create(t.url, tokenA);

      const search = await get(t.url, `/payments/search?userId=${a.userId}`, tokenB);
      const stats = await get(t.url, `/payments/stats?userId=${a.userId}`, tokenB);

      expectStatus(search, 200);
      expect(search.body).toMatchObject({ items: [], total: 0 });
      expectStatus(stats, 200);
      expect(stats.body.total).toBe(0);
    });

    it('answers 404, exactly as for an unknown id, when B reads A\'s payment', async () => {
      const a = await create(t.url, tokenA);

      const foreign = await get(t.url, paymentPath(a.paymentId), tokenB);
      const unknown = await get(t.url, paymentPath(uniqueId('pay')), tokenB);

      expectProblem(foreign, 404);
      expect(foreign.body.type).toBe(unknown.body.type);
      expect(foreign.body.title).toBe(unknown.body.title);
      expect(foreign.text).not.toContain(orgA);
      expect(foreign.text).not.toContain(a.userId);
    });

    it.each([
      ['process', { type: 'PaymentProcessed' }],
      ['fail', { type: 'PaymentFailed', data: { error: 'card declined' } }],
    ])('answers 404 when B sends a %s event to A\'s pending payment, and A\'s payment is unchanged', async (_name, event) => {
      const a = await create(t.url, tokenA);

      const res = await post(t.url, `${paymentPath(a.paymentId)}/events`, event, tokenB);

      expectProblem(res, 404);
      const after = await get(t.url, paymentPath(a.paymentId), tokenA);
      expect(after.body).toEqual(a);
    });

    it('answers 404 when B refunds A\'s completed payment, and nothing is refunded', async () => {
      const a = await create(t.url, tokenA, { amount: 5000 });
      const completed = await post(t.url, `${paymentPath(a.paymentId)}/events`, { type: 'PaymentProcessed' }, tokenA);
      expectStatus(completed, 200);

      const res = await post(t.url, `${paymentPath(a.paymentId)}/events`, { type: 'PaymentRefunded', data: { refundAmount: 5000 } }, tokenB);

      expectProblem(res, 404);
      const after = await get(t.url, paymentPath(a.paymentId), tokenA);
      expect(after.body).toEqual(completed.body);
      expect(after.body).toMatchObject({ status: 'completed', refundedAmount: 0 });
    });

    it('answers 404 when B re-sends an eventId A already applied, without revealing the payment', async () => {
      const a = await create(t.url, tokenA);
      const event = { eventId: uniqueId('evt'), type: 'PaymentProcessed' };
      const applied = await post(t.url, `${paymentPath(a.paymentId)}/events`, event, tokenA);
      expectStatus(applied, 200);

      const res = await post(t.url, `${paymentPath(a.paymentId)}/events`, event, tokenB);

      expectProblem(res, 404);
      expect(res.text).not.toContain(a.userId);
      const after = await get(t.url, paymentPath(a.paymentId), tokenA);
      expect(after.body).toEqual(applied.body);
    });

    it('never hands A\'s payment to B creating with A\'s paymentId: B gets a payment of its own, A\'s stays as it was', async () => {
      const a = await create(t.url, tokenA);
      const replay = withoutKeys(
        { paymentId: a.paymentId, userId: a.userId, amount: a.amount, currency: a.currency, organizationId: a.organizationId },
        ['organizationId'],
      );

      const res = await post(t.url, '/payments', replay, tokenB);

      // paymentIds are unique per organization: the same id in B is B's own new payment
      expectStatus(res, 201);
      expect(res.body).toMatchObject({ paymentId: a.paymentId, organizationId: orgB, version: 1 });
      expect(res.text).not.toContain(orgA);
      const after = await get(t.url, paymentPath(a.paymentId), tokenA);
      expect(after.body).toEqual(a);
    });

    it('fails alone, with 403, a bulk item for another org; the other items are stored under the caller\'s org', async () => {
      const own = ownBody();
      const explicit = paymentBody({ organizationId: orgB });
      const foreign = paymentBody({ organizationId: orgA });

      const res = await post(t.url, '/payments/bulk', { payments: [own, foreign, explicit] }, tokenB);

      expectStatus(res, 200);
      expect({ created: res.body.created, replayed: res.body.replayed, failed: res.body.failed }).toEqual({ created: 2, replayed: 0, failed: 1 });
      expect(res.body.results.map((r: { index: number; status: number }) => [r.index, r.status])).toEqual([
        [0, 201],
        [1, 403],
        [2, 201],
      ]);
      expect(res.body.results[1].error).toMatchObject({ status: 403 });
      const stored = await get(t.url, paymentPath(own.paymentId as string), tokenB);
      expect(stored.body).toMatchObject({ organizationId: orgB });
      expectStatus(await get(t.url, paymentPath(explicit.paymentId as string), tokenB), 200);
      expectProblem(await get(t.url, paymentPath(foreign.paymentId as string), tokenA), 404);
      const searchA = await get(t.url, '/payments/search', tokenA);
      expect(searchA.body.total).toBe(0);
    });

    it('never lets B\'s bulk import touch A\'s existing payment', async () => {
      const a = await create(t.url, tokenA);
      const hijack = { paymentId: a.paymentId, userId: a.userId, amount: a.amount + 1, currency: a.currency };

      const res = await post(t.url, '/payments/bulk', { payments: [hijack, { ...hijack, organizationId: orgA }] }, tokenB);

      expectStatus(res, 200);
      // the first item is B's own payment under the same id; the one naming A is a 403
      expect(res.body.results.map((r: { status: number }) => r.status)).toEqual([201, 403]);
      expect(res.body.replayed).toBe(0);
      expect(res.text).not.toContain(orgA);
      const after = await get(t.url, paymentPath(a.paymentId), tokenA);
      expect(after.body).toEqual(a);
    });

    it('keeps A\'s payments out of B\'s reach across every route', async () => {
      const a = await create(t.url, tokenA, { amount: 777 });

      const [read, event, search, stats] = await Promise.all([
        get(t.url, paymentPath(a.paymentId), tokenB),
        post(t.url, `${paymentPath(a.paymentId)}/events`, { type: 'PaymentProcessed' }, tokenB),
        get(t.url, '/payments/search?minAmount=777&maxAmount=777', tokenB),
        get(t.url, '/payments/stats?minAmount=777&maxAmount=777', tokenB),
      ]);

      expectProblem(read, 404);
      expectProblem(event, 404);
      expect(search.body.total).toBe(0);
      expect(stats.body.total).toBe(0);
      expect((await get(t.url, paymentPath(a.paymentId), tokenA)).body).toEqual(a);
    });
  });
});

describe('with metricsRequireAdmin', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ authJwtSecret: SECRET, metricsRequireAdmin: true });
  });

  afterAll(async () => {
    await t.close();
  });

  it('answers /metrics without a token with 401', async () => {
    expectUnauthorized(await get(t.url, '/metrics'));
  });

  it('answers /metrics with a token lacking admin with 403', async () => {
    expectProblem(await get(t.url, '/metrics', await bearer(uniqueId('org'), `${READ} ${WRITE}`)), 403);
  });

  it('serves /metrics to an admin token', async () => {
    const res = await get(t.url, '/metrics', await bearer(uniqueId('org'), ADMIN));

    expectStatus(res, 200);
    expect(res.text).toMatch(/^# TYPE http_requests_total /m);
  });

  it('keeps health and docs public', async () => {
    for (const path of ['/health/live', '/health/ready', '/docs/json']) {
      const res = await get(t.url, path);
      expect({ path, status: res.status }).toEqual({ path, status: 200 });
    }
  });
});

describe('with authClockSkewSeconds: 0', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ authJwtSecret: SECRET, authClockSkewSeconds: 0 });
  });

  afterAll(async () => {
    await t.close();
  });

  it('refuses a token that expired a second ago', () =>
    atOneInstant(async () => {
      expectUnauthorized(await get(t.url, '/payments/search', `Bearer ${await mint({ org: uniqueId('org'), exp: nowSeconds() - 1 })}`));
    }));

  it('refuses a token whose nbf is a second ahead', () =>
    atOneInstant(async () => {
      expectUnauthorized(await get(t.url, '/payments/search', `Bearer ${await mint({ org: uniqueId('org'), nbf: nowSeconds() + 1 })}`));
    }));

  it('accepts a token valid right now', () =>
    atOneInstant(async () => {
      expectStatus(await get(t.url, '/payments/search', `Bearer ${await mint({ org: uniqueId('org'), nbf: nowSeconds(), exp: nowSeconds() + 1 })}`), 200);
    }));
});

describe('the OpenAPI document', () => {
  interface Operation {
    security?: Record<string, string[]>[];
    responses: Record<string, unknown>;
  }
  let doc: { components: { securitySchemes?: Record<string, { type: string; scheme?: string; bearerFormat?: string }> }; paths: Record<string, Record<string, Operation>> };
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ authJwtSecret: SECRET });
    const res = await get(t.url, '/docs/json');
    expectStatus(res, 200);
    doc = res.body;
  });

  afterAll(async () => {
    await t.close();
  });

  function bearerSchemes(): string[] {
    return Object.entries(doc.components.securitySchemes ?? {})
      .filter(([, s]) => s.type === 'http' && s.scheme?.toLowerCase() === 'bearer')
      .map(([name]) => name);
  }

  const paymentOperations: [string, string][] = [
    ['/payments', 'post'],
    ['/payments/bulk', 'post'],
    ['/payments/search', 'get'],
    ['/payments/stats', 'get'],
    ['/payments/{id}', 'get'],
    ['/payments/{id}/events', 'post'],
  ];

  it('declares an HTTP bearer security scheme', () => {
    expect(bearerSchemes()).toHaveLength(1);
  });

  it.each(paymentOperations)('requires the bearer scheme on %s %s and declares 401, 403 and 429', (path, method) => {
    const operation = doc.paths[path]?.[method];

    expect(operation).toBeDefined();
    expect(operation.security).toEqual(expect.arrayContaining([{ [bearerSchemes()[0]]: [] }]));
    expect(Object.keys(operation.responses)).toEqual(expect.arrayContaining(['401', '403', '429']));
  });

  it.each([
    ['/payments/{id}', 'get'],
    ['/payments/{id}/events', 'post'],
  ])('declares 404 on %s %s', (path, method) => {
    expect(Object.keys(doc.paths[path][method].responses)).toContain('404');
  });

  it('requires the bearer scheme on /admin/store', () => {
    const operation = doc.paths['/admin/store']?.get;

    expect(operation.security).toEqual(expect.arrayContaining([{ [bearerSchemes()[0]]: [] }]));
    expect(Object.keys(operation.responses)).toEqual(expect.arrayContaining(['401', '403']));
  });

  it('leaves health public', () => {
    expect(doc.paths['/health/live'].get.security ?? []).toEqual([]);
  });
});
