import { errors, jwtVerify } from 'jose';
import { UnauthorizedError } from '../errors';
import { Caller } from './caller';

/** What a token must keep to, besides its signature. */
export interface TokenLimits {
  /** Tolerance on exp, nbf and iat, for clocks that disagree a little. */
  clockSkewSeconds: number;
  /** The longest a token may live: exp - iat, or exp - now (with the skew) without iat. */
  maxLifetimeSeconds: number;
}

/**
 * Verifies `Authorization: Bearer <JWT>` (the scheme in any case, RFC 9110 section 11.1): HS256
 * only (`none` and every other algorithm are refused), `exp` required and at most
 * `maxLifetimeSeconds` after `iat` (a token that never expires cannot be taken back), `exp`,
 * `nbf` and `iat` honoured with a small clock skew, `org` and `scope` required. Every failure is
 * an UnauthorizedError (401) whose detail says what was wrong, never the secret or the token.
 */
export class JwtVerifier {
  readonly #key: Uint8Array;
  /**
   * Tokens verified before, by their exact text, with the caller and time claims they gave:
   * the signature and every claim but the clock checks are properties of the text, so a token
   * seen valid is valid again as long as exp and nbf still hold (its lifetime only shrinks). A hit skips jose (about 8 us a
   * request) only when exp is more than a second away (and nbf passed), else the token is
   * verified in full again; the map is bounded (oldest first out).
   */
  readonly #verified = new Map<string, { caller: Caller; exp: number; nbf?: number }>();
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
    private readonly limits: TokenLimits,
    private readonly now: () => number = () => Date.now(),
  ) {
    this.#key = new TextEncoder().encode(secret);
  }

  async verify(authorization: string | undefined): Promise<Caller> {
    if (authorization === undefined || authorization === '') {
      throw new UnauthorizedError('Send Authorization: Bearer <token>');
    }
    const match = /^bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*)$/i.exec(authorization);
    if (!match) throw new UnauthorizedError('The Authorization header must be "Bearer <JWT>"');
    const token = match[1];
    const { clockSkewSeconds, maxLifetimeSeconds } = this.limits;
    const nowMs = this.now();
    const now = Math.floor(nowMs / 1000);
    const seen = this.#verified.get(token);
    if (seen !== undefined) {
      const expOk = seen.exp - 1 > now - clockSkewSeconds;
      const nbfOk = seen.nbf === undefined || seen.nbf + 1 <= now + clockSkewSeconds;
      if (expOk && nbfOk) return seen.caller;
      this.#verified.delete(token);
    }
    let payload;
    try {
      ({ payload } = await jwtVerify(token, this.#key, {
        algorithms: ['HS256'],
        requiredClaims: ['exp'],
        clockTolerance: clockSkewSeconds,
        currentDate: new Date(nowMs),
      }));
    } catch (e) {
      throw new UnauthorizedError(reason(e));
    }
    // jose checked that exp is a number in the future and iat, when there, a number. An iat
    // ahead of the clock would pass a far exp off as a short lifetime (iat = exp - 1).
    const { exp, iat } = payload as { exp: number; iat?: number };
    if (iat !== undefined && iat > now + clockSkewSeconds) throw new UnauthorizedError('The token is issued in the future (iat)');
    const lifetime = iat === undefined ? exp - now - clockSkewSeconds : exp - iat;
    if (!(lifetime <= maxLifetimeSeconds)) {
      throw new UnauthorizedError(
        `The token's lifetime (exp - ${iat === undefined ? 'now' : 'iat'}) is over the ${maxLifetimeSeconds} s allowed (AUTH_MAX_TOKEN_LIFETIME_SECONDS)`,
      );
    }
    const { org, scope, sub } = payload as { org?: unknown; scope?: unknown; sub?: unknown };
    if (typeof org !== 'string' || org.length === 0 || org.length > 64) {
      throw new UnauthorizedError('The token has no valid org claim');
    }
    if (typeof scope !== 'string') throw new UnauthorizedError('The token has no scope claim');
    const caller: Caller = Object.freeze({ org, sub: typeof sub === 'string' ? sub : undefined, scopes: new Set(scope.split(' ').filter(Boolean)) });
    if (this.#verified.size >= JwtVerifier.CACHE_MAX) this.#verified.delete(this.#verified.keys().next().value as string);
    this.#verified.set(token, { caller, exp, nbf: payload.nbf });
    return caller;
  }
}

function reason(e: unknown): string {
  if (e instanceof errors.JWTExpired) return 'The token has expired';
  if (e instanceof errors.JWTClaimValidationFailed && e.claim === 'exp') {
    return e.reason === 'missing' ? 'The token has no exp claim: tokens must expire' : 'The token\'s exp claim is not a number';
  }
  if (e instanceof errors.JWTClaimValidationFailed && e.claim === 'iat') return 'The token\'s iat claim is not a number';
  if (e instanceof errors.JWTClaimValidationFailed && e.claim === 'nbf') return 'The token is not valid yet (nbf)';
  if (e instanceof errors.JWSSignatureVerificationFailed) return 'The token signature is not valid';
  if (e instanceof errors.JOSEAlgNotAllowed) return 'The token must be signed with HS256';
  return 'The token is malformed or not valid';
}
