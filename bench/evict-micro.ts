/**
 * Micro-benchmark of evicting from a full LRU `Map` (src/cache/trim.ts): a fresh
 * `map.keys().next()` per evicted entry against a batch of a 64th of the capacity evicted with one
 * iterator, each insert a new 43-character key (a credential hash) into a cache at capacity, the
 * two interleaved round by round in one process.
 *
 * Usage: taskset -c 1 node dist/bench/evict-micro.js [--capacity 10000] [--inserts 200000] [--rounds 3]
 */
import { hash } from 'node:crypto';
import { parseArgs } from 'node:util';
import { trimOldest } from '../src/cache/trim.js';

const { values } = parseArgs({
  options: {
    capacity: { type: 'string', default: '10000' },
    inserts: { type: 'string', default: '200000' },
    rounds: { type: 'string', default: '3' },
  },
});
const capacity = Number(values.capacity);
const inserts = Number(values.inserts);
const keys = Array.from({ length: capacity * 3 }, (_, i) => hash('sha256', String(i), 'base64url'));

type Insert = (key: string, value: object) => void;

function freshIterator(): Insert {
  const map = new Map<string, object>();
  return (key, value) => {
    map.delete(key);
    map.set(key, value);
    while (map.size > capacity) {
      const oldest = map.keys().next();
      if (oldest.done === true) break;
      map.delete(oldest.value);
    }
  };
}

function batched(): Insert {
  const map = new Map<string, object>();
  return (key, value) => {
    map.delete(key);
    map.set(key, value);
    trimOldest(map, capacity);
  };
}

/** CPU nanoseconds per insert, after a warm-up that fills the cache. */
function measure(make: () => Insert): number {
  const insert = make();
  let k = 0;
  for (let i = 0; i < capacity * 2; i++) insert(keys[k++ % keys.length] as string, { i });
  const start = process.cpuUsage();
  for (let i = 0; i < inserts; i++) insert(keys[k++ % keys.length] as string, { i });
  const used = process.cpuUsage(start);
  return ((used.user + used.system) * 1000) / inserts;
}

for (let round = 1; round <= Number(values.rounds); round++) {
  const fresh = measure(freshIterator);
  const batch = measure(batched);
  console.log(
    `round ${round}: keys().next() per eviction ${fresh.toFixed(0)} ns/insert, batches of a 64th ${batch.toFixed(0)} ns/insert (${(fresh / batch).toFixed(1)}×)`,
  );
}
