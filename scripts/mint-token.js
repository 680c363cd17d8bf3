#!/usr/bin/env node
// Mints an HS256 JWT for local use, signed with AUTH_JWT_SECRET (the same one the service uses).
//
//   AUTH_JWT_SECRET=... node scripts/mint-token.js --org org-456 \
//     [--scope "payments:read payments:write"] [--sub me] [--ttl 3600]
//
// Prints the token on stdout. Never use a token minted this way as a production credential.
// The service refuses a token that lives longer than AUTH_MAX_TOKEN_LIFETIME_SECONDS (exp - iat),
// so --ttl past it (read from the same variable, 86400 when unset) is refused here too.
'use strict';
const { SignJWT } = require('jose');

/** AUTH_MAX_TOKEN_LIFETIME_SECONDS as the service reads it (src/config.ts), with its default. */
function maxLifetime() {
  const raw = (process.env.AUTH_MAX_TOKEN_LIFETIME_SECONDS ?? '').trim();
  if (raw === '') return 86400;
  if (!/^\d+$/.test(raw)) throw new Error(`AUTH_MAX_TOKEN_LIFETIME_SECONDS must be a whole number, got '${raw}'`);
  return Number(raw);
}

function args(argv) {
  const out = { scope: 'payments:read payments:write', ttl: '3600', sub: 'local-dev' };
  for (let i = 0; i < argv.length; i += 2) {
    const name = argv[i].replace(/^--/, '');
    if (!['org', 'scope', 'sub', 'ttl'].includes(name) || argv[i + 1] === undefined) {
      throw new Error(`unknown or incomplete option ${argv[i]}`);
    }
    out[name] = argv[i + 1];
  }
  if (!out.org) throw new Error('--org is required');
  if (!/^\d+$/.test(out.ttl)) throw new Error('--ttl must be a number of seconds');
  const max = maxLifetime();
  if (Number(out.ttl) > max) {
    throw new Error(`--ttl ${out.ttl} is over the ${max} s a token may live (AUTH_MAX_TOKEN_LIFETIME_SECONDS): the service would refuse it`);
  }
  return out;
}

async function main() {
  const secret = process.env.AUTH_JWT_SECRET;
  if (!secret || Buffer.byteLength(secret) < 32) throw new Error('set AUTH_JWT_SECRET (at least 32 bytes) first');
  const { org, scope, sub, ttl } = args(process.argv.slice(2));
  const iat = Math.floor(Date.now() / 1000);
  const token = await new SignJWT({ org, scope })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(sub)
    .setIssuedAt(iat)
    .setExpirationTime(iat + Number(ttl))
    .sign(new TextEncoder().encode(secret));
  process.stdout.write(`${token}\n`);
}

main().catch((e) => {
  process.stderr.write(`mint-token: ${e.message}\n`);
  process.exit(2);
});
