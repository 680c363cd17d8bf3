import { CanActivate, ExecutionContext, Injectable, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { AppConfig } from '../config';
import { MissingScopeError, UnauthorizedError } from '../errors';
import { Scope } from './caller';

const REQUIRED_SCOPE = 'requiredScope';

export interface ScopeRule {
  scope: Scope;
  /** Only enforce when this config flag is true (e.g. metricsRequireAdmin). */
  onlyWhen?: keyof AppConfig;
}

/** The scope a route needs when auth is on. Routes without it are public. */
export const RequireScope = (scope: Scope, onlyWhen?: keyof AppConfig) =>
  SetMetadata(REQUIRED_SCOPE, { scope, onlyWhen } satisfies ScopeRule);

/**
 * With AUTH_JWT_SECRET set, a route marked @RequireScope needs a verified token (401 without
 * one) that carries the scope (403 without it). The token was verified by the auth hook in
 * app.setup.ts, before rate limiting, so that limits apply per verified caller.
 */
@Injectable()
export class ScopesGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly config: AppConfig,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    if (this.config.authJwtSecret === undefined) return true;
    const rule = this.reflector.getAllAndOverride<ScopeRule | undefined>(REQUIRED_SCOPE, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (rule === undefined || (rule.onlyWhen !== undefined && !this.config[rule.onlyWhen])) return true;
    const auth = context.switchToHttp().getRequest<FastifyRequest>().auth;
    if (!auth?.caller) throw auth?.error ?? new UnauthorizedError('Send Authorization: Bearer <token>');
    if (!auth.caller.scopes.has(rule.scope)) throw new MissingScopeError(rule.scope);
    return true;
  }
}
