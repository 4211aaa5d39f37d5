/**
 * Each replica's bounded local cache in front of the session store, so the Check path does not
 * wait on the network for a session it has seen recently.
 *
 * - LRU, at most `maxEntries` sessions.
 * - Invalidated by the store's change feed: a `revoked` or `updated` session is dropped at once
 *   (the next lookup asks the store); a `reset` (the feed reconnected and may have missed events)
 *   drops everything. A fetch that a change overtook is fetched again, never cached stale.
 * - While the store is unreachable, cached sessions keep working for `staleWindowMs` after it
 *   became unreachable; after that every lookup is `unavailable`. A session revoked on the feed
 *   is gone from the cache, so it can only be `absent` or `unavailable`: never found.
 */
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
  readonly #entries = new Map<string, StoredSession>();
  readonly #fetches = new Map<string, Fetch>();
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
      if (cached.expiresAt <= now) {
        this.#entries.delete(sid);
        return { status: 'absent' };
      }
      const serving = this.#serving(now);
      if (serving === 'unavailable') return this.#unavailableResult();
      // Refresh its place in the LRU order.
      this.#entries.delete(sid);
      this.#entries.set(sid, cached);
      if (serving === 'stale') this.#staleHits++;
      else this.#hits++;
      return { status: 'found', session: cached, from: 'cache' };
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
    const since = status.unreachableSince ?? now;
    return now - since <= this.#options.staleWindowMs ? 'stale' : 'unavailable';
  }

  #fetch(sid: string): Promise<SessionLookup> {
    const pending = this.#fetches.get(sid);
    if (pending?.promise !== undefined && !pending.overtaken) return pending.promise;
    const fetch: Fetch = { overtaken: false };
    this.#fetches.set(sid, fetch);
    fetch.promise = this.#fetchOnce(sid, fetch).finally(() => {
      if (this.#fetches.get(sid) === fetch) this.#fetches.delete(sid);
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
      if (session === undefined || session.expiresAt <= this.#now()) return { status: 'absent' };
      this.#remember(session);
      return { status: 'found', session, from: 'store' };
    }
  }

  #remember(session: StoredSession): void {
    if (this.#options.maxEntries <= 0) return;
    this.#entries.delete(session.sid);
    this.#entries.set(session.sid, session);
    while (this.#entries.size > this.#options.maxEntries) {
      const oldest = this.#entries.keys().next();
      if (oldest.done === true) break;
      this.#entries.delete(oldest.value);
    }
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
      for (const fetch of this.#fetches.values()) fetch.overtaken = true;
      return;
    }
    this.#invalidate(change.sid);
  }

  #invalidate(sid: string): void {
    if (this.#entries.delete(sid)) this.#invalidations++;
    const fetch = this.#fetches.get(sid);
    if (fetch !== undefined) fetch.overtaken = true;
  }
}
