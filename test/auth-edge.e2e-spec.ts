import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { SignJWT } from 'jose';
import request, { Response } from 'supertest';
import { atOneInstant, expectProblem, expectStatus, paymentBody, withoutKeys } from './e2e-helpers';
import { expectRawProblem, rawRequest } from './raw-http';
import { startTestApp, TestApp } from './test-app';

/**
 * Auth at the edge, as the security probe of issue 20 found it: how long a token may live, the
 * form of the Authorization header, and what a public route tells a caller without a token.
 * Real HS256 tokens over real HTTP. Token lifetimes are judged on exp - iat, which no clock
 * moves; where a check reads the clock (a token without iat), Date is stopped for the app too.
 */

const SECRET = 'auth-edge-e2e-secret-0123456789abcdef-0123456789';
const KEY = new TextEncoder().encode(SECRET);
/** The default of AUTH_MAX_TOKEN_LIFETIME_SECONDS. */
const MAX_LIFETIME = 86_400;
const CLOCK_SKEW_SECONDS = 30;
const ALL = 'payments:read payments:write admin';

const nowSeconds = (): number => Math.floor(Date.now() / 1000);

/** A token with exactly these claims (none added: no iat or exp unless given). */
function sign(claims: Record<string, unknown>): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(KEY);
}

/** A token issued now (iat) that lives `lifetime` seconds. */
function living(lifetime: number, claims: Record<string, unknown> = {}): Promise<string> {
  const iat = nowSeconds();
  return sign({ org: 'org-edge', scope: ALL, sub: 'edge', iat, exp: iat + lifetime, ...claims });
}

function search(url: string, authorization: string): request.Test {
  return request(url).get('/payments/search').set('Authorization', authorization);
}

function expectUnauthorized(res: Response, because: RegExp): void {
  expectProblem(res, 401);
  expect(res.body.code).toBe('UNAUTHORIZED');
  expect(res.body.detail).toMatch(because);
  expect(res.headers['www-authenticate']).toMatch(/^Bearer\b/);
}

describe('with AUTH_JWT_SECRET set (default token lifetime)', () => {
  let t: TestApp;
  /** The platform operator: sees what spans every tenant. */
  let operator: string;

  beforeAll(async () => {
    t = await startTestApp({ authJwtSecret: SECRET, authClockSkewSeconds: CLOCK_SKEW_SECONDS });
    operator = `Bearer ${await living(600, { org: 'org-edge-ops', scope: 'operator', sub: 'operator' })}`;
  });

  afterAll(async () => {
    await t.close();
  });

  /** Payments in the store, as /metrics tells (public unless METRICS_REQUIRE_ADMIN). */
  async function storeSize(): Promise<number> {
    const res = await request(t.url).get('/metrics');
    expectStatus(res, 200);
    return Number(/^payments_store_size (\d+)$/m.exec(res.text)?.[1]);
  }

  describe('token lifetime', () => {
    it.each([
      ['without exp', () => sign({ org: 'org-edge', scope: 'payments:read', iat: nowSeconds() }), /exp/],
      ['without exp, with the admin scope', () => sign({ org: 'org-edge', scope: 'admin' }), /exp/],
      ['with exp = 1e300', () => sign({ org: 'org-edge', scope: ALL, iat: nowSeconds(), exp: 1e300 }), /lifetime/],
      ['with exp = 1e300, without iat', () => sign({ org: 'org-edge', scope: 'admin', exp: 1e300 }), /lifetime/],
      ['with exp - iat a second past the maximum', () => living(MAX_LIFETIME + 1), /lifetime.*86400 s/],
      ['with a string exp', () => sign({ org: 'org-edge', scope: ALL, exp: String(nowSeconds() + 60) }), /exp/],
      ['issued in the future (iat past the clock skew), to pass exp - iat off as short', () => living(60, { iat: 1e300, exp: 1e300 + 60 }), /iat/],
    ])('refuses a token %s with 401 problem+json naming why, on every protected route', async (_name, token, because) => {
      const authorization = `Bearer ${await token()}`;

      expectUnauthorized(await search(t.url, authorization), because);
      expectUnauthorized(await request(t.url).get('/payments/stats').set('Authorization', authorization), because);
    });

    it('stores nothing for a write with a token that never expires', async () => {
      const before = await storeSize();

      const res = await request(t.url)
        .post('/payments')
        .set('Authorization', `Bearer ${await sign({ org: 'org-edge', scope: ALL })}`)
        .send(withoutKeys(paymentBody(), ['organizationId']));

      expectUnauthorized(res, /exp/);
      expect(await storeSize()).toBe(before);
    });

    it('accepts a token that lives exactly the maximum (exp - iat)', async () => {
      expectStatus(await search(t.url, `Bearer ${await living(MAX_LIFETIME)}`), 200);
    });

    it('without iat, judges exp - now against the maximum, with the clock skew', () =>
      atOneInstant(async () => {
        const claims = { org: 'org-edge', scope: ALL };

        expectStatus(await search(t.url, `Bearer ${await sign({ ...claims, exp: nowSeconds() + MAX_LIFETIME + CLOCK_SKEW_SECONDS })}`), 200);
        expectUnauthorized(await search(t.url, `Bearer ${await sign({ ...claims, exp: nowSeconds() + MAX_LIFETIME + CLOCK_SKEW_SECONDS + 1 })}`), /lifetime/);
      }));
  });

  describe('the Authorization header', () => {
    const twice = (path: string, first: string, second: string) =>
      rawRequest(t.url, `GET ${path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: ${first}\r\nauthorization: ${second}\r\nConnection: close\r\n\r\n`);

    it('refuses two Authorization headers with 400 problem+json naming the header, whichever comes first', async () => {
      const good = `Bearer ${await living(600)}`;

      for (const [first, second] of [
        [good, 'Bearer not-a-jwt'],
        ['Bearer not-a-jwt', good],
        [good, good],
      ]) {
        const answer = await twice('/payments/search', first, second);

        const problem = expectRawProblem(answer, 400);
        expect(problem).toMatchObject({ code: 'BAD_REQUEST', detail: expect.stringContaining('Authorization') });
      }
    });

    it('stores nothing for a write with two Authorization headers', async () => {
      const good = `Bearer ${await living(600)}`;
      const body = JSON.stringify(withoutKeys(paymentBody(), ['organizationId']));
      const before = await storeSize();

      const answer = await rawRequest(
        t.url,
        `POST /payments HTTP/1.1\r\nHost: localhost\r\nAuthorization: ${good}\r\nAuthorization: ${good}\r\n` +
          `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );

      expectRawProblem(answer, 400);
      expect(await storeSize()).toBe(before);
    });

    it('keeps public routes public with two Authorization headers (they read none)', async () => {
      const answer = await twice('/health/live', 'Bearer a.b.c', 'Bearer d.e.f');

      expect(answer.status).toBe(200);
    });

    it('is declared in the OpenAPI document: a 400 problem on every operation that reads a token', async () => {
      const doc = (await request(t.url).get('/docs/json')).body as { paths: Record<string, Record<string, { security?: unknown[]; responses: Record<string, unknown> }>> };
      const secured = Object.entries(doc.paths).flatMap(([path, item]) =>
        Object.entries(item)
          .filter(([, operation]) => JSON.stringify(operation.security ?? []).includes('bearer'))
          .map(([method, operation]) => ({ operation: `${method} ${path}`, has400: '400' in operation.responses })),
      );

      expect(secured.length).toBeGreaterThan(0);
      expect(secured.filter((o) => !o.has400)).toEqual([]);
    });

    it.each(['bearer', 'BEARER', 'bEaReR'])('takes the scheme case-insensitively (RFC 9110): %s', async (scheme) => {
      expectStatus(await search(t.url, `${scheme} ${await living(600)}`), 200);
    });

    it('still refuses another scheme and a token without one', async () => {
      const token = await living(600);

      expectUnauthorized(await search(t.url, `Basic ${token}`), /Bearer/);
      expectUnauthorized(await search(t.url, token), /Bearer/);
      expectUnauthorized(await search(t.url, `Bearerx ${token}`), /Bearer/);
    });
  });

  describe('GET /health/ready', () => {
    beforeAll(async () => {
      // something to count: the probe read the payment count of all tenants here
      const res = await request(t.url)
        .post('/payments')
        .set('Authorization', `Bearer ${await living(600)}`)
        .send(withoutKeys(paymentBody(), ['organizationId']));
      expectStatus(res, 201);
    });

    /** Readiness as a caller other than the operator sees it: only up or down per check. */
    function expectStatusOnly(res: Response): void {
      expectStatus(res, 200);
      expect(res.body.status).toBe('ok');
      for (const part of ['info', 'details'] as const) {
        expect(Object.keys(res.body[part]).length).toBeGreaterThan(0);
        for (const check of Object.values(res.body[part] as Record<string, unknown>)) expect(check).toEqual({ status: 'up' });
      }
      expect(res.text).not.toMatch(/payments|position/);
    }

    it('tells a caller without a token only that it is ready', async () => {
      expectStatusOnly(await request(t.url).get('/health/ready'));
    });

    it('tells a caller whose token is not the operator\'s (an organization\'s admin included), or is not valid, only that it is ready', async () => {
      expectStatusOnly(await request(t.url).get('/health/ready').set('Authorization', `Bearer ${await living(600, { scope: 'payments:read payments:write' })}`));
      expectStatusOnly(await request(t.url).get('/health/ready').set('Authorization', `Bearer ${await living(600, { scope: 'payments:read payments:write admin' })}`));
      expectStatusOnly(await request(t.url).get('/health/ready').set('Authorization', 'Bearer not-a-jwt'));
    });

    it('counts the payments of every tenant for the platform operator, as /metrics does', async () => {
      const res = await request(t.url).get('/health/ready').set('Authorization', operator);

      expectStatus(res, 200);
      expect(res.body.details.store.payments).toBe(await storeSize());
      expect(res.body.details.store.payments).toBeGreaterThan(0);
    });
  });
});

describe('AUTH_MAX_TOKEN_LIFETIME_SECONDS', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ authJwtSecret: SECRET, authMaxTokenLifetimeSeconds: 600 });
  });

  afterAll(async () => {
    await t.close();
  });

  it('caps exp - iat at the configured maximum', async () => {
    expectStatus(await search(t.url, `Bearer ${await living(600)}`), 200);
    expectUnauthorized(await search(t.url, `Bearer ${await living(601)}`), /600 s/);
  });

  describe('scripts/mint-token.js (npm run token)', () => {
    const run = promisify(execFile);
    const mint = (ttl: string, env: Record<string, string> = {}) =>
      run(process.execPath, [join(__dirname, '..', 'scripts', 'mint-token.js'), '--org', 'org-minted', '--scope', 'payments:read', '--ttl', ttl], {
        env: { PATH: process.env.PATH ?? '', AUTH_JWT_SECRET: SECRET, ...env },
      });

    it('mints a token the service accepts, within its maximum lifetime', async () => {
      const { stdout } = await mint('600', { AUTH_MAX_TOKEN_LIFETIME_SECONDS: '600' });

      const res = await search(t.url, `Bearer ${stdout.trim()}`);

      expectStatus(res, 200);
    });

    it('refuses a --ttl past AUTH_MAX_TOKEN_LIFETIME_SECONDS (default 86400), which the service would refuse', async () => {
      await expect(mint('601', { AUTH_MAX_TOKEN_LIFETIME_SECONDS: '600' })).rejects.toMatchObject({ code: 2, stderr: expect.stringMatching(/--ttl.*600/) });
      await expect(mint(String(MAX_LIFETIME + 1))).rejects.toMatchObject({ code: 2, stderr: expect.stringMatching(/--ttl.*86400/) });
    });
  });
});
