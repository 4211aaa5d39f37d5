/**
 * How a jose failure is read, written once for every verifier of foreign tokens (bearer tokens,
 * logout tokens): was it the keys that could not be had, and what may be logged of it.
 */
import { errors } from 'jose';

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
