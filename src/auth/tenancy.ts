import { createParamDecorator, ExecutionContext, SetMetadata } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { OrganizationForbiddenError, RequestValidationError } from '../errors';
import { Caller, OPERATOR } from './caller';

/*
 * Tenancy, in one place. The rule (actingOrganization): a caller acts for its token's
 * organization only; naming another is a 403, naming none means its own. It is applied at the
 * edge, here, before a route's handler runs (by the ScopesGuard for routes marked
 * @ActsForCaller, by the controllers for the paymentId routes and /admin), so that the commands
 * and queries carry an organizationId that is already the caller's: below the controllers it is
 * an address (paymentIds are unique per organization), never checked again.
 */

declare module 'fastify' {
  interface FastifyRequest {
    /**
     * POST /payments/bulk with auth on: the items the rule refused, by index (null otherwise).
     * Each fails alone with its 403, before validation, as the same item sent alone would.
     */
    refusedItems: ReadonlyMap<number, OrganizationForbiddenError> | null;
  }
}

/** The verified caller of a request, or undefined in open mode. */
export const CurrentCaller = createParamDecorator(
  (_: unknown, ctx: ExecutionContext): Caller | undefined => ctx.switchToHttp().getRequest<FastifyRequest>().auth?.caller,
);

export const ACTS_FOR_CALLER = 'actsForCaller';

/**
 * Marks a route whose body or query names an `organizationId`: tenancy at the edge, before
 * validation. The request acts for the token's organization: an `organizationId` that names
 * another one is a 403; an absent one becomes the token's. A bulk item for another organization
 * is set aside in `request.refusedItems` (it fails alone, the others go on). Applied by the
 * ScopesGuard once the token and its scope are checked (guards run before the pipes), so that
 * no interceptor (and no Observable) runs on every request.
 */
export const ActsForCaller = () => SetMetadata(ACTS_FOR_CALLER, true);

/** Scopes the body or query of a request to the caller's organization (see ActsForCaller). */
export function applyTenancy(request: FastifyRequest, caller: Caller): void {
  scope(request.query, caller);
  const body = request.body as { payments?: unknown } | undefined;
  if (Array.isArray(body?.payments)) request.refusedItems = scopeItems(body.payments, caller);
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
  return caller === undefined ? named : actingOrganization(caller, named);
}

/**
 * The organization an /admin route acts on. A platform operator (the `operator` scope) acts on
 * any organization, or on all of them when none is named; an organization's admin (the `admin`
 * scope) only on its own: naming another is a 403, naming none means its own. Open mode: the
 * one named, or all.
 */
export function administeredOrganization(caller: Caller | undefined, named: string | undefined): string | undefined {
  return caller === undefined || caller.scopes.has(OPERATOR) ? named : actingOrganization(caller, named);
}

/** The `organizationId` query parameter of a request, checked (one string of 1-64 characters). */
export function namedOrganization(request: FastifyRequest): string | undefined {
  const named = (request.query as Record<string, unknown> | undefined)?.organizationId;
  if (named !== undefined && (typeof named !== 'string' || named.length < 1 || named.length > 64)) {
    throw RequestValidationError.field('organizationId', 'organizationId must be one string of 1 to 64 characters');
  }
  return named;
}

/**
 * The tenancy rule: the organization a caller acts for is its token's; naming another (whatever
 * the value) is a 403, naming none (undefined) means its own.
 */
export function actingOrganization(caller: Caller, named: unknown): string {
  if (named !== undefined && named !== caller.org) throw new OrganizationForbiddenError('organizationId');
  return caller.org;
}

function scope(target: unknown, caller: Caller): void {
  if (isRecord(target)) target.organizationId = actingOrganization(caller, target.organizationId);
}

/** Scopes each item object as a single body; the refusals, by index (null when none). */
function scopeItems(items: unknown[], caller: Caller): Map<number, OrganizationForbiddenError> | null {
  let refused: Map<number, OrganizationForbiddenError> | null = null;
  items.forEach((item, index) => {
    try {
      scope(item, caller);
    } catch (error) {
      if (!(error instanceof OrganizationForbiddenError)) throw error;
      (refused ??= new Map()).set(index, error);
    }
  });
  return refused;
}

/** The bulk items the tenancy rule refused (see applyTenancy); null in open mode or when none. */
export const RefusedItems = createParamDecorator(
  (_: unknown, ctx: ExecutionContext) => ctx.switchToHttp().getRequest<FastifyRequest>().refusedItems,
);

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
