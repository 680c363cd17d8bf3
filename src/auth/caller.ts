export const SCOPES = ['payments:read', 'payments:write', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

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
