/**
 * A worker thread with a TieredCache over the process's shared L1, for the TieredCache thread
 * tests (run from dist/). workerData: { handle, url, prefix }. Answers each message
 * { id, op, key, ms } with { id, value } or { id, error }: op 'get', 'set' (value: ms), or
 * 'compute' (getOrCompute whose compute counts itself in Redis under 'computes' and sleeps ms).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { SharedCache, type SharedCacheHandle } from '../../src/index.js';
import { TieredCache } from '../../src/redis/index.js';

const { handle, url, prefix } = workerData as { handle: SharedCacheHandle; url: string; prefix: string };
const cache = await TieredCache.connect(SharedCache.attach(handle), { url, prefix });
while (!cache.synced) await new Promise((resolve) => setTimeout(resolve, 5));

parentPort!.on('message', async ({ id, op, key, ms }: { id: number; op: string; key: string; ms: number }) => {
  try {
    let value: unknown;
    if (op === 'get') value = await cache.get(key);
    else if (op === 'set') value = await cache.set(key, ms).then(() => true);
    else if (op === 'close') value = await cache.close().then(() => true);
    else
      value = await cache.getOrCompute(key, async () => {
        await cache.increment('computes');
        await new Promise((resolve) => setTimeout(resolve, ms));
        return 'computed';
      });
    parentPort!.postMessage({ id, value });
  } catch (error) {
    parentPort!.postMessage({ id, error: String(error) });
  }
});
parentPort!.postMessage({ ready: true });
