/**
 * The memory store's single-use keys are bounded: they can be made without signing in (one per
 * sign-in callback attempt), so an unauthenticated client must not grow the process without end.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_ONCE_KEYS, MemoryStore } from '../../../src/store/memory.js';

test('memory store: single-use keys stay bounded under a flood of claims; the newest stay single-use and locks are kept', async () => {
  const store = new MemoryStore();
  const lease = await store.acquireLock('refresh:s1', 600_000);
  assert.ok(lease);
  const flood = MAX_ONCE_KEYS + 20_000;
  for (let i = 0; i < flood; i++)
    assert.equal(await store.claimOnce('sign-in-state', `state-${i}`, 600_000), true);
  // The newest keys are still claimed: a replay of a recent state is refused.
  assert.equal(await store.claimOnce('sign-in-state', `state-${flood - 1}`, 600_000), false);
  // The oldest were dropped to keep the bound.
  assert.equal(await store.claimOnce('sign-in-state', 'state-0', 600_000), true);
  // The lock survived the flood.
  assert.equal(await store.acquireLock('refresh:s1', 600_000), undefined);
  assert.equal(await lease.release(), true);
  await store.close();
});
