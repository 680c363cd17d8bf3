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
  /**
   * Tokens verified before, by their exact text, with the caller and time claims they gave:
   * the signature and every claim but the clock checks are properties of the text, so a token
   * seen valid is valid again as long as exp and nbf still hold. A hit skips jose (about 8 us a
   * request) only when exp is more than a second away (and nbf passed), else the token is
   * verified in full again; the map is bounded (oldest first out).
   */
  readonly #verified = new Map<string, { caller: Caller; exp?: number; nbf?: number }>();
  static readonly CACHE_MAX = 10_000;

  /** How many verified tokens are remembered. */
  get verifiedTokens(): number {
    return this.#verified.size;
  }

  /**
   * `now`: the clock exp and nbf are checked against, in milliseconds (a spec drives its own).
   * The default looks `Date` up at each call, not once: a test that stops Date (jest's fake
   * timers) stops it for the verifier too.
   */
  constructor(
    secret: string,
    private readonly clockSkewSeconds: number,
    private readonly now: () => number = () => Date.now(),
  ) {
    this.#key = new TextEncoder().encode(secret);
  }

  async verify(authorization: string | undefined): Promise<Caller> {
    if (authorization === undefined || authorization === '') {
      throw new UnauthorizedError('Send Authorization: Bearer <token>');
    }
    const match = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*)$/.exec(authorization);
    if (!match) throw new UnauthorizedError('The Authorization header must be "Bearer <JWT>"');
    const token = match[1];
    const nowMs = this.now();
    const seen = this.#verified.get(token);
    if (seen !== undefined) {
      const now = Math.floor(nowMs / 1000);
      const expOk = seen.exp === undefined || seen.exp - 1 > now - this.clockSkewSeconds;
      const nbfOk = seen.nbf === undefined || seen.nbf + 1 <= now + this.clockSkewSeconds;
      if (expOk && nbfOk) return seen.caller;
      this.#verified.delete(token);
    }
    let payload;
    try {
      ({ payload } = await jwtVerify(token, this.#key, {
        algorithms: ['HS256'],
        clockTolerance: this.clockSkewSeconds,
        currentDate: new Date(nowMs),
      }));
    } catch (e) {
      throw new UnauthorizedError(reason(e));
    }
    const { org, scope, sub } = payload as { org?: unknown; scope?: unknown; sub?: unknown };
    if (typeof org !== 'string' || org.length === 0 || org.length > 64) {
      throw new UnauthorizedError('The token has no valid org claim');
    }
    if (typeof scope !== 'string') throw new UnauthorizedError('The token has no scope claim');
    const caller: Caller = Object.freeze({ org, sub: typeof sub === 'string' ? sub : undefined, scopes: new Set(scope.split(' ').filter(Boolean)) });
    if (this.#verified.size >= JwtVerifier.CACHE_MAX) this.#verified.delete(this.#verified.keys().next().value as string);
    this.#verified.set(token, { caller, exp: payload.exp, nbf: payload.nbf });
    return caller;
  }
}

function reason(e: unknown): string {
  if (e instanceof errors.JWTExpired) return 'The token has expired';
  if (e instanceof errors.JWTClaimValidationFailed && e.claim === 'nbf') return 'The token is not valid yet (nbf)';
  if (e instanceof errors.JWSSignatureVerificationFailed) return 'The token signature is not valid';
  if (e instanceof errors.JOSEAlgNotAllowed) return 'The token must be signed with HS256';
  return 'The token is malformed or not valid';
}
