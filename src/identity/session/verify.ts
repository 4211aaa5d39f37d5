/**
 * Verifying a session cookie value.
 *
 * The order is deliberate: size and shape first (no parsing of oversized input), then the
 * headers (no key is chosen by anything but an exact `kid` lookup in Gatehouse's own ring),
 * then the signature, then the claims. Only a token whose signature, type, issuer and audience
 * all verified can be reported as expired, so `SessionExpiredError.session` is always authentic.
 */
import { compactDecrypt, decodeProtectedHeader, errors, jwtVerify, type JWTPayload } from 'jose';
import { GatehouseError } from '../../errors/gatehouse-error.js';
import type { JsonObject } from '../../input/types.js';
import { COMPACT_JWE_DIR, COMPACT_JWS, headerProblem } from '../../keys/jose-header.js';
import type { KeyRing } from '../../keys/key-ring.js';
import {
  DEFAULT_SESSION_ISSUER,
  MAX_SESSION_COOKIE_BYTES,
  SESSION_AUDIENCE,
  SESSION_ID_PATTERN,
  SESSION_JWE_TYP,
  SESSION_JWS_TYP,
} from './format.js';
import type { VerifiedSession } from './types.js';

/** Options for {@link verifySession}. */
export interface VerifySessionOptions {
  /** The clock (defaults to now). */
  readonly now?: Date;
  /** Leeway for `exp`, `nbf` and `iat`, in seconds (default 30). */
  readonly clockToleranceSeconds?: number;
  /** Expected `iss` (default `gatehouse`). */
  readonly issuer?: string;
}

/** Default clock tolerance for sessions, in seconds. */
export const DEFAULT_SESSION_CLOCK_TOLERANCE = 30;

/**
 * Thrown (code `ERR_SESSION_EXPIRED`) for a session that is authentic but past `exp`. It carries
 * the verified, decrypted session so the caller can refresh with `session.refresh_token`; the
 * session must not be used as an identity.
 */
export class SessionExpiredError extends GatehouseError {
  declare readonly session: VerifiedSession;

  constructor(session: VerifiedSession, cause: unknown) {
    super('ERR_SESSION_EXPIRED', { cause: detail('expired', cause) });
    this.name = 'SessionExpiredError';
    // Not enumerable: a logged error must never serialise the refresh token.
    Object.defineProperty(this, 'session', { value: session, enumerable: false });
  }
}

/**
 * Verify a session cookie value: exactly a Gatehouse session JWS, or a Gatehouse session JWE
 * wrapping one. Everything else is refused.
 *
 * @throws SessionExpiredError (`ERR_SESSION_EXPIRED`) when the session is authentic but expired;
 *   its `session` holds the refresh token, if any.
 * @throws GatehouseError `ERR_SESSION_INVALID` for anything else (detail in `cause`).
 * @example
 *   try {
 *     const session = await verifySession(ring, secret.key, cookieValue);
 *   } catch (err) {
 *     if (err instanceof SessionExpiredError && err.session.refresh_token) { ...refresh... }
 *   }
 */
export async function verifySession(
  ring: KeyRing,
  secret: Uint8Array,
  token: string,
  options: VerifySessionOptions = {},
): Promise<VerifiedSession> {
  if (typeof token !== 'string' || token.length > MAX_SESSION_COOKIE_BYTES)
    throw invalid('missing or oversized session token');
  if (COMPACT_JWS.test(token)) return verifySigned(ring, token, false, options);
  if (!COMPACT_JWE_DIR.test(token)) throw invalid('not a compact JWS or a compact dir JWE');
  const header = protectedHeader(token);
  if (
    header['alg'] !== 'dir' ||
    header['enc'] !== 'A256GCM' ||
    header['typ'] !== SESSION_JWE_TYP ||
    header['cty'] !== 'JWT' ||
    Object.keys(header).length !== 4
  ) {
    throw invalid('unexpected JWE header');
  }
  let plaintext: Uint8Array;
  try {
    ({ plaintext } = await compactDecrypt(token, secret, {
      keyManagementAlgorithms: ['dir'],
      contentEncryptionAlgorithms: ['A256GCM'],
    }));
  } catch (cause) {
    throw invalid('decryption failed', cause);
  }
  const inner = new TextDecoder('utf-8', { fatal: false }).decode(plaintext);
  if (!COMPACT_JWS.test(inner)) throw invalid('the JWE does not wrap a compact JWS');
  return verifySigned(ring, inner, true, options);
}

async function verifySigned(
  ring: KeyRing,
  jws: string,
  encrypted: boolean,
  options: VerifySessionOptions,
): Promise<VerifiedSession> {
  const header = protectedHeader(jws);
  const problem = headerProblem(header, { requireKid: true });
  if (problem !== undefined) throw invalid(problem);
  // Gatehouse never sets `crit`; any value at all is refused rather than interpreted.
  if (Object.hasOwn(header, 'crit')) throw invalid('"crit" header present');
  if (header['typ'] !== SESSION_JWS_TYP) throw invalid('unexpected "typ"');
  const key = ring.verification.get(header['kid'] as string);
  if (key === undefined) throw invalid('unknown "kid"');
  if (header['alg'] !== key.alg) throw invalid('"alg" does not match the key');

  const now = options.now ?? new Date();
  const tolerance = options.clockToleranceSeconds ?? DEFAULT_SESSION_CLOCK_TOLERANCE;
  let payload: JWTPayload;
  let expired: unknown;
  try {
    ({ payload } = await jwtVerify(jws, key.publicKey, {
      algorithms: [key.alg],
      issuer: options.issuer ?? DEFAULT_SESSION_ISSUER,
      audience: SESSION_AUDIENCE,
      typ: SESSION_JWS_TYP,
      currentDate: now,
      clockTolerance: tolerance,
      requiredClaims: ['sub', 'iat', 'exp', 'sid'],
    }));
  } catch (cause) {
    // jose checks signature, typ, iss, aud and nbf before exp: a JWTExpired payload is authentic.
    if (!(cause instanceof errors.JWTExpired) || cause.claim !== 'exp')
      throw invalid('verification failed', cause);
    payload = cause.payload;
    expired = cause;
  }
  if (typeof payload.iat !== 'number' || payload.iat > Math.floor(now.getTime() / 1000) + tolerance)
    throw invalid('"iat" is in the future');
  if (Array.isArray(payload.aud)) throw invalid('"aud" must be a single value');
  const session = sessionFrom(payload, encrypted);
  if (expired !== undefined) throw new SessionExpiredError(session, expired);
  return session;
}

/** The verified payload as a session, checking every field's type. */
function sessionFrom(payload: JWTPayload, encrypted: boolean): VerifiedSession {
  const p = payload as Record<string, unknown>;
  const secrets = p['secrets'];
  // Secrets only ever travel encrypted, and an encrypted session always carries some.
  if (encrypted !== (secrets !== undefined))
    throw invalid(encrypted ? 'encrypted session without secrets' : 'plain session with secrets');
  if (
    typeof p['sub'] !== 'string' ||
    typeof p['sid'] !== 'string' ||
    !SESSION_ID_PATTERN.test(p['sid']) ||
    !nullableString(p['email']) ||
    typeof p['email_verified'] !== 'boolean' ||
    !nullableString(p['name']) ||
    !isStringArray(p['groups']) ||
    typeof p['idp_iss'] !== 'string' ||
    typeof p['auth_time'] !== 'number' ||
    !isPlainObject(p['claims']) ||
    (p['host'] !== undefined && typeof p['host'] !== 'string') ||
    (p['idp_sid'] !== undefined && typeof p['idp_sid'] !== 'string') ||
    (p['cnf'] !== undefined && boundCertificate(p['cnf']) === undefined) ||
    (p['idp_auth_time'] !== undefined && typeof p['idp_auth_time'] !== 'number') ||
    (p['acr'] !== undefined && typeof p['acr'] !== 'string') ||
    (p['amr'] !== undefined && !isStringArray(p['amr'])) ||
    typeof p['iat'] !== 'number' ||
    typeof p['exp'] !== 'number'
  ) {
    throw invalid('malformed session claims');
  }
  let refreshToken: string | undefined;
  let idToken: string | undefined;
  if (secrets !== undefined) {
    if (!isPlainObject(secrets)) throw invalid('malformed secrets');
    const rt = secrets['refresh_token'];
    const it = secrets['id_token'];
    if (
      (rt !== undefined && typeof rt !== 'string') ||
      (it !== undefined && typeof it !== 'string') ||
      (rt === undefined && it === undefined)
    ) {
      throw invalid('malformed secrets');
    }
    refreshToken = rt;
    idToken = it;
  }
  return Object.freeze({
    sub: p['sub'],
    sid: p['sid'],
    email: p['email'],
    email_verified: p['email_verified'],
    name: p['name'],
    groups: Object.freeze([...p['groups']]),
    idp_iss: p['idp_iss'],
    auth_time: p['auth_time'],
    claims: p['claims'] as JsonObject,
    ...(typeof p['host'] === 'string' ? { host: p['host'] } : {}),
    ...(typeof p['idp_sid'] === 'string' ? { idp_sid: p['idp_sid'] } : {}),
    ...(p['cnf'] === undefined ? {} : { device_x5t: boundCertificate(p['cnf']) as string }),
    ...(typeof p['idp_auth_time'] === 'number' ? { idp_auth_time: p['idp_auth_time'] } : {}),
    ...(typeof p['acr'] === 'string' ? { acr: p['acr'] } : {}),
    ...(isStringArray(p['amr']) ? { amr: Object.freeze([...p['amr']]) } : {}),
    iat: p['iat'],
    exp: p['exp'],
    ...(refreshToken === undefined ? {} : { refresh_token: refreshToken }),
    ...(idToken === undefined ? {} : { id_token: idToken }),
  });
}

/**
 * The certificate fingerprint (hex) of a `cnf` claim that holds exactly `x5t#S256` (RFC 8705
 * §3.1: the base64url SHA-256), or undefined when it is anything else.
 */
function boundCertificate(cnf: unknown): string | undefined {
  if (!isPlainObject(cnf) || Object.keys(cnf).length !== 1) return undefined;
  const thumbprint = cnf['x5t#S256'];
  if (typeof thumbprint !== 'string' || !/^[A-Za-z0-9_-]{43}$/.test(thumbprint)) return undefined;
  return Buffer.from(thumbprint, 'base64url').toString('hex');
}

function protectedHeader(token: string): Record<string, unknown> {
  try {
    return decodeProtectedHeader(token) as Record<string, unknown>;
  } catch (cause) {
    throw invalid('unparsable header', cause);
  }
}

function nullableString(value: unknown): value is string | null {
  return value === null || typeof value === 'string';
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === 'string');
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function invalid(reason: string, cause?: unknown): GatehouseError {
  return new GatehouseError('ERR_SESSION_INVALID', { cause: detail(reason, cause) });
}

/**
 * The log detail of a failure. jose's claim errors carry the whole (decrypted) payload, which
 * may hold the refresh token: only their code and message are kept.
 */
function detail(reason: string, cause: unknown): Error {
  if (cause instanceof errors.JOSEError)
    return new Error(`${reason}: ${cause.code}: ${cause.message}`);
  if (cause instanceof Error) return new Error(`${reason}: ${cause.message}`);
  return new Error(reason);
}
