import { createParamDecorator, ExecutionContext, SetMetadata } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { OrganizationForbiddenError, RequestValidationError } from '../errors';
import { Caller, OPERATOR } from './caller';

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

/**
 * The organization a request addresses a payment in (paymentIds are unique per organization):
 * with auth on, the token's (an `organizationId` query parameter naming another is a 403); in
 * open mode the `organizationId` query parameter, or undefined (the only payment with that
 * paymentId; PAYMENT_ID_AMBIGUOUS when several organizations have one).
 */
export function addressedOrganization(request: FastifyRequest): string | undefined {
  const caller = request.auth?.caller;
  const named = namedOrganization(request);
  return caller === undefined ? named : ownOrganization(caller, named);
}

/**
 * The organization an /admin route acts on. A platform operator (the `operator` scope) acts on
 * any organization, or on all of them when none is named; an organization's admin (the `admin`
 * scope) only on its own: naming another is a 403, naming none means its own. Open mode: the
 * one named, or all.
 */
export function administeredOrganization(caller: Caller | undefined, named: string | undefined): string | undefined {
  return caller === undefined || caller.scopes.has(OPERATOR) ? named : ownOrganization(caller, named);
}

/** The `organizationId` query parameter of a request, checked (one string of 1-64 characters). */
export function namedOrganization(request: FastifyRequest): string | undefined {
  const named = (request.query as Record<string, unknown> | undefined)?.organizationId;
  if (named !== undefined && (typeof named !== 'string' || named.length < 1 || named.length > 64)) {
    throw RequestValidationError.field('organizationId', 'organizationId must be one string of 1 to 64 characters');
  }
  return named;
}

/** The caller's organization; naming another (whatever the value) is a 403. */
function ownOrganization(caller: Caller, named: unknown): string {
  if (named !== undefined && named !== caller.org) throw new OrganizationForbiddenError('organizationId');
  return caller.org;
}

function scope(target: unknown, caller: Caller): void {
  if (isRecord(target)) target.organizationId = ownOrganization(caller, target.organizationId);
}

function defaultOrganization(item: unknown, caller: Caller): void {
  if (isRecord(item) && item.organizationId === undefined) item.organizationId = caller.org;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
