import { SignJWT } from 'jose';
import { UnauthorizedError } from '../errors';
import { JwtVerifier, TokenLimits } from './jwt.verifier';

const SECRET = 'unit-test-secret-of-at-least-32-bytes!!';
const key = (s = SECRET) => new TextEncoder().encode(s);
/** The verifiers' clock (ms): a fixed instant, unless a test runs one of its own. */
const NOW_MS = Date.UTC(2026, 2, 1, 12);
const clock = () => NOW_MS;
/** The clock in seconds, as JWT times are written. */
const now = () => NOW_MS / 1000;
/** 30 s of clock skew, tokens living a day at most. */
const LIMITS: TokenLimits = { clockSkewSeconds: 30, maxLifetimeSeconds: 86_400 };

/**
 * A token issued at `iat` (now() unless given; null leaves it out) that expires at `exp` (an
 * hour after iat unless given; null leaves it out).
 */
function token(
  claims: Record<string, unknown>,
  opts: { alg?: string; secret?: string; iat?: number | null; exp?: number | null; nbf?: number } = {},
) {
  const iat = opts.iat === undefined ? now() : opts.iat;
  const exp = opts.exp === undefined ? (iat ?? now()) + 3600 : opts.exp;
  const jwt = new SignJWT(claims).setProtectedHeader({ alg: opts.alg ?? 'HS256' });
  if (iat !== null) jwt.setIssuedAt(iat);
  if (exp !== null) jwt.setExpirationTime(exp);
  if (opts.nbf !== undefined) jwt.setNotBefore(opts.nbf);
  return jwt.sign(key(opts.secret));
}

const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');

describe('JwtVerifier', () => {
  const verifier = new JwtVerifier(SECRET, LIMITS, clock);

  /** Why `by` refuses the header (fails the test when it accepts it). */
  async function rejectionBy(by: JwtVerifier, header: string | undefined): Promise<string> {
    try {
      await by.verify(header);
    } catch (e) {
      expect(e).toBeInstanceOf(UnauthorizedError);
      return (e as UnauthorizedError).detail;
    }
    throw new Error('accepted');
  }

  const rejection = (header: string | undefined) => rejectionBy(verifier, header);

  it('accepts an HS256 token with org and scope, and returns the caller', async () => {
    const t = await token({ org: 'org-a', scope: 'payments:read payments:write', sub: 'svc' }, { exp: now() + 60 });
    const caller = await verifier.verify(`Bearer ${t}`);
    expect(caller.org).toBe('org-a');
    expect(caller.sub).toBe('svc');
    expect([...caller.scopes]).toEqual(['payments:read', 'payments:write']);
  });

  it('refuses a missing header, another scheme and a malformed token', async () => {
    expect(await rejection(undefined)).toContain('Bearer');
    expect(await rejection('Basic dXNlcjpwYXNz')).toContain('Bearer <JWT>');
    expect(await rejection('Bearer not-a-jwt')).toContain('Bearer <JWT>');
  });

  it('refuses alg none and other algorithms', async () => {
    const none = `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ org: 'org-a', scope: 'admin' })}.`;
    expect(await rejection(`Bearer ${none}`)).toBeDefined();
    const hs512 = await token({ org: 'org-a', scope: 'admin' }, { alg: 'HS512' });
    expect(await rejection(`Bearer ${hs512}`)).toContain('HS256');
  });

  it('refuses a token signed with another secret', async () => {
    const t = await token({ org: 'org-a', scope: 'admin' }, { secret: 'another-secret-of-at-least-32-bytes!!' });
    expect(await rejection(`Bearer ${t}`)).toContain('signature');
  });

  it('honours exp and nbf with the configured clock skew, to the second', async () => {
    expect(await rejection(`Bearer ${await token({ org: 'o', scope: 's' }, { exp: now() - 30 })}`)).toContain('expired');
    expect(await verifier.verify(`Bearer ${await token({ org: 'o', scope: 's' }, { exp: now() - 29 })}`)).toMatchObject({ org: 'o' });
    expect(await rejection(`Bearer ${await token({ org: 'o', scope: 's' }, { nbf: now() + 31 })}`)).toContain('nbf');
    expect(await verifier.verify(`Bearer ${await token({ org: 'o', scope: 's' }, { nbf: now() + 30 })}`)).toMatchObject({ org: 'o' });
  });

  it('without a clock of its own, reads the time Date gives at each check (a stopped Date stops it too)', async () => {
    const plain = new JwtVerifier(SECRET, LIMITS); // built before Date is stopped, as the app in an e2e spec is
    const t = await token({ org: 'org-a', scope: 'payments:read' }, { iat: null, exp: Math.floor(Date.now() / 1000) + 3600 });
    await expect(plain.verify(`Bearer ${t}`)).resolves.toMatchObject({ org: 'org-a' });
    jest.useFakeTimers({ now: Date.now() + 2 * 3600_000, doNotFake: ['nextTick', 'queueMicrotask', 'setImmediate'] });
    try {
      const late = await token({ org: 'org-b', scope: 'payments:read' }, { iat: null, exp: Math.floor(Date.now() / 1000) - 3600 });
      await expect(plain.verify(`Bearer ${late}`)).rejects.toBeInstanceOf(UnauthorizedError); // expired an hour ago, by the stopped Date
      await expect(plain.verify(`Bearer ${t}`)).rejects.toBeInstanceOf(UnauthorizedError); // and the first one, an hour after its exp
    } finally {
      jest.useRealTimers();
    }
  });

  it('requires the org and scope claims', async () => {
    expect(await rejection(`Bearer ${await token({ scope: 'admin' })}`)).toContain('org');
    expect(await rejection(`Bearer ${await token({ org: '', scope: 'admin' })}`)).toContain('org');
    expect(await rejection(`Bearer ${await token({ org: 'o' })}`)).toContain('scope');
  });

  it('takes the Bearer scheme in any case (RFC 9110), and no other scheme', async () => {
    const t = await token({ org: 'org-a', scope: 'payments:read' });

    for (const scheme of ['bearer', 'BEARER', 'bEaReR']) expect((await verifier.verify(`${scheme} ${t}`)).org).toBe('org-a');
    expect(await rejection(`Bearerx ${t}`)).toContain('Bearer <JWT>');
    expect(await rejection(`Bearer${t}`)).toContain('Bearer <JWT>');
    expect(await rejection(`Token ${t}`)).toContain('Bearer <JWT>');
  });

  describe('token lifetime', () => {
    it('requires exp: a token that never expires is refused, whatever its scope', async () => {
      for (const scope of ['payments:read', 'admin']) {
        expect(await rejection(`Bearer ${await token({ org: 'o', scope }, { exp: null })}`)).toBe('The token has no exp claim: tokens must expire');
        expect(await rejection(`Bearer ${await token({ org: 'o', scope }, { iat: null, exp: null })}`)).toContain('no exp claim');
      }
    });

    it('refuses an exp or iat that is not a number', async () => {
      expect(await rejection(`Bearer ${await token({ org: 'o', scope: 's', exp: String(now() + 60) }, { exp: null })}`)).toContain('exp claim is not a number');
      expect(await rejection(`Bearer ${await token({ org: 'o', scope: 's', iat: 'yesterday' }, { iat: null, exp: now() + 60 })}`)).toContain('iat claim is not a number');
    });

    it('caps exp - iat at maxLifetimeSeconds, to the second, whatever the clock says', async () => {
      const v = new JwtVerifier(SECRET, { clockSkewSeconds: 30, maxLifetimeSeconds: 600 }, clock);
      const issuedEarlier = now() - 300;

      expect((await v.verify(`Bearer ${await token({ org: 'o', scope: 's' }, { exp: now() + 600 })}`)).org).toBe('o');
      expect(await rejectionBy(v, `Bearer ${await token({ org: 'o', scope: 's' }, { exp: now() + 601 })}`)).toBe(
        "The token's lifetime (exp - iat) is over the 600 s allowed (AUTH_MAX_TOKEN_LIFETIME_SECONDS)",
      );
      // issued 5 minutes ago for 11 minutes: 6 are left, but it was minted to live longer than 10
      expect(await rejectionBy(v, `Bearer ${await token({ org: 'o', scope: 's' }, { iat: issuedEarlier, exp: issuedEarlier + 660 })}`)).toContain('lifetime');
      expect(await rejectionBy(v, `Bearer ${await token({ org: 'o', scope: 's' }, { exp: 1e300 })}`)).toContain('lifetime');
    });

    it('without iat, caps exp - now at maxLifetimeSeconds plus the clock skew, to the second', async () => {
      const v = new JwtVerifier(SECRET, { clockSkewSeconds: 30, maxLifetimeSeconds: 600 }, clock);

      expect((await v.verify(`Bearer ${await token({ org: 'o', scope: 's' }, { iat: null, exp: now() + 630 })}`)).org).toBe('o');
      expect(await rejectionBy(v, `Bearer ${await token({ org: 'o', scope: 's' }, { iat: null, exp: now() + 631 })}`)).toContain('(exp - now)');
      expect(await rejectionBy(v, `Bearer ${await token({ org: 'o', scope: 's' }, { iat: null, exp: 1e300 })}`)).toContain('lifetime');
    });

    it('refuses an iat ahead of the clock by more than the skew (it would pass a far exp off as a short life)', async () => {
      expect(await rejection(`Bearer ${await token({ org: 'o', scope: 's' }, { iat: now() + 31, exp: now() + 60 })}`)).toBe('The token is issued in the future (iat)');
      expect(await rejection(`Bearer ${await token({ org: 'o', scope: 's' }, { iat: 1e300, exp: 1e300 + 1 })}`)).toContain('iat');
      expect((await verifier.verify(`Bearer ${await token({ org: 'o', scope: 's' }, { iat: now() + 30, exp: now() + 60 })}`)).org).toBe('o');
    });
  });

  describe('verified tokens (the cache of verify)', () => {
    it('answers the same caller again for the same token, and still refuses a token with another signature', async () => {
      const v = new JwtVerifier(SECRET, { ...LIMITS, clockSkewSeconds: 0 }, clock);
      const t = await token({ org: 'org-a', scope: 'payments:read' }, { exp: now() + 600 });
      const first = await v.verify(`Bearer ${t}`);
      expect(await v.verify(`Bearer ${t}`)).toBe(first);
      const forged = `${t.slice(0, t.lastIndexOf('.') + 1)}${b64({ x: 1 })}`;
      await expect(v.verify(`Bearer ${forged}`)).rejects.toThrow(UnauthorizedError);
      const other = await token({ org: 'org-a', scope: 'payments:read' }, { exp: now() + 600, secret: 'another-secret-of-at-least-32-bytes!!' });
      await expect(v.verify(`Bearer ${other}`)).rejects.toThrow(UnauthorizedError);
    });

    it('refuses a token verified before once it has expired (with the clock skew)', async () => {
      const start = Date.UTC(2026, 2, 1, 12);
      let at = start;
      const v = new JwtVerifier(SECRET, LIMITS, () => at);
      const t = await token({ org: 'org-a', scope: 'payments:read' }, { exp: start / 1000 + 60 });
      await v.verify(`Bearer ${t}`);
      at = start + 80_000; // exp + 20 s: within the 30 s skew
      expect((await v.verify(`Bearer ${t}`)).org).toBe('org-a');
      at = start + 95_000; // exp + 35 s: past it
      await expect(v.verify(`Bearer ${t}`)).rejects.toThrow('expired');
      await expect(v.verify(`Bearer ${t}`)).rejects.toThrow('expired');
    });

    it('stays bounded', async () => {
      const v = new JwtVerifier(SECRET, { ...LIMITS, clockSkewSeconds: 0 }, clock);
      const tokens = await Promise.all(Array.from({ length: 5 }, (_, i) => token({ org: `org-${i}`, scope: 'admin' }, { exp: now() + 600 })));
      const max = JwtVerifier.CACHE_MAX;
      (JwtVerifier as unknown as { CACHE_MAX: number }).CACHE_MAX = 3;
      try {
        for (const t of tokens) await v.verify(`Bearer ${t}`);
        expect(v.verifiedTokens).toBe(3);
        for (const [i, t] of tokens.entries()) expect((await v.verify(`Bearer ${t}`)).org).toBe(`org-${i}`);
        expect(v.verifiedTokens).toBe(3);
      } finally {
        (JwtVerifier as unknown as { CACHE_MAX: number }).CACHE_MAX = max;
      }
    });
  });
});
