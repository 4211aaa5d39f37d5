/**
 * Each replica's bounded local cache in front of the session store, so the Check path does not
 * wait on the network for a session it has seen recently.
 *
 * - LRU, at most `maxEntries` sessions.
 * - Invalidated by the store's change feed: a `revoked` or `updated` session is dropped at once
 *   (the next lookup asks the store); a `reset` (the feed reconnected and may have missed events)
 *   drops everything. A fetch that a change overtook is fetched again, never cached stale: every
 *   fetch in flight for the session is marked, not only the one new lookups would join.
 * - An entry is trusted for `maxAgeMs` at most, then read again from the store: a change the feed
 *   lost (a silently dead subscriber connection) is bounded by that age.
 * - While the store is unreachable, cached sessions keep working for `staleWindowMs` after it
 *   became unreachable (a store that cannot say since when is `unavailable` at once); after that
 *   every lookup is `unavailable`. A session revoked on the feed
 *   is gone from the cache, so it can only be `absent` or `unavailable`: never found.
 */
import { trimOldest } from '../cache/trim.js';
import { GatehouseError, hasCode } from '../errors/gatehouse-error.js';
import type { SessionStore, StoreChange, StoredSession } from './types.js';

/** What a lookup found. Only `found` may ever lead to an allow. */
export type SessionLookup =
  | { readonly status: 'found'; readonly session: StoredSession; readonly from: 'cache' | 'store' }
  /** Never created, revoked, or past its absolute end. */
  | { readonly status: 'absent' }
  /** The stored record failed authenticated decryption (`ERR_SESSION_RECORD_INVALID`). */
  | { readonly status: 'invalid'; readonly error: GatehouseError }
  /** The store cannot answer and the cache may not (`ERR_SESSION_STORE_UNAVAILABLE`). */
  | { readonly status: 'unavailable'; readonly error: GatehouseError };

/** Options for {@link SessionCache}. */
export interface SessionCacheOptions {
  /** Most sessions kept (`session.store.cache_size`); 0 turns the cache off. */
  readonly maxEntries: number;
  /** How long cached sessions are served after the store became unreachable (ms). */
  readonly staleWindowMs: number;
  /** Longest an entry is served before it is read again from the store (ms; default 60 s). */
  readonly maxAgeMs?: number;
  /** The clock, ms since the epoch. */
  readonly now?: () => number;
}

/** For readiness and metrics. */
export interface SessionCacheStatus {
  /** `live`: store reachable; `stale`: unreachable, within the window; `unavailable`: past it. */
  readonly serving: 'live' | 'stale' | 'unavailable';
  readonly entries: number;
  /** Counters since start. */
  readonly hits: number;
  readonly misses: number;
  readonly staleHits: number;
  readonly unavailable: number;
  readonly invalidations: number;
}

interface Fetch {
  promise?: Promise<SessionLookup>;
  /** Set when a change for this session arrived while the fetch was on the wire. */
  overtaken: boolean;
}

interface Entry {
  readonly session: StoredSession;
  /** When it was read from the store (ms). */
  readonly readAt: number;
}

/** Default {@link SessionCacheOptions.maxAgeMs}. */
const DEFAULT_MAX_AGE_MS = 60_000;

/**
 * The local cache of one replica.
 *
 * @example
 *   const cache = new SessionCache(store, { maxEntries: 10_000, staleWindowMs: 5000 });
 *   const result = await cache.lookup(sid);
 *   if (result.status !== 'found') deny(result);
 */
export class SessionCache {
  readonly #store: SessionStore;
  readonly #options: SessionCacheOptions;
  readonly #now: () => number;
  readonly #entries = new Map<string, Entry>();
  /** The fetch new lookups of a session join (until a change overtakes it). */
  readonly #joinable = new Map<string, Fetch>();
  /** Every fetch on the wire, per session: a change must mark all of them. */
  readonly #inFlight = new Map<string, Set<Fetch>>();
  readonly #maxAgeMs: number;
  readonly #unsubscribe: () => void;
  #hits = 0;
  #misses = 0;
  #staleHits = 0;
  #unavailable = 0;
  #invalidations = 0;

  constructor(store: SessionStore, options: SessionCacheOptions) {
    this.#store = store;
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#maxAgeMs = options.maxAgeMs ?? DEFAULT_MAX_AGE_MS;
    this.#unsubscribe = store.subscribe((change) => this.#onChange(change));
  }

  /**
   * Find a session: from the cache when it may be trusted, else from the store.
   *
   * @param options.fresh skip the cache (e.g. before ending a session for idleness, whose last
   *   use may have been on another replica).
   */
  async lookup(sid: string, options: { readonly fresh?: boolean } = {}): Promise<SessionLookup> {
    const now = this.#now();
    const cached = this.#entries.get(sid);
    if (cached !== undefined && options.fresh !== true) {
      if (cached.session.expiresAt <= now) {
        this.#entries.delete(sid);
        return { status: 'absent' };
      }
      const serving = this.#serving(now);
      if (serving === 'unavailable') return this.#unavailableResult();
      // Past its age and the store answers: read it again (the feed may have lost a change).
      if (serving === 'stale' || now - cached.readAt < this.#maxAgeMs) {
        // Refresh its place in the LRU order.
        this.#entries.delete(sid);
        this.#entries.set(sid, cached);
        if (serving === 'stale') this.#staleHits++;
        else this.#hits++;
        return { status: 'found', session: cached.session, from: 'cache' };
      }
    }
    this.#misses++;
    return this.#fetch(sid);
  }

  /** Drop one session from this replica's cache (e.g. right after revoking it here). */
  forget(sid: string): void {
    this.#invalidate(sid);
  }

  /** What the cache serves now, and its counters. */
  status(): SessionCacheStatus {
    return {
      serving: this.#serving(this.#now()),
      entries: this.#entries.size,
      hits: this.#hits,
      misses: this.#misses,
      staleHits: this.#staleHits,
      unavailable: this.#unavailable,
      invalidations: this.#invalidations,
    };
  }

  /** Stop following the change feed and drop everything. */
  close(): void {
    this.#unsubscribe();
    this.#entries.clear();
  }

  #serving(now: number): SessionCacheStatus['serving'] {
    const status = this.#store.status();
    if (status.reachable) return 'live';
    // A store that cannot say since when it is unreachable (closed) is not served from the cache.
    const since = status.unreachableSince;
    if (since === undefined) return 'unavailable';
    return now - since <= this.#options.staleWindowMs ? 'stale' : 'unavailable';
  }

  #fetch(sid: string): Promise<SessionLookup> {
    const pending = this.#joinable.get(sid);
    if (pending?.promise !== undefined && !pending.overtaken) return pending.promise;
    const fetch: Fetch = { overtaken: false };
    this.#joinable.set(sid, fetch);
    let all = this.#inFlight.get(sid);
    if (all === undefined) {
      all = new Set();
      this.#inFlight.set(sid, all);
    }
    all.add(fetch);
    fetch.promise = this.#fetchOnce(sid, fetch).finally(() => {
      if (this.#joinable.get(sid) === fetch) this.#joinable.delete(sid);
      const still = this.#inFlight.get(sid);
      still?.delete(fetch);
      if (still?.size === 0) this.#inFlight.delete(sid);
    });
    return fetch.promise;
  }

  async #fetchOnce(sid: string, fetch: Fetch): Promise<SessionLookup> {
    // Twice at most: a change that overtakes the first read means it may be stale.
    for (let attempt = 0; ; attempt++) {
      fetch.overtaken = false;
      let session: StoredSession | undefined;
      try {
        session = await this.#store.get(sid);
      } catch (cause) {
        if (hasCode(cause, 'ERR_SESSION_RECORD_INVALID'))
          return { status: 'invalid', error: cause as GatehouseError };
        return this.#unavailableResult(cause);
      }
      if (fetch.overtaken && attempt === 0) continue;
      if (fetch.overtaken) return this.#unavailableResult(new Error('the session kept changing'));
      if (session === undefined || session.expiresAt <= this.#now()) {
        this.#entries.delete(sid);
        return { status: 'absent' };
      }
      this.#remember(session);
      return { status: 'found', session, from: 'store' };
    }
  }

  #remember(session: StoredSession): void {
    if (this.#options.maxEntries <= 0) return;
    this.#entries.delete(session.sid);
    this.#entries.set(session.sid, { session, readAt: this.#now() });
    trimOldest(this.#entries, this.#options.maxEntries);
  }

  #unavailableResult(cause?: unknown): SessionLookup {
    this.#unavailable++;
    const error =
      cause === undefined
        ? new GatehouseError('ERR_SESSION_STORE_UNAVAILABLE', {
            cause: new Error('the store has been unreachable longer than the stale window'),
          })
        : GatehouseError.from(cause, 'ERR_SESSION_STORE_UNAVAILABLE');
    return { status: 'unavailable', error };
  }

  #onChange(change: StoreChange): void {
    if (change.kind === 'reset') {
      this.#invalidations += this.#entries.size;
      this.#entries.clear();
      for (const fetches of this.#inFlight.values()) for (const f of fetches) f.overtaken = true;
      return;
    }
    this.#invalidate(change.sid);
  }

  #invalidate(sid: string): void {
    if (this.#entries.delete(sid)) this.#invalidations++;
    for (const fetch of this.#inFlight.get(sid) ?? []) fetch.overtaken = true;
  }
}
