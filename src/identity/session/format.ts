/**
 * The wire format of a session cookie value. Two shapes only:
 *
 * - a compact JWS, `typ: gatehouse-session+jwt`, when the session holds no secret;
 * - a compact JWE (`alg: dir`, `enc: A256GCM`, `cty: JWT`, `typ: gatehouse-session+jwe`)
 *   whose plaintext is exactly such a JWS, when it holds a refresh or ID token (sign-then-encrypt).
 */

/** `typ` of the signed session (RFC 8725 §3.11 explicit typing). */
export const SESSION_JWS_TYP = 'gatehouse-session+jwt';
/** `typ` of the encrypted wrapper. */
export const SESSION_JWE_TYP = 'gatehouse-session+jwe';
/** `aud` of every session: no other Gatehouse token carries it. */
export const SESSION_AUDIENCE = 'gatehouse-session';
/** Default `iss`. */
export const DEFAULT_SESSION_ISSUER = 'gatehouse';
/** Browsers keep at most 4096 bytes per cookie (name, value and attributes). */
export const MAX_SESSION_COOKIE_BYTES = 4096;
/** A session id: 128 bits in base64url. */
export const SESSION_ID_PATTERN = /^[A-Za-z0-9_-]{22}$/;
/**
 * Largest session token `issueSession` produces by default: 4096 less room for a cookie name of
 * up to 95 characters and the `=`, so `name=value` fits a browser's per-cookie limit.
 */
export const MAX_SESSION_TOKEN_BYTES = 4000;
/** Keys of `claims` that are per-token artifacts, not facts about the user: never kept. */
export const DROPPED_ID_TOKEN_CLAIMS: readonly string[] = Object.freeze([
  'nonce',
  'at_hash',
  'c_hash',
  's_hash',
]);
