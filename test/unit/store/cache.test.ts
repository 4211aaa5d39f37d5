/**
 * The per-replica cache, in front of a real memory store: LRU bound, invalidation by the change
 * feed, a fetch overtaken by a revocation, and the stale window (frozen clock).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SessionCache } from '../../../src/store/cache.js';
import { MemoryStore } from '../../../src/store/memory.js';
import type { StoreStatus, StoredSession } from '../../../src/store/types.js';
import { record } from '../../integration/store/support.js';

test('the cache keeps at most cache_size sessions, dropping the least recently used', async () => {
  const store = new MemoryStore();
  const cache = new SessionCache(store, { maxEntries: 2, staleWindowMs: 0 });
  const [a, b, c] = [record('a'), record('b'), record('c')];
  for (const r of [a, b, c]) await store.create(r);
  await cache.lookup(a.sid);
  await cache.lookup(b.sid);
  await cache.lookup(a.sid); // a is now the most recent
  await cache.lookup(c.sid); // evicts b
  assert.equal(cache.status().entries, 2);
  const again = await cache.lookup(a.sid);
  assert.ok(again.status === 'found' && again.from === 'cache');
  const evicted = await cache.lookup(b.sid);
  assert.ok(evicted.status === 'found' && evicted.from === 'store');
  cache.close();
  await store.close();
});

test('cache_size 0 asks the store every time', async () => {
  const store = new MemoryStore();
  const cache = new SessionCache(store, { maxEntries: 0, staleWindowMs: 0 });
  const r = record('a');
  await store.create(r);
  await cache.lookup(r.sid);
  const second = await cache.lookup(r.sid);
  assert.ok(second.status === 'found' && second.from === 'store');
  cache.close();
  await store.close();
});

test('a revocation on the feed drops the cached session at once', async () => {
  const store = new MemoryStore();
  const cache = new SessionCache(store, { maxEntries: 10, staleWindowMs: 0 });
  const r = record('a');
  await store.create(r);
  assert.equal((await cache.lookup(r.sid)).status, 'found');
  await store.revoke(r.sid);
  assert.equal((await cache.lookup(r.sid)).status, 'absent');
  assert.equal(cache.status().invalidations, 1);
  cache.close();
  await store.close();
});

/** A memory store whose reads wait until `release` is called, and whose reachability is set by the test. */
class SlowStore extends MemoryStore {
  gate: Promise<void> | undefined;
  reachable = true;
  override async get(sid: string): Promise<StoredSession | undefined> {
    const found = await super.get(sid);
    await this.gate;
    return found;
  }
  override status(): StoreStatus {
    return this.reachable ? { reachable: true } : { reachable: false, unreachableSince: 1000 };
  }
}

test('a read overtaken by a revocation is read again, never served or cached stale', async () => {
  const store = new SlowStore();
  const cache = new SessionCache(store, { maxEntries: 10, staleWindowMs: 0 });
  const r = record('a');
  await store.create(r);
  let release!: () => void;
  store.gate = new Promise((resolve) => {
    release = resolve;
  });
  const pending = cache.lookup(r.sid); // reads the record, then waits at the gate
  await new Promise((resolve) => setImmediate(resolve));
  await store.revoke(r.sid);
  store.gate = undefined;
  release();
  assert.equal((await pending).status, 'absent');
  assert.equal(cache.status().entries, 0);
  cache.close();
  await store.close();
});

test('with the store unreachable: cached sessions within the window, then unavailable; uncached never found', async () => {
  let now = 1000;
  const store = new SlowStore({ now: () => now });
  const cache = new SessionCache(store, { maxEntries: 10, staleWindowMs: 5000, now: () => now });
  const r = record('a', 10 ** 12);
  await store.create(r);
  await cache.lookup(r.sid);
  store.reachable = false;
  now = 6000;
  const stale = await cache.lookup(r.sid);
  assert.ok(stale.status === 'found' && stale.from === 'cache');
  assert.equal(cache.status().serving, 'stale');
  assert.equal(cache.status().staleHits, 1);
  now = 6001;
  const late = await cache.lookup(r.sid);
  assert.equal(late.status, 'unavailable');
  assert.equal(cache.status().serving, 'unavailable');
  cache.close();
  await store.close();
});
