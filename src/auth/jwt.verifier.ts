import { errors, jwtVerify } from 'jose';
import { UnauthorizedError } from '../errors';
import { Caller } from './caller';

/**
 * Verifies `Authorization: Bearer <JWT>`: HS256 only (`none` and every other algorithm are
 * refused), `exp` and `nbf` honoured with a small clock skew, `org` and `scope` required.
 * Every failure is an UnauthorizedError (401) whose detail says what was wrong, never the
 * secret or the token.
 */
export class JwtVerifier {
  readonly #key: Uint8Array;

  constructor(
    secret: string,
    private readonly clockSkewSeconds: number,
  ) {
    this.#key = new TextEncoder().encode(secret);
  }

  async verify(authorization: string | undefined): Promise<Caller> {
    if (authorization === undefined || authorization === '') {
      throw new UnauthorizedError('Send Authorization: Bearer <token>');
    }
    const match = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*)$/.exec(authorization);
    if (!match) throw new UnauthorizedError('The Authorization header must be "Bearer <JWT>"');
    let payload;
    try {
      ({ payload } = await jwtVerify(match[1], this.#key, {
        algorithms: ['HS256'],
        clockTolerance: this.clockSkewSeconds,
      }));
    } catch (e) {
      throw new UnauthorizedError(reason(e));
    }
    const { org, scope, sub } = payload as { org?: unknown; scope?: unknown; sub?: unknown };
    if (typeof org !== 'string' || org.length === 0 || org.length > 64) {
      throw new UnauthorizedError('The token has no valid org claim');
    }
    if (typeof scope !== 'string') throw new UnauthorizedError('The token has no scope claim');
    return { org, sub: typeof sub === 'string' ? sub : undefined, scopes: new Set(scope.split(' ').filter(Boolean)) };
  }
}

function reason(e: unknown): string {
  if (e instanceof errors.JWTExpired) return 'The token has expired';
  if (e instanceof errors.JWTClaimValidationFailed && e.claim === 'nbf') return 'The token is not valid yet (nbf)';
  if (e instanceof errors.JWSSignatureVerificationFailed) return 'The token signature is not valid';
  if (e instanceof errors.JOSEAlgNotAllowed) return 'The token must be signed with HS256';
  return 'The token is malformed or not valid';
}
