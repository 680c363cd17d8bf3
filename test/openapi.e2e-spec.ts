import request from 'supertest';
import { expectProblem, expectStatus } from './e2e-helpers';
import { startTestApp, TestApp } from './test-app';

/**
 * The facts of /docs/json that Redocly's recommended lint (npm run lint:openapi) needs, pinned
 * here so that a change of a decorator shows up in the e2e run too, and checked against what
 * the service answers where the document claims an answer every route can give.
 */

interface Operation {
  security?: Record<string, string[]>[];
  responses: Record<string, { description?: string; content?: Record<string, unknown> }>;
}
interface Document {
  openapi: string;
  info: { license?: { name?: string; url?: string; identifier?: string } };
  servers?: { url: string }[];
  security?: unknown;
  components: { securitySchemes?: Record<string, { type: string; scheme?: string }> };
  paths: Record<string, Record<string, Operation>>;
}

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
/** Routes that take no credentials in any mode (see protection.ts and the ScopesGuard). */
const PUBLIC: [string, string][] = [
  ['/health/live', 'get'],
  ['/health/ready', 'get'],
];
const MAX_URL_LENGTH = 512;

let t: TestApp;
let doc: Document;
let operations: [string, string, Operation][];

beforeAll(async () => {
  t = await startTestApp({ maxUrlLength: MAX_URL_LENGTH });
  const res = await request(t.url).get('/docs/json');
  expectStatus(res, 200);
  doc = res.body as Document;
  operations = Object.entries(doc.paths).flatMap(([path, item]) =>
    Object.entries(item)
      .filter(([method]) => METHODS.includes(method))
      .map(([method, operation]): [string, string, Operation] => [path, method, operation]),
  );
});

afterAll(async () => {
  await t.close();
});

describe('the OpenAPI document on /docs/json', () => {
  it('is OpenAPI 3.0 (a license has a name and a url, no SPDX identifier)', () => {
    expect(doc.openapi).toMatch(/^3\.0\.\d+$/);
  });

  it('names at least one server', () => {
    expect(doc.servers?.length).toBeGreaterThan(0);
    for (const server of doc.servers ?? []) expect(server.url).toMatch(/\S/);
  });

  it('has a license with a name and an absolute url, as package.json says: UNLICENSED', () => {
    const license = doc.info.license;

    expect(license?.name).toMatch(/UNLICENSED/);
    expect(() => new URL(license?.url ?? '')).not.toThrow();
    expect(license).not.toHaveProperty('identifier');
  });

  it('declares security on every operation (there is no document-wide requirement)', () => {
    expect(doc.security).toBeUndefined();
    expect(operations.filter(([, , operation]) => operation.security === undefined).map(([path, method]) => `${method} ${path}`)).toEqual([]);
  });

  it.each(PUBLIC)('declares %s %s public: security []', (path, method) => {
    expect(doc.paths[path][method].security).toEqual([]);
  });

  it('declares /metrics open or bearer (bearer with METRICS_REQUIRE_ADMIN=true), with its 401 and 403', () => {
    const metrics = doc.paths['/metrics'].get;

    expect(metrics.security).toEqual(expect.arrayContaining([{}, { bearer: [] }]));
    expect(metrics.security).toHaveLength(2);
    expect(Object.keys(metrics.responses)).toEqual(expect.arrayContaining(['401', '403']));
  });

  it('declares every other operation bearer-only', () => {
    const others = operations.filter(([path]) => path !== '/metrics' && !PUBLIC.some(([p]) => p === path));

    expect(others.length).toBeGreaterThan(0);
    for (const [path, method, operation] of others) {
      expect({ path, method, security: operation.security }).toEqual({ path, method, security: [{ bearer: [] }] });
    }
    expect(Object.keys(doc.components.securitySchemes ?? {})).toContain('bearer');
  });

  it('declares at least one 4xx on every operation, each as application/problem+json', () => {
    for (const [path, method, operation] of operations) {
      const clientErrors = Object.keys(operation.responses).filter((status) => /^4(\d\d|XX)$/.test(status));

      expect({ path, method, has4xx: clientErrors.length > 0 }).toEqual({ path, method, has4xx: true });
      for (const status of clientErrors) {
        expect({ path, method, status, content: Object.keys(operation.responses[status].content ?? {}) }).toEqual({
          path,
          method,
          status,
          content: ['application/problem+json'],
        });
      }
    }
  });

  it('lists on every /payments and /admin operation what the auth hook, the scopes guard and the rate limit answer, beside its own 403s', () => {
    // a 403 or 503 a route declares itself must not hide MISSING_SCOPE or STORE_LOADING
    for (const [path, method, operation] of operations.filter(([path]) => /^\/(payments|admin)(\/|$)/.test(path))) {
      const codes = (status: string) => (operation.responses[status]?.description ?? '').match(/[A-Z_]{4,}(?=:)/g) ?? [];
      expect({ path, method, 401: codes('401'), 403: codes('403'), 429: codes('429'), 503: codes('503') }).toEqual({
        path,
        method,
        401: expect.arrayContaining(['UNAUTHORIZED']),
        403: expect.arrayContaining(['MISSING_SCOPE']),
        429: expect.arrayContaining(['RATE_LIMITED']),
        503: expect.arrayContaining(['STORE_LOADING']),
      });
    }
  });

  it('declares 414 on every operation and 400 on every one with a path parameter', () => {
    for (const [path, method, operation] of operations) {
      const statuses = Object.keys(operation.responses);

      expect({ path, method, has414: statuses.includes('414') }).toEqual({ path, method, has414: true });
      if (path.includes('{')) expect({ path, method, has400: statuses.includes('400') }).toEqual({ path, method, has400: true });
    }
  });
});

describe('the answers the document declares on every route', () => {
  /** A concrete URL for a documented path: every {parameter} becomes `p`. */
  const concrete = (path: string) => path.replace(/\{[^}]+\}/g, 'p');

  it('414 problem on every documented GET route past MAX_URL_LENGTH', async () => {
    const gets = operations.filter(([, method]) => method === 'get');

    expect(gets.length).toBeGreaterThan(0);
    for (const [path] of gets) {
      const res = await request(t.url).get(`${concrete(path)}?pad=${'a'.repeat(MAX_URL_LENGTH)}`);

      expectProblem(res, 414);
      expect({ path, code: res.body.code }).toEqual({ path, code: 'URI_TOO_LONG' });
    }
  });

  it('400 problem on every documented GET route whose path parameter is not validly percent-encoded', async () => {
    const templated = operations.filter(([path, method]) => method === 'get' && path.includes('{'));

    expect(templated.length).toBeGreaterThan(0);
    for (const [path] of templated) {
      const res = await request(t.url).get(path.replace(/\{[^}]+\}/g, '%zz'));

      expectProblem(res, 400);
      expect({ path, code: res.body.code }).toEqual({ path, code: 'BAD_REQUEST' });
    }
  });
});
