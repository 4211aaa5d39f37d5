/**
 * How a jose failure is read, written once for every verifier of foreign tokens (bearer tokens,
 * logout tokens): was it the keys that could not be had, and what may be logged of it.
 */
import { errors, type JWTVerifyGetKey } from 'jose';

/**
 * True for a failure to obtain the JWKS rather than a bad token: a timeout, a malformed set, a
 * non-200 answer (jose's generic error) or a network failure (not a jose error at all).
 */
export function jwksUnavailable(cause: unknown): boolean {
  if (!(cause instanceof errors.JOSEError)) return true;
  return (
    cause instanceof errors.JWKSTimeout ||
    cause instanceof errors.JWKSInvalid ||
    cause.constructor === errors.JOSEError
  );
}

/** Log detail without the token's payload (jose claim errors carry it). */
export function joseErrorDetail(reason: string, cause: unknown): Error {
  if (cause instanceof errors.JOSEError)
    return new Error(`${reason}: ${cause.code}: ${cause.message}`);
  if (cause instanceof Error) return new Error(`${reason}: ${cause.message}`);
  return new Error(reason);
}

/**
 * A key lookup whose own failures are told apart from what jose throws while verifying with a key
 * in hand. `asTokenError` leaves jose's errors and the lookup's failures as they are (a failure
 * that is not jose's is then read as a JWKS outage by {@link jwksUnavailable}); anything else
 * (jose's TypeError for an RSA key under 2048 bits) is about the token or its key, never an
 * outage, and becomes `JWSInvalid`.
 */
export function watchedKeyLookup(getKey: JWTVerifyGetKey): {
  readonly lookup: JWTVerifyGetKey;
  readonly asTokenError: (cause: unknown) => unknown;
} {
  const lookupFailures = new WeakSet<object>();
  return {
    async lookup(header, token) {
      try {
        return await getKey(header, token);
      } catch (cause) {
        if (typeof cause === 'object' && cause !== null) lookupFailures.add(cause);
        throw cause;
      }
    },
    asTokenError: (cause) =>
      cause instanceof errors.JOSEError ||
      typeof cause !== 'object' ||
      cause === null ||
      lookupFailures.has(cause)
        ? cause
        : new errors.JWSInvalid(
            `the key cannot verify this token: ${cause instanceof Error ? cause.message : 'unknown'}`,
            { cause },
          ),
  };
}
