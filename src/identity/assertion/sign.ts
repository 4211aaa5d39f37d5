/**
 * The signed identity assertion sent upstream in `x-gatehouse-jwt-assertion`.
 */
import { randomBytes } from 'node:crypto';
import { SignJWT, base64url } from 'jose';
import type { AuthenticatedIdentity } from '../../input/types.js';
import type { KeyRing } from '../../keys/key-ring.js';

/** Options for {@link signAssertion}. */
export interface SignAssertionOptions {
  /** `iss`: Gatehouse's issuer URL or name, as upstreams are told to expect. */
  readonly issuer: string;
  /** `aud`: the upstream host the request is going to (the request's `:authority`). */
  readonly audience: string;
  readonly identity: AuthenticatedIdentity;
  /** Lifetime in seconds (default 300). */
  readonly ttlSeconds?: number;
  /** The clock (defaults to now). */
  readonly now?: Date;
}

/** Default assertion lifetime, in seconds. */
export const DEFAULT_ASSERTION_TTL = 300;

/**
 * Sign an identity assertion for the upstream: header `typ: JWT`, `alg` and `kid` of the ring's
 * signing key; claims `iss`, `aud`, `sub`, `email` (when known), `email_verified`, `name` (when
 * known), `groups`, `sid` (sessions only), `auth` (`session`|`bearer`), `iat`, `exp`, `jti`.
 * Upstreams verify it against `/.well-known/gatehouse/jwks.json`.
 *
 * @example
 *   const jwt = await signAssertion(ring, { issuer: 'https://auth.example.com', audience: 'app.example.com', identity });
 */
export async function signAssertion(ring: KeyRing, options: SignAssertionOptions): Promise<string> {
  const { identity } = options;
  const now = Math.floor((options.now ?? new Date()).getTime() / 1000);
  const ttl = options.ttlSeconds ?? DEFAULT_ASSERTION_TTL;
  if (!(ttl > 0)) throw new Error('signAssertion: ttlSeconds must be positive');
  return new SignJWT({
    ...(identity.email === null ? {} : { email: identity.email }),
    email_verified: identity.email_verified,
    ...(identity.name === null ? {} : { name: identity.name }),
    groups: [...identity.groups],
    ...(identity.session_id === null ? {} : { sid: identity.session_id }),
    auth: identity.method,
  })
    .setProtectedHeader({ alg: ring.signing.alg, kid: ring.signing.kid, typ: 'JWT' })
    .setIssuer(options.issuer)
    .setAudience(options.audience)
    .setSubject(identity.sub)
    .setIssuedAt(now)
    .setExpirationTime(now + Math.floor(ttl))
    .setJti(base64url.encode(randomBytes(16)))
    .sign(ring.signing.privateKey);
}
