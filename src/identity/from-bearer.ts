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
 * `auth_time`, `acr` and `amr` are taken only when well-formed (a number, a string, a list of
 * strings); otherwise they are absent, and a step-up requirement on them fails closed.
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
    ...authenticationFacts(c),
  });
}

/** The token's `auth_time`, `acr` and `amr`, each only when it has the expected type. */
export function authenticationFacts(c: Readonly<Record<string, unknown>>): {
  auth_time?: number;
  acr?: string;
  amr?: readonly string[];
} {
  const authTime = c['auth_time'];
  const acr = c['acr'];
  const amr = c['amr'];
  return {
    ...(typeof authTime === 'number' && Number.isFinite(authTime) ? { auth_time: authTime } : {}),
    ...(typeof acr === 'string' && acr !== '' ? { acr } : {}),
    ...(Array.isArray(amr) && amr.every((m): m is string => typeof m === 'string')
      ? { amr: Object.freeze([...amr]) }
      : {}),
  };
}
