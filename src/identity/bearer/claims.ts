/**
 * Reading a compact JWS's JSON segments and validating an access token's claim set, with jose's
 * semantics (jose 6: `decodeProtectedHeader`, `UnsecuredJWT.decode`'s `validateClaimsSet`) for
 * the one option set the bearer verifier uses: exact `iss`, `aud` among the configured
 * audiences, `sub`/`iat`/`exp` required, a clock tolerance in seconds.
 *
 * Why not jose itself: on a cache miss jose's segment decoding (a base64url alphabet swap and
 * `atob`, a byte loop, a strict UTF-8 decode, then for the payload an `{"alg":"none"}` header
 * parsed anew and its `crit`/`b64` checks) cost ~36 µs per token in a profile of the traffic
 * stage, more than half the RSA verification itself. What is decided is unchanged, and
 * test/unit/identity/bearer/claims.test.ts holds both to the same verdicts on hostile inputs;
 * failures are jose's own error classes (JWTInvalid, JWTClaimValidationFailed, JWTExpired with
 * the payload), so callers and logs read them as before.
 */
import { isUtf8 } from 'node:buffer';
import { errors, type JWTPayload } from 'jose';

/** What {@link validateAccessClaims} checks a claim set against. */
export interface AccessClaimOptions {
  /** Exact expected `iss`. */
  readonly issuer: string;
  /** The token's `aud` (a string, or an array of strings) must name one of these. */
  readonly audience: readonly string[];
  /** Leeway for `nbf` and `exp`, in whole or fractional seconds (≥ 0). */
  readonly clockTolerance: number;
  readonly currentDate: Date;
}

/** The claims an access token must carry (jose's `requiredClaims`, for both of the verifier's paths). */
export const REQUIRED_CLAIMS: readonly string[] = Object.freeze(['sub', 'iat', 'exp']);

/** Presence is checked in jose's order: `iss`, `aud`, then the required claims last to first. */
const PRESENCE_ORDER: readonly string[] = Object.freeze([
  'iss',
  'aud',
  ...[...REQUIRED_CLAIMS].reverse(),
]);

/** `TextDecoder` with `fatal`, as jose decodes: invalid UTF-8 fails, a leading BOM is dropped. */
const strict = new TextDecoder('utf-8', { fatal: true });

/**
 * The JSON object in a base64url segment (the alphabet already checked by the caller's
 * compact-JWS pattern), or `undefined` when jose would refuse it: a length no base64 has
 * (4n + 1), invalid UTF-8, text that is not JSON, or JSON that is not a plain object.
 */
export function segmentObject(segment: string): Record<string, unknown> | undefined {
  // atob refuses 4n + 1 characters; Buffer would decode them, dropping the last one.
  if (segment.length % 4 === 1) return undefined;
  const bytes = Buffer.from(segment, 'base64url');
  if (!isUtf8(bytes)) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes[0] === 0xef ? strict.decode(bytes) : bytes.toString('utf8'));
  } catch {
    return undefined;
  }
  return isPlainObject(parsed) ? parsed : undefined;
}

/**
 * The decoded protected header of a compact JWS (three segments, checked by the caller), as
 * jose's `decodeProtectedHeader` gives it.
 *
 * @throws TypeError as jose does ("Invalid Token or Protected Header formatting").
 */
export function protectedHeader(token: string): Record<string, unknown> {
  const dot = token.indexOf('.');
  const header = dot > 0 ? segmentObject(token.slice(0, dot)) : undefined;
  if (header === undefined) throw new TypeError('Invalid Token or Protected Header formatting');
  return header;
}

/**
 * The claim set in a payload segment, validated as jose's `validateClaimsSet` does with
 * `{ issuer, audience, requiredClaims: ['sub', 'iat', 'exp'], clockTolerance, currentDate }`.
 *
 * @throws errors.JWTInvalid for a payload that is not a JSON object;
 *   errors.JWTClaimValidationFailed for a missing or wrong claim; errors.JWTExpired (with the
 *   payload, `claim` "exp") when only the expiry failed.
 */
export function validateAccessClaims(
  payloadSegment: string,
  options: AccessClaimOptions,
): JWTPayload {
  // 4n + 1 characters are no base64: jose fails them at decoding, with its own message.
  if (payloadSegment.length % 4 === 1)
    throw new errors.JWTInvalid('Failed to base64url decode the payload');
  const claims = segmentObject(payloadSegment);
  if (claims === undefined)
    throw new errors.JWTInvalid('JWT Claims Set must be a top-level JSON object');
  for (const claim of PRESENCE_ORDER)
    if (!Object.hasOwn(claims, claim))
      throw new errors.JWTClaimValidationFailed(
        `missing required "${claim}" claim`,
        claims,
        claim,
        'missing',
      );
  if (claims['iss'] !== options.issuer) unexpected(claims, 'iss');
  if (!audiencePresent(claims['aud'], options.audience)) unexpected(claims, 'aud');
  const tolerance = options.clockTolerance;
  if (!Number.isFinite(tolerance) || tolerance < 0)
    throw new TypeError('Invalid clockTolerance option input');
  const now = Math.floor(options.currentDate.getTime() / 1000);
  if (!Number.isFinite(now)) throw new TypeError('Invalid currentDate option input');
  const iat = claims['iat'];
  if (typeof iat !== 'number') notANumber(claims, 'iat');
  const nbf = claims['nbf'];
  if (nbf !== undefined) {
    if (typeof nbf !== 'number') notANumber(claims, 'nbf');
    if (nbf > now + tolerance)
      throw new errors.JWTClaimValidationFailed(
        '"nbf" claim timestamp check failed',
        claims,
        'nbf',
        'check_failed',
      );
  }
  const exp = claims['exp'];
  if (typeof exp !== 'number') notANumber(claims, 'exp');
  if (exp <= now - tolerance)
    throw new errors.JWTExpired(
      '"exp" claim timestamp check failed',
      claims,
      'exp',
      'check_failed',
    );
  return claims as JWTPayload;
}

/** jose's rule: `aud` a string in the list, or an array naming one of them. */
function audiencePresent(aud: unknown, accepted: readonly string[]): boolean {
  if (typeof aud === 'string') return accepted.includes(aud);
  if (Array.isArray(aud)) return accepted.some((a) => aud.includes(a));
  return false;
}

function unexpected(claims: Record<string, unknown>, claim: string): never {
  throw new errors.JWTClaimValidationFailed(
    `unexpected "${claim}" claim value`,
    claims,
    claim,
    'check_failed',
  );
}

function notANumber(claims: Record<string, unknown>, claim: string): never {
  throw new errors.JWTClaimValidationFailed(
    `"${claim}" claim must be a number`,
    claims,
    claim,
    'invalid',
  );
}

/** jose's `isObject`: a plain object (its prototype Object.prototype or null), not an array. */
function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (
    typeof value !== 'object' ||
    value === null ||
    Object.prototype.toString.call(value) !== '[object Object]'
  )
    return false;
  const prototype = Object.getPrototypeOf(value) as object | null;
  return prototype === null || Object.getPrototypeOf(prototype) === null;
}
