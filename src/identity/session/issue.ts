/**
 * Issuing a session cookie value.
 */
import { randomBytes } from 'node:crypto';
import { CompactEncrypt, SignJWT, base64url } from 'jose';
import { GatehouseError } from '../../errors/gatehouse-error.js';
import type { JsonObject } from '../../input/types.js';
import type { KeyRing } from '../../keys/key-ring.js';
import {
  DEFAULT_SESSION_ISSUER,
  DROPPED_ID_TOKEN_CLAIMS,
  MAX_SESSION_TOKEN_BYTES,
  SESSION_AUDIENCE,
  SESSION_ID_PATTERN,
  SESSION_JWE_TYP,
  SESSION_JWS_TYP,
} from './format.js';
import type { SessionInput } from './types.js';

/** Options for {@link issueSession}. */
export interface IssueSessionOptions {
  /** Lifetime of this session token, in seconds. */
  readonly ttlSeconds: number;
  /** The clock (defaults to now). */
  readonly now?: Date;
  /** `iss` of the session (default `gatehouse`). */
  readonly issuer?: string;
  /** Largest token allowed (default {@link MAX_SESSION_TOKEN_BYTES}). */
  readonly maxBytes?: number;
}

/** A new session id: 128 random bits, base64url. */
export function newSessionId(): string {
  return base64url.encode(randomBytes(16));
}

/**
 * Sign (and, when it holds a refresh or ID token, encrypt) a session for the session cookie.
 *
 * When the result would exceed `maxBytes`, the `claims` detail is dropped first, then the ID
 * token (only `id_token_hint` at sign-out is lost); if it still does not fit this throws.
 *
 * @throws GatehouseError `ERR_SESSION_TOO_LARGE` when the session cannot fit in a cookie.
 * @throws Error on a caller mistake (a malformed `sid`, a non-positive `ttlSeconds`).
 * @example
 *   const cookieValue = await issueSession(ring, secret.key, { sub, email, ... }, { ttlSeconds: 3600 });
 */
export async function issueSession(
  ring: KeyRing,
  secret: Uint8Array,
  session: SessionInput,
  options: IssueSessionOptions,
): Promise<string> {
  if (!(options.ttlSeconds > 0)) throw new Error('issueSession: ttlSeconds must be positive');
  if (session.sid !== undefined && !SESSION_ID_PATTERN.test(session.sid))
    throw new Error('issueSession: malformed sid');
  const now = Math.floor((options.now ?? new Date()).getTime() / 1000);
  const maxBytes = options.maxBytes ?? MAX_SESSION_TOKEN_BYTES;
  const sid = session.sid ?? newSessionId();
  const claims = keptClaims(session.claims);
  const attempts: SessionInput[] = [{ ...session, claims }];
  if (Object.keys(claims).length > 0) attempts.push({ ...session, claims: {} });
  if (session.id_token !== undefined) {
    const { id_token: _dropped, ...withoutIdToken } = session;
    attempts.push({ ...withoutIdToken, claims: {} });
  }
  let size = 0;
  for (const attempt of attempts) {
    const token = await encode(ring, secret, attempt, sid, now, options);
    if (Buffer.byteLength(token) <= maxBytes) return token;
    size = Buffer.byteLength(token);
  }
  throw new GatehouseError('ERR_SESSION_TOO_LARGE', {
    cause: new Error(
      `the session is ${size} bytes even without claims or ID token (limit ${maxBytes})`,
    ),
  });
}

async function encode(
  ring: KeyRing,
  secret: Uint8Array,
  session: SessionInput,
  sid: string,
  now: number,
  options: IssueSessionOptions,
): Promise<string> {
  const secrets: Record<string, string> = {};
  if (session.refresh_token !== undefined) secrets['refresh_token'] = session.refresh_token;
  if (session.id_token !== undefined) secrets['id_token'] = session.id_token;
  const hasSecrets = Object.keys(secrets).length > 0;
  const jws = await new SignJWT({
    sid,
    email: session.email,
    email_verified: session.email_verified,
    name: session.name,
    groups: [...session.groups],
    idp_iss: session.idp_iss,
    ...(session.idp_sid === undefined ? {} : { idp_sid: session.idp_sid }),
    auth_time: session.auth_time ?? now,
    ...(session.idp_auth_time === undefined ? {} : { idp_auth_time: session.idp_auth_time }),
    ...(session.acr === undefined ? {} : { acr: session.acr }),
    ...(session.amr === undefined ? {} : { amr: [...session.amr] }),
    claims: session.claims,
    ...(session.host === undefined ? {} : { host: session.host.toLowerCase() }),
    ...(session.device_x5t === undefined ? {} : { cnf: { 'x5t#S256': x5t(session.device_x5t) } }),
    ...(hasSecrets ? { secrets } : {}),
  })
    .setProtectedHeader({ alg: ring.signing.alg, kid: ring.signing.kid, typ: SESSION_JWS_TYP })
    .setIssuer(options.issuer ?? DEFAULT_SESSION_ISSUER)
    .setAudience(SESSION_AUDIENCE)
    .setSubject(session.sub)
    .setIssuedAt(now)
    .setExpirationTime(now + Math.floor(options.ttlSeconds))
    .sign(ring.signing.privateKey);
  if (!hasSecrets) return jws;
  return new CompactEncrypt(new TextEncoder().encode(jws))
    .setProtectedHeader({ alg: 'dir', enc: 'A256GCM', cty: 'JWT', typ: SESSION_JWE_TYP })
    .encrypt(secret);
}

/** RFC 8705 §3.1 `x5t#S256`: the base64url of the certificate's SHA-256 (given in hex). */
function x5t(fingerprintHex: string): string {
  if (!/^[0-9a-f]{64}$/.test(fingerprintHex))
    throw new Error('issueSession: device_x5t must be a lower-case hex SHA-256');
  return base64url.encode(Buffer.from(fingerprintHex, 'hex'));
}

/** The ID token claims minus per-token artifacts (nonce, hashes). */
function keptClaims(claims: JsonObject): JsonObject {
  const kept: Record<string, JsonObject[string]> = {};
  for (const [key, value] of Object.entries(claims))
    if (!DROPPED_ID_TOKEN_CLAIMS.includes(key)) kept[key] = value;
  return kept;
}
