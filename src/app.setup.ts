import { NestFactory } from '@nestjs/core';
import secureJson from 'secure-json-parse';
import { randomUUID } from 'node:crypto';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { Logger } from 'nestjs-pino';
import { AppModule } from './app.module';
import { AppConfig } from './config';
import { MetricsService } from './metrics/metrics.service';
import { AppError } from './errors';
import { ProblemFilter } from './problem.filter';
import { ProblemValidationPipe } from './validation.pipe';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Builds the whole application for a configuration; main.ts and every e2e test use this. */
export async function createApp(config: AppConfig): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter({
    bodyLimit: config.bodyLimitBytes,
    routerOptions: { maxParamLength: 256 },
    // One id per request: the caller's X-Request-Id when it is sane, else a UUID. It is echoed
    // back and is on every log line of the request.
    requestIdHeader: 'x-request-id',
    genReqId: () => randomUUID(),
    // the reader and writer never wait on I/O; a slow client must not hold a socket forever
    requestTimeout: 30_000,
  });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config), adapter, {
    bufferLogs: true,
    bodyParser: false, // setupApp installs the one JSON parser
  });
  setupApp(app, config);
  await app.init();
  return app;
}

/** Pipes, the problem filter, body parsing, metrics, CORS and Swagger: everything but listen. */
export function setupApp(app: NestFastifyApplication, config: AppConfig): void {
  app.useLogger(app.get(Logger));
  const fastify = app.getHttpAdapter().getInstance();

  // JSON is the only body this API accepts: anything else is a 415 before it reaches a route.
  // The parser rejects `__proto__` / `constructor.prototype` keys instead of honouring them.
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    try {
      done(null, secureJson.parse(body as string, undefined, { protoAction: 'error', constructorAction: 'error' }));
    } catch (e) {
      const reason = (body as string).trim() === '' ? 'the body is empty' : (e as Error).message;
      done(new AppError('MALFORMED_JSON', `The body is not valid JSON: ${reason}`), undefined);
    }
  });

  fastify.addHook('onRequest', (request, reply, done) => {
    if (!REQUEST_ID.test(request.id)) request.id = randomUUID();
    void reply.header('x-request-id', request.id);
    done();
  });

  const metrics = app.get(MetricsService);
  fastify.addHook('onResponse', (request, reply, done) => {
    const labels = {
      method: request.method,
      route: request.routeOptions.url ?? '(unmatched)',
      status: String(reply.statusCode),
    };
    metrics.httpRequests.inc(labels);
    metrics.httpDuration.observe(labels, reply.elapsedTime / 1000);
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
      .build(),
  );
  // Request bodies reject unknown properties (400): say so in the schemas of the DTOs.
  for (const [name, schema] of Object.entries(document.components?.schemas ?? {})) {
    if (name.endsWith('Dto') && 'type' in schema) schema.additionalProperties = false;
  }
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs/json', yamlDocumentUrl: 'docs/yaml' });
}
