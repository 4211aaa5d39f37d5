/** Re-validation through the identity provider's UserInfo endpoint (OIDC Core §5.3). */
import * as oidc from 'openid-client';
import { GatehouseError } from '../errors/gatehouse-error.js';
import type { OidcClient } from './client.js';
import { mapOidcError } from './internal/map-error.js';

/** Options for {@link fetchUserClaims}. */
export interface FetchUserClaimsOptions {
  readonly client: OidcClient;
  /** The access token from sign-in (or the last refresh). */
  readonly accessToken: string;
  /** The session's `sub`: the answer must name this subject (OIDC Core §5.3.2). */
  readonly expectedSubject: string;
}

/**
 * The user's current claims from the UserInfo endpoint.
 *
 * @throws GatehouseError `ERR_OIDC_USERINFO_FAILED` when the IdP refuses the access token (401,
 *   403: the user is disabled or removed, or the token expired or was revoked) or answers for
 *   another subject; `ERR_OIDC_UNAVAILABLE` (IdP unreachable, timed out or 5xx).
 * @example
 *   const claims = await fetchUserClaims({ client, accessToken, expectedSubject: session.sub });
 */
export async function fetchUserClaims(
  options: FetchUserClaimsOptions,
): Promise<Readonly<Record<string, unknown>>> {
  if (options.accessToken === '')
    throw new GatehouseError('ERR_OIDC_USERINFO_FAILED', { cause: new Error('no access token') });
  const config = await options.client.configuration();
  try {
    return await oidc.fetchUserInfo(config, options.accessToken, options.expectedSubject);
  } catch (err) {
    // A 401/403 carries a WWW-Authenticate challenge (RFC 6750 §3): a refusal; a 5xx is an outage.
    if (err instanceof oidc.WWWAuthenticateChallengeError)
      throw new GatehouseError(
        err.status >= 500 ? 'ERR_OIDC_UNAVAILABLE' : 'ERR_OIDC_USERINFO_FAILED',
        { cause: err },
      );
    const mapped = mapOidcError(err, 'ERR_OIDC_USERINFO_FAILED');
    throw mapped.code === 'ERR_OIDC_UNAVAILABLE'
      ? mapped
      : new GatehouseError('ERR_OIDC_USERINFO_FAILED', { cause: err });
  }
}
