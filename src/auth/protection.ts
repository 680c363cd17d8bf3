import helmet from 'helmet';
import rateLimit from '@fastify/rate-limit';
import underPressure from '@fastify/under-pressure';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyRequest } from 'fastify';
import { AppConfig } from '../config';
import { AppError, DuplicateHeaderError, RateLimitedError } from '../errors';
import { sendProblem, toProblem } from '../problem.filter';
import { JwtVerifier } from './jwt.verifier';

const API_PATH = /^\/(payments|admin)(\/|\?|$)/;

/** The routes that need a token, count against the rate limit and are shed under overload. */
/** Who a request counts against (rate limit, stream caps): the verified caller (token subject within its organization), else the client address. */
export function callerKey(request: FastifyRequest): string {
  const caller = request.auth?.caller;
  return caller ? `caller:${caller.org}:${caller.sub ?? ''}` : `ip:${request.ip}`;
}

export function isApiPath(url: string): boolean {
  return API_PATH.test(url);
}

/** How many times a header (`name` in lower case) is in Node's rawHeaders: [name, value, name, value, ...]. */
export function countHeader(rawHeaders: readonly string[], name: string): number {
  let count = 0;
  for (let i = 0; i < rawHeaders.length; i += 2) if (rawHeaders[i].length === name.length && rawHeaders[i].toLowerCase() === name) count++;
  return count;
}

/**
 * Fastify-level protection, in the order it runs on a request (after the hook of app.setup.ts
 * that sets the request id and the security headers): token verification (before rate
 * limiting, which counts per verified caller; the ScopesGuard decides per route what a missing
 * or bad token means), the rate limit, overload shedding.
 */
export async function registerProtection(app: NestFastifyApplication, config: AppConfig): Promise<void> {
  const fastify = app.getHttpAdapter().getInstance();
  fastify.decorateRequest('auth', null);
  fastify.decorateRequest('refusedItems', null);
  if (config.authJwtSecret !== undefined) {
    const verifier = new JwtVerifier(config.authJwtSecret, {
      clockSkewSeconds: config.authClockSkewSeconds,
      maxLifetimeSeconds: config.authMaxTokenLifetimeSeconds,
    });
    fastify.addHook('onRequest', async (request) => {
      const authorization = request.headers.authorization;
      // Node keeps the first of several Authorization headers and drops the others: which
      // credential counts would be up to whoever put one in front of the other (a proxy, a client
      // library). Several are refused instead.
      const sent = authorization === undefined ? 0 : countHeader(request.raw.rawHeaders, 'authorization');
      if (sent > 1) {
        request.auth = { error: new DuplicateHeaderError('Authorization', sent) };
        return;
      }
      request.auth = await verifier.verify(authorization).then(
        (caller) => ({ caller }),
        (error: Error) => ({ error }),
      );
    });
  }

  // Security headers: helmet's, computed once by staticHelmetHeaders() and set by the first
  // onRequest hook of app.setup.ts (the Fastify plugin would rebuild helmet and re-parse the CSP
  // on every request).

  if (config.rateLimitPerMinute > 0) {
    await app.register(rateLimit, {
      max: config.rateLimitPerMinute,
      timeWindow: 60_000,
      // per verified caller (token subject within its organization), else per client address
      keyGenerator: callerKey,
      allowList: (request) => !isApiPath(request.url),
      errorResponseBuilder: (_request, context) => new RateLimitedError(Math.max(1, Math.ceil(context.ttl / 1000))),
    });
  }

  if (config.maxEventLoopDelayMs > 0 || config.maxHeapUsedBytes > 0) {
    // @fastify/under-pressure samples the event-loop delay and the heap (registered without
    // thresholds, it adds no hook of its own); the hook below sheds with its samples. Its own
    // hook would build request.routeOptions on every request to look for a per-route handler.
    await app.register(underPressure, { maxEventLoopDelay: 0, maxHeapUsedBytes: 0 });
    const sampled = fastify as unknown as { memoryUsage(): { eventLoopDelay: number; heapUsed: number } };
    fastify.addHook('onRequest', (request, reply, done) => {
      const { eventLoopDelay, heapUsed } = sampled.memoryUsage();
      let pressure: string | undefined;
      if (config.maxEventLoopDelayMs > 0 && eventLoopDelay > config.maxEventLoopDelayMs) pressure = `eventLoopDelay: ${eventLoopDelay}`;
      else if (config.maxHeapUsedBytes > 0 && heapUsed > config.maxHeapUsedBytes) pressure = `heapUsedBytes: ${heapUsed}`;
      // Shed load on the API, never on health, metrics or docs (a liveness probe must not fail
      // because the service is busy).
      if (pressure === undefined || !isApiPath(request.url)) {
        done();
        return;
      }
      const error = new AppError('OVERLOADED', `The service is overloaded (${pressure}); retry later`, undefined, { 'Retry-After': '5' });
      sendProblem(reply, toProblem(error, request.url.split('?')[0]));
    });
  }
}

/**
 * The security headers of the API's answers (JSON and problem+json under /payments and /admin),
 * as OWASP's REST Security Cheat Sheet lists them for API responses: no framing, no content
 * sniffing, HTTPS only, and no copy of payment data kept by a browser or a shared cache. The
 * other headers helmet sets (COOP, Origin-Agent-Cluster, Referrer-Policy, X-DNS-Prefetch-Control,
 * X-Download-Options, ...) govern documents and what they load; an API answer is neither
 * rendered nor navigated to, so they are sent with the pages (docs, dashboard, health) only.
 * Node validates every header of every response: 5 here instead of helmet's 12 took GET /payments/:id
 * from 0.65x to 0.71x of bare Fastify's rate in a side run (200k payments, one core).
 */
export const API_SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'cache-control': 'no-store',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'strict-transport-security': 'max-age=31536000; includeSubDomains',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
});

/** The headers helmet sets, captured once from a stand-in response. */
export function staticHelmetHeaders(): Record<string, string> {
  const headers: Record<string, string> = {};
  const response = {
    setHeader: (name: string, value: string | number | string[]) => {
      headers[name] = Array.isArray(value) ? value.join(', ') : String(value);
    },
    removeHeader: (name: string) => {
      delete headers[name];
    },
  };
  helmet({
    contentSecurityPolicy: {
      directives: {
        // Swagger UI at /docs loads its scripts from /docs and uses inline styles.
        scriptSrc: ["'self'"],
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", 'data:'],
        // served over plain HTTP behind TLS-terminating proxies and on localhost
        upgradeInsecureRequests: null,
      },
    },
  })({} as never, response as never, (error?: unknown) => {
    if (error) throw error;
  });
  return headers;
}
