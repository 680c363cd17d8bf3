import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError, ERROR_CATALOGUE, ErrorCode, FieldError, problemType } from './errors';

export interface Problem {
  headers?: Record<string, string>;
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ErrorCode;
  instance?: string;
  errors?: FieldError[];
}

/** A problem as a document: what an answer's body holds (a bulk item's error, a dead letter's x-problem). */
export type ProblemBody = Omit<Problem, 'headers'>;

const BY_STATUS: Record<number, ErrorCode> = {
  400: 'BAD_REQUEST',
  404: 'ROUTE_NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  503: 'SERVICE_UNAVAILABLE',
};

/**
 * Maps anything thrown to RFC 9457 problem details. The one place that builds error bodies.
 * Fastify's own errors (media type, body size) reach here as HttpExceptions mapped by Nest.
 */
export function toProblem(error: unknown, instance?: string): Problem {
  let code: ErrorCode = 'INTERNAL_ERROR';
  let detail = 'An unexpected error occurred; it has been logged';
  let errors: FieldError[] | undefined;
  let headers: Record<string, string> | undefined;
  if (error instanceof AppError) {
    ({ code, detail, errors, headers } = error);
  } else if (error instanceof HttpException) {
    const status = error.getStatus();
    code = BY_STATUS[status] ?? (status < 500 ? 'BAD_REQUEST' : 'INTERNAL_ERROR');
    if (status < 500) detail = DETAILS[code] ?? error.message;
  } else if (isClientFault(error)) {
    // The client's fault, never a 500 (nor a stack in the log). The file server of /docs refuses
    // a path that leaves its folder or is not canonical (`..`, `%2e%2e`, `//`) with a 403, and one
    // that holds a NUL byte with a 400: to the client, no file is there / the path is not valid.
    // Their message is not shown: it may name a file of the server.
    const notFound = error.statusCode === 403 || error.statusCode === 404;
    code = notFound ? 'ROUTE_NOT_FOUND' : (BY_STATUS[error.statusCode] ?? 'BAD_REQUEST');
    detail = notFound ? 'No file or route at this path' : (DETAILS[code] ?? 'The request path is not valid');
  }
  const { status, title } = ERROR_CATALOGUE[code];
  return {
    type: problemType(code),
    title,
    status,
    detail,
    code,
    ...(instance ? { instance } : {}),
    ...(errors ? { errors } : {}),
    ...(headers ? { headers } : {}),
  };
}

/**
 * An error that Fastify or one of its plugins raised with a 4xx `statusCode` (their convention,
 * and http-errors'): neither an AppError nor one Nest maps to an HttpException (it maps only
 * errors named FastifyError).
 */
function isClientFault(error: unknown): error is Error & { statusCode: number } {
  if (!(error instanceof Error)) return false;
  const { statusCode } = error as { statusCode?: unknown };
  return typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500;
}

const DETAILS: Partial<Record<ErrorCode, string>> = {
  UNSUPPORTED_MEDIA_TYPE: 'Send the body as application/json',
  PAYLOAD_TOO_LARGE: 'The request body is larger than the configured limit (BODY_LIMIT_BYTES)',
};

declare module 'fastify' {
  interface FastifyInstance {
    /** Counts one problem answer by its code (payments_http_problems_total; set by setupApp). */
    countProblem?: (code: ErrorCode) => void;
  }
}

/**
 * Every problem+json answer that has a reply goes out here: the filter's, the hooks', the
 * router's (frameworkErrors, which Fastify answers without running the response hooks). So it
 * is counted here, on the error path only.
 */
export function sendProblem(reply: FastifyReply, { headers, ...problem }: Problem): void {
  reply.server.countProblem?.(problem.code);
  if (headers) void reply.headers(headers);
  void reply.status(problem.status).header('content-type', 'application/problem+json; charset=utf-8').send(problem);
}

@Catch()
export class ProblemFilter implements ExceptionFilter {
  readonly #logger = new Logger('ProblemFilter');

  catch(exception: unknown, host: ArgumentsHost): void {
    const ctx = host.switchToHttp();
    const request = ctx.getRequest<FastifyRequest>();
    const problem = toProblem(exception, request.url.split('?')[0]);
    if (problem.status >= 500) this.#logger.error({ err: exception, reqId: request.id }, 'request failed');
    sendProblem(ctx.getResponse<FastifyReply>(), problem);
  }
}
