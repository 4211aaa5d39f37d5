/**
 * Verifying `Authorization: Bearer` JWTs issued by the configured identity provider.
 *
 * Keys come only from the configured JWKS URL through jose's `createRemoteJWKSet`, or from the
 * caller's key source (Gatehouse's: src/bearer/key-source.ts): cached, refetched on an unknown
 * `kid` at most once per cooldown, so a flood of tokens with made-up `kid`s cannot turn into a
 * flood of fetches. Nothing in the token can point elsewhere:
 * `jku`/`x5u`/`jwk`/`x5c` are refused before any key is looked up (RFC 8725 §3.10).
 */
import { createRemoteJWKSet, decodeProtectedHeader, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { GatehouseError } from '../errors/gatehouse-error.js';
import { COMPACT_JWS, headerProblem } from '../keys/jose-header.js';

/** Options for {@link createBearerVerifier}. */
export interface BearerVerifierOptions {
  /** Exact expected `iss`. */
  readonly issuer: string;
  /** Accepted `aud` values: the token must name at least one. Must not be empty. */
  readonly audience: readonly string[];
  /** The identity provider's JWKS (from discovery: `jwks_uri`), fetched through jose's remote key set. */
  readonly jwksUri?: URL;
  /**
   * The keys, from a key source that manages fetching itself (src/bearer/key-source.ts: last good
   * keys kept through an outage, persisted). Takes the place of `jwksUri`; exactly one is given.
   */
  readonly keys?: JWTVerifyGetKey;
  /** Accepted `alg` values (default RS256, ES256, PS256, EdDSA). Symmetric and `none` are never accepted. */
  readonly algorithms?: readonly string[];
  /** Leeway for `exp`, `nbf` and `iat`, in seconds (default 30). */
  readonly clockToleranceSeconds?: number;
  /** Longest token accepted, in bytes (default 8192); longer ones are refused unparsed. */
  readonly maxTokenBytes?: number;
  /** JWKS fetch timeout (default 5000 ms). */
  readonly fetchTimeoutMs?: number;
  /** Least time between JWKS refetches triggered by an unknown `kid` (default 30000 ms). */
  readonly cooldownMs?: number;
  /** Longest a fetched JWKS is used before a refetch (default 600000 ms). */
  readonly cacheMaxAgeMs?: number;
}

/** Verified bearer claims: `iss`, `sub`, `iat` and `exp` are always present. */
export interface VerifiedClaims extends JWTPayload {
  readonly iss: string;
  readonly sub: string;
  readonly iat: number;
  readonly exp: number;
}

/** Verifies one bearer token; `now` freezes the clock in tests. */
export type BearerVerifier = (token: string, now?: Date) => Promise<VerifiedClaims>;

/** Default algorithm allow-list. */
export const DEFAULT_BEARER_ALGORITHMS: readonly string[] = Object.freeze(['RS256', 'ES256', 'PS256', 'EdDSA']);
/** Algorithms that can never verify a bearer token: symmetric (the IdP's secret is not ours) and `none`. */
const NEVER: ReadonlySet<string> = new Set(['none', 'HS256', 'HS384', 'HS512']);
/** `typ` values of Gatehouse's own tokens, refused as bearer tokens whatever their iss/aud. */
const GATEHOUSE_TYPES: ReadonlySet<string> = new Set(['gatehouse-session+jwt', 'gatehouse-session+jwe', 'application/gatehouse-session+jwt', 'application/gatehouse-session+jwe']);

/**
 * Build a bearer token verifier for one identity provider.
 *
 * @throws Error on a configuration mistake (empty audience, a symmetric or `none` algorithm).
 * @example
 *   const verify = createBearerVerifier({ issuer: 'https://idp.example', audience: ['api://gatehouse'], jwksUri: new URL('https://idp.example/jwks') });
 *   const claims = await verify(extractBearer(headers['authorization'])!);
 */
export function createBearerVerifier(options: BearerVerifierOptions): BearerVerifier {
  const algorithms = [...(options.algorithms ?? DEFAULT_BEARER_ALGORITHMS)];
  if (algorithms.length === 0) throw new Error('bearer: algorithms must not be empty');
  for (const alg of algorithms) if (NEVER.has(alg) || alg.startsWith('HS')) throw new Error(`bearer: algorithm ${alg} is not allowed`);
  if (options.audience.length === 0) throw new Error('bearer: audience must not be empty');
  if (options.issuer === '') throw new Error('bearer: issuer must not be empty');
  const audience = [...options.audience];
  const tolerance = options.clockToleranceSeconds ?? 30;
  const maxBytes = options.maxTokenBytes ?? 8192;
  if ((options.jwksUri === undefined) === (options.keys === undefined)) throw new Error('bearer: give exactly one of jwksUri and keys');
  const jwks: JWTVerifyGetKey =
    options.keys ??
    createRemoteJWKSet(options.jwksUri as URL, {
      timeoutDuration: options.fetchTimeoutMs ?? 5000,
      cooldownDuration: options.cooldownMs ?? 30_000,
      cacheMaxAge: options.cacheMaxAgeMs ?? 600_000,
    });

  return async function verifyBearer(token: string, now: Date = new Date()): Promise<VerifiedClaims> {
    // Size and shape before any parsing: a JWE (five segments), JSON serialisations and junk stop here.
    if (typeof token !== 'string' || Buffer.byteLength(token) > maxBytes) throw invalid('missing or oversized token');
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
    if (typeof header['typ'] === 'string' && GATEHOUSE_TYPES.has(header['typ'].toLowerCase())) throw invalid('a Gatehouse session is not a bearer token');

    let payload: JWTPayload;
    let expired: unknown;
    try {
      ({ payload } = await jwtVerify(token, jwks, {
        algorithms,
        issuer: options.issuer,
        audience,
        currentDate: now,
        clockTolerance: tolerance,
        requiredClaims: ['sub', 'iat', 'exp'],
      }));
    } catch (cause) {
      if (jwksUnavailable(cause)) throw new GatehouseError('ERR_JWKS_UNAVAILABLE', { cause: detail('jwks', cause) });
      // jose checks signature, iss, aud and nbf before exp: a JWTExpired payload is authentic.
      if (!(cause instanceof errors.JWTExpired) || cause.claim !== 'exp') throw invalid('verification failed', cause);
      payload = cause.payload;
      expired = cause;
    }
    // jose only checks iat against the clock with maxTokenAge; a future iat is refused here.
    if (typeof payload.iat !== 'number' || payload.iat > Math.floor(now.getTime() / 1000) + tolerance) throw invalid('"iat" is in the future');
    if (typeof payload.sub !== 'string' || typeof payload.iss !== 'string' || typeof payload.exp !== 'number') throw invalid('malformed claims');
    if (expired !== undefined) throw new GatehouseError('ERR_TOKEN_EXPIRED', { cause: detail('expired', expired) });
    return Object.freeze(payload) as VerifiedClaims;
  };
}

/**
 * True for a failure to obtain the JWKS rather than a bad token: a timeout, a malformed set, a
 * non-200 answer (jose's generic error) or a network failure (not a jose error at all).
 */
function jwksUnavailable(cause: unknown): boolean {
  if (!(cause instanceof errors.JOSEError)) return true;
  return cause instanceof errors.JWKSTimeout || cause instanceof errors.JWKSInvalid || cause.constructor === errors.JOSEError;
}

function invalid(reason: string, cause?: unknown): GatehouseError {
  return new GatehouseError('ERR_TOKEN_INVALID', { cause: detail(reason, cause) });
}

/** Log detail without the token's payload (jose claim errors carry it). */
function detail(reason: string, cause: unknown): Error {
  if (cause instanceof errors.JOSEError) return new Error(`${reason}: ${cause.code}: ${cause.message}`);
  if (cause instanceof Error) return new Error(`${reason}: ${cause.message}`);
  return new Error(reason);
}
