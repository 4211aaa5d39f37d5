/**
 * `input.identity` for a verified bearer token.
 */
import type { VerifiedClaims } from './bearer/verify.js';
import type { AuthenticatedIdentity } from '../input/types.js';
import { asJsonObject, DEFAULT_GROUPS_CLAIM, groupsFromClaims } from './groups.js';

/** Options for {@link identityFromBearer}. */
export interface BearerIdentityOptions {
  /** Claim (or dotted path) holding group names (default `groups`). */
  readonly groupsClaim?: string;
}

/**
 * The policy identity of a verified bearer token. `email`/`name` are taken only when they are
 * strings, `email_verified` only when it is the boolean `true`; `claims` is the whole payload.
 *
 * @example
 *   const identity = identityFromBearer(await verifyBearer(token), { groupsClaim: 'realm_access.roles' });
 */
export function identityFromBearer(
  claims: VerifiedClaims,
  options: BearerIdentityOptions = {},
): AuthenticatedIdentity {
  const c = claims as Readonly<Record<string, unknown>>;
  return Object.freeze({
    authenticated: true,
    method: 'bearer',
    sub: claims.sub,
    email: typeof c['email'] === 'string' ? c['email'] : null,
    email_verified: c['email_verified'] === true,
    name: typeof c['name'] === 'string' ? c['name'] : null,
    groups: groupsFromClaims(c, options.groupsClaim ?? DEFAULT_GROUPS_CLAIM),
    claims: asJsonObject(claims),
    session_id: null,
    issued_at: claims.iat,
    expires_at: claims.exp,
  });
}
