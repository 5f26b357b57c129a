import { describe, expect, it } from 'vitest';
import { IllegalStateError, Latch } from '../src/index.js';
import { snapshot, startActor } from './support/threads.js';

describe('Latch', () => {
  it('opens at zero for waiters on every thread, and stays open', async () => {
    const latch = Latch.create({ count: 3 });
    const worker = startActor<boolean>('tryFor', { latch: latch.handle, timeoutMs: 30_000 });
    const main = latch.waitAsync();
    latch.countDown();
    latch.countDown(2);
    await expect(main).resolves.toBe(true);
    await expect(worker.result).resolves.toBe(true);
    await expect(latch.waitAsync({ timeoutMs: 0 })).resolves.toBe(true);
    expect(latch.count).toBe(0);
  });

  it('times out while closed', async () => {
    const latch = Latch.create({ count: 1 });
    await expect(latch.waitAsync({ timeoutMs: 10 })).resolves.toBe(false);
    await expect(startActor('tryFor', { latch: latch.handle, timeoutMs: 10 }).result).resolves.toBe(false);
  });

  it('counting down past zero is an error that changes nothing', () => {
    const latch = Latch.create({ count: 2 });
    const before = snapshot(latch.handle.buffer);
    expect(() => latch.countDown(3)).toThrow(IllegalStateError);
    expect(() => latch.countDown(0)).toThrow(/integer from 1/);
    expect(snapshot(latch.handle.buffer)).toEqual(before);
    expect(() => Latch.create({ count: -1 })).toThrow(/count must be/);
  });
});
