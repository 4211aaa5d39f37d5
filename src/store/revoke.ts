/**
 * Revoking sessions with an audit trail: every revocation, whoever asks (an operator through
 * `gatehouse sessions revoke`, the identity provider through back-channel logout), is one log
 * line saying who, why, what and how many. The store announces each revoked session on its change
 * feed, so every replica's cache drops it (within the store's propagation bound).
 */
import type { Logger } from '../log/logger.js';
import type { SessionStore } from './types.js';

/**
 * Which sessions to revoke: one session by id, every session of a user, or every session that
 * came from one identity provider session (its `iss` and `sid`, see `SessionRecord.idp`).
 */
export type RevokeTarget =
  | { readonly sid: string }
  | { readonly sub: string }
  | { readonly idp: { readonly iss: string; readonly sid: string } };

/** Who asks and why, for the log line. */
export interface RevokeAudit {
  /** Who revoked: an operator's name, or `identity provider`. */
  readonly by: string;
  /** Why, in the operator's words (or the protocol that asked). */
  readonly reason: string;
}

/**
 * Revoke `target` in `store` and log it (`sessions revoked`, info, with `by`, `reason`, `sid` or
 * `sub`, `count`, `store`).
 *
 * @returns the revoked session ids (empty when nothing matched).
 * @throws GatehouseError `ERR_SESSION_STORE_UNAVAILABLE` when the store cannot be reached (logged
 *   as `session revocation failed`, warn, with the same fields).
 * @example
 *   await revokeSessions(store, { sub }, { by: 'alice', reason: 'laptop stolen' }, log);
 */
export async function revokeSessions(
  store: SessionStore,
  target: RevokeTarget,
  audit: RevokeAudit,
  log: Logger,
): Promise<readonly string[]> {
  const what =
    'idp' in target ? { idp_iss: target.idp.iss, idp_sid: target.idp.sid } : { ...target };
  const fields = { ...what, by: audit.by, reason: audit.reason, store: store.kind };
  try {
    const revoked =
      'sid' in target
        ? (await store.revoke(target.sid))
          ? [target.sid]
          : []
        : 'sub' in target
          ? await store.revokeUser(target.sub)
          : await store.revokeIdpSession(target.idp.iss, target.idp.sid);
    log.info({ ...fields, count: revoked.length }, 'sessions revoked');
    return revoked;
  } catch (err) {
    log.warn({ ...fields, code: (err as { code?: string }).code }, 'session revocation failed');
    throw err;
  }
}

/** What a back-channel logout token names (OIDC Back-Channel Logout 1.0 §2.4). */
export interface LogoutTarget {
  readonly iss: string;
  readonly sid?: string;
  readonly sub?: string;
}

/**
 * Revoke what a logout token names, in the store (every replica): with `sid`, the sessions from
 * that IdP session; with `sub` alone, every session of the user; with both, also the user's
 * sessions whose IdP session is unknown (the IdP named none at sign-in), failing closed rather
 * than leaving them valid. Logged as one line like every revocation (`sessions revoked` with
 * `iss`, `sid`, `sub`, `count`, `by`, `reason`).
 *
 * @returns the revoked session ids.
 * @throws GatehouseError `ERR_SESSION_STORE_UNAVAILABLE` when the store cannot be reached (logged
 *   as `session revocation failed`).
 */
export async function revokeForLogout(
  store: SessionStore,
  target: LogoutTarget,
  audit: RevokeAudit,
  log: Logger,
): Promise<readonly string[]> {
  const fields = {
    iss: target.iss,
    sid: target.sid,
    sub: target.sub,
    by: audit.by,
    reason: audit.reason,
    store: store.kind,
  };
  try {
    const revoked: string[] = [];
    if (target.sid !== undefined) {
      revoked.push(...(await store.revokeIdpSession(target.iss, target.sid)));
      if (target.sub !== undefined)
        for (const s of await store.list({ sub: target.sub }))
          if (s.idp === undefined && (await store.revoke(s.sid))) revoked.push(s.sid);
    } else if (target.sub !== undefined) revoked.push(...(await store.revokeUser(target.sub)));
    log.info({ ...fields, count: revoked.length }, 'sessions revoked');
    return revoked;
  } catch (err) {
    log.warn({ ...fields, code: (err as { code?: string }).code }, 'session revocation failed');
    throw err;
  }
}
