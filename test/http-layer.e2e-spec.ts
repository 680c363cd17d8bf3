import { PinoLogger } from 'nestjs-pino';
import { expectRawProblem, rawGet } from './raw-http';
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
