/**
 * Deciding who is asking, from the request headers.
 *
 * The rule, when both could apply: an `Authorization: Bearer` header, when bearer tokens are
 * enabled, alone decides. A valid token gives a bearer identity; an invalid one makes the
 * caller anonymous, and the session cookie is NOT consulted (a bad token must never be
 * papered over by an ambient cookie, and an API client must never silently act as the browser
 * user). Without such a header the session cookie decides. An `Authorization` header with another
 * scheme (e.g. `Basic`) is left for the upstream and does not affect Gatehouse.
 */
import { extractBearer } from './bearer/extract.js';
import type { VerifiedClaims } from './bearer/verify.js';
import { GatehouseError } from '../errors/gatehouse-error.js';
import { parseCookieHeader } from './session/cookies.js';
import { ANONYMOUS, type Identity } from '../input/types.js';
import type { VerifiedSession } from './session/types.js';
import { SessionExpiredError } from './session/verify.js';
import { identityFromBearer } from './from-bearer.js';
import { identityFromSession } from './from-session.js';
import { credentialKey, type VerifiedCache } from './verified-cache.js';

/**
 * The identity of each verified session object, derived once: the session book returns the same
 * frozen object for the same stored record (src/identity/session/book.ts), and a changed record
 * is a new object.
 */
const sessionIdentities = new WeakMap<VerifiedSession, Identity>();

function identityOfSession(session: VerifiedSession): Identity {
  let identity = sessionIdentities.get(session);
  if (identity === undefined) {
    identity = identityFromSession(session);
    sessionIdentities.set(session, identity);
  }
  return identity;
}

/** The session behind an identity, or the authentic-but-expired session to refresh. */
export interface SessionResult {
  readonly data: VerifiedSession;
  /** True when `data` is past `exp`: the identity is anonymous; refresh with `data.refresh_token`. */
  readonly expired: boolean;
}

/** What {@link resolveIdentity} found. */
export interface ResolvedIdentity {
  readonly identity: Identity;
  /** Which credential decided: `none` when the request carried neither. */
  readonly source: 'bearer' | 'session' | 'none';
  /** Why the presented credential was refused (the identity is then anonymous). */
  readonly error?: GatehouseError;
  /** The verified session (valid or expired) when the cookie decided. */
  readonly session?: SessionResult;
  /**
   * When a valid credential decided and caching is on: the credential's cache key (SHA-256 of
   * the exact token, see `credentialKey`), so later stages (the assertion cache) can key on it.
   */
  readonly credential?: string;
}

/** Caches of successful resolutions, by credential; see `VerifiedCache`. */
export interface ResolvedIdentityCaches {
  /**
   * Bearer tokens: the verified claims as JSON text, from which each hit derives the identity
   * again (`identityFromBearer`, a pure function of the claims). One string per entry instead of
   * the ~20 objects of a resolved identity: every full GC marks every entry, and on one core its
   * marking is a tail-latency stall (docs/performance.md, tenth round).
   */
  readonly bearer?: VerifiedCache<string>;
  readonly session?: VerifiedCache<ResolvedIdentity>;
}

/** Options for {@link resolveIdentity}. */
export interface ResolveIdentityOptions {
  /** Request headers, names in any case (Envoy sends them lowercase). */
  readonly headers: Readonly<Record<string, string>>;
  /** The session cookie's name. */
  readonly cookieName: string;
  /**
   * The request's host (`:authority`, lower case). When given, a session is accepted only on the
   * host it was issued for (`ERR_SESSION_HOST_MISMATCH` otherwise): a cookie copied from one
   * protected host to another behind the same Gatehouse is not a session there.
   */
  readonly host?: string;
  /**
   * SHA-256 (hex) of the client certificate this request presented (accepted into
   * `input.device`), if any. A session bound to a certificate (`device_x5t`) is accepted only
   * with that one (`ERR_SESSION_DEVICE_MISMATCH` otherwise), whatever the configuration: a cookie
   * copied off its device is not a session.
   */
  readonly deviceFingerprint?: string;
  /** Verifies a session cookie value (see `verifySession`, bound to the ring and secret). */
  readonly verifySession: (token: string) => Promise<VerifiedSession>;
  /** Verifies a bearer token; absent when bearer tokens are disabled. */
  readonly verifyBearer?: (token: string) => Promise<VerifiedClaims>;
  /** Claim (or dotted path) with bearer tokens' groups (default `groups`). */
  readonly groupsClaim?: string;
  /**
   * Successful resolutions, reused for the same token until its `exp` (with the cache's clock
   * tolerance); failures always go to the verifier. Absent: every request is verified.
   */
  readonly cache?: ResolvedIdentityCaches;
}

/**
 * Resolve `input.identity`. Never throws: every failure is an anonymous identity with `error`.
 *
 * @example
 *   const { identity, error } = await resolveIdentity({ headers, cookieName: '__Host-gatehouse', verifySession: (t) => verifySession(ring, key, t) });
 */
export async function resolveIdentity(options: ResolveIdentityOptions): Promise<ResolvedIdentity> {
  const { verifyBearer } = options;
  const bearerResolution = (claims: VerifiedClaims, key: string | undefined): ResolvedIdentity => {
    const identity = identityFromBearer(
      claims,
      options.groupsClaim === undefined ? {} : { groupsClaim: options.groupsClaim },
    );
    if (key === undefined) return { identity, source: 'bearer' };
    return Object.freeze({ identity, source: 'bearer', credential: key });
  };
  if (verifyBearer !== undefined) {
    let token: string | undefined;
    try {
      token = extractBearer(header(options.headers, 'authorization'));
    } catch (err) {
      return {
        identity: ANONYMOUS,
        source: 'bearer',
        error: GatehouseError.from(err, 'ERR_TOKEN_INVALID'),
      };
    }
    if (token !== undefined) {
      const cache = options.cache?.bearer;
      const key = cache === undefined ? undefined : credentialKey(token);
      if (key !== undefined) {
        const hit = cache?.get(key);
        if (hit !== undefined) return bearerResolution(JSON.parse(hit) as VerifiedClaims, key);
      }
      try {
        const claims = await verifyBearer(token);
        if (key === undefined) return bearerResolution(claims, undefined);
        cache?.set(key, JSON.stringify(claims), claims.exp);
        return bearerResolution(claims, key);
      } catch (err) {
        return {
          identity: ANONYMOUS,
          source: 'bearer',
          error: GatehouseError.from(err, 'ERR_TOKEN_INVALID'),
        };
      }
    }
  }
  const cookie = parseCookieHeader(header(options.headers, 'cookie')).get(options.cookieName);
  if (cookie === undefined || cookie === '') return { identity: ANONYMOUS, source: 'none' };
  const cache = options.cache?.session;
  const key = cache === undefined ? undefined : credentialKey(cookie);
  if (key !== undefined) {
    const hit = cache?.get(key);
    // Host and device are checked on every use, cached or not: the cache is keyed by the cookie alone.
    if (hit !== undefined)
      return hit.session === undefined ? hit : (misplaced(hit.session.data, options) ?? hit);
  }
  try {
    const data = await options.verifySession(cookie);
    const refused = misplaced(data, options);
    if (refused !== undefined) return refused;
    const identity = identityOfSession(data);
    if (key === undefined)
      return { identity, source: 'session', session: { data, expired: false } };
    const resolved: ResolvedIdentity = Object.freeze({
      identity,
      source: 'session',
      session: Object.freeze({ data, expired: false }),
      credential: key,
    });
    cache?.set(key, resolved, data.exp);
    return resolved;
  } catch (err) {
    if (err instanceof SessionExpiredError) {
      // An expired session for another host, or off its device, is not refreshed here either.
      const refused = misplaced(err.session, options);
      if (refused !== undefined) return refused;
      return {
        identity: ANONYMOUS,
        source: 'session',
        error: err,
        session: { data: err.session, expired: true },
      };
    }
    return {
      identity: ANONYMOUS,
      source: 'session',
      error: GatehouseError.from(err, 'ERR_SESSION_INVALID'),
    };
  }
}

/** The refusal of a session presented on another host or without its device certificate. */
function misplaced(
  session: VerifiedSession,
  options: ResolveIdentityOptions,
): ResolvedIdentity | undefined {
  if (!sameHost(session, options.host)) return wrongHost();
  const bound = session.device_x5t;
  if (bound === undefined || bound === options.deviceFingerprint) return undefined;
  // Prefixes only: enough to tell certificates apart in the log.
  const presented =
    options.deviceFingerprint === undefined
      ? 'no certificate'
      : `${options.deviceFingerprint.slice(0, 12)}…`;
  return {
    identity: ANONYMOUS,
    source: 'session',
    error: new GatehouseError('ERR_SESSION_DEVICE_MISMATCH', {
      cause: new Error(`session bound to ${bound.slice(0, 12)}…, request presented ${presented}`),
    }),
  };
}

/** True when host binding is off (`host` undefined) or the session was issued for `host`. */
function sameHost(session: VerifiedSession, host: string | undefined): boolean {
  return host === undefined || (session.host !== undefined && session.host === host.toLowerCase());
}

function wrongHost(): ResolvedIdentity {
  return {
    identity: ANONYMOUS,
    source: 'session',
    error: new GatehouseError('ERR_SESSION_HOST_MISMATCH'),
  };
}

/** A header by name, case-insensitively (the first match). */
function header(headers: Readonly<Record<string, string>>, name: string): string | undefined {
  const direct = headers[name];
  if (direct !== undefined) return direct;
  for (const [key, value] of Object.entries(headers)) if (key.toLowerCase() === name) return value;
  return undefined;
}
