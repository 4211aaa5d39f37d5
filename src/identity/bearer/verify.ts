/**
 * Verifying `Authorization: Bearer` JWTs issued by the configured identity provider: RFC 9068
 * access tokens for one of the configured audiences, and nothing else the IdP signs (see
 * token-kind.ts).
 *
 * Keys come only from the configured JWKS URL through jose's `createRemoteJWKSet`, or from the
 * caller's key source (Gatehouse's: src/identity/bearer/key-source.ts): cached, refetched on an unknown
 * `kid` at most once per cooldown, so a flood of tokens with made-up `kid`s cannot turn into a
 * flood of fetches. Nothing in the token can point elsewhere:
 * `jku`/`x5u`/`jwk`/`x5c` are refused before any key is looked up (RFC 8725 §3.10).
 */
import {
  createRemoteJWKSet,
  errors,
  jwtVerify,
  type JWTClaimVerificationOptions,
  type JWTHeaderParameters,
  type JWTPayload,
  type JWTVerifyGetKey,
} from 'jose';
import { GatehouseError } from '../../errors/gatehouse-error.js';
import { joseErrorDetail, jwksUnavailable, watchedKeyLookup } from '../../keys/jose-errors.js';
import { COMPACT_JWS, headerProblem } from '../../keys/jose-header.js';
import {
  type AccessClaimOptions,
  protectedHeader,
  REQUIRED_CLAIMS,
  validateAccessClaims,
} from './claims.js';
import { signatureCheck } from './signature.js';
import {
  claimsProblem,
  headerProblem as kindProblem,
  type TokenKindOptions,
} from './token-kind.js';

/** Options for {@link createBearerVerifier}. */
export interface BearerVerifierOptions {
  /** Exact expected `iss`. */
  readonly issuer: string;
  /** Accepted `aud` values: the token must name at least one. Must not be empty, nor name `clientId`. */
  readonly audience: readonly string[];
  /**
   * Gatehouse's client id at the IdP. A token whose `aud` names it is an ID token and is always
   * refused; it may not be in `audience` either.
   */
  readonly clientId?: string;
  /** Also accept access tokens without `typ: at+jwt` (no `typ`, or `JWT`). Default false. */
  readonly allowUntyped?: boolean;
  /** `iss` of Gatehouse's own tokens, refused. */
  readonly ownIssuer?: string;
  /** `kid`s of Gatehouse's own keys, refused. */
  readonly ownKids?: ReadonlySet<string>;
  /** The identity provider's JWKS (from discovery: `jwks_uri`), fetched through jose's remote key set. */
  readonly jwksUri?: URL;
  /**
   * The keys, from a key source that manages fetching itself (src/identity/bearer/key-source.ts: last good
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
export const DEFAULT_BEARER_ALGORITHMS: readonly string[] = Object.freeze([
  'RS256',
  'ES256',
  'PS256',
  'EdDSA',
]);
/** Algorithms that can never verify a bearer token: symmetric (the IdP's secret is not ours) and `none`. */
const NEVER: ReadonlySet<string> = new Set(['none', 'HS256', 'HS384', 'HS512']);

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
  for (const alg of algorithms)
    if (NEVER.has(alg) || alg.startsWith('HS'))
      throw new Error(`bearer: algorithm ${alg} is not allowed`);
  if (options.audience.length === 0) throw new Error('bearer: audience must not be empty');
  if (options.issuer === '') throw new Error('bearer: issuer must not be empty');
  if (options.clientId !== undefined && options.audience.includes(options.clientId))
    throw new Error(
      "bearer: the audience must not be the client id (that is the ID token's audience)",
    );
  const kind: TokenKindOptions = {
    allowUntyped: options.allowUntyped ?? false,
    ...(options.clientId === undefined ? {} : { clientId: options.clientId }),
    ...(options.ownIssuer === undefined ? {} : { ownIssuer: options.ownIssuer }),
    ...(options.ownKids === undefined ? {} : { ownKids: options.ownKids }),
  };
  const audience = [...options.audience];
  const tolerance = options.clockToleranceSeconds ?? 30;
  const maxBytes = options.maxTokenBytes ?? 8192;
  if ((options.jwksUri === undefined) === (options.keys === undefined))
    throw new Error('bearer: give exactly one of jwksUri and keys');
  const jwks: JWTVerifyGetKey =
    options.keys ??
    createRemoteJWKSet(options.jwksUri as URL, {
      timeoutDuration: options.fetchTimeoutMs ?? 5000,
      cooldownDuration: options.cooldownMs ?? 30_000,
      cacheMaxAge: options.cacheMaxAgeMs ?? 600_000,
    });

  const { lookup, asTokenError } = watchedKeyLookup(jwks);

  /**
   * Signature, then claims, with jose's semantics throughout. The common shapes (no `crit`, a
   * public WebCrypto key imported for the header's algorithm) have their signature checked with
   * node:crypto on a cached KeyObject (./signature.ts) and their claims read and validated with
   * jose's rules by ./claims.ts, after the signature held; everything else goes through jose's
   * `jwtVerify` with the key already chosen.
   */
  async function verifyToken(
    token: string,
    header: Record<string, unknown>,
    claimOptions: AccessClaimOptions & JWTClaimVerificationOptions,
  ): Promise<JWTPayload> {
    // Extensions (`crit`, `b64`) are jose's to judge, before any key is looked up.
    if (Object.hasOwn(header, 'crit') || Object.hasOwn(header, 'b64')) {
      try {
        return (await jwtVerify(token, lookup, { algorithms, ...claimOptions })).payload;
      } catch (cause) {
        throw asTokenError(cause);
      }
    }
    const [protectedSegment = '', payloadSegment = '', signatureSegment = ''] = token.split('.');
    const key = await lookup(header as JWTHeaderParameters, {
      protected: protectedSegment,
      payload: payloadSegment,
      signature: signatureSegment,
    });
    const check = signatureCheck(header['alg'] as string, key);
    if (check === undefined) {
      try {
        return (await jwtVerify(token, key, { algorithms, ...claimOptions })).payload;
      } catch (cause) {
        throw asTokenError(cause);
      }
    }
    // 4n + 1 characters are no base64 (jose's atob refuses them; Buffer would drop one).
    if (signatureSegment.length % 4 === 1)
      throw new errors.JWSInvalid('Failed to base64url decode the signature');
    const signature = Buffer.from(signatureSegment, 'base64url');
    if (!check(`${protectedSegment}.${payloadSegment}`, signature))
      throw new errors.JWSSignatureVerificationFailed();
    return validateAccessClaims(payloadSegment, claimOptions);
  }

  return async function verifyBearer(
    token: string,
    now: Date = new Date(),
  ): Promise<VerifiedClaims> {
    // Size and shape before any parsing: a JWE (five segments), JSON serialisations and junk stop here.
    if (typeof token !== 'string' || Buffer.byteLength(token) > maxBytes)
      throw invalid('missing or oversized token');
    if (!COMPACT_JWS.test(token)) throw invalid('not a compact JWS');
    let header: Record<string, unknown>;
    try {
      header = protectedHeader(token);
    } catch (cause) {
      throw invalid('unparsable header', cause);
    }
    const problem = headerProblem(header, { requireKid: false });
    if (problem !== undefined) throw invalid(problem);
    if (!algorithms.includes(header['alg'] as string)) throw invalid('"alg" not allowed');
    // Only access tokens: never an ID token, a logout token or one of Gatehouse's (token-kind.ts).
    const wrongKind = kindProblem(header, kind);
    if (wrongKind !== undefined) throw invalid(wrongKind);

    let payload: JWTPayload;
    let expired: unknown;
    const claimOptions = {
      issuer: options.issuer,
      audience,
      currentDate: now,
      clockTolerance: tolerance,
      requiredClaims: [...REQUIRED_CLAIMS],
    };
    try {
      payload = await verifyToken(token, header, claimOptions);
    } catch (cause) {
      if (jwksUnavailable(cause))
        throw new GatehouseError('ERR_JWKS_UNAVAILABLE', { cause: joseErrorDetail('jwks', cause) });
      // jose checks signature, iss, aud and nbf before exp: a JWTExpired payload is authentic.
      if (!(cause instanceof errors.JWTExpired) || cause.claim !== 'exp')
        throw invalid('verification failed', cause);
      payload = cause.payload;
      expired = cause;
    }
    // jose only checks iat against the clock with maxTokenAge; a future iat is refused here.
    if (
      typeof payload.iat !== 'number' ||
      payload.iat > Math.floor(now.getTime() / 1000) + tolerance
    )
      throw invalid('"iat" is in the future');
    if (
      typeof payload.sub !== 'string' ||
      typeof payload.iss !== 'string' ||
      typeof payload.exp !== 'number'
    )
      throw invalid('malformed claims');
    const notAccess = claimsProblem(header, payload, kind);
    if (notAccess !== undefined) throw invalid(notAccess);
    if (expired !== undefined)
      throw new GatehouseError('ERR_TOKEN_EXPIRED', { cause: joseErrorDetail('expired', expired) });
    return Object.freeze(payload) as VerifiedClaims;
  };
}

function invalid(reason: string, cause?: unknown): GatehouseError {
  return new GatehouseError('ERR_TOKEN_INVALID', { cause: joseErrorDetail(reason, cause) });
}
