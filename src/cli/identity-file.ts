import type { AuthenticatedIdentity, JsonObject } from '../input/types.js';

/** The `session_id` of a simulated identity, so it can never be mistaken for a real one. */
export const SIMULATED_SESSION_ID = 'simulated';

/**
 * Turn a `gatehouse check --identity FILE` document into the `input.identity` a signed-in
 * browser user would have: `{"sub": "alice", "email": "alice@example.com", "groups": ["eng"],
 * ...}`. It is SIMULATED: no token was verified. It is marked `method: "session"`,
 * `session_id: "simulated"`, and every field given is kept in `claims`.
 *
 * @throws Error naming the field that is wrong.
 * @example parseIdentityFile({ sub: 'alice', groups: ['eng'] }, new Date())
 */
export function parseIdentityFile(json: unknown, now: Date = new Date()): AuthenticatedIdentity {
  if (json === null || typeof json !== 'object' || Array.isArray(json))
    throw new Error('the identity must be a JSON object such as {"sub": "alice"}');
  const doc = json as Record<string, unknown>;
  const sub = doc['sub'];
  if (typeof sub !== 'string' || sub === '')
    throw new Error('identity.sub: required, a non-empty string');
  const optionalString = (name: string): string | null => {
    const v = doc[name];
    if (v === undefined || v === null) return null;
    if (typeof v !== 'string') throw new Error(`identity.${name}: expected a string`);
    return v;
  };
  const groups = doc['groups'] ?? [];
  if (!Array.isArray(groups) || groups.some((g) => typeof g !== 'string'))
    throw new Error('identity.groups: expected a list of strings');
  const verified = doc['email_verified'] ?? false;
  if (typeof verified !== 'boolean')
    throw new Error('identity.email_verified: expected true or false');
  const iat = Math.floor(now.getTime() / 1000);
  return Object.freeze({
    authenticated: true,
    method: 'session',
    sub,
    email: optionalString('email'),
    email_verified: verified,
    name: optionalString('name'),
    groups: Object.freeze([...(groups as string[])]),
    claims: doc as JsonObject,
    session_id: SIMULATED_SESSION_ID,
    issued_at: iat,
    expires_at: iat + 3600,
  });
}
