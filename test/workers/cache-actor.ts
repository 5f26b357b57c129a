/**
 * The cache test actor: one worker-thread script playing the role named in workerData against a
 * SharedCache attached from its handle.
 */
import { parentPort, threadId, workerData } from 'node:worker_threads';
import { Barrier, type BarrierHandle, Latch, type LatchHandle, SharedCache, type SharedCacheHandle } from '../../src/index.js';
import { seededRandom } from '../support/delay.js';
import { checkValue, selfCheckingValue } from '../support/self-check.js';

type Data = Record<string, any>;
const data = workerData as Data;
const cache = SharedCache.attach(data.cache as SharedCacheHandle);
const stop = data.stop ? new Int32Array(data.stop as SharedArrayBuffer) : undefined;
const stopped = (): boolean => stop !== undefined && Atomics.load(stop, 0) !== 0;

const roles: Record<string, () => unknown> = {
  /** Sets `count` distinct keys of its own, each with its self-checking value (version = index). */
  writeDistinct() {
    Barrier.attach(data.start as BarrierHandle).arriveAndWait();
    for (let i = 0; i < data.count; i++) {
      const key = `w${data.index}:${i}`;
      cache.set(key, selfCheckingValue(key, data.index));
    }
    return data.count;
  },

  /** Overwrites (and sometimes deletes) keys from a small set with ever newer versions, `rounds` times. */
  churn() {
    const random = seededRandom(data.seed + data.index);
    if (data.start) Barrier.attach(data.start as BarrierHandle).arriveAndWait();
    let version = data.index * 1_000_000;
    for (let i = 0; i < data.rounds; i++) {
      const key = `k${Math.floor(random() * data.keys)}`;
      if (random() < 0.1) cache.delete(key);
      else cache.set(key, selfCheckingValue(key, ++version));
    }
    return data.rounds;
  },

  /** Reads random keys until told to stop, verifying every value it gets. */
  verifyReads() {
    const random = seededRandom(data.seed + 99 + data.index);
    let reads = 0;
    let hits = 0;
    let torn = 0;
    if (data.ready) Latch.attach(data.ready as LatchHandle).countDown();
    while (!stopped()) {
      const key = `k${Math.floor(random() * data.keys)}`;
      const value = data.peek ? cache.peek(key) : cache.get(key);
      reads++;
      if (value === undefined) continue;
      hits++;
      if (checkValue(key, value) === null) torn++;
    }
    return { reads, hits, torn };
  },

  /** Reads one key whose value only ever grows until told to stop: a read must never go backwards. */
  monotonicReads() {
    let reads = 0;
    let backwards = 0;
    let last = -1;
    Latch.attach(data.ready as LatchHandle).countDown();
    while (!stopped()) {
      const value = cache.get(data.key) as number | undefined;
      reads++;
      if (value === undefined) continue;
      if (value < last) backwards++;
      last = value;
    }
    return { reads, backwards, last: cache.get(data.key) };
  },

  /** Samples size and bytes until told to stop: the bounds must hold at every instant, not only at the end. */
  sample() {
    let samples = 0;
    let maxSize = 0;
    let maxBytes = 0;
    Latch.attach(data.ready as LatchHandle).countDown();
    while (!stopped()) {
      maxSize = Math.max(maxSize, cache.size);
      maxBytes = Math.max(maxBytes, cache.bytes);
      samples++;
    }
    return { samples, maxSize, maxBytes };
  },

  /** Increments one counter `times` times. */
  increment() {
    Barrier.attach(data.start as BarrierHandle).arriveAndWait();
    for (let i = 0; i < data.times; i++) cache.increment(data.key);
    return data.times;
  },

  /** Audit G: every round, all parties call setIfAbsent at the same instant; then each reads the stored value. */
  firstWriterWins() {
    const barrier = Barrier.attach(data.barrier as BarrierHandle);
    const won: boolean[] = [];
    const seen: unknown[] = [];
    for (let round = 0; round < data.rounds; round++) {
      barrier.arriveAndWait();
      won.push(cache.setIfAbsent('panic_start_ts', `${round}:${data.index}`, { ttlMs: 86_400_000 }));
      barrier.arriveAndWait();
      seen.push(cache.get('panic_start_ts'));
      if (barrier.arriveAndWait().leader) cache.delete('panic_start_ts');
    }
    return { won, seen };
  },

  /** Iterates snapshots while others write: no throw, no key twice, no torn value. */
  iterate() {
    let snapshots = 0;
    let entries = 0;
    let duplicates = 0;
    let torn = 0;
    if (data.ready) Latch.attach(data.ready as LatchHandle).countDown();
    while (!stopped() || snapshots < 3) {
      const keys = new Set<string>();
      for (const [key, value] of cache.entries()) {
        if (keys.has(String(key))) duplicates++;
        keys.add(String(key));
        if (checkValue(String(key), value) === null) torn++;
        entries++;
      }
      snapshots++;
    }
    return { snapshots, entries, duplicates, torn };
  },

  /** getOrCompute with a slow compute that counts its runs in shared memory (and may fail). */
  async compute() {
    const runs = new Int32Array(data.runs as SharedArrayBuffer);
    const ready = Latch.attach(data.ready as LatchHandle);
    ready.countDown();
    await ready.waitAsync();
    try {
      const value = await cache.getOrCompute(
        data.key,
        async () => {
          Atomics.add(runs, 0, 1);
          await new Promise((resolve) => setTimeout(resolve, data.delayMs));
          if (data.fail) throw new RangeError(`compute failed in thread ${threadId}`);
          return `computed by ${threadId}`;
        },
        { leaseMs: data.leaseMs ?? 30_000 },
      );
      return { ok: true, value };
    } catch (error) {
      return { ok: false, name: (error as Error).name, message: (error as Error).message };
    }
  },

  /**
   * Sets `key` to `first` (this thread now remembers where the entry lives), says so on `ready`,
   * waits for `go`, then sets `second` (the same length: the in-place path of a set). Returns
   * the cache's lock contention count after the second set.
   */
  inPlaceAfterGo() {
    cache.set(data.key, data.first);
    Latch.attach(data.ready as LatchHandle).countDown();
    if (!Latch.attach(data.go as LatchHandle).wait(10_000)) throw new Error('never told to go');
    cache.set(data.key, data.second);
    return cache.stats().lockContention;
  },

  /** Starts computing, then its thread dies mid-compute: the lease must let a waiter take over. */
  async computeAndDie() {
    const started = Latch.attach(data.started as LatchHandle);
    await cache.getOrCompute(
      data.key,
      () => {
        started.countDown();
        return new Promise(() => setTimeout(() => process.exit(3), 20)); // never resolves; the thread exits
      },
      { leaseMs: data.leaseMs },
    );
  },
};

const role = roles[data.role as string];
if (role === undefined) throw new Error(`unknown cache actor role ${String(data.role)}`);
parentPort!.postMessage(await role());
