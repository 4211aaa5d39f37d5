/**
 * The `memory` store against the store contract, and what is particular to it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MemoryStore } from '../../../src/store/memory.js';
import { storeContract } from './contract.js';
import { record } from './support.js';

storeContract('memory', async (t) => {
  const store = new MemoryStore({ sweepIntervalMs: 50 });
  t.after(() => store.close());
  return { a: store, b: store };
});

test('memory store: what a caller gets back is a copy, so it cannot change the stored session', async () => {
  const store = new MemoryStore();
  const r = record('alice');
  await store.create(r);
  const got = await store.get(r.sid);
  assert.ok(got);
  (got.data as { groups: string[] }).groups.push('admins');
  const again = await store.get(r.sid);
  assert.ok(again);
  assert.deepEqual(again.data['groups'], ['staff']);
  await store.close();
});

test('memory store: after close every call is ERR_SESSION_STORE_UNAVAILABLE', async () => {
  const store = new MemoryStore();
  await store.close();
  await assert.rejects(store.get('x'), { code: 'ERR_SESSION_STORE_UNAVAILABLE' });
  assert.equal(store.status().reachable, false);
});
