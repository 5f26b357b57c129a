/**
 * One caller of `sabre bench tiered`'s cross-process rows: a worker thread of a crowd process
 * (tiered-process.ts) with its own TieredCache over the process's SharedCache, which runs each
 * operation its process relays and posts back what it saw. The operations (TieredOp):
 *
 * - stampede: counts itself in (a Redis counter), then getOrCompute on the missing key; the
 *   computation first waits until every caller of the crowd has counted itself in, so that all of
 *   them are inside getOrCompute before any value exists (the overlap forced, not hoped for);
 * - increment: `count` increments of one key;
 * - claim: one setIfAbsent.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { parentPort, workerData } from 'node:worker_threads';
import { SharedCache, type SharedCacheHandle } from '../../src/index.js';
import { RedisCache, type RedisCacheOptions, TieredCache } from '../../src/redis/index.js';
import { COMPUTE_MS, type CallerResult, type TieredOp } from '../support/tiered-crowd.js';

const { cache, options, id } = workerData as { cache: SharedCacheHandle; options: RedisCacheOptions; id: string };
/** The longest a computation waits for the others to count themselves in (they were all released together). */
const ENTRY_LIMIT_MS = 20_000;

const local = SharedCache.attach<unknown>(cache);
const tiered = await TieredCache.connect<unknown>({ ...options, l1: local });
const counters = await RedisCache.connect<number>(options); // the barrier's counter, outside the cache under test
const port = parentPort!;

async function stampede(key: string, callers: number): Promise<CallerResult> {
  const entered = `${key}:entered`;
  let computed = false;
  await counters.increment(entered);
  const value = await tiered.getOrCompute(key, async () => {
    computed = true;
    const deadline = Date.now() + ENTRY_LIMIT_MS;
    while (((await counters.get(entered)) ?? 0) < callers) {
      if (Date.now() > deadline) throw new Error(`stampede ${key}: the ${callers} callers did not all arrive within ${ENTRY_LIMIT_MS} ms`);
      await sleep(1);
    }
    await sleep(COMPUTE_MS);
    return `value of ${key}`;
  });
  if (value !== `value of ${key}`) throw new Error(`stampede ${key}: got ${String(value)}`);
  return { computed };
}

async function run(op: TieredOp): Promise<CallerResult> {
  switch (op.op) {
    case 'stampede':
      return stampede(op.key, op.callers);
    case 'increment':
      for (let i = 0; i < op.count; i++) await tiered.increment(op.key);
      return {};
    case 'claim':
      return { won: await tiered.setIfAbsent(op.key, id) };
    case 'exit':
      await Promise.all([tiered.close(), counters.close()]);
      port.close();
      return {};
  }
}

port.on('message', (op: TieredOp) => {
  run(op).then(
    (result) => op.op !== 'exit' && port.postMessage({ result }),
    (error: unknown) => port.postMessage({ error: error instanceof Error ? (error.stack ?? error.message) : String(error) }),
  );
});
port.postMessage('ready');
