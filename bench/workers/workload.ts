/** A bench worker: runs batches of one cache workload (mix.ts) on the shared cache. */
import { workerData } from 'node:worker_threads';
import { SharedCache, type SharedCacheHandle } from '../../src/index.js';
import { MASK, UNIVERSE, keyOf, valueOf, workload } from '../support/mix.js';
import { serveBatches } from './serve.js';

interface Data {
  cache: SharedCacheHandle;
  readPercent: number;
  index: number;
  control: SharedArrayBuffer;
}

const data = workerData as Data;
const cache = SharedCache.attach(data.cache);
const keys = Array.from({ length: UNIVERSE }, (_, id) => keyOf(id));
const values = keys.map((_, id) => valueOf(id));
const { ids, writes } = workload(data.readPercent, data.index);
let at = 0;
let sink = 0;

serveBatches(data.control, (size) => {
  for (let i = 0; i < size; i++) {
    const j = at++ & MASK;
    const id = ids[j]!;
    if (writes[j] === 1) cache.set(keys[id]!, values[id]!);
    else if (cache.get(keys[id]!) !== undefined) sink++;
  }
});
void sink;
