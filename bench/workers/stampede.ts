/**
 * A bench worker for the single-flight stampede: on each round every worker asks for the same
 * missing key at once, either through getOrCompute (one computes, the others wait) or with no
 * coalescing (get, compute on a miss, set). The computation is a 5 ms wait, like a slow backend.
 *
 * control (Int32Array): [0] round (bumped by the main thread; -1 = exit), [1] mode (0 sabre,
 * 1 no coalescing), [2] workers done, [3] computations.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { workerData } from 'node:worker_threads';
import { SharedCache, type SharedCacheHandle } from '../../src/index.js';

const { cache: handle, control } = workerData as { cache: SharedCacheHandle; control: SharedArrayBuffer };
const cache = SharedCache.attach(handle);
const c = new Int32Array(control);

async function compute(key: string): Promise<string> {
  Atomics.add(c, 3, 1);
  await sleep(5);
  return `computed ${key}`;
}

let seen = 0;
for (;;) {
  Atomics.wait(c, 0, seen);
  seen = Atomics.load(c, 0);
  if (seen < 0) break;
  const key = `report:${seen}`;
  if (Atomics.load(c, 1) === 0) await cache.getOrCompute(key, () => compute(key));
  else if (cache.get(key) === undefined) cache.set(key, await compute(key));
  Atomics.add(c, 2, 1);
  Atomics.notify(c, 2);
}
