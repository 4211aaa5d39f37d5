/** Session refresh through the IdP's refresh token grant. */
import * as oidc from 'openid-client';
import { GatehouseError } from '../errors/gatehouse-error.js';
import type { IdTokenClaims, OidcTokens } from './callback.js';
import type { OidcClient } from './client.js';
import { mapOidcError } from './internal/map-error.js';

/** Options for {@link refreshSession}. */
export interface RefreshSessionOptions {
  readonly client: OidcClient;
  readonly refreshToken: string;
  /**
   * The session's `sub`: when the IdP returns a new ID token its `sub` must be this one
   * (OIDC Core §12.2). Strongly recommended.
   */
  readonly expectedSubject?: string;
}

/** Result of {@link refreshSession}. */
export interface RefreshResult {
  /**
   * New tokens. `id_token` is `''` when the IdP returned none (keep the old one);
   * `refresh_token` is absent when the IdP did not rotate it (keep the old one).
   */
  readonly tokens: OidcTokens;
  /** Verified claims of the new ID token, when there is one. */
  readonly claims?: IdTokenClaims;
}

/**
 * Exchange a refresh token for new tokens. The new ID token, if any, is validated like the
 * first (signature, iss, aud, azp, exp, iat) and must keep the same `sub`.
 *
 * @throws GatehouseError `ERR_OIDC_REFRESH_FAILED` (refused, invalid ID token, other subject);
 *   `ERR_OIDC_UNAVAILABLE` (IdP unreachable or 5xx: the caller may keep the session a little
 *   longer or fail closed, its choice).
 * @example
 *   const { tokens, claims } = await refreshSession({ client, refreshToken, expectedSubject: sub });
 */
export async function refreshSession(options: RefreshSessionOptions): Promise<RefreshResult> {
  if (options.refreshToken === '')
    throw new GatehouseError('ERR_OIDC_REFRESH_FAILED', { cause: new Error('no refresh token') });
  const config = await options.client.configuration();
  let response: Awaited<ReturnType<typeof oidc.refreshTokenGrant>>;
  try {
    response = await oidc.refreshTokenGrant(config, options.refreshToken);
  } catch (err) {
    const mapped = mapOidcError(err, 'ERR_OIDC_REFRESH_FAILED');
    throw mapped.code === 'ERR_OIDC_UNAVAILABLE'
      ? mapped
      : new GatehouseError('ERR_OIDC_REFRESH_FAILED', { cause: err });
  }
  const claims = response.claims();
  if (
    claims !== undefined &&
    options.expectedSubject !== undefined &&
    claims.sub !== options.expectedSubject
  ) {
    throw new GatehouseError('ERR_OIDC_REFRESH_FAILED', {
      cause: new Error('refreshed ID token has another subject'),
    });
  }
  return {
    tokens: {
      id_token: response.id_token ?? '',
      ...(response.access_token === undefined ? {} : { access_token: response.access_token }),
      ...(response.refresh_token === undefined ? {} : { refresh_token: response.refresh_token }),
      ...(response.expires_in === undefined ? {} : { expires_in: response.expires_in }),
    },
    ...(claims === undefined ? {} : { claims }),
  };
}
