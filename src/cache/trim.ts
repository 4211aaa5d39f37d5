/**
 * Evicting the oldest entries of a `Map` kept in least-recently-used order (insertion order, a
 * hit deleted and set again), as Gatehouse's bounded caches are.
 *
 * One `map.keys().next()` per evicted entry is quadratic in disguise: V8 leaves a hole for each
 * deleted entry until the table is next rehashed, and a fresh iterator steps over every hole at
 * the front. In a full 10,000-entry cache that evicts on every insert that walk cost ~11 µs per
 * eviction (`node dist/bench/evict-micro.js`). So a cache over its capacity is trimmed by a
 * 64th of that capacity at once, with one iterator for the whole batch: the walk is paid once
 * per batch. A full cache then holds between 63/64 of its capacity and all of it.
 *
 * No iterator is kept between calls: a live Map iterator pins every hash table V8 has replaced
 * since it last moved, with their keys and values (~100 MB after two million hits on a
 * 10,000-entry map that evicts nothing).
 *
 * @example
 *   entries.set(key, entry);
 *   trimOldest(entries, capacity);
 */
export function trimOldest<K>(map: Map<K, unknown>, capacity: number): void {
  if (map.size <= capacity) return;
  const keep = capacity - Math.floor(capacity / EVICTION_BATCH);
  const keys = map.keys();
  while (map.size > keep) {
    const oldest = keys.next();
    if (oldest.done === true) return;
    map.delete(oldest.value);
  }
}

/** A cache over its capacity evicts `capacity / EVICTION_BATCH` entries (at least one) at once. */
export const EVICTION_BATCH = 64;
