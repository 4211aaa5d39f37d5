/**
 * Which JWTs are access tokens for this resource. A bearer token that verifies against the
 * identity provider's keys is still refused when it is another kind of token the IdP signs: an
 * ID token (meant for Gatehouse as a client, never as a credential for an API), a logout token
 * or other security event token, or one of Gatehouse's own tokens. RFC 9068 access tokens
 * (`typ: at+jwt`) are accepted; untyped ones only when the operator says so
 * (`identity.bearer.allow_untyped`), and even then never when they look like any of the above.
 */

/** Options for {@link headerProblem} and {@link claimsProblem}. */
export interface TokenKindOptions {
  /** Also accept tokens with no `typ`, or `typ: JWT` (IdPs that do not follow RFC 9068). */
  readonly allowUntyped: boolean;
  /** Gatehouse's client id at the IdP: a token whose `aud` names it is an ID token for Gatehouse. */
  readonly clientId?: string;
  /** `iss` of Gatehouse's own tokens (assertions): never a bearer token. */
  readonly ownIssuer?: string;
  /** `kid`s of Gatehouse's own signing keys: a token signed by one is never a bearer token. */
  readonly ownKids?: ReadonlySet<string>;
}

/** Claims that only ID tokens carry (OIDC Core §2, §3.3.2.11). */
const ID_TOKEN_CLAIMS: readonly string[] = ['nonce', 'at_hash', 'c_hash', 's_hash', 'auth_time'];

/**
 * `typ` with an `application/` prefix removed and lower-cased (RFC 7515 §4.1.9); `undefined`
 * when absent.
 */
function mediaType(typ: unknown): string | undefined {
  if (typeof typ !== 'string') return undefined;
  const lower = typ.toLowerCase();
  return lower.startsWith('application/') ? lower.slice('application/'.length) : lower;
}

/**
 * Why the protected header is not an access token's, or `undefined` when it is acceptable.
 * Checked before the signature: nothing is fetched for a token of the wrong kind.
 */
export function headerProblem(
  header: Readonly<Record<string, unknown>>,
  options: TokenKindOptions,
): string | undefined {
  const typ = mediaType(header['typ']);
  if (typeof header['kid'] === 'string' && options.ownKids?.has(header['kid']) === true)
    return 'signed with a Gatehouse key';
  if (typ === 'at+jwt') return undefined;
  if (typ === undefined || typ === 'jwt')
    return options.allowUntyped
      ? undefined
      : '"typ" is not at+jwt (RFC 9068); untyped tokens are not accepted';
  if (typ.startsWith('gatehouse')) return 'a Gatehouse token is not a bearer token';
  if (typ === 'logout+jwt' || typ === 'secevent+jwt')
    return 'a logout or security event token is not a bearer token';
  return `"typ" ${typ} is not an access token`;
}

/**
 * Why verified claims are not an access token for this resource, or `undefined`. `at+jwt`
 * tokens must carry RFC 9068's `client_id` and `jti`; every token is refused when it carries an
 * ID token's claims, a logout token's `events`, `aud` = Gatehouse's client id, Gatehouse's own
 * issuer, or a payload `typ`/`token_use` naming another kind (Keycloak `typ: ID`, Cognito
 * `token_use: id`).
 */
export function claimsProblem(
  header: Readonly<Record<string, unknown>>,
  claims: Readonly<Record<string, unknown>>,
  options: TokenKindOptions,
): string | undefined {
  for (const name of ID_TOKEN_CLAIMS)
    if (claims[name] !== undefined) return `an ID token is not a bearer token ("${name}")`;
  if (claims['events'] !== undefined)
    return 'a logout or security event token is not a bearer token ("events")';
  const aud = claims['aud'];
  const audiences = Array.isArray(aud) ? aud : [aud];
  if (options.clientId !== undefined && audiences.includes(options.clientId))
    return "a token for Gatehouse's client id is an ID token, not an access token";
  if (options.ownIssuer !== undefined && claims['iss'] === options.ownIssuer)
    return 'a Gatehouse token is not a bearer token';
  const payloadTyp = claims['typ'];
  if (typeof payloadTyp === 'string' && payloadTyp.toLowerCase() !== 'bearer')
    return `payload "typ" ${payloadTyp} is not an access token`;
  const tokenUse = claims['token_use'];
  if (tokenUse !== undefined && tokenUse !== 'access') return '"token_use" is not access';
  if (mediaType(header['typ']) === 'at+jwt') {
    if (typeof claims['client_id'] !== 'string' || claims['client_id'] === '')
      return 'RFC 9068: "client_id" missing';
    if (typeof claims['jti'] !== 'string' || claims['jti'] === '') return 'RFC 9068: "jti" missing';
  }
  return undefined;
}
