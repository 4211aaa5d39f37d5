/**
 * Opening the configured session store (`session.store`) and its local cache.
 */
import type { SessionStoreConfig } from '../config/types.js';
import { SessionCache } from './cache.js';
import { MemoryStore } from './memory.js';
import { RedisStore } from './redis.js';
import { deriveStoreKeys } from './seal.js';
import type { SessionStore } from './types.js';

/** A store and this replica's cache in front of it. */
export interface OpenedSessionStore {
  readonly store: SessionStore;
  readonly cache: SessionCache;
  /** Stop the cache and disconnect the store. */
  close(): Promise<void>;
}

/**
 * Open the store `config` names and put a cache in front of it. `sessionKey` is the derived
 * session key (`SessionSecret.key` from src/keys/session-secret.ts); the store's record and
 * index keys are derived from it (src/store/seal.ts), so every replica with the same
 * `session.secret` reads the same records.
 *
 * @throws GatehouseError `ERR_SESSION_STORE_UNAVAILABLE` when a `redis` store cannot be reached
 *   or refuses the credentials within `connect_timeout_ms`.
 * @example
 *   const { cache } = await openSessionStore(config.session.store, secret.key);
 */
export async function openSessionStore(
  config: SessionStoreConfig,
  sessionKey: Uint8Array,
  options: { readonly now?: () => number } = {},
): Promise<OpenedSessionStore> {
  let store: SessionStore;
  if (config.kind === 'memory') {
    store = new MemoryStore(options.now === undefined ? {} : { now: options.now });
  } else {
    if (config.url === undefined) throw new Error('session.store.url: required (validated)');
    store = await RedisStore.open({
      url: config.url,
      keys: deriveStoreKeys(sessionKey),
      keyPrefix: config.key_prefix,
      commandTimeoutMs: config.command_timeout_ms,
      connectTimeoutMs: config.connect_timeout_ms,
      ...(config.username === undefined ? {} : { username: config.username }),
      ...(config.password === undefined ? {} : { password: config.password }),
      ...(config.tls?.ca_file === undefined ? {} : { caFile: config.tls.ca_file }),
      ...(config.tls?.server_name === undefined ? {} : { serverName: config.tls.server_name }),
      ...(options.now === undefined ? {} : { now: options.now }),
    });
  }
  const cache = new SessionCache(store, {
    maxEntries: config.cache_size,
    staleWindowMs: config.stale_window_ms,
    maxAgeMs: config.cache_max_age_ms,
    ...(options.now === undefined ? {} : { now: options.now }),
  });
  return {
    store,
    cache,
    close: async () => {
      cache.close();
      await store.close();
    },
  };
}
