import { SignJWT } from 'jose';
import { UnauthorizedError } from '../errors';
import { JwtVerifier } from './jwt.verifier';

const SECRET = 'unit-test-secret-of-at-least-32-bytes!!';
const key = (s = SECRET) => new TextEncoder().encode(s);
/** The verifiers' clock (ms): a fixed instant, unless a test runs one of its own. */
const NOW_MS = Date.UTC(2026, 2, 1, 12);
const clock = () => NOW_MS;
/** The clock in seconds, as JWT times are written. */
const now = () => NOW_MS / 1000;

function token(claims: Record<string, unknown>, opts: { alg?: string; secret?: string; exp?: number; nbf?: number } = {}) {
  const jwt = new SignJWT(claims).setProtectedHeader({ alg: opts.alg ?? 'HS256' }).setIssuedAt(now());
  if (opts.exp !== undefined) jwt.setExpirationTime(opts.exp);
  if (opts.nbf !== undefined) jwt.setNotBefore(opts.nbf);
  return jwt.sign(key(opts.secret));
}

const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');

describe('JwtVerifier', () => {
  const verifier = new JwtVerifier(SECRET, 30, clock);

  async function rejection(header: string | undefined): Promise<string> {
    try {
      await verifier.verify(header);
    } catch (e) {
      expect(e).toBeInstanceOf(UnauthorizedError);
      return (e as UnauthorizedError).detail;
    }
    throw new Error('accepted');
  }

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
    const plain = new JwtVerifier(SECRET, 30); // built before Date is stopped, as the app in an e2e spec is
    const t = await token({ org: 'org-a', scope: 'payments:read' }, { exp: Math.floor(Date.now() / 1000) + 3600 });
    await expect(plain.verify(`Bearer ${t}`)).resolves.toMatchObject({ org: 'org-a' });
    jest.useFakeTimers({ now: Date.now() + 2 * 3600_000, doNotFake: ['nextTick', 'queueMicrotask', 'setImmediate'] });
    try {
      const late = await token({ org: 'org-b', scope: 'payments:read' }, { exp: Math.floor(Date.now() / 1000) - 3600 });
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

  describe('verified tokens (the cache of verify)', () => {
    it('answers the same caller again for the same token, and still refuses a token with another signature', async () => {
      const v = new JwtVerifier(SECRET, 0, clock);
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
      const v = new JwtVerifier(SECRET, 30, () => at);
      const t = await token({ org: 'org-a', scope: 'payments:read' }, { exp: start / 1000 + 60 });
      await v.verify(`Bearer ${t}`);
      at = start + 80_000; // exp + 20 s: within the 30 s skew
      expect((await v.verify(`Bearer ${t}`)).org).toBe('org-a');
      at = start + 95_000; // exp + 35 s: past it
      await expect(v.verify(`Bearer ${t}`)).rejects.toThrow('expired');
      await expect(v.verify(`Bearer ${t}`)).rejects.toThrow('expired');
    });

    it('stays bounded', async () => {
      const v = new JwtVerifier(SECRET, 0, clock);
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
