/**
 * Server-side sessions: the record (identity, tokens, times, host, `idp_sid`) lives in the
 * session store (src/store/, encrypted at rest), the browser holds only a signed handle
 * (src/identity/session/handle.ts). Signing in creates the record, every Check finds it through
 * this replica's cache (invalidated by the store's change feed), a refresh updates it under a
 * store lock, and signing out revokes it for every replica.
 *
 * Times (docs/reference/identity.md § Session model):
 * - `exp` of the session (`session.ttl_seconds` after sign-in or the last refresh): past it the
 *   session is renewed with its refresh token, or ends;
 * - the record's absolute end (`session.absolute_lifetime_seconds` after sign-in): no refresh
 *   extends it, the store forgets the record and the handle stops verifying;
 * - the idle timeout (`session.idle_timeout_seconds`, 0 = off): no request for that long ends the
 *   session. Use is recorded at most once per `touchIntervalMs` per session and replica, and the
 *   last use is re-read from the store (another replica may have seen it) before ending one;
 * - re-validation (`session.revalidate_interval_seconds`, 0 = off): the record's `iat` is when
 *   the identity provider last vouched for it (sign-in, refresh, UserInfo); once it is that old
 *   the session is due, and the Check path re-validates it through {@link SessionBook.refresh}
 *   (src/oidc/flow.ts) before trusting it again.
 */
import { GatehouseError } from '../../errors/gatehouse-error.js';
import type { JsonObject, JsonValue } from '../../input/types.js';
import type { KeyRing } from '../../keys/key-ring.js';
import type { SessionCache, SessionLookup } from '../../store/cache.js';
import type { SessionStore, StoredSession } from '../../store/types.js';
import { DROPPED_ID_TOKEN_CLAIMS, SESSION_ID_PATTERN } from './format.js';
import { issueSessionHandle } from './handle.js';
import { VerifiedHandles } from './handle-cache.js';
import { newSessionId } from './issue.js';
import type { SessionInput, VerifiedSession } from './types.js';
import { SessionExpiredError } from './verify.js';

/** Options for {@link createSessionBook}. */
export interface SessionBookOptions {
  readonly ring: KeyRing;
  readonly store: SessionStore;
  readonly cache: SessionCache;
  /** `session.ttl_seconds`: how long a session is trusted before it is refreshed. */
  readonly ttlSeconds: number;
  /** `session.absolute_lifetime_seconds`: no session outlives this after sign-in. */
  readonly absoluteLifetimeSeconds: number;
  /** `session.idle_timeout_seconds`; 0 turns the idle timeout off. */
  readonly idleTimeoutSeconds: number;
  /** `session.revalidate_interval_seconds`; 0 (the default here) turns re-validation off. */
  readonly revalidateIntervalSeconds?: number;
  /** Least time between two recorded uses of one session on this replica (ms). */
  readonly touchIntervalMs: number;
  readonly clockToleranceSeconds: number;
  /**
   * Most verified handles remembered (src/identity/session/handle-cache.ts; default 10,000;
   * 0 verifies the handle's signature on every Check). The record is looked up every time.
   */
  readonly handleCacheEntries?: number;
  /** How long a refresh lock is held at most (ms). */
  readonly refreshLockMs?: number;
  /**
   * How long a replica that lost the refresh race waits for the winner's record on the Check
   * path (ms; default `refreshLockMs`): `identity.timeout_ms`, what a refresh of its own may take.
   */
  readonly refreshWaitMs?: number;
  /** The clock, ms since the epoch. */
  readonly now?: () => number;
}

/** A session just written: the handle for the cookie, and how long the cookie should live. */
export interface IssuedSession {
  readonly cookieValue: string;
  readonly maxAgeSeconds: number;
  readonly session: VerifiedSession;
}

/** Server-side sessions, bound to one store and this replica's cache. */
export interface SessionBook {
  /** Create the record of a new session (new `sid`, never one from before sign-in). */
  issue(input: SessionInput, options?: { readonly now?: number }): Promise<IssuedSession>;
  /**
   * The session a cookie names.
   *
   * @throws SessionExpiredError past the session's `exp` (refresh it with {@link refresh});
   *   GatehouseError `ERR_SESSION_INVALID` (bad handle), `ERR_SESSION_EXPIRED` (absolute end or
   *   idle timeout), `ERR_SESSION_REVOKED` (no record: signed out or revoked),
   *   `ERR_SESSION_RECORD_INVALID`, `ERR_SESSION_STORE_UNAVAILABLE`.
   */
  verify(cookieValue: string): Promise<VerifiedSession>;
  /**
   * Record a use of a session {@link verify} returned (or put in its SessionExpiredError), for
   * the idle timeout. Called by the Check path only once the session was accepted for this
   * request (right host, right device): a refused presentation never keeps a session alive.
   */
  used(session: VerifiedSession): void;
  /**
   * Why a verified session cannot be trusted as it is at `at` (ms, default now): `expired` past
   * its `exp` (with the clock tolerance), `revalidate` when the identity provider last vouched
   * for it (`iat`) at least `revalidateIntervalSeconds` ago; undefined when it is live.
   */
  due(session: VerifiedSession, at?: number): 'expired' | 'revalidate' | undefined;
  /**
   * Replace a due session's record with `renew()`'s result, single-flight across replicas
   * (lock `refresh:<sid>`). `renew` gets the record as it is under the lock (its tokens may have
   * been rotated since `session` was read). A replica that loses the race waits for the winner's
   * record and returns it: a lost race never signs the user out. With `keepExpiry` the record
   * keeps its `exp` (a UserInfo re-validation vouches for the user, not for a longer session).
   *
   * @returns the renewed session and a new handle for it (same `sid`, new `iat`), or undefined
   *   when it could not be renewed (`renew` gave nothing, or the winner gave up or did not
   *   finish in time).
   * @throws what `renew` throws; GatehouseError `ERR_SESSION_REVOKED` when the session was
   *   revoked meanwhile (by the winner, too), `ERR_SESSION_STORE_UNAVAILABLE`.
   */
  refresh(
    session: VerifiedSession,
    renew: (current: VerifiedSession) => Promise<SessionInput | undefined>,
    refreshOptions?: { readonly keepExpiry?: boolean },
  ): Promise<IssuedSession | undefined>;
  /** Revoke a session on every replica. @returns true when it existed. */
  revoke(sid: string): Promise<boolean>;
  /**
   * Record that a session proved possession of enrolled device `proof.id`: the session moves to
   * a new id carrying the proof (same identity, times and absolute end) and the old id is revoked
   * on every replica, so a copy of the cookie taken before the proof stops working at once — the
   * proof belongs to the browser that made it.
   *
   * @returns the session under its new id and the handle for the cookie.
   * @throws GatehouseError `ERR_SESSION_REVOKED` when the session is gone,
   *   `ERR_SESSION_STORE_UNAVAILABLE`, `ERR_SESSION_RECORD_INVALID`.
   */
  bindDevice(
    sid: string,
    proof: { readonly id: string; readonly at: number; readonly userVerified: boolean },
  ): Promise<IssuedSession>;
}

const DEFAULT_REFRESH_LOCK_MS = 15_000;
/** Most sessions whose last recorded use this replica remembers (for throttling touches). */
const MAX_TOUCHED = 100_000;

/** Bind server-side sessions to a store and cache. */
export function createSessionBook(options: SessionBookOptions): SessionBook {
  const now = options.now ?? Date.now;
  const touched = new Map<string, number>();
  /** The record each verified session came from, for {@link SessionBook.used}. */
  const records = new WeakMap<VerifiedSession, StoredSession>();
  /**
   * Each stored record parsed once: the cache (src/store/cache.ts) holds one object per read of
   * the store and replaces it when the record changes (a store read never returns an object it
   * will change), so a record object always parses to the same session.
   */
  const parsed = new WeakMap<StoredSession, VerifiedSession>();
  const sessionOfRecord = (stored: StoredSession): VerifiedSession => {
    let session = parsed.get(stored);
    if (session === undefined) {
      session = parseRecord(stored);
      parsed.set(stored, session);
    }
    return session;
  };
  const handles = new VerifiedHandles(options.ring, {
    clockToleranceSeconds: options.clockToleranceSeconds,
    ...(options.handleCacheEntries === undefined ? {} : { capacity: options.handleCacheEntries }),
  });
  const lockMs = options.refreshLockMs ?? DEFAULT_REFRESH_LOCK_MS;
  const waitMs = Math.min(lockMs, options.refreshWaitMs ?? lockMs);
  const revalidateSeconds = options.revalidateIntervalSeconds ?? 0;
  const due = (session: VerifiedSession, at: number): 'expired' | 'revalidate' | undefined => {
    const seconds = Math.floor(at / 1000);
    if (session.exp + options.clockToleranceSeconds < seconds) return 'expired';
    if (revalidateSeconds > 0 && seconds >= session.iat + revalidateSeconds) return 'revalidate';
    return undefined;
  };

  const found = (lookup: SessionLookup): StoredSession => {
    if (lookup.status === 'found') return lookup.session;
    if (lookup.status === 'absent') throw new GatehouseError('ERR_SESSION_REVOKED');
    throw lookup.error;
  };

  const write = async (
    input: SessionInput,
    sid: string,
    times: {
      readonly createdAt: number;
      readonly expiresAt: number;
      readonly at: number;
      /** The session's `exp` to keep (NumericDate); default `ttlSeconds` from now. */
      readonly exp?: number;
    },
    mode: 'create' | 'update',
  ): Promise<VerifiedSession> => {
    const iat = Math.floor(times.at / 1000);
    const session = sessionOf(input, sid, iat, times.exp ?? iat + options.ttlSeconds);
    const record = {
      sid,
      sub: session.sub,
      createdAt: times.createdAt,
      expiresAt: times.expiresAt,
      data: recordData(session),
      // Back-channel logout by the IdP's `sid` finds the record through this (src/store/revoke.ts).
      ...(session.idp_sid === undefined
        ? {}
        : { idp: { iss: session.idp_iss, sid: session.idp_sid } }),
    };
    const ok =
      mode === 'create' ? await options.store.create(record) : await options.store.update(record);
    if (!ok)
      throw new GatehouseError(mode === 'create' ? 'ERR_INTERNAL' : 'ERR_SESSION_REVOKED', {
        cause: new Error(mode === 'create' ? 'session id collision' : 'revoked during refresh'),
      });
    return session;
  };

  /** A new handle for a stored session (same sid, this `iat`, the record's absolute end). */
  const reissue = async (session: VerifiedSession, expiresAt: number): Promise<IssuedSession> => {
    const at = now();
    const cookieValue = await issueSessionHandle(options.ring, session.sid, {
      iat: Math.floor(at / 1000),
      exp: Math.floor(expiresAt / 1000),
    });
    return {
      cookieValue,
      maxAgeSeconds: Math.max(0, Math.floor((expiresAt - at) / 1000)),
      session,
    };
  };

  const markUsed = (stored: StoredSession, at: number): void => {
    const last = Math.max(stored.lastSeenAt, touched.get(stored.sid) ?? 0);
    if (at - last < options.touchIntervalMs) return;
    if (touched.size >= MAX_TOUCHED) touched.clear();
    touched.set(stored.sid, at);
    // Best effort: a failed touch only shortens nothing (the idle check re-reads the store).
    options.store.touch(stored.sid, at).catch(() => undefined);
  };

  return {
    async issue(input, issueOptions = {}) {
      const at = issueOptions.now ?? now();
      const sid = newSessionId();
      const expiresAt = at + options.absoluteLifetimeSeconds * 1000;
      const session = await write(
        { ...input, auth_time: input.auth_time ?? Math.floor(at / 1000) },
        sid,
        { createdAt: at, expiresAt, at },
        'create',
      );
      touched.set(sid, at);
      const cookieValue = await issueSessionHandle(options.ring, sid, {
        iat: Math.floor(at / 1000),
        exp: Math.floor(expiresAt / 1000),
      });
      return { cookieValue, maxAgeSeconds: options.absoluteLifetimeSeconds, session };
    },

    async verify(cookieValue) {
      const at = now();
      // The signature is verified once per cookie value (cached while a fresh verification would
      // accept it); the record below is looked up on every Check, so revocation is unchanged.
      const handle = await handles.verify(cookieValue, new Date(at));
      let stored = found(await options.cache.lookup(handle.sid));
      const idleMs = options.idleTimeoutSeconds * 1000;
      if (idleMs > 0 && at - Math.max(stored.lastSeenAt, touched.get(stored.sid) ?? 0) > idleMs) {
        // Another replica may have seen it since: ask the store before ending the session.
        stored = found(await options.cache.lookup(handle.sid, { fresh: true }));
        if (at - stored.lastSeenAt > idleMs) {
          touched.delete(stored.sid);
          await options.store.revoke(stored.sid).catch(() => undefined);
          throw new GatehouseError('ERR_SESSION_EXPIRED', { cause: new Error('idle timeout') });
        }
      }
      const session = sessionOfRecord(stored);
      records.set(session, stored);
      const why = due(session, at);
      if (why === 'expired')
        throw new SessionExpiredError(session, new Error('past the session ttl: refresh due'));
      if (why === 'revalidate')
        throw new SessionExpiredError(
          session,
          new Error('re-validation with the identity provider due'),
        );
      return session;
    },

    used(session) {
      const stored = records.get(session);
      if (stored !== undefined) markUsed(stored, now());
    },

    due: (session, at) => due(session, at ?? now()),

    async refresh(session, renew, refreshOptions = {}) {
      const lease = await options.store.acquireLock(`refresh:${session.sid}`, lockMs);
      if (lease === undefined) return waitForWinner(session);
      try {
        const stored = found(await options.cache.lookup(session.sid, { fresh: true }));
        const current = parseRecord(stored);
        // Renewed meanwhile (by a replica whose lock this one followed): reuse it. Every write
        // sets `iat` to its time, so a newer `iat` is a newer answer from the identity provider.
        if (current.iat > session.iat) return await reissue(current, stored.expiresAt);
        const next = await renew(current);
        if (next === undefined) return undefined;
        const renewed = await write(
          { ...next, auth_time: session.auth_time },
          session.sid,
          {
            createdAt: stored.createdAt,
            expiresAt: stored.expiresAt,
            at: now(),
            ...(refreshOptions.keepExpiry === true ? { exp: current.exp } : {}),
          },
          'update',
        );
        return await reissue(renewed, stored.expiresAt);
      } finally {
        await lease.release().catch(() => undefined);
      }
    },

    async bindDevice(sid, proof) {
      const stored = found(await options.cache.lookup(sid, { fresh: true }));
      const current = parseRecord(stored);
      const next = newSessionId();
      const bound: VerifiedSession = Object.freeze({
        ...current,
        sid: next,
        device_id: proof.id,
        device_proved_at: proof.at,
        device_user_verified: proof.userVerified,
      });
      const created = await options.store.create({
        sid: next,
        sub: stored.sub,
        createdAt: stored.createdAt,
        expiresAt: stored.expiresAt,
        data: recordData(bound),
        ...(stored.idp === undefined ? {} : { idp: stored.idp }),
      });
      if (!created)
        throw new GatehouseError('ERR_INTERNAL', { cause: new Error('session id collision') });
      // The old id ends everywhere; had it been revoked meanwhile, so is the new one.
      if (!(await this.revoke(sid))) {
        await this.revoke(next);
        throw new GatehouseError('ERR_SESSION_REVOKED');
      }
      touched.set(next, now());
      return reissue(bound, stored.expiresAt);
    },

    async revoke(sid) {
      touched.delete(sid);
      const existed = await options.store.revoke(sid);
      options.cache.forget(sid);
      return existed;
    },
  };

  /**
   * Another replica holds the refresh lock: poll the store for its renewed record.
   *
   * @throws GatehouseError `ERR_SESSION_REVOKED` when the record is gone (the winner revoked it:
   *   the identity provider refused the user), `ERR_SESSION_STORE_UNAVAILABLE`.
   */
  async function waitForWinner(session: VerifiedSession): Promise<IssuedSession | undefined> {
    // Polls on the real timer, bounded by count too (a test clock may stand still).
    const pollMs = Math.min(100, Math.max(10, waitMs / 10));
    const deadline = now() + waitMs;
    for (let polls = Math.ceil(waitMs / pollMs); polls > 0 && now() < deadline; polls--) {
      await new Promise((resolve) => setTimeout(resolve, pollMs));
      const stored = found(await options.cache.lookup(session.sid, { fresh: true }));
      const current = parseRecord(stored);
      if (current.iat > session.iat) return reissue(current, stored.expiresAt);
      // The winner gave up (its lock is gone) without renewing: no second refresh from here.
      const lease = await options.store
        .acquireLock(`refresh:${session.sid}`, 1)
        .catch(() => undefined);
      if (lease !== undefined) {
        await lease.release().catch(() => undefined);
        return undefined;
      }
    }
    return undefined;
  }
}

/** The verified session a record's data holds. */
function sessionOf(input: SessionInput, sid: string, iat: number, exp: number): VerifiedSession {
  const claims: Record<string, JsonValue> = {};
  for (const [key, value] of Object.entries(input.claims))
    if (!DROPPED_ID_TOKEN_CLAIMS.includes(key)) claims[key] = value;
  return Object.freeze({
    sub: input.sub,
    sid,
    email: input.email,
    email_verified: input.email_verified,
    name: input.name,
    groups: Object.freeze([...input.groups]),
    idp_iss: input.idp_iss,
    ...(input.idp_sid === undefined ? {} : { idp_sid: input.idp_sid }),
    auth_time: input.auth_time ?? iat,
    ...(input.idp_auth_time === undefined ? {} : { idp_auth_time: input.idp_auth_time }),
    ...(input.acr === undefined ? {} : { acr: input.acr }),
    ...(input.amr === undefined ? {} : { amr: Object.freeze([...input.amr]) }),
    claims,
    ...(input.host === undefined ? {} : { host: input.host.toLowerCase() }),
    ...(input.device_x5t === undefined ? {} : { device_x5t: input.device_x5t }),
    ...(input.device_id === undefined ? {} : { device_id: input.device_id }),
    ...(input.device_proved_at === undefined ? {} : { device_proved_at: input.device_proved_at }),
    ...(input.device_user_verified === undefined
      ? {}
      : { device_user_verified: input.device_user_verified }),
    iat,
    exp,
    ...(input.refresh_token === undefined ? {} : { refresh_token: input.refresh_token }),
    ...(input.access_token === undefined ? {} : { access_token: input.access_token }),
    ...(input.id_token === undefined ? {} : { id_token: input.id_token }),
  });
}

function recordData(session: VerifiedSession): JsonObject {
  return JSON.parse(JSON.stringify({ v: 1, session })) as JsonObject;
}

/**
 * A stored record back as a session, every field type-checked (the record is authenticated by
 * the store's encryption; this guards against a record of another shape or version).
 *
 * @throws GatehouseError `ERR_SESSION_RECORD_INVALID`.
 */
function parseRecord(stored: StoredSession): VerifiedSession {
  const data = stored.data;
  const p = data['session'];
  if (data['v'] !== 1 || typeof p !== 'object' || p === null || Array.isArray(p)) throw bad();
  const s = p as Record<string, JsonValue | undefined>;
  const groups = s['groups'];
  const claims = s['claims'];
  if (
    typeof s['sub'] !== 'string' ||
    s['sub'] !== stored.sub ||
    s['sid'] !== stored.sid ||
    typeof s['sid'] !== 'string' ||
    !SESSION_ID_PATTERN.test(s['sid']) ||
    !(s['email'] === null || typeof s['email'] === 'string') ||
    typeof s['email_verified'] !== 'boolean' ||
    !(s['name'] === null || typeof s['name'] === 'string') ||
    !Array.isArray(groups) ||
    !groups.every((g) => typeof g === 'string') ||
    typeof s['idp_iss'] !== 'string' ||
    typeof s['auth_time'] !== 'number' ||
    typeof claims !== 'object' ||
    claims === null ||
    Array.isArray(claims) ||
    (s['host'] !== undefined && typeof s['host'] !== 'string') ||
    (s['idp_sid'] !== undefined && typeof s['idp_sid'] !== 'string') ||
    (s['idp_auth_time'] !== undefined && typeof s['idp_auth_time'] !== 'number') ||
    (s['acr'] !== undefined && typeof s['acr'] !== 'string') ||
    (s['amr'] !== undefined &&
      !(Array.isArray(s['amr']) && s['amr'].every((a) => typeof a === 'string'))) ||
    (s['device_x5t'] !== undefined &&
      !(typeof s['device_x5t'] === 'string' && /^[0-9a-f]{64}$/.test(s['device_x5t']))) ||
    (s['device_id'] !== undefined && typeof s['device_id'] !== 'string') ||
    (s['device_proved_at'] !== undefined && typeof s['device_proved_at'] !== 'number') ||
    (s['device_user_verified'] !== undefined && typeof s['device_user_verified'] !== 'boolean') ||
    (s['refresh_token'] !== undefined && typeof s['refresh_token'] !== 'string') ||
    (s['access_token'] !== undefined && typeof s['access_token'] !== 'string') ||
    (s['id_token'] !== undefined && typeof s['id_token'] !== 'string') ||
    typeof s['iat'] !== 'number' ||
    typeof s['exp'] !== 'number'
  )
    throw bad();
  return Object.freeze({
    sub: s['sub'],
    sid: s['sid'],
    email: s['email'],
    email_verified: s['email_verified'],
    name: s['name'],
    groups: Object.freeze(groups as string[]),
    idp_iss: s['idp_iss'],
    ...(typeof s['idp_sid'] === 'string' ? { idp_sid: s['idp_sid'] } : {}),
    auth_time: s['auth_time'],
    ...(typeof s['idp_auth_time'] === 'number' ? { idp_auth_time: s['idp_auth_time'] } : {}),
    ...(typeof s['acr'] === 'string' ? { acr: s['acr'] } : {}),
    ...(Array.isArray(s['amr']) ? { amr: Object.freeze(s['amr'] as string[]) } : {}),
    claims: claims as JsonObject,
    ...(typeof s['host'] === 'string' ? { host: s['host'] } : {}),
    ...(typeof s['device_x5t'] === 'string' ? { device_x5t: s['device_x5t'] } : {}),
    ...(typeof s['device_id'] === 'string' ? { device_id: s['device_id'] } : {}),
    ...(typeof s['device_proved_at'] === 'number'
      ? { device_proved_at: s['device_proved_at'] }
      : {}),
    ...(typeof s['device_user_verified'] === 'boolean'
      ? { device_user_verified: s['device_user_verified'] }
      : {}),
    iat: s['iat'],
    exp: s['exp'],
    ...(typeof s['refresh_token'] === 'string' ? { refresh_token: s['refresh_token'] } : {}),
    ...(typeof s['access_token'] === 'string' ? { access_token: s['access_token'] } : {}),
    ...(typeof s['id_token'] === 'string' ? { id_token: s['id_token'] } : {}),
  });
}

function bad(): GatehouseError {
  return new GatehouseError('ERR_SESSION_RECORD_INVALID', {
    cause: new Error('the record is not a session of this version'),
  });
}
