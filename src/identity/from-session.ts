/**
 * `input.identity` for a verified session.
 */
import type { AuthenticatedIdentity } from '../input/types.js';
import type { VerifiedSession } from './session/types.js';

/**
 * The policy identity of a verified session. `claims` are the ID token claims kept in the
 * session (`{}` when they were dropped to fit the cookie); secrets never appear. `auth_time`,
 * `acr` and `amr` are the ID token's at sign-in, present only when the IdP sent them.
 *
 * @example
 *   const identity = identityFromSession(await verifySession(ring, key, cookie));
 */
export function identityFromSession(session: VerifiedSession): AuthenticatedIdentity {
  return Object.freeze({
    authenticated: true,
    method: 'session',
    sub: session.sub,
    email: session.email,
    email_verified: session.email_verified,
    name: session.name,
    groups: Object.freeze([...session.groups]),
    claims: session.claims,
    session_id: session.sid,
    issued_at: session.iat,
    expires_at: session.exp,
    ...(session.idp_auth_time === undefined ? {} : { auth_time: session.idp_auth_time }),
    ...(session.acr === undefined ? {} : { acr: session.acr }),
    ...(session.amr === undefined ? {} : { amr: Object.freeze([...session.amr]) }),
  });
}
