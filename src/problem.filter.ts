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

const DETAILS: Partial<Record<ErrorCode, string>> = {
  UNSUPPORTED_MEDIA_TYPE: 'Send the body as application/json',
  PAYLOAD_TOO_LARGE: 'The request body is larger than the configured limit (BODY_LIMIT_BYTES)',
};

export function sendProblem(reply: FastifyReply, { headers, ...problem }: Problem): void {
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
