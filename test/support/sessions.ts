/**
 * Server-side sessions on a memory store, for tests that drive the sign-in flow or the session
 * book without a running Gatehouse.
 */
import {
  createSessionBook,
  type SessionBook,
  type SessionBookOptions,
} from '../../src/identity/session/book.js';
import type { KeyRing } from '../../src/keys/key-ring.js';
import { SessionCache } from '../../src/store/cache.js';
import { MemoryStore } from '../../src/store/memory.js';

/** A memory store, its cache and a session book over them. */
export interface MemorySessions {
  readonly store: MemoryStore;
  readonly cache: SessionCache;
  readonly book: SessionBook;
  close(): Promise<void>;
}

/** Sessions for `ring` on a fresh memory store (defaults: ttl 3600 s, no idle timeout). */
export function memorySessions(
  ring: KeyRing,
  overrides: Partial<Omit<SessionBookOptions, 'ring' | 'store' | 'cache'>> = {},
): MemorySessions {
  const now = overrides.now;
  const store = new MemoryStore(now === undefined ? {} : { now });
  const cache = new SessionCache(store, {
    maxEntries: 1000,
    staleWindowMs: 5000,
    ...(now === undefined ? {} : { now }),
  });
  const book = createSessionBook({
    ring,
    store,
    cache,
    ttlSeconds: 3600,
    absoluteLifetimeSeconds: 7 * 24 * 3600,
    idleTimeoutSeconds: 0,
    touchIntervalMs: 60_000,
    clockToleranceSeconds: 30,
    ...overrides,
  });
  return {
    store,
    cache,
    book,
    close: async () => {
      cache.close();
      await store.close();
    },
  };
}
