/**
 * A worker thread opening the process's TieredCache from its handle (TieredCache.attach: the
 * same L1, a Redis connection of its own), for the TieredCache thread tests (run from dist/).
 * workerData: a TieredCacheHandle. Answers each message { id, op, key, ms } with { id, value }
 * or { id, error }: op 'get', 'set' (value: ms), 'localHits' (this thread's L1 hits so far),
 * 'invalidations' (announcements this thread's subscriber received),
 * 'close', or 'compute' (getOrCompute whose compute counts itself in Redis under 'computes' and
 * sleeps ms).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { TieredCache, type TieredCacheHandle } from '../../src/redis/index.js';

const cache = await TieredCache.attach(workerData as TieredCacheHandle);
while (!cache.synced) await new Promise((resolve) => setTimeout(resolve, 5));

parentPort!.on('message', async ({ id, op, key, ms }: { id: number; op: string; key: string; ms: number }) => {
  try {
    let value: unknown;
    if (op === 'get') value = await cache.get(key);
    else if (op === 'set') value = await cache.set(key, ms).then(() => true);
    else if (op === 'localHits') value = (await cache.stats()).localHits;
    else if (op === 'invalidations') value = (await cache.stats()).invalidationsReceived;
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
