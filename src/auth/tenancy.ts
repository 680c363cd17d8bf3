import { createParamDecorator, ExecutionContext, SetMetadata } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { OrganizationForbiddenError } from '../errors';
import { Caller } from './caller';

/** The verified caller of a request, or undefined in open mode. */
export const CurrentCaller = createParamDecorator(
  (_: unknown, ctx: ExecutionContext): Caller | undefined => ctx.switchToHttp().getRequest<FastifyRequest>().auth?.caller,
);

export const ACTS_FOR_CALLER = 'actsForCaller';

/**
 * Marks a route whose body or query names an `organizationId`: tenancy at the edge, before
 * validation. The request acts for the token's organization: an `organizationId` that names
 * another one is a 403; an absent one becomes the token's. Bulk items get the default here and
 * are checked one by one by the import handler (a foreign item fails alone). Applied by the
 * ScopesGuard once the token and its scope are checked (guards run before the pipes), so that
 * no interceptor (and no Observable) runs on every request.
 */
export const ActsForCaller = () => SetMetadata(ACTS_FOR_CALLER, true);

/** Scopes the body or query of a request to the caller's organization (see ActsForCaller). */
export function applyTenancy(request: FastifyRequest, caller: Caller): void {
  scope(request.query, caller);
  const body = request.body as { payments?: unknown } | undefined;
  if (Array.isArray(body?.payments)) body.payments.forEach((item) => defaultOrganization(item, caller));
  else scope(body, caller);
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
