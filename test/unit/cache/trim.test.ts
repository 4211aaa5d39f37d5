/**
 * trimOldest (src/cache/trim.ts) evicts a batch of the oldest entries with one iterator. On
 * random sequences of what the caches do (insert, hit = delete and set again, delete, clear) it
 * must leave exactly the entries that evicting one at a time with a fresh `keys().next()` leaves
 * when trimming to the same size, in the same order — across V8's rehashes (many holes) and
 * clears — and never more than the capacity.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { EVICTION_BATCH, trimOldest } from '../../../src/cache/trim.js';
import { prng } from '../../support/random-check-request.js';

/** The reference: over capacity, evict one at a time, each with a fresh iterator. */
function trimOneByOne(map: Map<number, number>, capacity: number): void {
  if (map.size <= capacity) return;
  const keep = capacity - Math.floor(capacity / EVICTION_BATCH);
  while (map.size > keep) {
    const oldest = map.keys().next();
    if (oldest.done === true) break;
    map.delete(oldest.value);
  }
}

for (const capacity of [1, 3, 63, 64, 200]) {
  test(`trim: evicts the oldest entries exactly, in batches (capacity ${capacity})`, () => {
    const next = prng(capacity);
    const reference = new Map<number, number>();
    const trimmed = new Map<number, number>();
    let evictions = 0;
    for (let step = 0; step < 20_000; step++) {
      const roll = next();
      const key = Math.floor(next() * capacity * 3);
      if (roll < 0.6) {
        for (const map of [reference, trimmed]) {
          map.delete(key);
          map.set(key, step);
        }
        const before = reference.size;
        trimOneByOne(reference, capacity);
        trimOldest(trimmed, capacity);
        evictions += before - reference.size;
        assert.ok(trimmed.size <= capacity);
      } else if (roll < 0.85) {
        // A hit: most recently used last.
        for (const map of [reference, trimmed]) {
          const value = map.get(key);
          if (value !== undefined) {
            map.delete(key);
            map.set(key, value);
          }
        }
      } else if (roll < 0.999) {
        reference.delete(key);
        trimmed.delete(key);
      } else {
        reference.clear();
        trimmed.clear();
      }
      assert.deepEqual([...trimmed], [...reference], `step ${step}`);
    }
    assert.ok(evictions > 1000, `${evictions} evictions`);
  });
}

test('trim: a cache over its capacity keeps its newest entries, a 64th fewer from 64 entries up', () => {
  const map = new Map<number, number>();
  for (let i = 0; i < 129; i++) map.set(i, i);
  trimOldest(map, 128);
  assert.deepEqual(
    [...map.keys()],
    Array.from({ length: 126 }, (_, i) => i + 3),
  );
  const small = new Map<number, number>([
    [1, 1],
    [2, 2],
    [3, 3],
  ]);
  trimOldest(small, 2);
  assert.deepEqual([...small.keys()], [2, 3]);
  trimOldest(small, 5);
  assert.deepEqual([...small.keys()], [2, 3]);
});

test('trim: nothing of a trimmed map is pinned (no iterator outlives a call)', async () => {
  // A Map iterator kept between calls would hold every hash table V8 replaced since, and with
  // them deleted entries' values.
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const map = new Map<number, object>();
  for (let i = 0; i < 200; i++) map.set(i, {});
  trimOldest(map, 100);
  let value: object | undefined = { gone: true };
  const ref = new WeakRef(value);
  map.set(-1, value);
  value = undefined;
  // Hits: each leaves a hole, and V8 rehashes the table again and again (the replaced tables
  // still hold the entry set above), then the entry goes.
  const hits = () => {
    for (let i = 0; i < 50_000; i++) {
      const key = 101 + (i % 98);
      const entry = map.get(key);
      if (entry !== undefined) {
        map.delete(key);
        map.set(key, entry);
      }
    }
  };
  hits();
  map.delete(-1);
  hits();
  await new Promise((resolve) => setImmediate(resolve));
  gc();
  assert.equal(ref.deref(), undefined);
});
