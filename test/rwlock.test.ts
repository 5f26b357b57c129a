import { describe, expect, it } from 'vitest';
import { Barrier, Latch, MainThreadBlockingError, NotOwnerError, RwLock } from '../src/index.js';
import { runActors, settle, snapshot, startActor, stateWord, until } from './support/threads.js';

const READERS_WAITING = 1 << 29; // see the layout in src/shared/rwlock.ts
const WRITERS_WAITING = 1 << 30;

function occupancyRun(workers: number, locked: boolean, iterations: number) {
  const lock = RwLock.create();
  const occupancy = new SharedArrayBuffer(4);
  const start = Barrier.create({ parties: workers });
  // One writer for every two threads, the rest readers.
  return runActors<number>('occupancy', workers, (index) => ({
    lock: locked ? lock.handle : undefined,
    occupancy,
    start: start.handle,
    writer: index % 2 === 0,
    iterations,
    seed: 11,
  })).then((violations) => ({ violations: violations.reduce((a, b) => a + b, 0), lock }));
}

describe('RwLock: never a writer beside a reader, never two writers', () => {
  it.each([2, 4, 8])('with %i workers, the occupancy word checked inside every critical section', async (workers) => {
    const { violations, lock } = await occupancyRun(workers, true, 20_000);
    expect(violations).toBe(0);
    expect(lock.readerCount()).toBe(0);
    expect(lock.isWriteLocked()).toBe(false);
  });

  it('the same workload with no lock does show violations (so the check can fail)', async () => {
    const { violations } = await occupancyRun(4, false, 20_000);
    expect(violations).toBeGreaterThan(0);
  });

  it('a writer gets in while a relay of readers keeps the lock read-held', async () => {
    const lock = RwLock.create();
    const shared = new SharedArrayBuffer(8); // [reader entries, writer done]
    const maxEntries = 200_000; // far more than the writer should ever have to wait for
    const readers = runActors<{ entries: number; writerGotIn: boolean }>('relayReader', 3, () => ({ lock: lock.handle, shared, maxEntries }));
    const writer = startActor<{ entriesBefore: number; readersInside: number }>('relayWriter', { lock: lock.handle, shared }).result;
    const [readerResults, writerResult] = await Promise.all([readers, writer]);
    expect(writerResult.readersInside).toBe(0);
    for (const r of readerResults) {
      expect(r.writerGotIn).toBe(true);
      expect(r.entries).toBeLessThan(maxEntries);
    }
  });
});

describe('RwLock: async forms, timeouts and aborts', () => {
  async function heldByWorker(read: boolean) {
    const lock = RwLock.create();
    const held = Latch.create({ count: 1 });
    const release = Latch.create({ count: 1 });
    const holder = startActor('hold', { rwlock: lock.handle, read, held: held.handle, release: release.handle });
    await held.waitAsync();
    return {
      lock,
      release: async () => {
        release.countDown();
        await holder.result;
      },
    };
  }

  it('main-thread readers share with a worker reader; a writer waits for both', async () => {
    const { lock, release } = await heldByWorker(true);
    await expect(lock.readLockAsync({ timeoutMs: 1_000 })).resolves.toBe(true);
    expect(lock.readerCount()).toBe(2);
    await expect(startActor('tryFor', { rwlock: lock.handle, timeoutMs: 30 }).result).resolves.toBe(false);
    lock.readUnlock();
    await release();
    await expect(lock.writeLockAsync({ timeoutMs: 1_000 })).resolves.toBe(true);
    expect(lock.holder()?.threadId).toBe(0);
    lock.writeUnlock();
  });

  it('a writer that times out does not leave readers locked out behind its waiting bit', async () => {
    const { lock, release } = await heldByWorker(true);
    // The writer queues (setting WRITERS_WAITING) and gives up while the reader still holds the lock.
    await expect(lock.writeLockAsync({ timeoutMs: 30 })).resolves.toBe(false);
    expect(stateWord(lock.handle) & WRITERS_WAITING).not.toBe(0);
    // A second reader now queues behind the departed writer's bit…
    const ready = Latch.create({ count: 1 });
    const queued = startActor<boolean>('tryFor', { rwlock: lock.handle, read: true, timeoutMs: 30_000, ready: ready.handle });
    await ready.waitAsync();
    await until(() => (stateWord(lock.handle) & READERS_WAITING) !== 0, 'the second reader queues');
    // …and must be let in when the first reader leaves, though no writer is left to take the lock.
    await release();
    await expect(queued.result).resolves.toBe(true);
    // With the lock free again, a new reader must get in at once.
    await expect(startActor('tryFor', { rwlock: lock.handle, read: true, timeoutMs: 5_000 }).result).resolves.toBe(true);
    expect(lock.tryReadLock()).toBe(true);
    lock.readUnlock();
  });

  it('an aborted async writer passes its wake-up on to the parked readers', async () => {
    const { lock, release } = await heldByWorker(false);
    const controller = new AbortController();
    const abandoned = lock.writeLockAsync({ signal: controller.signal }); // parks at once: first in the writer queue
    const reader = startActor<boolean>('tryFor', { rwlock: lock.handle, read: true, timeoutMs: 30_000 });
    await until(() => (stateWord(lock.handle) & READERS_WAITING) !== 0, 'the reader queues');
    await settle();
    controller.abort();
    await expect(abandoned).rejects.toMatchObject({ name: 'AbortError' });
    await release();
    await expect(reader.result).resolves.toBe(true);
    expect(lock.readerCount()).toBe(0);
    expect(lock.isWriteLocked()).toBe(false);
  });

  it('recursive read locks do not queue behind a waiting writer', async () => {
    const lock = RwLock.create();
    expect(lock.tryReadLock()).toBe(true);
    const writer = lock.writeLockAsync({ timeoutMs: 5_000 });
    expect(stateWord(lock.handle) & WRITERS_WAITING).not.toBe(0);
    expect(lock.tryReadLock()).toBe(true); // this object already reads: no deadlock behind the writer
    expect(RwLock.attach(lock.handle).tryReadLock()).toBe(false); // a fresh reader does queue
    lock.readUnlock();
    lock.readUnlock();
    await expect(writer).resolves.toBe(true);
    lock.writeUnlock();
  });
});

describe('RwLock: misuse', () => {
  it('unbalanced unlocks and main-thread blocking change nothing', () => {
    const lock = RwLock.create();
    const before = snapshot(lock.handle.buffer);
    expect(() => lock.readUnlock()).toThrow(NotOwnerError);
    expect(() => lock.writeUnlock()).toThrow(/not write-locked/);
    expect(() => lock.readLock()).toThrow(MainThreadBlockingError);
    expect(() => lock.writeLock(10)).toThrow(MainThreadBlockingError);
    expect(() => lock.withReadLock(() => 0)).toThrow(MainThreadBlockingError);
    expect(snapshot(lock.handle.buffer)).toEqual(before);
  });
});
