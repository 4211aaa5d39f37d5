/**
 * Single-use values (OIDC `state`, hand-off transaction and `jti`) with expiry.
 *
 * Two implementations: {@link createReplayCache}, a bounded in-process set (one replica: what
 * tests and callers without a store use), and {@link storeReplayCache}, the session store's
 * `claimOnce` (src/store: the memory store is one process, Redis is every replica). Gatehouse
 * wires the store's (src/server/identity.ts), so a value used at one replica is refused at all.
 */
import type { OnceNamespace, SessionStore } from '../store/types.js';

/** Records single-use values. */
export interface ReplayCache {
  /**
   * Record `key` as used until `expiresAtMs`. Resolves `true` the first time, `false` when the
   * key was already recorded and has not expired (a replay). A store that cannot be reached
   * rejects (GatehouseError `ERR_SESSION_STORE_UNAVAILABLE`): the caller fails closed.
   */
  claim(key: string, expiresAtMs: number, nowMs: number): boolean | Promise<boolean>;
}

/** The in-process cache: synchronous, with its size for metrics and tests. */
export interface LocalReplayCache extends ReplayCache {
  claim(key: string, expiresAtMs: number, nowMs: number): boolean;
  /** Number of live entries (for metrics and tests). */
  readonly size: number;
}

/**
 * A replay cache in the session store's `namespace`: shared by every client of the store.
 *
 * @example const signIn = storeReplayCache(store, 'sign-in-state');
 */
export function storeReplayCache(store: SessionStore, namespace: OnceNamespace): ReplayCache {
  return {
    // At least 1 ms: a value claimed at its last moment is still remembered until it expires.
    claim: (key, expiresAtMs, nowMs) =>
      store.claimOnce(namespace, key, Math.max(1, expiresAtMs - nowMs)),
  };
}

/**
 * A replay cache holding at most `maxEntries` keys. When full it drops expired keys first, then
 * the oldest: memory stays bounded under a flood, at the price of forgetting the oldest keys
 * (which still need their transaction cookie to be replayed).
 */
export function createReplayCache(maxEntries = 10_000): LocalReplayCache {
  if (!Number.isInteger(maxEntries) || maxEntries < 1)
    throw new RangeError('maxEntries must be a positive integer');
  const entries = new Map<string, number>();

  function evict(nowMs: number): void {
    for (const [key, exp] of entries) if (exp <= nowMs) entries.delete(key);
    while (entries.size >= maxEntries) {
      const oldest = entries.keys().next();
      if (oldest.done === true) break;
      entries.delete(oldest.value);
    }
  }

  return {
    claim(key: string, expiresAtMs: number, nowMs: number): boolean {
      const exp = entries.get(key);
      if (exp !== undefined && exp > nowMs) return false;
      if (exp !== undefined) entries.delete(key);
      if (entries.size >= maxEntries) evict(nowMs);
      entries.set(key, expiresAtMs);
      return true;
    },
    get size(): number {
      return entries.size;
    },
  };
}

/** The process-wide cache used when the caller passes none. */
export const defaultReplayCache: LocalReplayCache = createReplayCache();
