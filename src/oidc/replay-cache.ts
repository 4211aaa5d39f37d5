/**
 * A bounded, in-memory set of single-use values (OIDC `state`, hand-off `jti`) with expiry.
 *
 * It is per replica: a replayed callback that reaches another replica is still stopped by the
 * transaction cookie being cleared and by the IdP refusing a second exchange of the same code,
 * but not by this cache. A shared store (Redis) can implement the same interface later.
 */

/** Records single-use values. */
export interface ReplayCache {
  /**
   * Record `key` as used until `expiresAtMs`. Returns `true` the first time, `false` when the
   * key was already recorded and has not expired (a replay).
   */
  claim(key: string, expiresAtMs: number, nowMs: number): boolean;
  /** Number of live entries (for metrics and tests). */
  readonly size: number;
}

/**
 * A replay cache holding at most `maxEntries` keys. When full it drops expired keys first, then
 * the oldest: memory stays bounded under a flood, at the price of forgetting the oldest keys
 * (which still need their transaction cookie to be replayed).
 */
export function createReplayCache(maxEntries = 10_000): ReplayCache {
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
export const defaultReplayCache: ReplayCache = createReplayCache();
