import { NestFactory } from '@nestjs/core';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger as PinoLogger } from 'pino';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { Logger } from 'nestjs-pino';
import { AppModule } from './app.module';
import { AppConfig } from './config';
import { createRootLogger } from './logger';
import { MetricsService } from './metrics/metrics.service';
import { API_SECURITY_HEADERS, isApiPath, registerProtection, staticHelmetHeaders } from './auth/protection';
import { AppError, ErrorCode, StoreLoadingError } from './errors';
import { PaymentStore } from './payments/store/payment.store';
import { parseJsonBody } from './json-body';
import { ProblemFilter, sendProblem, toProblem } from './problem.filter';
import { ProblemValidationPipe } from './validation.pipe';
import { REQUEST_ID, RequestIds } from './http/request-id';
import { answerClientError } from './http/client-error';
import { declareProblems } from './openapi';
import { ASYNCAPI_PATH, asyncApiDocument } from './messaging/asyncapi';
import { suppressTracingOfProbes, tracingOn } from './tracing/tracing';

function lowerCaseKeys(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
}

/** The reader and writer never wait on I/O; a slow client must not hold a socket forever. */
const REQUEST_TIMEOUT_MS = 30_000;

/** Builds the whole application for a configuration; main.ts and every e2e test use this. */
export async function createApp(config: AppConfig): Promise<NestFastifyApplication> {
  const requestIds = new RequestIds();
  const logger = createRootLogger(config);
  const problems = { count: (_code: ErrorCode): void => undefined };
  const adapter = new FastifyAdapter({
    bodyLimit: config.bodyLimitBytes,
    // long ids reach the URL-length check and the handlers, which answer problem+json
    routerOptions: { maxParamLength: config.maxUrlLength },
    // One id per request: the caller's X-Request-Id when it is sane, else one of ours (see
    // RequestIds). It is echoed back and is on every log line of the request.
    requestIdHeader: 'x-request-id',
    genReqId: () => requestIds.next(),
    requestTimeout: REQUEST_TIMEOUT_MS,
    // errors of Node's HTTP parser, before there is a request (oversized headers, a malformed
    // request line or header, Content-Length with Transfer-Encoding): problem+json too
    // (counted in payments_http_problems_total once the app, and its metrics, exist: see below)
    clientErrorHandler: answerClientError(logger, REQUEST_TIMEOUT_MS, API_SECURITY_HEADERS, (code) => problems.count(code)),
    // No Nest middleware in this app (the request log is a Fastify hook below): without
    // @fastify/middie, no middleware runner on every request.
    skipMiddie: true,
    // errors Fastify raises while routing (bad percent-encoding, over-long path parameter)
    frameworkErrors: (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
      const tooLong = error.code === 'FST_ERR_MAX_PARAM_LENGTH';
      const problem = new AppError(
        tooLong ? 'URI_TOO_LONG' : 'BAD_REQUEST',
        tooLong ? `The URL is longer than ${config.maxUrlLength} characters` : 'The URL is not validly percent-encoded',
      );
      sendProblem(reply, toProblem(problem, request.url.split('?')[0].slice(0, 256)));
    },
  });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config, logger), adapter, {
    bufferLogs: true,
    bodyParser: false, // setupApp installs the one JSON parser
  });
  await setupApp(app, config, logger, requestIds);
  const metrics = app.get(MetricsService);
  problems.count = (code) => metrics.recordProblem(code);
  await app.init();
  if (config.authJwtSecret === undefined) {
    app
      .get(Logger)
      .warn('AUTH_JWT_SECRET is not set: the API is open to anyone who can reach it (allowed outside NODE_ENV=production only)');
  }
  return app;
}

/**
 * Body parsing, request ids, protection (auth, headers, limits), metrics, pipes, the problem
 * filter, CORS and Swagger: everything but init and listen.
 */
export async function setupApp(
  app: NestFastifyApplication,
  config: AppConfig,
  logger: PinoLogger,
  requestIds: RequestIds,
): Promise<void> {
  app.useLogger(app.get(Logger));
  const fastify = app.getHttpAdapter().getInstance();
  if (tracingOn()) suppressTracingOfProbes(fastify);

  // JSON is the only body this API accepts: anything else is a 415 before it reaches a route.
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_request, body, done) => {
    try {
      done(null, parseJsonBody(body as Buffer, config.maxJsonDepth));
    } catch (e) {
      done(e as Error, undefined);
    }
  });

  // The first hook of every request, in one call: the request id (echoed), the security
  // headers (the API's own set on its answers, helmet's on every page; both computed once at
  // boot) and the URL length.
  const documentHeaders = lowerCaseKeys(staticHelmetHeaders());
  fastify.addHook('onRequest', (request, reply, done) => {
    if (!REQUEST_ID.test(request.id)) request.id = requestIds.next();
    void reply.header('x-request-id', request.id).headers(isApiPath(request.url) ? API_SECURITY_HEADERS : documentHeaders);
    if (request.url.length > config.maxUrlLength) {
      done(new AppError('URI_TOO_LONG', `The URL is longer than ${config.maxUrlLength} characters`));
      return;
    }
    done();
  });

  await registerProtection(app, config);

  // PostgreSQL mode: until the store has loaded, an answer from it would be partial. (In memory
  // mode the store is loaded from the start and stays so: no hook.)
  const store = app.get(PaymentStore);
  if (!store.loaded) {
    fastify.addHook('onRequest', (request, _reply, done) => {
      done(store.loaded || !isApiPath(request.url) ? undefined : new StoreLoadingError());
    });
  }

  const metrics = app.get(MetricsService);
  // sendProblem reports every problem answer here (payments_http_problems_total by code)
  fastify.decorate('countProblem', (code: ErrorCode) => metrics.recordProblem(code));
  // Shutdown drain: requests in flight when close() begins are answered, but their keep-alive
  // connections then sit idle and Node's server.close() would wait for the clients to hang up
  // (Fastify closes idle connections only once, when close() starts). So while closing, idle
  // connections are closed every 50 ms: each as soon as its last response is sent.
  fastify.addHook('preClose', (done) => {
    const sweep = setInterval(() => fastify.server.closeIdleConnections(), 50);
    sweep.unref();
    fastify.server.once('close', () => clearInterval(sweep));
    done();
  });

  fastify.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? '(unmatched)';
    const status = reply.statusCode;
    metrics.recordRequest(request.method, route, status, reply.elapsedTime / 1000);
    // one JSON line per request, with its id (5xx at error level; the filter logs the cause)
    const level = status >= 500 ? 'error' : 'info';
    if (logger.isLevelEnabled(level)) {
      logger[level](
        {
          req: { id: request.id, method: request.method, url: request.url, route },
          res: { statusCode: status },
          responseTime: Math.round(reply.elapsedTime * 100) / 100,
        },
        'request completed',
      );
    }
    done();
  });

  app.useGlobalPipes(new ProblemValidationPipe());
  app.useGlobalFilters(new ProblemFilter());
  if (config.corsOrigins.length > 0) app.enableCors({ origin: config.corsOrigins.includes('*') ? true : config.corsOrigins });

  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Payments service')
      .setDescription(
        'In-memory payments with separated commands and queries. Money is an integer in the currency\'s minor unit; ' +
          'every error is application/problem+json (RFC 9457).',
      )
      .setVersion('1')
      // package.json's "UNLICENSED": proprietary, no rights granted; the URL is npm's definition
      // of that value (OpenAPI 3.0 has no SPDX identifier field, and a license needs a URL)
      .setLicense('UNLICENSED (proprietary: no rights are granted)', 'https://docs.npmjs.com/cli/configuring-npm/package-json#license')
      // relative: the origin that serves this document (the service is deployed under many names)
      .addServer('/', 'This service: the origin that serves this document')
      .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'HS256 JWT with org and scope claims (when AUTH_JWT_SECRET is set)' })
      .build(),
  );
  // Answers of the router and the hooks above, before any route's code: a URL longer than
  // MAX_URL_LENGTH is a 414 on every route (the first onRequest hook), and a path parameter
  // that is not validly percent-encoded is a 400 (frameworkErrors).
  declareProblems(document, ['URI_TOO_LONG']);
  declareProblems(document, ['BAD_REQUEST'], (path) => path.includes('{'));
  // The auth hook, the scopes guard, the rate limit and the loading check answer on every API
  // route whatever the route declares: a route's own 403 or 503 must not hide MISSING_SCOPE or
  // STORE_LOADING (a status declared on a method replaces the controller's in @nestjs/swagger).
  declareProblems(document, ['UNAUTHORIZED', 'MISSING_SCOPE', 'RATE_LIMITED', 'STORE_LOADING'], isApiPath);
  // The auth hook: a request with several Authorization headers is a 400 where a token is read.
  declareProblems(document, ['BAD_REQUEST'], (path) => isApiPath(path) || path === '/metrics');
  // Request bodies reject unknown properties (400): say so in the schemas of the DTOs.
  for (const [name, schema] of Object.entries(document.components?.schemas ?? {})) {
    if (name.endsWith('Dto') && 'type' in schema) schema.additionalProperties = false;
  }
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs/json', yamlDocumentUrl: 'docs/yaml' });
  // The messaging (AsyncAPI 3.0) beside it, built from this document's schemas: public, as /docs/json is.
  const asyncapi = JSON.stringify(asyncApiDocument(document, config));
  fastify.get(ASYNCAPI_PATH, (_request, reply) => reply.type('application/json; charset=utf-8').send(asyncapi));
}
