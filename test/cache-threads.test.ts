/**
 * SharedCache on real worker threads, with the audits' numbers (../shared/AUDITS.md B, C, A, G, F)
 * and single flight. Workers line up at Barriers so that they collide.
 */
import { describe, expect, it } from 'vitest';
import { Barrier, Latch, Mutex, SharedCache } from '../src/index.js';
import { checkIntegrity } from '../src/cache/shared-cache.js';
import { checkValue } from './support/self-check.js';
import { runCacheActors, startCacheActor, stateWord, until } from './support/threads.js';
import { readShape } from '../src/cache/header.js';
import { STRIPE, layoutOf } from '../src/cache/layout.js';

function stopFlag() {
  const buffer = new SharedArrayBuffer(4);
  return { buffer, raise: () => Atomics.store(new Int32Array(buffer), 0, 1) };
}

/** Starts a sampler thread that watches size and bytes until stopped. */
async function startSampler(cache: SharedCache, stop: SharedArrayBuffer) {
  const ready = Latch.create({ count: 1 });
  const sampler = startCacheActor<{ samples: number; maxSize: number; maxBytes: number }>('sample', { cache: cache.handle, stop, ready: ready.handle });
  await ready.waitAsync();
  return sampler.result;
}

describe('SharedCache across threads: bounds and integrity (audits B and C)', () => {
  it('100 concurrent writers of distinct keys: bound held at every sampled instant, survivors intact, stats agree', async () => {
    const maxEntries = 1_000;
    const cache = SharedCache.create({ maxEntries, maxBytes: 64 * 1024 });
    const stop = stopFlag();
    const sampled = startSampler(cache, stop.buffer);
    const writers = 100;
    const perWriter = 40; // 4,000 writes into 1,000 places, and a byte budget that binds too
    const start = Barrier.create({ parties: writers });
    await runCacheActors('writeDistinct', writers, () => ({ cache: cache.handle, start: start.handle, count: perWriter }));
    stop.raise();
    const sample = await sampled;
    expect(sample.samples).toBeGreaterThan(0);
    expect(sample.maxSize).toBeLessThanOrEqual(maxEntries);
    expect(sample.maxBytes).toBeLessThanOrEqual(64 * 1024);
    expect(cache.size).toBeLessThanOrEqual(maxEntries);
    let survivors = 0;
    for (const [key, value] of cache.entries()) {
      if (typeof key !== 'string') throw new Error(`unexpected key ${key}`);
      const writer = Number(/^w(\d+):/.exec(key)![1]);
      expect(checkValue(key, value)).toBe(writer); // exactly what its writer wrote, whole
      survivors++;
    }
    const stats = cache.stats();
    expect(survivors).toBe(cache.size);
    expect(stats.sets).toBe(writers * perWriter);
    const evicted = stats.evictions.capacity + stats.evictions.bytes + stats.evictions.burst + stats.evictions.ttl;
    expect(stats.sets - evicted).toBe(cache.size); // nothing lost silently: every write is live or counted as evicted
    expect(evicted).toBeGreaterThan(0);
    expect(cache[checkIntegrity]()).toEqual([]); // and every shared structure agrees with every other
  });

  it.each([2, 4, 8])('no torn read: %i threads overwrite values of varied sizes while readers verify every value', async (writers) => {
    const cache = SharedCache.create({ maxEntries: 64, maxBytes: 8 * 1024 });
    const stop = stopFlag();
    const ready = Latch.create({ count: 2 });
    const readers = runCacheActors<{ reads: number; hits: number; torn: number }>('verifyReads', 2, () => ({
      cache: cache.handle,
      stop: stop.buffer,
      keys: 48,
      seed: writers,
      ready: ready.handle,
    }));
    await ready.waitAsync(); // the readers read while the writers write
    const sampled = startSampler(cache, stop.buffer);
    await runCacheActors('churn', writers, () => ({ cache: cache.handle, keys: 48, rounds: 20_000, seed: 1 }));
    stop.raise();
    const [results, sample] = await Promise.all([readers, sampled]);
    for (const r of results) {
      expect(r.torn).toBe(0);
      expect(r.hits).toBeGreaterThan(100); // the readers really did read values while writers wrote
    }
    expect(sample.maxSize).toBeLessThanOrEqual(64);
    expect(sample.maxBytes).toBeLessThanOrEqual(8 * 1024);
    expect(cache[checkIntegrity]()).toEqual([]);
  });

  it('no torn read on the locked-read path (what CPUs with weaker memory models use)', async () => {
    const cache = SharedCache.create({ maxEntries: 64, maxBytes: 8 * 1024 });
    const stop = stopFlag();
    const ready = Latch.create({ count: 2 });
    const readers = runCacheActors<{ reads: number; hits: number; torn: number }>('verifyReads', 2, () => ({
      cache: cache.handle,
      stop: stop.buffer,
      keys: 48,
      seed: 3,
      env: { SABRE_LOCKED_READS: '1' },
      ready: ready.handle,
    }));
    await ready.waitAsync();
    await runCacheActors('churn', 4, () => ({ cache: cache.handle, keys: 48, rounds: 20_000, seed: 2 }));
    stop.raise();
    for (const r of await readers) {
      expect(r.torn).toBe(0);
      expect(r.hits).toBeGreaterThan(100);
    }
  });

  it('snapshot iteration while others write never throws, never repeats a key, never yields a torn value (audit F)', async () => {
    const cache = SharedCache.create({ maxEntries: 200, maxBytes: 32 * 1024 });
    const stop = stopFlag();
    const ready = Latch.create({ count: 2 });
    const iterators = runCacheActors<{ snapshots: number; entries: number; duplicates: number; torn: number }>('iterate', 2, () => ({
      cache: cache.handle,
      stop: stop.buffer,
      ready: ready.handle,
    }));
    await ready.waitAsync();
    await runCacheActors('churn', 3, () => ({ cache: cache.handle, keys: 300, rounds: 20_000, seed: 5 }));
    stop.raise();
    for (const r of await iterators) {
      expect(r.duplicates).toBe(0);
      expect(r.torn).toBe(0);
      expect(r.snapshots).toBeGreaterThan(1);
      expect(r.entries).toBeGreaterThan(0);
    }
    expect(cache[checkIntegrity]()).toEqual([]);
  });
});

describe('SharedCache across threads: reads are never stale', () => {
  it('a reader thread never sees a value go backwards, and ends on the last value written', async () => {
    const cache = SharedCache.create({ maxEntries: 100, maxBytes: 8 * 1024 });
    const stop = stopFlag();
    const ready = Latch.create({ count: 2 });
    const readers = runCacheActors<{ reads: number; backwards: number; last: number }>('monotonicReads', 2, () => ({
      cache: cache.handle,
      stop: stop.buffer,
      key: 'version',
      ready: ready.handle,
    }));
    await ready.waitAsync(); // both readers are reading before the first write
    // Keys in the same stripes churn too, so the readers' remembered values keep being invalidated.
    for (let version = 0; version < 50_000; version++) {
      cache.set('version', version);
      if (version % 7 === 0) cache.set(`noise:${version % 97}`, version);
      if (version % 5_000 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
    stop.raise();
    for (const r of await readers) {
      expect(r.backwards).toBe(0);
      expect(r.last).toBe(49_999);
      expect(r.reads).toBeGreaterThan(100);
    }
  });
});

describe('SharedCache across threads: atomic operations (audits A and G)', () => {
  it.each([2, 4, 8])('increments from %i threads are never lost', async (threads) => {
    const cache = SharedCache.create({ maxEntries: 10, maxBytes: 1024 });
    const start = Barrier.create({ parties: threads });
    await runCacheActors('increment', threads, () => ({ cache: cache.handle, start: start.handle, key: 'consolidations', times: 10_000 }));
    expect(cache.get('consolidations')).toBe(threads * 10_000);
    expect(cache[checkIntegrity]()).toEqual([]);
  });

  it('set-if-absent by 20 workers released by a Barrier: exactly one winner per round, and its value is the stored one', async () => {
    const cache = SharedCache.create({ maxEntries: 10, maxBytes: 1024 });
    const parties = 20;
    const rounds = 150;
    const barrier = Barrier.create({ parties });
    const results = await runCacheActors<{ won: boolean[]; seen: string[] }>('firstWriterWins', parties, () => ({
      cache: cache.handle,
      barrier: barrier.handle,
      rounds,
    }));
    for (let round = 0; round < rounds; round++) {
      const winners = results.flatMap((r, index) => (r.won[round] ? [index] : []));
      expect(winners).toHaveLength(1);
      for (const r of results) expect(r.seen[round]).toBe(`${round}:${winners[0]}`);
    }
    expect(cache[checkIntegrity]()).toEqual([]);
  });
});

describe('SharedCache across threads: an in-place set that finds its stripe locked', () => {
  // The in-place set takes the stripe mutex by one CAS; when that fails it must wait like any
  // write (not skip, not write unlocked) and apply its value once the holder lets go. Made
  // certain: the main thread holds the only stripe's mutex while the worker's set arrives.
  it('waits for the holder, counts the contention, then applies the value', async () => {
    // One entry: one stripe. A lock timeout far beyond this test's own steps (the default 2 s could
    // run out on a loaded host while the main thread polls below).
    const cache = SharedCache.create({ maxEntries: 1, maxBytes: 1024, lockTimeoutMs: 30_000 });
    const shape = readShape(cache.handle.buffer);
    const stripeMutex = Mutex.attach({ kind: 'sabre/mutex', layout: 1, buffer: cache.handle.buffer, byteOffset: layoutOf(shape).stripes });
    const ready = Latch.create({ count: 1 });
    const go = Latch.create({ count: 1 });
    const writer = startCacheActor<number>('inPlaceAfterGo', {
      cache: cache.handle,
      key: 'k',
      first: 'aaaa',
      second: 'bbbb',
      ready: ready.handle,
      go: go.handle,
    });
    expect(await ready.waitAsync({ timeoutMs: 10_000 })).toBe(true);
    expect(stripeMutex.tryLock()).toBe(true);
    try {
      // The stripe's seqlock word (STRIPE.SEQ of its line) moves with every write to it.
      const seqlock = new Int32Array(cache.handle.buffer, layoutOf(shape).stripes + STRIPE.SEQ * 4, 1);
      const sequence = Atomics.load(seqlock, 0);
      go.countDown();
      // The worker's set is parked on the stripe mutex (it announced itself): it wrote nothing, not
      // even the seqlock word. (Read raw: on hosts without lock-free reads, peek would take the
      // stripe mutex this thread holds.)
      await until(() => (stateWord(stripeMutex.handle) & (1 << 30)) !== 0, 'the in-place set waits for the stripe mutex', 10_000);
      expect(Atomics.load(seqlock, 0)).toBe(sequence);
    } finally {
      stripeMutex.unlock(); // (also when a check above failed: the worker must not wait out its timeout)
    }
    expect(await writer.result).toBe(1);
    expect(cache.get('k')).toBe('bbbb');
    expect(cache[checkIntegrity]()).toEqual([]);
  });
});

describe('SharedCache across threads: single flight', () => {
  function flight(count: number, extra: Record<string, unknown>) {
    const cache = SharedCache.create({ maxEntries: 10, maxBytes: 4096 });
    const runs = new SharedArrayBuffer(4);
    const ready = Latch.create({ count });
    const results = runCacheActors<{ ok: boolean; value?: string; name?: string; message?: string }>('compute', count, () => ({
      cache: cache.handle,
      runs,
      ready: ready.handle,
      key: 'report',
      delayMs: 200,
      ...extra,
    }));
    return { cache, runs: () => new Int32Array(runs)[0], results };
  }

  it('8 callers on 8 threads: one computation, every caller gets its value', async () => {
    const { cache, runs, results } = flight(8, {});
    const answers = await results;
    expect(runs()).toBe(1);
    const values = new Set(answers.map((a) => a.value));
    expect(values.size).toBe(1);
    expect(answers.every((a) => a.ok)).toBe(true);
    expect(cache.get('report')).toBe([...values][0]);
    expect(cache.stats().singleFlightWaits).toBe(7);
  });

  it('a failing computation rejects all 8 callers with its error, and is not cached', async () => {
    const { cache, runs, results } = flight(8, { fail: true });
    const answers = await results;
    expect(runs()).toBe(1);
    for (const a of answers) expect(a).toMatchObject({ ok: false, name: 'RangeError', message: expect.stringMatching(/compute failed in thread/) });
    expect(cache.has('report')).toBe(false);
    await expect(cache.getOrCompute('report', () => 'second try')).resolves.toBe('second try');
  });

  it('when the computing thread dies, its lease expires and a waiter takes over', async () => {
    const cache = SharedCache.create({ maxEntries: 10, maxBytes: 4096 });
    const started = Latch.create({ count: 1 });
    const dying = startCacheActor('computeAndDie', { cache: cache.handle, key: 'report', started: started.handle, leaseMs: 300 });
    const died = dying.result.then(
      () => 'answered',
      (error: Error) => error.message,
    );
    await started.waitAsync();
    let ranHere = 0;
    const value = await cache.getOrCompute(
      'report',
      () => {
        ranHere++;
        return 'recovered';
      },
      { leaseMs: 300 },
    );
    expect(value).toBe('recovered');
    expect(ranHere).toBe(1);
    expect(await died).toMatch(/exited with code 3/);
    expect(cache.get('report')).toBe('recovered');
    expect(cache[checkIntegrity]()).toEqual([]);
  });
});
