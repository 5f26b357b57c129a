import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Barrier, IllegalStateError, Latch, MainThreadBlockingError, Mutex, NotOwnerError, TimeoutError } from '../src/index.js';
import { runActors, settle, snapshot, startActor } from './support/threads.js';

const TOTAL = 1_000_000;

function incrementRun(workers: number, locked: boolean, total = TOTAL, delayRate = 0.001) {
  const mutex = Mutex.create();
  const counter = new SharedArrayBuffer(4);
  const start = Barrier.create({ parties: workers });
  const overlap = new SharedArrayBuffer(4);
  const iterations = total / workers;
  return runActors('increment', workers, () => ({
    mutex: locked ? mutex.handle : undefined,
    counter,
    start: start.handle,
    iterations,
    seed: 42,
    delayRate,
    delaySpin: 200,
    ...(locked ? {} : { overlap, parties: workers }),
  })).then(() => ({ final: new Int32Array(counter)[0], mutex }));
}

describe('Mutex: mutual exclusion on real worker threads', () => {
  it.each([2, 4, 8])('a plain read-modify-write under the lock loses nothing with %i workers (10^6 increments)', async (workers) => {
    const { final, mutex } = await incrementRun(workers, true);
    expect(final).toBe(TOTAL);
    expect(mutex.isLocked()).toBe(false);
    expect(mutex.holder()).toBeNull();
  });

  it('the same read-modify-write without the lock loses updates (so the test above can fail)', async () => {
    // The workers' first reads overlap by construction (see the actor), and seeded delay points
    // between the read and the write make more losses likely: the test does not rely on luck.
    const { final } = await incrementRun(2, false, 200_000, 0.05);
    expect(final).toBeLessThan(200_000);
  });

  it('async acquirers on the main thread and blocking acquirers in workers exclude each other', async () => {
    const mutex = Mutex.create();
    const counter = new SharedArrayBuffer(4);
    const view = new Int32Array(counter);
    const start = Barrier.create({ parties: 3 });
    const workers = runActors('increment', 2, () => ({
      mutex: mutex.handle,
      counter,
      start: start.handle,
      iterations: 50_000,
      seed: 7,
      delayRate: 0.001,
      delaySpin: 100,
    }));
    await start.arriveAndWaitAsync();
    const mainSide = async () => {
      for (let i = 0; i < 2_000; i++) {
        await mutex.withLockAsync(async () => {
          const value = view[0]!;
          await Promise.resolve(); // an await inside the critical section: other threads must still be kept out
          view[0] = value + 1;
        });
      }
    };
    await Promise.all([workers, mainSide(), mainSide()]);
    expect(view[0]).toBe(100_000 + 4_000);
  });
});

describe('Mutex: ownership, epochs and handles', () => {
  it('records the holder and counts acquisitions', () => {
    const mutex = Mutex.create();
    expect(mutex.holder()).toBeNull();
    expect(mutex.tryLock()).toBe(true);
    expect(mutex.tryLock()).toBe(false);
    expect(mutex.holder()).toEqual({ threadId: 0, epoch: 1 });
    expect(mutex.isHeldByCurrentThread()).toBe(true);
    mutex.unlock();
    expect(mutex.tryLock()).toBe(true);
    expect(mutex.holder()?.epoch).toBe(2);
    mutex.unlock();
  });

  it('a worker sees the holder recorded by another thread', async () => {
    const mutex = Mutex.create();
    const held = Latch.create({ count: 1 });
    const release = Latch.create({ count: 1 });
    const holder = startActor('hold', { mutex: mutex.handle, held: held.handle, release: release.handle });
    await held.waitAsync();
    expect(mutex.holder()?.threadId).toBe(holder.worker.threadId);
    expect(mutex.isHeldByCurrentThread()).toBe(false);
    release.countDown();
    await holder.result;
    expect(mutex.isLocked()).toBe(false);
  });

  it('can be laid at an offset inside a caller buffer, next to other data', async () => {
    const buffer = new SharedArrayBuffer(256);
    new Uint8Array(buffer).fill(0xee, 0, 64);
    const mutex = Mutex.create({ buffer, byteOffset: 64 });
    const attached = Mutex.attach(mutex.handle);
    expect(attached.tryLock()).toBe(true);
    expect(mutex.isLocked()).toBe(true);
    attached.unlock();
    expect(new Uint8Array(buffer, 0, 64).every((b) => b === 0xee)).toBe(true);
    expect(Mutex.BYTES).toBe(16);
  });
});

describe('Mutex: timeouts, aborts and the event loop', () => {
  async function heldByWorker() {
    const mutex = Mutex.create();
    const held = Latch.create({ count: 1 });
    const release = Latch.create({ count: 1 });
    const holder = startActor('hold', { mutex: mutex.handle, held: held.handle, release: release.handle });
    await held.waitAsync();
    return {
      mutex,
      release: async () => {
        release.countDown();
        await holder.result;
      },
    };
  }

  it('lockAsync gives up after its timeout and leaves the holder untouched; a blocking lock(timeout) does too', async () => {
    const { mutex, release } = await heldByWorker();
    const holderBefore = mutex.holder();
    await expect(mutex.lockAsync({ timeoutMs: 30 })).resolves.toBe(false);
    await expect(startActor('tryFor', { mutex: mutex.handle, timeoutMs: 30 }).result).resolves.toBe(false);
    expect(mutex.holder()).toEqual(holderBefore);
    await expect(mutex.withLockAsync(() => 1, { timeoutMs: 10 })).rejects.toBeInstanceOf(TimeoutError);
    await release();
    await expect(mutex.lockAsync({ timeoutMs: 1_000 })).resolves.toBe(true);
    mutex.unlock();
  });

  it('an aborted async waiter rejects with the abort reason and does not swallow the wake-up a blocked worker needs', async () => {
    const { mutex, release } = await heldByWorker();
    const controller = new AbortController();
    // The async waiter parks synchronously inside lockAsync, so it is first in the word's wait queue.
    const abandoned = mutex.lockAsync({ signal: controller.signal });
    const ready = Latch.create({ count: 1 });
    const blocked = startActor<boolean>('tryFor', { mutex: mutex.handle, timeoutMs: 30_000, ready: ready.handle });
    await ready.waitAsync(); // the worker is about to lock: let it reach its Atomics.wait
    await settle();
    controller.abort(new Error('caller gave up'));
    await expect(abandoned).rejects.toThrow('caller gave up');
    // The release's notify(1) lands on the abandoned waiter, which must pass it on to the worker.
    await release();
    await expect(blocked.result).resolves.toBe(true);
    expect(mutex.isLocked()).toBe(false);
  });

  it('an already-aborted signal rejects at once without taking the lock', async () => {
    const mutex = Mutex.create();
    await expect(mutex.lockAsync({ signal: AbortSignal.abort() })).rejects.toMatchObject({ name: 'AbortError' });
    expect(mutex.isLocked()).toBe(false);
  });

  it('a pending lockAsync keeps the process alive until the lock is granted', () => {
    const script = fileURLToPath(new URL('./fixtures/keep-alive.mjs', import.meta.url));
    const run = spawnSync(process.execPath, [script], { encoding: 'utf8', timeout: 60_000 });
    expect(run.stderr).toBe('');
    expect(run.stdout.trim()).toBe('acquired');
    expect(run.status).toBe(0);
  });
});

describe('Mutex: misuse gets typed errors and changes nothing', () => {
  it('unlocking a mutex nobody holds', () => {
    const mutex = Mutex.create();
    const before = snapshot(mutex.handle.buffer);
    expect(() => mutex.unlock()).toThrow(NotOwnerError);
    expect(() => mutex.unlock()).toThrow(/not locked/);
    expect(snapshot(mutex.handle.buffer)).toEqual(before);
  });

  it('blocking forms on the main thread, whatever the lock state', () => {
    const mutex = Mutex.create();
    const before = snapshot(mutex.handle.buffer);
    expect(() => mutex.lock()).toThrow(MainThreadBlockingError);
    expect(() => mutex.withLock(() => 1)).toThrow(/lockAsync/);
    expect(snapshot(mutex.handle.buffer)).toEqual(before);
    expect(mutex.lock(0)).toBe(true); // a zero timeout never waits
    mutex.unlock();
  });

  it('bad timeouts, options and callbacks', async () => {
    const mutex = Mutex.create();
    const before = snapshot(mutex.handle.buffer);
    for (const timeoutMs of [-1, NaN, '10', null]) {
      expect(() => mutex.lock(timeoutMs as number)).toThrow(expect.objectContaining({ code: 'ERR_SABRE_INVALID_ARGUMENT' }));
      await expect(mutex.lockAsync({ timeoutMs: timeoutMs as number })).rejects.toMatchObject({ code: 'ERR_SABRE_INVALID_ARGUMENT' });
    }
    await expect(mutex.lockAsync({ signal: 'stop' as unknown as AbortSignal })).rejects.toThrow(/AbortSignal/);
    await expect(mutex.lockAsync(5 as never)).rejects.toThrow(/options must be an object/);
    await expect(mutex.withLockAsync(undefined as never)).rejects.toThrow(/fn must be a function/);
    expect(snapshot(mutex.handle.buffer)).toEqual(before);
  });

  it("from a worker: unlocking another thread's mutex, re-locking one it holds, upgrading a read lock", async () => {
    const { RwLock } = await import('../src/index.js');
    const mutex = Mutex.create();
    const rwlock = RwLock.create();
    const othersMutex = Mutex.create();
    const othersRwLock = RwLock.create();
    expect(othersMutex.tryLock()).toBe(true);
    expect(othersRwLock.tryWriteLock()).toBe(true);
    const before = [othersMutex, othersRwLock].map((p) => snapshot(p.handle.buffer));
    const result = await startActor<Record<string, { code: string; message?: string }>>('misuse', {
      mutex: mutex.handle,
      rwlock: rwlock.handle,
      othersMutex: othersMutex.handle,
      othersRwLock: othersRwLock.handle,
    }).result;
    expect(result.unlockOthersMutex).toMatchObject({ code: 'ERR_SABRE_NOT_OWNER', message: expect.stringMatching(/held by thread 0/) });
    expect(result.selfDeadlock).toMatchObject({ code: new IllegalStateError('').code, message: expect.stringMatching(/not reentrant/) });
    expect(result.writeUnlockOthers).toMatchObject({ code: 'ERR_SABRE_NOT_OWNER' });
    expect(result.readThenWrite).toMatchObject({ code: 'ERR_SABRE_ILLEGAL_STATE' });
    expect([othersMutex, othersRwLock].map((p) => snapshot(p.handle.buffer))).toEqual(before);
    expect(mutex.isLocked()).toBe(false);
    expect(rwlock.readerCount()).toBe(0);
    othersMutex.unlock();
    othersRwLock.writeUnlock();
  });
});
