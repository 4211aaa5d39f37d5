/**
 * The device registry and challenge store on the session store: the registry contract (the same
 * tests the in-memory registry passes) on the `memory` and `redis` stores, ceremonies across two
 * replicas of one Redis, and device records encrypted at rest.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { type TestContext, test } from 'node:test';
import { createClient } from 'redis';
import {
  authenticationOptions,
  verifyAuthentication,
} from '../../../src/device/webauthn/authentication.js';
import {
  registrationOptions,
  verifyRegistration,
} from '../../../src/device/webauthn/registration.js';
import {
  StoreChallengeStore,
  StoreDeviceRegistry,
} from '../../../src/device/webauthn/store-registry.js';
import { MemoryStore } from '../../../src/store/memory.js';
import { RedisStore } from '../../../src/store/redis.js';
import { deriveStoreKeys } from '../../../src/store/seal.js';
import { startRedis } from '../../support/redis.js';
import { registryAtomicContract, registryContract } from '../../unit/device/registry-contract.js';
import { authenticator, rejectsWith, SETTINGS, SUB } from '../../unit/device/support.js';

const keys = deriveStoreKeys(randomBytes(32));

registryContract('StoreDeviceRegistry on the memory store', async () => {
  return new StoreDeviceRegistry(new MemoryStore());
});
registryAtomicContract('StoreDeviceRegistry on the memory store', async () => {
  return new StoreDeviceRegistry(new MemoryStore());
});

async function redisRegistry(t: TestContext): Promise<StoreDeviceRegistry | undefined> {
  const server = await startRedis(t);
  if (server === undefined) return undefined;
  const store = await RedisStore.open({ url: server.url, keys });
  t.after(() => store.close());
  return new StoreDeviceRegistry(store);
}
registryContract('StoreDeviceRegistry on the redis store', redisRegistry);
registryAtomicContract('StoreDeviceRegistry on the redis store', redisRegistry);

test('two replicas on one Redis: enroll at one, prove at the other; a challenge answers once', async (t) => {
  const server = await startRedis(t);
  if (server === undefined) return;
  const [one, two] = await Promise.all([
    RedisStore.open({ url: server.url, keys }),
    RedisStore.open({ url: server.url, keys }),
  ]);
  t.after(async () => {
    await one.close();
    await two.close();
  });
  const now = () => Date.UTC(2026, 11, 1);
  const replica = (store: RedisStore) => ({
    settings: SETTINGS,
    registry: new StoreDeviceRegistry(store),
    challenges: new StoreChallengeStore(store),
    now,
  });
  const a = authenticator();
  const reg = await registrationOptions(replica(one), { sub: SUB, name: 'ada' });
  const device = await verifyRegistration(
    replica(two),
    SUB,
    a.register(reg.challenge, { counter: 1 }),
  );
  assert.equal((await replica(one).registry.get(device.id))?.approval, 'approved');

  const get = await authenticationOptions(replica(two), SUB);
  const response = a.assert(get.challenge, { counter: 2 });
  const proof = await verifyAuthentication(replica(one), SUB, response);
  assert.equal(proof.device.counter, 2);
  await rejectsWith(
    verifyAuthentication(replica(two), SUB, response),
    'ERR_DEVICE_CHALLENGE_INVALID',
  );

  // A cloned authenticator at both replicas at once: one assertion passes, never both.
  const [c1, c2] = await Promise.all([
    authenticationOptions(replica(one), SUB),
    authenticationOptions(replica(two), SUB),
  ]);
  const outcomes = await Promise.allSettled([
    verifyAuthentication(replica(one), SUB, a.assert(c1.challenge, { counter: 3 })),
    verifyAuthentication(replica(two), SUB, a.assert(c2.challenge, { counter: 3 })),
  ]);
  assert.equal(outcomes.filter((o) => o.status === 'fulfilled').length, 1);
  assert.equal((await replica(two).registry.get(device.id))?.counter, 3);
});

test('device records and challenges are encrypted at rest; no subject or key in Redis', async (t) => {
  const server = await startRedis(t);
  if (server === undefined) return;
  const store = await RedisStore.open({ url: server.url, keys });
  t.after(() => store.close());
  const d = {
    settings: SETTINGS,
    registry: new StoreDeviceRegistry(store),
    challenges: new StoreChallengeStore(store),
  };
  const a = authenticator();
  const sub = 'subject-ada-7f3e';
  const reg = await registrationOptions(d, { sub, name: 'ada' });
  const device = await verifyRegistration(d, sub, a.register(reg.challenge));
  await authenticationOptions(d, sub);
  const client = createClient({ url: server.url });
  client.on('error', () => {});
  await client.connect();
  t.after(() => client.destroy());
  const dump: string[] = [];
  for await (const batch of client.scanIterator({ MATCH: '*' })) {
    for (const key of batch) {
      dump.push(key);
      const type = await client.type(key);
      if (type === 'hash') dump.push(...Object.values(await client.hGetAll(key)));
      else if (type === 'string') dump.push((await client.get(key)) ?? '');
      else if (type === 'set') dump.push(...(await client.sMembers(key)));
    }
  }
  const text = dump.join('\n');
  assert.ok(
    dump.some((k) => k.startsWith('gatehouse:d:')),
    'the device is stored',
  );
  assert.ok(
    dump.some((k) => k.startsWith('gatehouse:v:webauthn-challenge:')),
    'the challenge too',
  );
  for (const secret of [sub, device.public_key, 'ada', 'approved'])
    assert.ok(!text.includes(secret), `${secret} readable in Redis`);

  // Moved under another device's key, a record is refused (its id is authenticated).
  const [from] = await client.keys('gatehouse:d:*');
  assert.ok(from !== undefined);
  const other = `gatehouse:d:${Buffer.from('other-device').toString('base64url')}`;
  await client.hSet(other, { rec: (await client.hGet(from, 'rec')) ?? '', rev: '1' });
  await rejectsWith(d.registry.get('other-device'), 'ERR_SESSION_RECORD_INVALID');
});
