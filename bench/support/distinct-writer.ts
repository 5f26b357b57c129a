/**
 * A bench worker that overwrites keys of its own: worker `index` of `workers` sets only the keys
 * `key:N` with N % workers === index, in a fixed scrambled order, with values of the same size.
 * Writers on distinct keys share no entry, so what they share is what the cache makes them
 * share (locks, lines, counters): the measure of how writes scale.
 */
import { workerData } from 'node:worker_threads';
import { SharedCache, type SharedCacheHandle } from '../../src/index.js';
import { seededRandom } from '../../src/stress/random.js';
import { serveBatches } from '../workers/serve.js';

interface Data {
  cache: SharedCacheHandle;
  keys: number;
  workers: number;
  index: number;
  control: SharedArrayBuffer;
}

const data = workerData as Data;
const cache = SharedCache.attach(data.cache);
const own = Array.from({ length: Math.ceil(data.keys / data.workers) }, (_, i) => i * data.workers + data.index).filter((n) => n < data.keys);
const keys = own.map((n) => `key:${n}`);
const values = own.map((n) => `value:${n}`);
const random = seededRandom(4321 + data.index);
const MASK = (1 << 16) - 1;
const order = Int32Array.from({ length: MASK + 1 }, () => Math.floor(random() * keys.length));
let at = 0;

serveBatches(data.control, (size) => {
  for (let i = 0; i < size; i++) {
    const k = order[at++ & MASK]!;
    cache.set(keys[k]!, values[k]!);
  }
});
