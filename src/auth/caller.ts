export const SCOPES = ['payments:read', 'payments:write', 'admin', 'operator'] as const;
export type Scope = (typeof SCOPES)[number];
/**
 * The platform operator: acts on every organization on the /admin routes (and may do whatever
 * `admin` may). `admin` is an organization's admin, for its own organization only.
 */
export const OPERATOR = 'operator' satisfies Scope;

/** Who is calling, as a verified token says. */
export interface Caller {
  /** The caller's organizationId: the only tenant it may see or write. */
  readonly org: string;
  readonly sub?: string;
  readonly scopes: ReadonlySet<string>;
}

/** What the auth hook found on a request: a caller, or why there is none. */
export type RequestAuth = { caller: Caller; error?: undefined } | { caller?: undefined; error: Error };

declare module 'fastify' {
  interface FastifyRequest {
    auth: RequestAuth | null;
  }
}
