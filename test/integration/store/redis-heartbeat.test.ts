/**
 * The `redis` store notices a Redis that stops answering without closing the connection (issue
 * 15, "the store unreachable"): a hung (SIGSTOPped) server, or a connection dropped without a FIN
 * by something in between. node-redis then still believes it is connected; without a heartbeat
 * the cache kept serving `live` forever, and a change published while the connection was silent
 * was lost, leaving a revoked session in the cache. Real Redis (test/support/redis.ts).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { type TestContext, test } from 'node:test';
import { SessionCache } from '../../../src/store/cache.js';
import { RedisStore, type RedisStoreOptions } from '../../../src/store/redis.js';
import { deriveStoreKeys } from '../../../src/store/seal.js';
import type { StoreChange } from '../../../src/store/types.js';
import { startBlackholeProxy } from '../../support/blackhole-proxy.js';
import { startRedis } from '../../support/redis.js';
import { record, within } from './support.js';

const keys = deriveStoreKeys(randomBytes(32));
/** A heartbeat every 200 ms, each PING (and command) bounded by 500 ms. */
const FAST: Partial<RedisStoreOptions> = { heartbeatIntervalMs: 200, commandTimeoutMs: 500 };

async function open(
  t: TestContext,
  url: string,
  extra: Partial<RedisStoreOptions> = {},
): Promise<RedisStore> {
  const store = await RedisStore.open({ url, keys, ...extra });
  t.after(() => store.close());
  return store;
}

function cacheOf(t: TestContext, store: RedisStore, staleWindowMs: number): SessionCache {
  const cache = new SessionCache(store, { maxEntries: 100, staleWindowMs });
  t.after(() => cache.close());
  return cache;
}

test('redis heartbeat: a paused Redis (SIGSTOP) makes the cache stale, then unavailable; resumed, it is live again', async (t) => {
  const server = await startRedis(t);
  if (server === undefined) return;
  const store = await open(t, server.url, FAST);
  const cache = cacheOf(t, store, 1500);
  const r = record('alice');
  await store.create(r);
  assert.equal((await cache.lookup(r.sid)).status, 'found');
  assert.equal(cache.status().serving, 'live');

  server.pause();
  t.after(() => server.resume());
  assert.ok(
    await within(3000, () => cache.status().serving !== 'live'),
    'the heartbeat notices a Redis that no longer answers',
  );
  assert.equal(store.status().reachable, false);
  assert.ok(
    await within(5000, async () => (await cache.lookup(r.sid)).status === 'unavailable'),
    'past the stale window the cached session is unavailable',
  );
  const denied = await cache.lookup(r.sid);
  assert.equal(
    denied.status === 'unavailable' ? denied.error.code : '',
    'ERR_SESSION_STORE_UNAVAILABLE',
  );
  assert.equal(cache.status().serving, 'unavailable');

  server.resume();
  assert.ok(await within(10_000, () => cache.status().serving === 'live'), 'live again');
  assert.equal((await cache.lookup(r.sid)).status, 'found');
});

test('redis heartbeat: a revocation missed on a silently dropped connection never leaves the session cached', async (t) => {
  const server = await startRedis(t);
  if (server === undefined) return;
  const proxy = await startBlackholeProxy(server.port);
  t.after(() => proxy.close());
  // This replica reaches Redis through the proxy; the other one directly.
  const replica = await open(t, `redis://127.0.0.1:${proxy.port}`, FAST);
  const other = await open(t, server.url);
  const heard: StoreChange[] = [];
  replica.subscribe((c) => heard.push(c));
  // A long stale window: only a reset on reconnecting can drop the revoked session.
  const cache = cacheOf(t, replica, 60_000);
  const r = record('alice');
  await other.create(r);
  assert.equal((await cache.lookup(r.sid)).status, 'found');
  const before = proxy.connections;

  proxy.silence();
  assert.equal(await other.revoke(r.sid), true);
  assert.ok(
    await within(5000, () => proxy.connections > before && replica.status().reachable),
    'the heartbeat replaces the silent connections with new ones',
  );
  assert.ok(
    heard.some((c) => c.kind === 'reset'),
    'the new subscription resets the caches',
  );
  assert.equal(heard.filter((c) => c.kind === 'revoked').length, 0, 'the revocation was missed');
  assert.equal((await cache.lookup(r.sid)).status, 'absent', 'the revoked session is gone');

  // The feed works on the new connections.
  const s = record('bob');
  await other.create(s);
  assert.equal((await cache.lookup(s.sid)).status, 'found');
  await other.revoke(s.sid);
  assert.ok(await within(1000, async () => (await cache.lookup(s.sid)).status === 'absent'));
});

test('redis store: a command sent to a Redis that stopped answering fails within command_timeout_ms, not never', async (t) => {
  const server = await startRedis(t);
  if (server === undefined) return;
  // No heartbeat during the test: the command's own bound must hold.
  const store = await open(t, server.url, { heartbeatIntervalMs: 60_000, commandTimeoutMs: 300 });
  server.pause();
  t.after(() => server.resume());
  const outcome = await Promise.race([
    store.get(record('alice').sid).then(
      () => 'answered',
      (err: unknown) => (err as { code?: string }).code,
    ),
    new Promise((resolve) => setTimeout(() => resolve('still waiting after 5 s'), 5000).unref()),
  ]);
  assert.equal(outcome, 'ERR_SESSION_STORE_UNAVAILABLE');
});
