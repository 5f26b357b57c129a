/** The hit ratio of a cache policy on a stream of key ids, set on miss: sabre's policies against lru-cache. */
import { LRUCache } from 'lru-cache';
import { type EvictionPolicy, SharedCache } from '../../src/index.js';

/** Hits ÷ requests for a cache of `capacity` entries; `keyOf` turns an id into the key stored. */
export function hitRatio(
  stream: Int32Array,
  capacity: number,
  policy: EvictionPolicy | 'lru-cache',
  keyOf: (id: number) => string | number = (id) => id,
): number {
  const cache =
    policy === 'lru-cache'
      ? new LRUCache<string | number, number>({ max: capacity })
      : SharedCache.create({ maxEntries: capacity, maxBytes: capacity * 64, policy });
  let hits = 0;
  for (const id of stream) {
    const key = keyOf(id);
    if (cache.get(key) !== undefined) hits++;
    else cache.set(key, id);
  }
  return hits / stream.length;
}
