/**
 * OldestFirst (src/cache/oldest-first.ts) evicts with one iterator kept across evictions. On
 * random sequences of what the caches do (insert, hit = delete and set again, delete, clear,
 * trim) it must leave exactly the entries a fresh `keys().next()` per eviction leaves, in the
 * same order — across V8's rehashes (small capacities, many holes) and clears.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { OldestFirst } from '../../../src/cache/oldest-first.js';

function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function trimFresh(map: Map<number, number>, max: number): void {
  while (map.size > max) {
    const oldest = map.keys().next();
    if (oldest.done === true) break;
    map.delete(oldest.value);
  }
}

for (const capacity of [1, 3, 16, 100]) {
  test(`oldest-first: evicts exactly as a fresh iterator would (capacity ${capacity})`, () => {
    const next = random(capacity);
    const reference = new Map<number, number>();
    const kept = new Map<number, number>();
    const oldest = new OldestFirst(kept);
    let evictions = 0;
    for (let step = 0; step < 20_000; step++) {
      const roll = next();
      const key = Math.floor(next() * capacity * 3);
      if (roll < 0.6) {
        for (const map of [reference, kept]) {
          map.delete(key);
          map.set(key, step);
        }
        const before = reference.size;
        trimFresh(reference, capacity);
        oldest.trimTo(capacity);
        evictions += before - reference.size;
      } else if (roll < 0.85) {
        // A hit: most recently used last.
        for (const map of [reference, kept]) {
          const value = map.get(key);
          if (value !== undefined) {
            map.delete(key);
            map.set(key, value);
          }
        }
      } else if (roll < 0.999) {
        reference.delete(key);
        kept.delete(key);
      } else {
        reference.clear();
        kept.clear();
      }
      assert.deepEqual([...kept], [...reference], `step ${step}`);
    }
    assert.ok(evictions > 1000, `${evictions} evictions`);
  });
}

test('oldest-first: a map trimmed to empty, then refilled, keeps its oldest-first order', () => {
  const map = new Map<string, number>([['a', 1]]);
  const oldest = new OldestFirst(map);
  map.set('b', 2);
  oldest.trimTo(0);
  assert.equal(map.size, 0);
  map.set('c', 3);
  map.set('d', 4);
  oldest.trimTo(1);
  assert.deepEqual([...map.keys()], ['d']);
  oldest.trimTo(5);
  assert.deepEqual([...map.keys()], ['d']);
});
