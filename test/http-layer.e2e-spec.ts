import { PinoLogger } from 'nestjs-pino';
import { expectRawProblem, rawGet, rawRequest } from './raw-http';
import { startTestApp, TestApp } from './test-app';

/**
 * What the HTTP layer answers before any route's code runs, as a hostile client sends it: raw
 * bytes on a TCP socket, with no client in between to normalize a path or refuse to send a
 * malformed request. Every answer is application/problem+json, and none is logged at error level.
 */

const SECRET = 'http-layer-e2e-secret-0123456789abcdef-0123456789';

let t: TestApp;
/** The app's log lines at error level and above, as (level, message) pairs. */
let severe: string[];

beforeAll(async () => {
  // auth on, as in the probe that found these; logging at error level, so that a line there is seen
  t = await startTestApp({ authJwtSecret: SECRET, logLevel: 'error' });
});

beforeEach(() => {
  severe = [];
  for (const level of ['error', 'fatal'] as const) {
    jest.spyOn(PinoLogger.root, level).mockImplementation(((...args: unknown[]) => {
      severe.push(`${level}: ${JSON.stringify(args).slice(0, 300)}`);
    }) as never);
  }
});

afterEach(() => {
  jest.restoreAllMocks();
});

afterAll(async () => {
  await t.close();
});

describe('paths under /docs that name no file the docs serve', () => {
  it.each([
    ['a dot-dot segment', '/docs/static/../package.json'],
    ['a dot-dot segment right under /docs', '/docs/../package.json'],
    ['a percent-encoded dot-dot segment', '/docs/%2e%2e/package.json'],
    ['a NUL byte', '/docs/static/..%00'],
    ['a NUL byte in a file name', '/docs/swagger-ui.css%00.map'],
  ])('answer %s (%s) with 404 or 400 problem+json, without a token, and log nothing at error level', async (_name, path) => {
    const answer = await rawGet(t.url, path);

    expect([400, 404]).toContain(answer.status);
    const problem = expectRawProblem(answer, answer.status);
    expect(problem.code).toBe(answer.status === 404 ? 'ROUTE_NOT_FOUND' : 'BAD_REQUEST');
    expect(answer.body).not.toMatch(/"name"\s*:\s*"swagger-ui-dist"|node_modules|at \w+ \(/);
    expect(severe).toEqual([]);
  });

  it('still serves the files of the docs page', async () => {
    const answer = await rawGet(t.url, '/docs/swagger-ui.css');

    expect(answer.status).toBe(200);
    expect(answer.headers['content-type']).toMatch(/^text\/css\b/);
  });
});

describe('requests Node\'s HTTP parser refuses, before there is a route', () => {
  const get = (headers: string) => `GET /health/live HTTP/1.1\r\nHost: localhost\r\n${headers}Connection: close\r\n\r\n`;
  const post = (headers: string, body: string) =>
    `POST /payments HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n${headers}Connection: close\r\n\r\n${body}`;

  it('answers headers over 16 KiB with 431 problem+json HEADERS_TOO_LARGE', async () => {
    const answer = await rawRequest(t.url, get(`X-Pad: ${'a'.repeat(20_000)}\r\n`));

    const problem = expectRawProblem(answer, 431);
    expect(problem).toMatchObject({ code: 'HEADERS_TOO_LARGE', type: '/problems/headers-too-large' });
    expect(severe).toEqual([]);
  });

  it.each([
    ['both Content-Length and Transfer-Encoding (request smuggling)', post('Content-Length: 3\r\nTransfer-Encoding: chunked\r\n', '0\r\n\r\n'), /Transfer-Encoding/],
    ['two different Content-Length headers', post('Content-Length: 2\r\nContent-Length: 3\r\n', '{}x'), /Content-Length/],
    ['a Content-Length that is not a number', post('Content-Length: 1e3\r\n', '{}'), /Content-Length/],
    ['a Transfer-Encoding that does not end in chunked', post('Transfer-Encoding: chunked, identity\r\n', '0\r\n\r\n'), /Transfer-Encoding/],
    ['a header name with a space', get('Bad Header: x\r\n'), /header/],
    ['a header value with a NUL byte', get('X-Note: a\u0000b\r\n'), /header/],
    ['a folded header line', get('X-Note: a\r\n folded\r\n'), /header/],
    ['a request line that is no request line', 'GARBAGE\r\n\r\n', /request line/],
    ['an unknown HTTP version', 'GET /health/live HTTP/9.9\r\nHost: localhost\r\n\r\n', /request line/],
    ['a space in the request target', 'GET /health/live now HTTP/1.1\r\nHost: localhost\r\n\r\n', /request line/],
    ['bare LF line ends', 'GET /health/live HTTP/1.1\nHost: localhost\n\n', /request line/],
  ])('answers %s with 400 problem+json naming the part at fault', async (_name, request, names) => {
    const answer = await rawRequest(t.url, request);

    const problem = expectRawProblem(answer, 400);
    expect(problem).toMatchObject({ code: 'BAD_REQUEST', type: '/problems/bad-request', detail: expect.stringMatching(names) });
    expect(severe).toEqual([]);
  });

  it('sends the API\'s security headers with such an answer, and closes the connection', async () => {
    const answer = await rawRequest(t.url, 'GARBAGE\r\n\r\n');

    expect(answer.headers).toMatchObject({ connection: 'close', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
  });

  it('answers a bad request that follows a good one on a kept-alive connection after the good answer', async () => {
    const answer = await rawRequest(t.url, `GET /health/live HTTP/1.1\r\nHost: localhost\r\n\r\nGARBAGE\r\n\r\n`);

    // the first answer is whole (its status line is what rawRequest reads), the second follows it
    expect(answer.status).toBe(200);
    expect(answer.body).toMatch(/HTTP\/1\.1 400 Bad Request\r\n[\s\S]*application\/problem\+json[\s\S]*"code":"BAD_REQUEST"/);
  });
});
