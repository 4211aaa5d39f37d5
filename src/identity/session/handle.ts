/**
 * The session cookie's value: a small signed handle that names a server-side session record
 * (src/identity/session/book.ts). It carries only the session id and its times, so the cookie's
 * size no longer depends on the ID token or the number of groups; everything else lives in the
 * session store, where it can be revoked.
 */
import { SignJWT, decodeProtectedHeader, errors, jwtVerify, type JWTPayload } from 'jose';
import { GatehouseError } from '../../errors/gatehouse-error.js';
import { COMPACT_JWS, headerProblem } from '../../keys/jose-header.js';
import type { KeyRing, VerificationKey } from '../../keys/key-ring.js';
import {
  DEFAULT_SESSION_ISSUER,
  MAX_SESSION_COOKIE_BYTES,
  SESSION_AUDIENCE,
  SESSION_ID_PATTERN,
} from './format.js';

/** `typ` of a session handle (RFC 8725 §3.11): never accepted where a full session is expected. */
export const SESSION_HANDLE_TYP = 'gatehouse-session-handle+jwt';

/** A verified handle. */
export interface SessionHandle {
  readonly sid: string;
  /** Issued at (NumericDate). */
  readonly iat: number;
  /** The session's absolute end (NumericDate): the handle means nothing after it. */
  readonly exp: number;
}

/**
 * Sign a handle for session `sid`, valid until `expiresAtSeconds` (the session's absolute end).
 *
 * @example
 *   const cookieValue = await issueSessionHandle(ring, sid, { iat, exp });
 */
export async function issueSessionHandle(
  ring: KeyRing,
  sid: string,
  times: { readonly iat: number; readonly exp: number },
  issuer: string = DEFAULT_SESSION_ISSUER,
): Promise<string> {
  if (!SESSION_ID_PATTERN.test(sid)) throw new Error('issueSessionHandle: malformed sid');
  return new SignJWT({ sid })
    .setProtectedHeader({ alg: ring.signing.alg, kid: ring.signing.kid, typ: SESSION_HANDLE_TYP })
    .setIssuer(issuer)
    .setAudience(SESSION_AUDIENCE)
    .setIssuedAt(times.iat)
    .setExpirationTime(times.exp)
    .sign(ring.signing.privateKey);
}

/**
 * Verify a session handle: exactly a compact JWS from Gatehouse's own ring, `typ`
 * {@link SESSION_HANDLE_TYP}, Gatehouse's issuer and the session audience.
 *
 * @throws GatehouseError `ERR_SESSION_EXPIRED` past the session's absolute end,
 *   `ERR_SESSION_INVALID` for anything else.
 */
export async function verifySessionHandle(
  ring: KeyRing,
  token: string,
  options: HandleVerifyOptions,
): Promise<SessionHandle> {
  return (await verifySessionHandleKey(ring, token, options)).handle;
}

/** Options for {@link verifySessionHandle}. */
export interface HandleVerifyOptions {
  readonly now: Date;
  readonly clockToleranceSeconds: number;
  readonly issuer?: string;
}

/** A verified handle, the ring key that verified it, and whether its payload had `nbf`. */
export interface VerifiedHandleKey {
  readonly handle: SessionHandle;
  readonly kid: string;
  readonly key: VerificationKey;
  readonly nbf: boolean;
}

/**
 * {@link verifySessionHandle}, also naming the key that verified the handle (for the cache of
 * verified handles, src/identity/session/handle-cache.ts, which must not outlive that key).
 *
 * @throws as {@link verifySessionHandle}.
 */
export async function verifySessionHandleKey(
  ring: KeyRing,
  token: string,
  options: HandleVerifyOptions,
): Promise<VerifiedHandleKey> {
  if (typeof token !== 'string' || token.length > MAX_SESSION_COOKIE_BYTES)
    throw invalid('missing or oversized session cookie');
  if (!COMPACT_JWS.test(token)) throw invalid('not a compact JWS');
  let header: Record<string, unknown>;
  try {
    header = decodeProtectedHeader(token) as Record<string, unknown>;
  } catch (cause) {
    throw invalid('unparsable header', cause);
  }
  const problem = headerProblem(header, { requireKid: true });
  if (problem !== undefined) throw invalid(problem);
  if (Object.hasOwn(header, 'crit')) throw invalid('"crit" header present');
  if (header['typ'] !== SESSION_HANDLE_TYP) throw invalid('unexpected "typ"');
  const kid = header['kid'] as string;
  const key = ring.verification.get(kid);
  if (key === undefined) throw invalid('unknown "kid"');
  if (header['alg'] !== key.alg) throw invalid('"alg" does not match the key');
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, key.publicKey, {
      algorithms: [key.alg],
      issuer: options.issuer ?? DEFAULT_SESSION_ISSUER,
      audience: SESSION_AUDIENCE,
      typ: SESSION_HANDLE_TYP,
      currentDate: options.now,
      clockTolerance: options.clockToleranceSeconds,
      requiredClaims: ['iat', 'exp', 'sid'],
    }));
  } catch (cause) {
    if (cause instanceof errors.JWTExpired && cause.claim === 'exp')
      throw new GatehouseError('ERR_SESSION_EXPIRED', {
        cause: new Error('past the session absolute lifetime'),
      });
    throw invalid('verification failed', cause);
  }
  const sid = payload['sid'];
  if (typeof sid !== 'string' || !SESSION_ID_PATTERN.test(sid)) throw invalid('malformed "sid"');
  if (Array.isArray(payload.aud)) throw invalid('"aud" must be a single value');
  if (
    typeof payload.iat !== 'number' ||
    payload.iat > Math.floor(options.now.getTime() / 1000) + options.clockToleranceSeconds
  )
    throw invalid('"iat" is in the future');
  return {
    handle: { sid, iat: payload.iat, exp: payload.exp as number },
    kid,
    key,
    nbf: payload.nbf !== undefined,
  };
}

function invalid(reason: string, cause?: unknown): GatehouseError {
  const detail =
    cause instanceof errors.JOSEError
      ? `${reason}: ${cause.code}: ${cause.message}`
      : cause instanceof Error
        ? `${reason}: ${cause.message}`
        : reason;
  return new GatehouseError('ERR_SESSION_INVALID', { cause: new Error(detail) });
}
