/**
 * Header checks applied to every JWS/JWE Gatehouse reads (sessions and bearer tokens) before
 * any key is chosen or any signature is checked.
 *
 * RFC 8725 §3.1/§3.10: a token must never choose where its own verification key comes from, so
 * `jku`, `x5u`, `jwk`, `x5c` (and `x5t`-style hints we do not use) are rejected outright rather
 * than ignored. A `kid` is only ever a lookup key; it is still bounded to printable ASCII without
 * path syntax so nothing downstream (logs, caches) can be abused through it.
 */

/** Header parameters that would let a token point at its own key: rejected outright. */
export const FORBIDDEN_HEADER_PARAMETERS: readonly string[] = Object.freeze([
  'jku',
  'x5u',
  'jwk',
  'x5c',
  'x5t',
  'x5t#S256',
]);

/** Longest `kid` accepted, in characters. */
export const MAX_KID_LENGTH = 256;

/** Printable ASCII without whitespace, `\`, quotes; then `..` is refused separately. */
const KID_PATTERN = /^[A-Za-z0-9!#$%&'*+,\-./:;<=>?@[\]^_`{|}~]+$/;

/** True when `kid` is a plausible key id: bounded, printable, no path traversal. */
export function isSafeKid(kid: unknown): kid is string {
  return (
    typeof kid === 'string' &&
    kid.length > 0 &&
    kid.length <= MAX_KID_LENGTH &&
    KID_PATTERN.test(kid) &&
    !kid.includes('..')
  );
}

/**
 * Why the header is unacceptable, or `undefined` when it passes the structural checks shared by
 * every token type. `crit` is left to jose, which rejects any extension it does not recognise.
 */
export function headerProblem(
  header: Readonly<Record<string, unknown>>,
  options: { readonly requireKid: boolean },
): string | undefined {
  for (const name of FORBIDDEN_HEADER_PARAMETERS) {
    if (Object.hasOwn(header, name)) return `forbidden "${name}" header parameter`;
  }
  if (typeof header['alg'] !== 'string') return 'missing "alg"';
  if (header['alg'] === 'none') return '"alg" none';
  if (header['kid'] === undefined) return options.requireKid ? 'missing "kid"' : undefined;
  if (!isSafeKid(header['kid'])) return 'malformed or oversized "kid"';
  return undefined;
}

/** Compact JWS: three base64url segments. */
export const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/** Compact JWE with `dir` key management: an empty encrypted-key segment. */
export const COMPACT_JWE_DIR = /^[A-Za-z0-9_-]+\.\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
