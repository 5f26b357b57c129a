import { describe, expect, it } from 'vitest';
import { CondVar, InvalidArgumentError, Mutex, NotOwnerError } from '../src/index.js';
import { runActors, snapshot } from './support/threads.js';

describe('CondVar', () => {
  it.each([
    [1, 1],
    [2, 2],
    [4, 4],
  ])('a bounded queue with %i producers and %i consumers never loses a wake-up', async (producers, consumers) => {
    const perProducer = 20_000;
    const mutex = Mutex.create();
    const notEmpty = CondVar.create();
    const notFull = CondVar.create();
    const queue = new SharedArrayBuffer(4 * (5 + 4)); // a tiny capacity (4) forces constant waiting on both sides
    const common = { mutex: mutex.handle, notEmpty: notEmpty.handle, notFull: notFull.handle, queue, producers, perProducer };
    const results = await runActors<{ sum: number; taken: number }>('queue', producers + consumers, (index) =>
      index < producers ? { ...common, producer: true } : { ...common, index: index - producers, producer: false },
    );
    const total = producers * perProducer;
    const q = new Int32Array(queue);
    expect(q[4]).toBe(0); // no wait ever ran into its (20 s) timeout
    expect(results.reduce((s, r) => s + r.taken, 0)).toBe(total);
    expect(results.reduce((s, r) => s + r.sum, 0)).toBe((total * (total + 1)) / 2); // every item exactly once
    expect(q[2]).toBe(0);
  });

  it('waitAsync on the main thread: notified, timed out, aborted; the mutex is held again every time', async () => {
    const mutex = Mutex.create();
    const cv = CondVar.create();
    await mutex.lockAsync();
    const waiting = cv.waitAsync(mutex, { timeoutMs: 10_000 });
    expect(mutex.isLocked()).toBe(false); // released while waiting
    await new Promise((r) => setTimeout(r, 10));
    cv.notifyOne();
    await expect(waiting).resolves.toBe(true);
    expect(mutex.isHeldByCurrentThread()).toBe(true);
    await expect(cv.waitAsync(mutex, { timeoutMs: 10 })).resolves.toBe(false);
    expect(mutex.isHeldByCurrentThread()).toBe(true);
    await expect(cv.waitAsync(mutex, { signal: AbortSignal.timeout(10) })).rejects.toMatchObject({ name: 'TimeoutError' });
    expect(mutex.isHeldByCurrentThread()).toBe(true);
    expect(cv.waiters).toBe(0);
    mutex.unlock();
  });

  it('waiting without holding the mutex, or with something that is not a Mutex, changes nothing', async () => {
    const mutex = Mutex.create();
    const cv = CondVar.create();
    const before = [snapshot(mutex.handle.buffer), snapshot(cv.handle.buffer)];
    await expect(cv.waitAsync(mutex)).rejects.toBeInstanceOf(NotOwnerError);
    await expect(cv.waitAsync({} as Mutex)).rejects.toBeInstanceOf(InvalidArgumentError);
    expect(() => cv.wait(mutex, 0)).toThrow(/CondVar.waitAsync/);
    expect([snapshot(mutex.handle.buffer), snapshot(cv.handle.buffer)]).toEqual(before);
  });
});
