/**
 * The main thread never waits without bound on a lock another thread holds.
 *
 * The main thread's synchronous cache calls take the cache's internal locks. If the holder is a
 * worker that is dying, its recovery runs from the Worker's 'exit' event, on the main thread's
 * own event loop, which does not turn while the main thread waits: an unbounded wait there is a
 * freeze for good. So the main thread waits at most `lockTimeoutMs`, then gets a
 * LockUnavailableError with nothing changed; once its event loop has run, recovery has freed the
 * lock and the next call goes through.
 */
import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { snapshot } from './support/threads.js';

// The pool starts compiled workers: load the compiled package too (see pool.test.ts).
const compiled = (path: string): Promise<unknown> => import(new URL(path, import.meta.url).href);
const sabre = (await compiled('../dist/src/index.js')) as typeof import('../src/index.js');
const { createPool } = (await compiled('../dist/src/pool/index.js')) as typeof import('../src/pool/index.js');
const cacheModule = (await compiled('../dist/src/cache/shared-cache.js')) as typeof import('../src/cache/shared-cache.js');
const codec = (await compiled('../dist/src/cache/codec.js')) as typeof import('../src/cache/codec.js');
const store = (await compiled('../dist/src/cache/store.js')) as typeof import('../src/cache/store.js');
const layout = (await compiled('../dist/src/cache/layout.js')) as typeof import('../src/cache/layout.js');
type SharedCache = import('../src/index.js').SharedCache;
type SabrePool = import('../src/pool/index.js').SabrePool;

const TASKS = new URL('../dist/test/workers/pool-task.js', import.meta.url);

/** The byte offset of the stripe mutex that guards `key` (layout.ts): what a writer of `key` locks. */
function stripeLockOffset(cache: SharedCache, key: string): number {
  const shape = store.readShape(cache.handle.buffer);
  const stripe = codec.hashBytes(codec.keyBytes(key)) & (shape.buckets - 1) & (shape.stripes - 1);
  return layout.layoutOf(shape).stripes + stripe * 64;
}

/**
 * A worker that takes the mutex at `byteOffset` of `buffer` and holds it: until it is terminated,
 * or, if `release` is given, until that word of `release` is set.
 */
function holder(buffer: SharedArrayBuffer, byteOffset: number, release?: SharedArrayBuffer): Worker {
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    import(workerData.index).then(({ Mutex }) => {
      const lock = Mutex.attach({ kind: 'sabre/mutex', layout: 1, buffer: workerData.buffer, byteOffset: workerData.byteOffset });
      lock.lock();
      parentPort.postMessage('holding');
      const released = new Int32Array(workerData.release ?? new SharedArrayBuffer(4));
      while (Atomics.load(released, 0) === 0) Atomics.wait(released, 0, 0, 1000);
      lock.unlock();
    });`;
  const index = new URL('../dist/src/index.js', import.meta.url).href;
  return new Worker(code, { eval: true, workerData: { index, buffer, byteOffset, release } });
}

/** Every byte of `buffer` but the lock word at `byteOffset` + 4, where a waiter that gave up may leave its WAITERS bit. */
function bytesBesidesLockWord(buffer: SharedArrayBuffer, byteOffset: number): Uint8Array {
  const copy = snapshot(buffer);
  copy.fill(0, byteOffset + 4, byteOffset + 8);
  return copy;
}

const pools: SabrePool[] = [];
afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.close({ deadlineMs: 1_000 })));
});

describe('the main thread against a lock whose holder dies', () => {
  it('plain worker_threads: a bounded wait, a LockUnavailableError naming the holder and changing nothing, then recoverOnExit frees it', async () => {
    const cache = sabre.SharedCache.create({ maxEntries: 64, maxBytes: 8192, lockTimeoutMs: 200 });
    cache.set('k', 'before');
    const byteOffset = stripeLockOffset(cache, 'k');
    const worker = holder(cache.handle.buffer, byteOffset);
    const recovered = sabre.recoverOnExit(worker, [cache]);
    await new Promise((resolve) => worker.once('message', resolve));
    const holderId = worker.threadId;

    void worker.terminate(); // it dies holding the stripe; its 'exit' cannot be delivered while we wait
    const before = bytesBesidesLockWord(cache.handle.buffer, byteOffset);
    let thrown: unknown;
    try {
      cache.set('k', 'during');
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(sabre.LockUnavailableError);
    expect(thrown).toMatchObject({ code: 'ERR_SABRE_LOCK_UNAVAILABLE', holderThreadId: holderId });
    expect(bytesBesidesLockWord(cache.handle.buffer, byteOffset)).toEqual(before);
    // In the same turn of the event loop the recovery cannot have run: a second call on that
    // stripe does not wait the bound again, it fails at once (saying so).
    expect(() => cache.set('k', 'again')).toThrow(/already let a wait of 200 ms run out in this turn/);

    // Let the event loop run: the exit is delivered and recoverOnExit frees the stripe.
    await expect(recovered).resolves.toEqual([{ threadId: holderId, stripes: 1, structure: false, droppedEntries: 0, abandonedFlights: 0 }]);
    cache.set('k', 'after');
    expect(cache.get('k')).toBe('after');
    expect(cache[cacheModule.checkIntegrity]()).toEqual([]);
  });

  it('a pool: the main thread writes in a loop while the worker holding its stripe is aborted; it is never frozen and its writes resume', async () => {
    const p = createPool({
      filename: TASKS,
      threads: 2,
      signals: false,
      cache: { maxEntries: 64, maxBytes: 8192, lockTimeoutMs: 200 },
      primitives: { holding: { kind: 'latch', count: 1 } },
    });
    pools.push(p);
    const cache = p.cache!;
    const recovered = new Promise((resolve) => p.on('recovered', resolve));
    const controller = new AbortController();
    const task = p
      .run({ op: 'holdWordLock', byteOffset: stripeLockOffset(cache, 'k'), latch: 'holding' }, { signal: controller.signal })
      .catch((e: Error) => e.name);
    await (p.primitives.holding as import('../src/index.js').Latch).waitAsync();

    controller.abort();
    const outcomes: string[] = [];
    for (let i = 0; outcomes.at(-1) !== 'ok' && i < 500; i++) {
      try {
        cache.set('k', i);
        outcomes.push('ok');
      } catch (error) {
        if (!(error instanceof sabre.LockUnavailableError)) throw error;
        outcomes.push('unavailable');
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
    await expect(task).resolves.toBe('AbortError');
    await expect(recovered).resolves.toMatchObject({ name: 'cache', cache: { stripes: 1 } });
    expect(outcomes.at(-1)).toBe('ok'); // the writes resumed
    expect(outcomes[0]).toBe('unavailable'); // the first write met the held lock, and gave up
    expect(cache[cacheModule.checkIntegrity]()).toEqual([]);
  });

  it('a getOrCompute owner that cannot store its value (its stripe held by a dying worker) still ends its flight: waiters do not sleep out the lease', async () => {
    const cache = sabre.SharedCache.create({ maxEntries: 64, maxBytes: 8192, lockTimeoutMs: 200 });
    let finish: (value: string) => void = () => {};
    const owner = cache.getOrCompute('k', () => new Promise<string>((resolve) => (finish = resolve)), { leaseMs: 3_600_000 });
    await new Promise((resolve) => setImmediate(resolve));
    const waiter = cache.getOrCompute('k', () => 'computed by the waiter', { leaseMs: 3_600_000 });
    const worker = holder(cache.handle.buffer, stripeLockOffset(cache, 'k'));
    const recovered = sabre.recoverOnExit(worker, [cache]);
    await new Promise((resolve) => worker.once('message', resolve));
    finish('computed by the owner'); // its store meets the held stripe and gives up after 200 ms
    await expect(owner).rejects.toBeInstanceOf(sabre.LockUnavailableError);
    void worker.terminate();
    await recovered; // the stripe is free again: the owner's retry ends the flight
    await expect(waiter).rejects.toThrow(/held by thread/); // the owner's error, within the lease of an hour
    await expect(cache.getOrCompute('k', () => 'later')).resolves.toBe('later');
    expect(cache[cacheModule.checkIntegrity]()).toEqual([]);
  });

  it('stats() and entries() on the main thread are bounded the same way, and work again once the holder lets go', async () => {
    const cache = sabre.SharedCache.create({ maxEntries: 64, maxBytes: 8192, lockTimeoutMs: 100 });
    cache.set('k', 1);
    for (const [byteOffset, call] of [
      [layout.GLOBAL.MUTEX_BYTE_OFFSET, () => cache.stats()],
      [stripeLockOffset(cache, 'k'), () => [...cache.entries()]],
    ] as const) {
      const release = new SharedArrayBuffer(4);
      const worker = holder(cache.handle.buffer, byteOffset, release);
      await new Promise((resolve) => worker.once('message', resolve));
      expect(call).toThrow(sabre.LockUnavailableError);
      Atomics.store(new Int32Array(release), 0, 1);
      Atomics.notify(new Int32Array(release), 0);
      await new Promise((resolve) => worker.once('exit', resolve));
      expect(call).not.toThrow();
    }
    expect(cache.stats().size).toBe(1);
  });
});
