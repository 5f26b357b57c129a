import { describe, expect, it } from 'vitest';
import { Barrier, IllegalStateError, InvalidArgumentError, Latch, Semaphore } from '../src/index.js';
import { runActors, snapshot, startActor } from './support/threads.js';

describe('Semaphore', () => {
  it.each([2, 4, 8])('never lets more than its permits be held at once, with %i workers taking 1-2 permits', async (workers) => {
    const permits = 3;
    const semaphore = Semaphore.create({ permits });
    const inUse = new SharedArrayBuffer(8);
    const start = Barrier.create({ parties: workers });
    await runActors('permits', workers, () => ({
      semaphore: semaphore.handle,
      inUse,
      start: start.handle,
      iterations: 10_000,
      permits,
      maxTake: 2,
      seed: 5,
    }));
    expect(new Int32Array(inUse)[1]).toBe(0);
    expect(semaphore.available).toBe(permits);
  });

  it('async acquire waits for a release, times out, and aborts', async () => {
    const semaphore = Semaphore.create({ permits: 2 });
    const held = Latch.create({ count: 1 });
    const release = Latch.create({ count: 1 });
    const holder = startActor('hold', { semaphore: semaphore.handle, n: 2, held: held.handle, release: release.handle });
    await held.waitAsync();
    await expect(semaphore.acquireAsync(1, { timeoutMs: 20 })).resolves.toBe(false);
    await expect(semaphore.acquireAsync(1, { signal: AbortSignal.timeout(20) })).rejects.toMatchObject({ name: 'TimeoutError' });
    const waiting = semaphore.acquireAsync(2);
    release.countDown();
    await holder.result;
    await expect(waiting).resolves.toBe(true);
    expect(semaphore.available).toBe(0);
    semaphore.release(2);
    expect(await semaphore.withPermitsAsync(2, () => semaphore.available)).toBe(0);
    expect(semaphore.available).toBe(2);
  });

  it('rejects over-release and bad counts, changing nothing', () => {
    const semaphore = Semaphore.create({ permits: 2 });
    const before = snapshot(semaphore.handle.buffer);
    expect(() => semaphore.release()).toThrow(IllegalStateError);
    for (const n of [0, -1, 1.5, NaN, 3, '1']) {
      expect(() => semaphore.tryAcquire(n as number)).toThrow(InvalidArgumentError);
      expect(() => semaphore.release(n as number)).toThrow(n === 3 ? /must be an integer from 1 to 2/ : InvalidArgumentError);
    }
    expect(snapshot(semaphore.handle.buffer)).toEqual(before);
    expect(() => Semaphore.create({ permits: -1 })).toThrow(/permits must be an integer/);
    expect(() => Semaphore.create({ permits: 4, maxPermits: 2 })).toThrow(/maxPermits/);
    expect(() => Semaphore.create(undefined as never)).toThrow(InvalidArgumentError);
  });
});
