import { CanActivate, ExecutionContext, Injectable, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { AppConfig } from '../config';
import { MissingScopeError, UnauthorizedError } from '../errors';
import { OPERATOR, Scope } from './caller';
import { ACTS_FOR_CALLER, applyTenancy } from './tenancy';

const REQUIRED_SCOPE = 'requiredScope';

export interface ScopeRule {
  scope: Scope;
  /** Only enforce when this config flag is true (e.g. metricsRequireAdmin). */
  onlyWhen?: keyof AppConfig;
}

/** The scope a route needs when auth is on. Routes without it are public. */
export const RequireScope = (scope: Scope, onlyWhen?: keyof AppConfig) =>
  SetMetadata(REQUIRED_SCOPE, { scope, onlyWhen } satisfies ScopeRule);

/** What a route asks of a request, read once per route from its decorators. */
interface RouteRule {
  scope?: Scope;
  actsForCaller: boolean;
}

/**
 * With AUTH_JWT_SECRET set, a route marked @RequireScope needs a verified token (401 without
 * one) that carries the scope (403 without it); a route marked @ActsForCaller then has its
 * body or query scoped to the token's organization (see applyTenancy). The token was verified
 * by the auth hook of protection.ts, before rate limiting, so that limits apply per verified
 * caller. AppModule registers this guard only when auth is on: in open mode every route is
 * public and there is no caller to scope to.
 */
@Injectable()
export class ScopesGuard implements CanActivate {
  /** Per route handler: its decorators do not change after boot. */
  readonly #rules = new WeakMap<object, RouteRule>();

  constructor(
    private readonly reflector: Reflector,
    private readonly config: AppConfig,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    if (this.config.authJwtSecret === undefined) return true;
    const rule = this.#rule(context);
    if (rule.scope === undefined) return true;
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const auth = request.auth;
    if (!auth?.caller) throw auth?.error ?? new UnauthorizedError('Send Authorization: Bearer <token>');
    const scopes = auth.caller.scopes;
    // the platform operator may do whatever an organization's admin may, for any organization
    if (!scopes.has(rule.scope) && !(rule.scope === 'admin' && scopes.has(OPERATOR))) throw new MissingScopeError(rule.scope);
    if (rule.actsForCaller) applyTenancy(request, auth.caller);
    return true;
  }

  #rule(context: ExecutionContext): RouteRule {
    const handler = context.getHandler();
    let rule = this.#rules.get(handler);
    if (rule === undefined) {
      const targets = [handler, context.getClass()];
      const scopeRule = this.reflector.getAllAndOverride<ScopeRule | undefined>(REQUIRED_SCOPE, targets);
      const enforced = scopeRule !== undefined && (scopeRule.onlyWhen === undefined || !!this.config[scopeRule.onlyWhen]);
      rule = {
        scope: enforced ? scopeRule.scope : undefined,
        actsForCaller: this.reflector.getAllAndOverride<boolean | undefined>(ACTS_FOR_CALLER, targets) === true,
      };
      this.#rules.set(handler, rule);
    }
    return rule;
  }
}
