/**
 * Verifying OpenID Connect Back-Channel Logout 1.0 logout tokens (§2.4, §2.6): the JWT an
 * identity provider POSTs to Gatehouse when a user's session there ends.
 *
 * The order is the spec's, with RFC 8725's header checks first so that nothing is fetched for a
 * token that could never be accepted:
 * 1. shape and size; header: no `jku`/`x5u`/`jwk`/`x5c`, `alg` in the asymmetric allow-list
 *    (never `none`, never `HS*`: the IdP's public key is not a shared secret), `typ` absent,
 *    `JWT` or `logout+jwt` (only `logout+jwt` with `requireTyp`), not one of Gatehouse's keys;
 * 2. signature with the identity provider's keys (the same key source as ID and bearer tokens),
 *    `iss` = the issuer, `aud` contains the client id, `iat` present and neither in the future
 *    nor older than `maxAgeSeconds`, `exp` when present;
 * 3. `events` is an object with the member `http://schemas.openid.net/event/backchannel-logout`
 *    whose value is a JSON object; `sid` or `sub` (or both); no `nonce` (an ID token is not a
 *    logout token);
 * 4. `jti` present and seen for the first time (`claimOnce`: Gatehouse passes the session store's,
 *    shared by every replica with Redis). The claim is the last step: a refused token burns no `jti`.
 */
import { decodeProtectedHeader, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { GatehouseError } from '../errors/gatehouse-error.js';
import { joseErrorDetail, jwksUnavailable, watchedKeyLookup } from '../keys/jose-errors.js';
import { COMPACT_JWS, headerProblem } from '../keys/jose-header.js';
import type { ReplayCache } from './replay-cache.js';

/** The `events` member that makes a JWT a logout token (§2.4). */
export const BACKCHANNEL_LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';

/**
 * Records a single-use key for `ttlSeconds`: `true` the first time, `false` for a replay. Shared
 * implementations (the session store) make a `jti` single-use across replicas.
 */
export type ClaimOnce = (key: string, ttlSeconds: number) => Promise<boolean>;

/** What a valid logout token says: whose sessions end (`sid`, `sub` or both) at which issuer. */
export interface LogoutRequest {
  readonly iss: string;
  readonly jti: string;
  /** The identity provider's session id (the ID token's `sid`). */
  readonly sid?: string;
  /** The user at the identity provider. */
  readonly sub?: string;
}

/** Options for {@link createLogoutTokenVerifier}. */
export interface LogoutTokenVerifierOptions {
  /** The identity provider's issuer (the discovery document's), or undefined while unknown. */
  readonly issuer: () => string | undefined;
  /** Gatehouse's client id at the identity provider: the token's `aud` must contain it. */
  readonly clientId: string;
  /** The identity provider's keys (src/identity/bearer/key-source.ts). */
  readonly keys: JWTVerifyGetKey;
  /** Single-use `jti`s. */
  readonly claimOnce: ClaimOnce;
  /** Accepted `alg` values (default RS256, ES256, PS256, EdDSA); symmetric and `none` never. */
  readonly algorithms?: readonly string[];
  /** Leeway for `iat` in the future and for `exp`, in seconds (default 30). */
  readonly clockToleranceSeconds?: number;
  /** Oldest `iat` accepted, in seconds before now (default 300). */
  readonly maxAgeSeconds?: number;
  /** Require `typ: logout+jwt` (default false: the spec lets IdPs leave it out). */
  readonly requireTyp?: boolean;
  /** `iss` of Gatehouse's own tokens, refused. */
  readonly ownIssuer?: string;
  /** `kid`s of Gatehouse's own keys, refused. */
  readonly ownKids?: ReadonlySet<string>;
  /** Longest token accepted, in bytes (default 8192). */
  readonly maxTokenBytes?: number;
}

/** Verifies one logout token; `now` freezes the clock in tests. */
export type LogoutTokenVerifier = (token: string, now?: Date) => Promise<LogoutRequest>;

const DEFAULT_ALGORITHMS: readonly string[] = ['RS256', 'ES256', 'PS256', 'EdDSA'];

/**
 * Build the verifier for one identity provider and client.
 *
 * @throws Error on a configuration mistake (a symmetric or `none` algorithm, an empty client id).
 * @example
 *   const verify = createLogoutTokenVerifier({ issuer: () => keys.issuer(), clientId, keys: keys.getKey, claimOnce: replayCacheClaimOnce() });
 *   const { sid, sub } = await verify(form.get('logout_token') ?? '');
 */
export function createLogoutTokenVerifier(
  options: LogoutTokenVerifierOptions,
): LogoutTokenVerifier {
  const algorithms = [...(options.algorithms ?? DEFAULT_ALGORITHMS)];
  if (algorithms.length === 0) throw new Error('logout token: algorithms must not be empty');
  for (const alg of algorithms)
    if (alg === 'none' || alg.startsWith('HS'))
      throw new Error(`logout token: algorithm ${alg} is not allowed`);
  if (options.clientId === '') throw new Error('logout token: clientId must not be empty');
  const tolerance = options.clockToleranceSeconds ?? 30;
  const maxAge = options.maxAgeSeconds ?? 300;
  const maxBytes = options.maxTokenBytes ?? 8192;
  const { lookup, asTokenError } = watchedKeyLookup(options.keys);

  return async function verifyLogoutToken(
    token: string,
    now: Date = new Date(),
  ): Promise<LogoutRequest> {
    if (typeof token !== 'string' || token === '' || Buffer.byteLength(token) > maxBytes)
      throw invalid('missing or oversized token');
    if (!COMPACT_JWS.test(token)) throw invalid('not a compact JWS');
    let header: Record<string, unknown>;
    try {
      header = decodeProtectedHeader(token) as Record<string, unknown>;
    } catch (cause) {
      throw invalid('unparsable header', cause);
    }
    const problem = headerProblem(header, { requireKid: false });
    if (problem !== undefined) throw invalid(problem);
    if (!algorithms.includes(header['alg'] as string)) throw invalid('"alg" not allowed');
    const typProblem = typeProblem(header['typ'], options.requireTyp ?? false);
    if (typProblem !== undefined) throw invalid(typProblem);
    if (typeof header['kid'] === 'string' && options.ownKids?.has(header['kid']) === true)
      throw invalid('signed with a Gatehouse key');

    const issuer = options.issuer();
    if (issuer === undefined)
      throw new GatehouseError('ERR_JWKS_UNAVAILABLE', {
        cause: new Error('the identity provider is not discovered yet'),
      });
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, lookup, {
        algorithms,
        issuer,
        audience: options.clientId,
        currentDate: now,
        clockTolerance: tolerance,
        maxTokenAge: maxAge,
        requiredClaims: ['iat', 'jti'],
      }));
    } catch (thrown) {
      const cause = asTokenError(thrown);
      if (keysUnavailable(cause))
        throw new GatehouseError('ERR_JWKS_UNAVAILABLE', { cause: joseErrorDetail('jwks', cause) });
      throw invalid('verification failed', cause);
    }
    const nowSeconds = Math.floor(now.getTime() / 1000);
    // jose checks iat's age with maxTokenAge but not a future iat.
    if (typeof payload.iat !== 'number' || payload.iat > nowSeconds + tolerance)
      throw invalid('"iat" is in the future');
    if (options.ownIssuer !== undefined && payload.iss === options.ownIssuer)
      throw invalid('a Gatehouse token is not a logout token');
    const claimProblem = claimsProblem(payload);
    if (claimProblem !== undefined) throw invalid(claimProblem);

    const iss = payload.iss as string;
    const jti = payload.jti as string;
    // Remembered for as long as the token could still be accepted: its age limit, or its exp.
    const until = Math.max(payload.iat + maxAge, typeof payload.exp === 'number' ? payload.exp : 0);
    const ttl = Math.max(1, until + tolerance - nowSeconds);
    if (!(await options.claimOnce(logoutClaimKey(iss, jti), ttl)))
      throw new GatehouseError('ERR_LOGOUT_TOKEN_REPLAYED', {
        cause: new Error('this "jti" was already received'),
      });
    return Object.freeze({
      iss,
      jti,
      ...(typeof payload['sid'] === 'string' ? { sid: payload['sid'] } : {}),
      ...(typeof payload.sub === 'string' ? { sub: payload.sub } : {}),
    });
  };
}

/** The single-use key a logout token's `jti` is claimed under (per issuer). */
export function logoutClaimKey(iss: string, jti: string): string {
  return `backchannel-logout\n${iss}\n${jti}`;
}

/**
 * A {@link ClaimOnce} backed by a replay cache (the in-process one is single-use on this replica
 * only; Gatehouse itself claims in the session store, src/server/identity.ts).
 */
export function replayCacheClaimOnce(cache: ReplayCache, now: () => number = Date.now): ClaimOnce {
  return (key, ttlSeconds) => {
    const t = now();
    return Promise.resolve(cache.claim(key, t + ttlSeconds * 1000, t));
  };
}

/** §2.4/§2.6 claims beyond the JWT basics, or `undefined` when they make a logout token. */
function claimsProblem(payload: JWTPayload): string | undefined {
  if (typeof payload.jti !== 'string' || payload.jti === '') return '"jti" missing';
  const events = payload['events'];
  if (typeof events !== 'object' || events === null || Array.isArray(events))
    return '"events" missing or not an object';
  if (!Object.hasOwn(events, BACKCHANNEL_LOGOUT_EVENT))
    return `"events" has no ${BACKCHANNEL_LOGOUT_EVENT} member`;
  const event = (events as Record<string, unknown>)[BACKCHANNEL_LOGOUT_EVENT];
  if (typeof event !== 'object' || event === null || Array.isArray(event))
    return 'the back-channel logout event is not a JSON object';
  if (payload['nonce'] !== undefined) return '"nonce" present (an ID token is not a logout token)';
  const sid = payload['sid'];
  const sub = payload.sub;
  if (sid !== undefined && (typeof sid !== 'string' || sid === '')) return 'malformed "sid"';
  if (sub !== undefined && (typeof sub !== 'string' || sub === '')) return 'malformed "sub"';
  if (sid === undefined && sub === undefined) return 'neither "sid" nor "sub"';
  return undefined;
}

/**
 * `typ` (RFC 7515 §4.1.9, `application/` optional, any case): `logout+jwt` is always accepted;
 * absent or `JWT` only when not required; any other type (an access token, a Gatehouse token)
 * is another kind of JWT and refused (RFC 8725 §3.11).
 */
function typeProblem(typ: unknown, required: boolean): string | undefined {
  if (typ === undefined) return required ? '"typ" is not logout+jwt' : undefined;
  if (typeof typ !== 'string') return 'malformed "typ"';
  const lower = typ.toLowerCase();
  const type = lower.startsWith('application/') ? lower.slice('application/'.length) : lower;
  if (type === 'logout+jwt') return undefined;
  if (type === 'jwt' && !required) return undefined;
  return `"typ" ${type} is not logout+jwt`;
}

/** A failure to obtain the keys rather than a bad token (see src/identity/bearer/verify.ts). */
function keysUnavailable(cause: unknown): boolean {
  if (cause instanceof GatehouseError) return cause.code === 'ERR_JWKS_UNAVAILABLE';
  return jwksUnavailable(cause);
}

function invalid(reason: string, cause?: unknown): GatehouseError {
  return new GatehouseError('ERR_LOGOUT_TOKEN_INVALID', { cause: joseErrorDetail(reason, cause) });
}
