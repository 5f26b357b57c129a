/** A bench worker: runs batches of cache operations (get, set, or 90/10 mixed) over precomputed keys. */
import { workerData } from 'node:worker_threads';
import { SharedCache, type SharedCacheHandle } from '../../src/index.js';
import { seededRandom } from '../../src/stress/random.js';
import { serveBatches } from './serve.js';

interface Data {
  cache: SharedCacheHandle;
  mode: 'get' | 'set' | 'mixed';
  keys: number;
  index: number;
  control: SharedArrayBuffer;
}

const data = workerData as Data;
const cache = SharedCache.attach(data.cache);
const keys = Array.from({ length: data.keys }, (_, i) => `key:${i}`);
const values = keys.map((_, i) => `value:${i}`);
const random = seededRandom(1234 + data.index);
const MASK = (1 << 16) - 1;
const order = Int32Array.from({ length: MASK + 1 }, () => Math.floor(random() * data.keys));
const writes = Uint8Array.from({ length: MASK + 1 }, () => (random() < 0.1 ? 1 : 0));
let at = 0;
let sink = 0;

const run = {
  get(size: number) {
    for (let i = 0; i < size; i++) if (cache.get(keys[order[at++ & MASK]!]!) !== undefined) sink++;
  },
  set(size: number) {
    for (let i = 0; i < size; i++) {
      const k = order[at++ & MASK]!;
      cache.set(keys[k]!, values[k]!);
    }
  },
  mixed(size: number) {
    for (let i = 0; i < size; i++) {
      const j = at++ & MASK;
      const k = order[j]!;
      if (writes[j] === 1) cache.set(keys[k]!, values[k]!);
      else if (cache.get(keys[k]!) !== undefined) sink++;
    }
  },
}[data.mode];

serveBatches(data.control, run);
void sink;
