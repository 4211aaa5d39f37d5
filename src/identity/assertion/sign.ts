/**
 * The signed identity assertion sent upstream in `x-gatehouse-jwt-assertion`.
 */
import { randomFillSync, sign } from 'node:crypto';
import type { AuthenticatedIdentity } from '../../input/types.js';
import { derToRaw } from '../../keys/ecdsa-signature.js';
import type { KeyRing, SigningKey } from '../../keys/key-ring.js';

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
  // The claims in the order jose's SignJWT writes them: the payload, then iss, aud, sub, iat, exp, jti.
  // Written one by one (no object spreads: a temporary object each), in the same order.
  const claims: Record<string, unknown> = {};
  if (identity.email !== null) claims['email'] = identity.email;
  claims['email_verified'] = identity.email_verified;
  if (identity.name !== null) claims['name'] = identity.name;
  claims['groups'] = identity.groups;
  if (identity.session_id !== null) claims['sid'] = identity.session_id;
  claims['auth'] = identity.method;
  claims['iss'] = options.issuer;
  claims['aud'] = options.audience;
  claims['sub'] = identity.sub;
  claims['iat'] = now;
  claims['exp'] = now + Math.floor(ttl);
  claims['jti'] = newJti();
  return signCompact(ring.signing, claims);
}

/**
 * A fresh `jti`: 16 random octets, base64url. Drawn from a pool of CSPRNG output refilled 256
 * ids at a time (as node's `randomUUID` does): one `randomBytes` job per assertion cost ~4 µs,
 * more than the rest of the claims together. A jti is public once issued; the pool is not
 * shared with anything else.
 */
const JTI_OCTETS = 16;
const jtiPool = Buffer.allocUnsafe(JTI_OCTETS * 256);
let jtiOffset = jtiPool.length;
function newJti(): string {
  if (jtiOffset === jtiPool.length) {
    randomFillSync(jtiPool);
    jtiOffset = 0;
  }
  const start = jtiOffset;
  jtiOffset += JTI_OCTETS;
  return jtiPool.toString('base64url', start, jtiOffset);
}

/**
 * Compact JWS over `claims` with node:crypto's one-shot `sign` on the signing key's KeyObject:
 * no WebCrypto job per assertion (see src/bearer/signature.ts for the verifying side). ECDSA
 * signatures are signed as DER (node's fast path) and written in the JWS form, r ‖ s
 * (src/keys/ecdsa-signature.ts).
 */
function signCompact(key: SigningKey, claims: Readonly<Record<string, unknown>>): string {
  const input = `${protectedHeader(key)}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
  const data = Buffer.from(input, 'latin1');
  const signature =
    key.alg === 'EdDSA'
      ? sign(null, data, key.keyObject)
      : key.alg === 'RS256'
        ? sign('sha256', data, key.keyObject)
        : key.alg === 'ES384'
          ? derToRaw(sign('sha384', data, key.keyObject), 48)
          : derToRaw(sign('sha256', data, key.keyObject), 32);
  return `${input}.${signature.toString('base64url')}`;
}

/** The encoded protected header of a signing key, computed once per key. */
const headers = new WeakMap<SigningKey, string>();
function protectedHeader(key: SigningKey): string {
  let encoded = headers.get(key);
  if (encoded === undefined) {
    encoded = Buffer.from(JSON.stringify({ alg: key.alg, kid: key.kid, typ: 'JWT' })).toString(
      'base64url',
    );
    headers.set(key, encoded);
  }
  return encoded;
}
