/**
 * The `redis` store against a real Redis (Debian's redis-server, test/support/redis.ts): the
 * store contract, records encrypted at rest, ACL credentials, TLS, the change feed across
 * replicas, and what happens while Redis restarts or is gone.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { type TestContext, test } from 'node:test';
import { createClient } from 'redis';
import { SessionCache } from '../../../src/store/cache.js';
import { RedisStore, type RedisStoreOptions } from '../../../src/store/redis.js';
import { deriveStoreKeys, idpIndexId, userIndexId } from '../../../src/store/seal.js';
import type { StoreChange } from '../../../src/store/types.js';
import { TestCa } from '../../support/certs.js';
import { type RedisOptions, startRedis, type TestRedis } from '../../support/redis.js';
import { storeContract } from './contract.js';
import { record, within } from './support.js';

const sessionKey = randomBytes(32);
const keys = deriveStoreKeys(sessionKey);

async function open(
  t: TestContext,
  url: string,
  extra: Partial<RedisStoreOptions> = {},
): Promise<RedisStore> {
  const store = await RedisStore.open({ url, keys, commandTimeoutMs: 2000, ...extra });
  t.after(() => store.close());
  return store;
}

async function redis(t: TestContext, options?: RedisOptions): Promise<TestRedis | undefined> {
  return startRedis(t, options);
}

/** A plain client, to look at and tamper with what the store wrote. */
async function raw(t: TestContext, url: string) {
  const client = createClient({ url });
  client.on('error', () => {});
  await client.connect();
  t.after(() => client.destroy());
  return client;
}

storeContract('redis', async (t) => {
  const server = await redis(t);
  if (server === undefined) return undefined;
  return { a: await open(t, server.url), b: await open(t, server.url) };
});

test('redis store: records are encrypted at rest; no subject, email or token is readable in Redis', async (t) => {
  const server = await redis(t);
  if (server === undefined) return;
  const store = await open(t, server.url);
  const r = record('alice-subject');
  await store.create(r);
  const client = await raw(t, server.url);
  const dump: string[] = [];
  for await (const batch of client.scanIterator({ MATCH: '*' })) {
    for (const key of batch) {
      dump.push(key);
      const type = await client.type(key);
      if (type === 'hash') dump.push(...Object.values(await client.hGetAll(key)));
      if (type === 'set') dump.push(...(await client.sMembers(key)));
    }
  }
  const text = dump.join('\n');
  assert.ok(text.includes(r.sid), 'the session id names the key');
  for (const secret of ['alice-subject', 'example.com', `rt-${r.sid}`, 'staff'])
    assert.ok(!text.includes(secret), `${secret} must not be stored in clear`);
});

test('redis store: a tampered record is refused (ERR_SESSION_RECORD_INVALID), never read', async (t) => {
  const server = await redis(t);
  if (server === undefined) return;
  const store = await open(t, server.url);
  const r = record('alice');
  await store.create(r);
  const client = await raw(t, server.url);
  const key = `gatehouse:s:${r.sid}`;
  const sealed = (await client.hGet(key, 'rec')) ?? '';
  const body = Buffer.from(sealed.slice(3), 'base64url');
  body[20] = (body[20] ?? 0) ^ 1;
  await client.hSet(key, 'rec', `v1.${body.toString('base64url')}`);
  await assert.rejects(store.get(r.sid), { code: 'ERR_SESSION_RECORD_INVALID' });
  const cache = new SessionCache(store, { maxEntries: 10, staleWindowMs: 1000 });
  t.after(() => cache.close());
  assert.equal((await cache.lookup(r.sid)).status, 'invalid');
});

test("redis store: a record copied under another session's id is refused (the id is authenticated)", async (t) => {
  const server = await redis(t);
  if (server === undefined) return;
  const store = await open(t, server.url);
  const mallory = record('mallory');
  const admin = record('admin');
  await store.create(mallory);
  await store.create(admin);
  const client = await raw(t, server.url);
  const sealed = (await client.hGet(`gatehouse:s:${admin.sid}`, 'rec')) ?? '';
  await client.hSet(`gatehouse:s:${mallory.sid}`, 'rec', sealed);
  await assert.rejects(store.get(mallory.sid), { code: 'ERR_SESSION_RECORD_INVALID' });
  assert.equal((await store.get(admin.sid))?.sub, 'admin');
});

test('redis store: a record sealed under another session secret is refused', async (t) => {
  const server = await redis(t);
  if (server === undefined) return;
  const other = await open(t, server.url, { keys: deriveStoreKeys(randomBytes(32)) });
  const store = await open(t, server.url);
  const r = record('alice');
  await other.create(r);
  await assert.rejects(store.get(r.sid), { code: 'ERR_SESSION_RECORD_INVALID' });
});

test("redis store: a revocation through one replica empties another replica's cache within 1 s", async (t) => {
  const server = await redis(t);
  if (server === undefined) return;
  const [one, two, three] = [
    await open(t, server.url),
    await open(t, server.url),
    await open(t, server.url),
  ];
  const caches = [two, three].map(
    (s) => new SessionCache(s, { maxEntries: 100, staleWindowMs: 5000 }),
  );
  t.after(() => {
    for (const c of caches) c.close();
  });
  const r = record('alice');
  await one.create(r);
  for (const cache of caches) {
    assert.equal((await cache.lookup(r.sid)).status, 'found');
    const again = await cache.lookup(r.sid);
    assert.ok(again.status === 'found' && again.from === 'cache');
  }
  await one.revoke(r.sid);
  for (const cache of caches) {
    assert.ok(
      await within(1000, async () => (await cache.lookup(r.sid)).status === 'absent'),
      'the revoked session must be refused on every replica within 1 s',
    );
  }
});

test("redis store: a sign-in drops the ended sessions' ids from the user's and the IdP session's indexes", async (t) => {
  const server = await redis(t);
  if (server === undefined) return;
  const store = await open(t, server.url);
  const client = await raw(t, server.url);
  const idp = { iss: 'https://idp.example', sid: 'idp-session-1' };
  const userIndex = `gatehouse:u:${userIndexId(keys, 'carol')}`;
  const idpIndex = `gatehouse:i:${idpIndexId(keys, idp.iss, idp.sid)}`;
  // Two sessions that end on their own (their keys expire), one that lives on.
  const ended = [record('carol', 300), { ...record('carol', 300), idp }];
  const living = { ...record('carol'), idp };
  for (const r of [...ended, living]) assert.ok(await store.create(r));
  assert.equal((await client.sMembers(userIndex)).length, 3);
  assert.ok(
    await within(2000, async () => {
      for (const r of ended) if ((await client.exists(`gatehouse:s:${r.sid}`)) !== 0) return false;
      return true;
    }),
    'the short sessions expired',
  );
  const next = { ...record('carol'), idp };
  assert.ok(await store.create(next));
  assert.deepEqual((await client.sMembers(userIndex)).sort(), [living.sid, next.sid].sort());
  assert.deepEqual((await client.sMembers(idpIndex)).sort(), [living.sid, next.sid].sort());
  // Revocation by user still reaches every live session.
  assert.deepEqual([...(await store.revokeUser('carol'))].sort(), [living.sid, next.sid].sort());

  // The work per sign-in is bounded (the script blocks Redis while it runs): of 1,000 ended ids,
  // one sign-in checks and drops 16.
  const daveIndex = `gatehouse:u:${userIndexId(keys, 'dave')}`;
  await client.sAdd(
    daveIndex,
    Array.from({ length: 1000 }, (_, i) => `ended-${i}`),
  );
  assert.ok(await store.create(record('dave')));
  assert.equal(await client.sCard(daveIndex), 1000 - 16 + 1);
});

test('redis store: an update through one replica is what another replica reads next', async (t) => {
  const server = await redis(t);
  if (server === undefined) return;
  const one = await open(t, server.url);
  const two = await open(t, server.url);
  const cache = new SessionCache(two, { maxEntries: 100, staleWindowMs: 5000 });
  t.after(() => cache.close());
  const r = record('alice');
  await one.create(r);
  await cache.lookup(r.sid);
  await one.update({ ...r, data: { groups: [] } });
  assert.ok(
    await within(1000, async () => {
      const got = await cache.lookup(r.sid);
      return got.status === 'found' && JSON.stringify(got.session.data) === '{"groups":[]}';
    }),
  );
});

test('redis store: after Redis restarts the store reconnects by itself and tells caches to start over', async (t) => {
  const server = await redis(t);
  if (server === undefined) return;
  const store = await open(t, server.url);
  const heard: StoreChange[] = [];
  store.subscribe((c) => heard.push(c));
  const cache = new SessionCache(store, { maxEntries: 100, staleWindowMs: 60_000 });
  t.after(() => cache.close());
  const r = record('alice');
  await store.create(r);
  assert.equal((await cache.lookup(r.sid)).status, 'found');
  await server.stop();
  assert.ok(await within(5000, () => !store.status().reachable), 'reports unreachable');
  // Within the stale window the cached session still works; a new one cannot be found.
  const stale = await cache.lookup(r.sid);
  assert.ok(stale.status === 'found' && stale.from === 'cache');
  assert.equal(cache.status().serving, 'stale');
  assert.equal((await cache.lookup(record('bob').sid)).status, 'unavailable');
  await server.start(); // empty: the session is gone with the old Redis
  assert.ok(await within(10_000, () => store.status().reachable), 'reconnects');
  assert.ok(
    heard.some((c) => c.kind === 'reset'),
    'a reset after reconnecting',
  );
  assert.equal((await cache.lookup(r.sid)).status, 'absent', 'the cache was dropped');
  const fresh = record('carol');
  assert.equal(await store.create(fresh), true);
  assert.equal((await store.get(fresh.sid))?.sub, 'carol');
});

test('redis store: while Redis is gone, cached sessions work for the stale window, then every lookup is unavailable', async (t) => {
  const server = await redis(t);
  if (server === undefined) return;
  // One controllable clock for the store and the cache: the window is measured on it, so the
  // test does not depend on how fast this machine is.
  let offset = 0;
  const now = () => Date.now() + offset;
  const store = await open(t, server.url, { now });
  const other = await open(t, server.url);
  const cache = new SessionCache(store, { maxEntries: 100, staleWindowMs: 5000, now });
  t.after(() => cache.close());
  const kept = record('alice');
  const revoked = record('bob');
  await store.create(kept);
  await store.create(revoked);
  assert.equal((await cache.lookup(kept.sid)).status, 'found');
  assert.equal((await cache.lookup(revoked.sid)).status, 'found');
  await other.revoke(revoked.sid);
  assert.ok(await within(1000, async () => (await cache.lookup(revoked.sid)).status === 'absent'));
  await server.stop();
  assert.ok(await within(5000, () => !store.status().reachable));
  const during = await cache.lookup(kept.sid);
  assert.equal(during.status, 'found');
  const gone = await cache.lookup(revoked.sid);
  assert.equal(gone.status, 'unavailable', 'a revoked session is never served while Redis is gone');
  offset += 5001;
  const after = await cache.lookup(kept.sid);
  assert.equal(after.status, 'unavailable');
  assert.equal(
    after.status === 'unavailable' ? after.error.code : '',
    'ERR_SESSION_STORE_UNAVAILABLE',
  );
  assert.equal(cache.status().serving, 'unavailable');
  await assert.rejects(store.claimOnce('handoff-jti', 'x', 1000), {
    code: 'ERR_SESSION_STORE_UNAVAILABLE',
  });
  await assert.rejects(store.acquireLock('l', 1000), { code: 'ERR_SESSION_STORE_UNAVAILABLE' });
});

test('redis store: open fails with ERR_SESSION_STORE_UNAVAILABLE when Redis is not there', async (t) => {
  const server = await redis(t);
  if (server === undefined) return;
  await server.stop();
  await assert.rejects(RedisStore.open({ url: server.url, keys, connectTimeoutMs: 500 }), {
    code: 'ERR_SESSION_STORE_UNAVAILABLE',
  });
});

test('redis store: ACL user and password (with the rights docs/reference/session-store.md lists); a wrong password is refused at open', async (t) => {
  const user = {
    name: 'gatehouse',
    password: randomBytes(12).toString('hex'),
    rights: [
      '~gatehouse:*',
      '&gatehouse:changes',
      '+@read',
      '+@write',
      '+@pubsub',
      '+@scripting',
      '+@keyspace',
      '+@connection',
    ],
  };
  const server = await redis(t, { user });
  if (server === undefined) return;
  await assert.rejects(
    RedisStore.open({
      url: server.url,
      keys,
      connectTimeoutMs: 1000,
      username: user.name,
      password: 'wrong',
    }),
    { code: 'ERR_SESSION_STORE_UNAVAILABLE' },
  );
  await assert.rejects(RedisStore.open({ url: server.url, keys, connectTimeoutMs: 1000 }), {
    code: 'ERR_SESSION_STORE_UNAVAILABLE',
  });
  const store = await open(t, server.url, { username: user.name, password: user.password });
  const r = record('alice');
  assert.equal(await store.create(r), true);
  assert.equal((await store.get(r.sid))?.sub, 'alice');
  const inUrl = await open(t, server.url.replace('//', `//${user.name}:${user.password}@`));
  assert.equal((await inUrl.get(r.sid))?.sub, 'alice');
  // Every operation works with those rights alone.
  await inUrl.touch(r.sid, Date.now());
  await inUrl.update({ ...r, data: {} });
  assert.equal((await inUrl.list()).length, 1);
  assert.equal(await inUrl.claimOnce('handoff-jti', 'j', 1000), true);
  const lease = await inUrl.acquireLock('l', 1000);
  assert.equal(await lease?.release(), true);
  const heard: StoreChange[] = [];
  store.subscribe((c) => heard.push(c));
  assert.deepEqual(await inUrl.revokeUser('alice'), [r.sid]);
  assert.ok(await within(1000, () => heard.some((c) => c.kind === 'revoked')));
});

test('redis store: TLS (rediss://) with a CA file; a server the CA did not sign is refused', async (t) => {
  const ca = new TestCa('redis-test-ca');
  const leaf = ca.issue('redis', ['IP:127.0.0.1', 'DNS:redis.test']);
  const server = await redis(t, { tls: { cert: leaf.cert, key: leaf.key, ca: ca.cert } });
  if (server === undefined) return;
  const store = await open(t, server.url, { caFile: ca.cert });
  const r = record('alice');
  assert.equal(await store.create(r), true);
  assert.equal((await store.get(r.sid))?.sub, 'alice');
  const named = await open(t, server.url.replace('127.0.0.1', 'localhost'), {
    caFile: ca.cert,
    serverName: 'redis.test',
  });
  assert.equal((await named.get(r.sid))?.sub, 'alice');
  const otherCa = new TestCa('another-ca');
  await assert.rejects(
    RedisStore.open({ url: server.url, keys, caFile: otherCa.cert, connectTimeoutMs: 1000 }),
    { code: 'ERR_SESSION_STORE_UNAVAILABLE' },
  );
});
