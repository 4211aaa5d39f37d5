/**
 * Sessions ended by the identity provider (back-channel logout), in process, until the shared
 * session store lands and replaces this with revocation in the store.
 *
 * A Gatehouse session is a self-contained cookie; what this adds is a deny-list the session
 * check consults on every request. An entry says "sessions of this user (`sub`), or of this IdP
 * session (`sid`), at this issuer, that started at or before this time, are over": a later
 * sign-in is not affected. Matching:
 * - `sid`: sessions whose ID token carried that `sid` (the session's `idp_sid`);
 * - `sub`: sessions of that user; when the token also names a `sid`, only the sessions whose
 *   IdP `sid` is unknown (the IdP sent none, or the session predates `idp_sid`) beyond those
 *   with that `sid` — failing closed rather than leaving them valid.
 *
 * Limits (documented in docs/reference/identity.md): per process (a replica, a worker), lost at
 * restart, at most `maxEntries` entries kept for `retentionMs` each.
 */

/** What a revocation names. */
export interface RevocationTarget {
  readonly iss: string;
  readonly sid?: string;
  readonly sub?: string;
}

/** The session fields revocation is decided on. */
export interface RevocableSession {
  readonly idp_iss: string;
  readonly sub: string;
  /** When the user signed in at Gatehouse (NumericDate), kept across refreshes. */
  readonly auth_time: number;
  /** The IdP's session id (the ID token's `sid`), when it sent one. */
  readonly idp_sid?: string | undefined;
}

/** Revoked sessions, by IdP `sid` and `sub`. */
export interface RevocationSet {
  /** Record a revocation at `nowMs`. */
  revoke(target: RevocationTarget, nowMs?: number): void;
  /** Whether `session` started at or before a revocation that names it. */
  isRevoked(session: RevocableSession): boolean;
  /** Live entries (for tests and metrics). */
  readonly size: number;
}

/** Options for {@link createRevocationSet}. */
export interface RevocationSetOptions {
  /** Default 100000. */
  readonly maxEntries?: number;
  /** How long an entry is kept. Default 30 days. */
  readonly retentionMs?: number;
  readonly now?: () => number;
}

interface Entry {
  /** NumericDate: sessions that started at or before it are revoked. */
  readonly at: number;
  /** For `sub` entries made with a `sid`: only sessions whose IdP sid is unknown. */
  readonly unknownSidOnly: boolean;
  readonly expiresAtMs: number;
}

/**
 * Create an empty revocation set. When full, expired entries go first, then the oldest ones
 * (`onEvict` reports those: a revoked session could come back if its cookie is still valid).
 */
export function createRevocationSet(
  options: RevocationSetOptions & { readonly onEvict?: () => void } = {},
): RevocationSet {
  const maxEntries = options.maxEntries ?? 100_000;
  const retentionMs = options.retentionMs ?? 30 * 86_400_000;
  const now = options.now ?? Date.now;
  const entries = new Map<string, Entry>();

  function put(key: string, entry: Entry, nowMs: number): void {
    const known = entries.get(key);
    entries.delete(key);
    if (entries.size >= maxEntries) {
      for (const [k, e] of entries) if (e.expiresAtMs <= nowMs) entries.delete(k);
      while (entries.size >= maxEntries) {
        const oldest = entries.keys().next();
        if (oldest.done === true) break;
        entries.delete(oldest.value);
        options.onEvict?.();
      }
    }
    // A broader or later revocation of the same key wins.
    entries.set(
      key,
      known === undefined || known.expiresAtMs <= nowMs
        ? entry
        : {
            at: Math.max(known.at, entry.at),
            unknownSidOnly: known.unknownSidOnly && entry.unknownSidOnly,
            expiresAtMs: Math.max(known.expiresAtMs, entry.expiresAtMs),
          },
    );
  }

  function live(key: string, nowMs: number): Entry | undefined {
    const entry = entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAtMs > nowMs) return entry;
    entries.delete(key);
    return undefined;
  }

  return {
    revoke(target, nowMs = now()): void {
      const at = Math.floor(nowMs / 1000);
      const expiresAtMs = nowMs + retentionMs;
      if (target.sid !== undefined)
        put(sidKey(target.iss, target.sid), { at, unknownSidOnly: false, expiresAtMs }, nowMs);
      if (target.sub !== undefined)
        put(
          subKey(target.iss, target.sub),
          { at, unknownSidOnly: target.sid !== undefined, expiresAtMs },
          nowMs,
        );
    },
    isRevoked(session): boolean {
      if (entries.size === 0) return false;
      const nowMs = now();
      const idpSid = session.idp_sid;
      if (idpSid !== undefined) {
        const bySid = live(sidKey(session.idp_iss, idpSid), nowMs);
        if (bySid !== undefined && session.auth_time <= bySid.at) return true;
      }
      const bySub = live(subKey(session.idp_iss, session.sub), nowMs);
      if (bySub === undefined || session.auth_time > bySub.at) return false;
      return !bySub.unknownSidOnly || idpSid === undefined;
    },
    get size(): number {
      return entries.size;
    },
  };
}

function sidKey(iss: string, sid: string): string {
  return `sid\n${iss}\n${sid}`;
}

function subKey(iss: string, sub: string): string {
  return `sub\n${iss}\n${sub}`;
}
