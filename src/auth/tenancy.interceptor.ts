import { CallHandler, createParamDecorator, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { Observable } from 'rxjs';
import { OrganizationForbiddenError } from '../errors';
import { Caller } from './caller';

/** The verified caller of a request, or undefined in open mode. */
export const CurrentCaller = createParamDecorator(
  (_: unknown, ctx: ExecutionContext): Caller | undefined => ctx.switchToHttp().getRequest<FastifyRequest>().auth?.caller,
);

/**
 * Tenancy at the edge, before validation: a request acts for the token's organization. An
 * `organizationId` in the body or query that names another one is a 403; an absent one
 * becomes the token's. Bulk items get the default here and are checked one by one by the
 * import handler (a foreign item fails alone). Runs after the guards, before the pipes.
 */
@Injectable()
export class TenancyInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const caller = request.auth?.caller;
    if (caller) {
      scope(request.query, caller);
      const body = request.body as { payments?: unknown } | undefined;
      if (Array.isArray(body?.payments)) body.payments.forEach((item) => defaultOrganization(item, caller));
      else scope(body, caller);
    }
    return next.handle();
  }
}

function scope(target: unknown, caller: Caller): void {
  if (!isRecord(target)) return;
  if (target.organizationId !== undefined && target.organizationId !== caller.org) {
    throw new OrganizationForbiddenError('organizationId');
  }
  target.organizationId = caller.org;
}

function defaultOrganization(item: unknown, caller: Caller): void {
  if (isRecord(item) && item.organizationId === undefined) item.organizationId = caller.org;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
