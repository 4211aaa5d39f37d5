/**
 * Evicting the oldest entries of a `Map` kept in least-recently-used order (insertion order, a
 * hit deleted and set again), as Gatehouse's bounded caches are.
 *
 * `map.keys().next()` on every eviction is quadratic in disguise: V8 leaves a hole for each
 * deleted entry until the table is next rehashed, and a fresh iterator steps over every hole
 * at the front. In a full 10,000-entry cache that evicts on every insert, that walk cost ~11 µs
 * per eviction against ~0.5 µs for one iterator kept from eviction to eviction, which steps over
 * each hole once (`node dist/bench/evict-micro.js`). A live Map iterator
 * follows inserts, deletes, rehashes and `clear()`, and everything behind it has been evicted or
 * deleted, so the next key it gives is the oldest one left.
 *
 * @example
 *   const entries = new Map<string, Entry>();
 *   const oldest = new OldestFirst(entries);
 *   entries.set(key, entry);
 *   oldest.trimTo(capacity);
 */
export class OldestFirst<K> {
  readonly #map: Map<K, unknown>;
  #keys: Iterator<K>;

  constructor(map: Map<K, unknown>) {
    this.#map = map;
    this.#keys = map.keys();
  }

  /** Delete the oldest entries until at most `max` are left. */
  trimTo(max: number): void {
    while (this.#map.size > max) {
      let oldest = this.#keys.next();
      if (oldest.done === true) {
        // Cannot happen while entries are left (they are all ahead of the iterator); a finished
        // iterator would stay finished, so should it ever, start a new one rather than stop
        // evicting.
        this.#keys = this.#map.keys();
        oldest = this.#keys.next();
        if (oldest.done === true) return;
      }
      this.#map.delete(oldest.value);
    }
  }
}
