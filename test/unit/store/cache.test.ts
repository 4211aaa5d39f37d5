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

/** A memory store whose every read waits at a gate of its own, opened by the test in any order. */
class GatedStore extends MemoryStore {
  readonly gates: (() => void)[] = [];
  override async get(sid: string): Promise<StoredSession | undefined> {
    const found = await super.get(sid);
    await new Promise<void>((resolve) => this.gates.push(resolve));
    return found;
  }
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

test('a fetch replaced by a newer one still learns of a later revocation: a revoked session is never cached', async () => {
  const store = new GatedStore();
  const cache = new SessionCache(store, { maxEntries: 10, staleWindowMs: 0 });
  const r = record('a');
  await store.create(r);
  const first = cache.lookup(r.sid); // read 0: the record, waiting
  await settle();
  assert.ok(await store.update({ ...r, data: { ...r.data, groups: ['changed'] } })); // overtakes it
  const second = cache.lookup(r.sid); // a new fetch (read 1) replaces it for new lookups
  await settle();
  store.gates[0]?.(); // the first fetch sees it was overtaken and reads again (read 2)
  await settle();
  assert.equal(store.gates.length, 3);
  await store.revoke(r.sid); // after read 2 took its value: read 2 is stale
  store.gates[2]?.();
  const firstResult = await first;
  assert.notEqual(
    firstResult.status,
    'found',
    'the first fetch must not return the revoked record',
  );
  store.gates[1]?.(); // the second fetch was overtaken too: it reads again (read 3)
  await settle();
  store.gates[3]?.();
  assert.equal((await second).status, 'absent');
  const later = cache.lookup(r.sid);
  await settle();
  for (const open of store.gates.slice(4)) open();
  assert.equal((await later).status, 'absent', 'nothing revoked stays in the cache');
  assert.equal(cache.status().entries, 0);
  cache.close();
  await store.close();
});

/** A memory store whose change feed never delivers (a silently dead subscriber connection). */
class DeafStore extends MemoryStore {
  override subscribe(): () => void {
    return () => undefined;
  }
}

test('an entry is read again after maxAgeMs: a revocation the feed lost ends within that age', async () => {
  let now = Date.now();
  const store = new DeafStore();
  const cache = new SessionCache(store, {
    maxEntries: 10,
    staleWindowMs: 0,
    maxAgeMs: 30_000,
    now: () => now,
  });
  const r = record('a');
  await store.create(r);
  assert.equal((await cache.lookup(r.sid)).status, 'found');
  await store.revoke(r.sid); // the feed never tells the cache
  now += 29_999;
  const cached = await cache.lookup(r.sid);
  assert.ok(cached.status === 'found' && cached.from === 'cache', 'within the age: the cache');
  now += 1;
  assert.equal((await cache.lookup(r.sid)).status, 'absent', 'past it: the store says revoked');
  assert.equal(cache.status().entries, 0);
  cache.close();
  await store.close();
});

/** A store unreachable without saying since when (e.g. closed). */
class ClosedStore extends MemoryStore {
  override status(): StoreStatus {
    return { reachable: false };
  }
}

test('a store unreachable without a since-time is unavailable, never stale forever', async () => {
  const store = new ClosedStore();
  const cache = new SessionCache(store, { maxEntries: 10, staleWindowMs: 5000 });
  const r = record('a');
  await store.create(r);
  await cache.lookup(r.sid); // cached (the read itself succeeds)
  assert.equal((await cache.lookup(r.sid)).status, 'unavailable');
  assert.equal(cache.status().serving, 'unavailable');
  cache.close();
  await store.close();
});
