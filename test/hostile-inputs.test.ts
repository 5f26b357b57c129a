/**
 * Hostile inputs, each a row: the call, the typed error it must get, and shared memory
 * byte-for-byte as it was. Then the inputs that must be accepted and come back exactly, and the
 * accounting that must hold exactly. (Lone surrogates, placement overlaps and option names are in
 * inputs.test.ts; the sequential model is in cache-model.test.ts.)
 */
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { HandleError, IllegalStateError, InvalidArgumentError, type SabreError, SharedCache } from '../src/index.js';
import { checkIntegrity } from '../src/cache/shared-cache.js';
import { snapshot } from './support/threads.js';

type ErrorClass = new (...args: never[]) => SabreError;

/** A cache with a little in it, and the call to make on it. */
interface Row {
  readonly what: string;
  readonly cache?: () => SharedCache;
  readonly call: (cache: SharedCache) => unknown;
  readonly error: ErrorClass;
}

function filled(options: Parameters<typeof SharedCache.create>[0] = { maxEntries: 16, maxBytes: 4096 }): SharedCache {
  const cache = SharedCache.create(options);
  cache.set('a', 'alpha');
  cache.set('n', 41);
  cache.set('s', '');
  cache.set('list', [1, 2]);
  return cache;
}

const rows: Row[] = [
  {
    what: 'increment when a counter (8 bytes) can never fit maxValueBytes',
    cache: () => SharedCache.create({ maxEntries: 16, maxBytes: 4096, maxValueBytes: 4 }).set('t', true),
    call: (c) => c.increment('a1'),
    error: InvalidArgumentError,
  },
  {
    what: 'increment when key + counter can never fit maxBytes (nothing evicted first)',
    cache: () => {
      const c = SharedCache.create({ maxEntries: 4, maxBytes: 12 });
      c.set('x', 1);
      c.set('y', 2);
      return c;
    },
    call: (c) => c.increment('abcdefgh'),
    error: InvalidArgumentError,
  },
  { what: 'increment by a bigint outside int64 on a missing key', call: (c) => c.increment('missing', 2n ** 64n), error: InvalidArgumentError },
  { what: 'increment by a non-integer', call: (c) => c.increment('n', 1.5), error: InvalidArgumentError },
  { what: 'increment of a string', call: (c) => c.increment('a'), error: IllegalStateError },
  { what: 'increment of an empty string by 0n', call: (c) => c.increment('s', 0n), error: IllegalStateError },
  {
    what: 'increment past the safe integers',
    cache: () => {
      const c = filled();
      c.set('big', Number.MAX_SAFE_INTEGER);
      return c;
    },
    call: (c) => c.increment('big'),
    error: IllegalStateError,
  },
  { what: 'expire without a ttl', call: (c) => (c.expire as (k: string) => boolean)('a'), error: InvalidArgumentError },
  { what: 'expire with a ttl of 0', call: (c) => c.expire('a', 0), error: InvalidArgumentError },
  { what: 'compareAndSet with options 5', call: (c) => c.compareAndSet('n', 41, 42, 5 as never), error: InvalidArgumentError },
  { what: 'compareAndSet with options null', call: (c) => c.compareAndSet('n', 41, 42, null as never), error: InvalidArgumentError },
  { what: 'compareAndSet with a misspelt option', call: (c) => c.compareAndSet('n', 41, 42, { ttl: 5 } as never), error: InvalidArgumentError },
  { what: 'set with a misspelt option', call: (c) => c.set('a', 1, { ttl: 1000 } as never), error: InvalidArgumentError },
  { what: 'set with ttlMs null', call: (c) => c.set('a', 1, { ttlMs: null } as never), error: InvalidArgumentError },
  {
    what: 'set with an options getter that throws',
    call: (c) =>
      c.set('a', 1, {
        get ttlMs(): number {
          throw new Error('getter');
        },
      }),
    error: InvalidArgumentError,
  },
  {
    what: 'set of a value whose getter throws 42',
    call: (c) =>
      c.set('a', {
        get x(): number {
          throw 42;
        },
      }),
    error: InvalidArgumentError,
  },
  { what: 'set of undefined', call: (c) => c.set('a', undefined), error: InvalidArgumentError },
  { what: 'set of a function', call: (c) => c.set('a', () => 1), error: InvalidArgumentError },
  { what: 'a NaN key', call: (c) => c.set(NaN, 1), error: InvalidArgumentError },
  { what: 'an object key', call: (c) => c.get({} as never), error: InvalidArgumentError },
  {
    what: 'a key over maxKeyBytes',
    cache: () => filled({ maxEntries: 16, maxBytes: 4096, maxKeyBytes: 4 }),
    call: (c) => c.set('abcde', 1),
    error: InvalidArgumentError,
  },
  {
    what: 'a value over maxValueBytes',
    cache: () => filled({ maxEntries: 16, maxBytes: 4096, maxValueBytes: 16 }),
    call: (c) => c.set('a', 'x'.repeat(17)),
    error: InvalidArgumentError,
  },
  { what: 'recoverDeadThread(-1)', call: (c) => c.recoverDeadThread(-1), error: InvalidArgumentError },
];

describe('a refused call leaves every byte of shared memory as it was', () => {
  it.each(rows)('$what', (row) => {
    const cache = (row.cache ?? filled)();
    const before = snapshot(cache.handle.buffer);
    let thrown: unknown;
    try {
      row.call(cache);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(row.error);
    expect((thrown as SabreError).code).toMatch(/^ERR_SABRE_/);
    expect(snapshot(cache.handle.buffer)).toEqual(before);
  });

  it.each([
    ['leaseMs: null', { leaseMs: null }],
    ['a misspelt option', { lease: 5 }],
    ['options 5', 5],
  ])('getOrCompute with %s rejects before anything is stored', async (_, options) => {
    const cache = filled();
    const before = snapshot(cache.handle.buffer);
    await expect(cache.getOrCompute('g', () => 1, options as never)).rejects.toBeInstanceOf(InvalidArgumentError);
    expect(snapshot(cache.handle.buffer)).toEqual(before);
  });

  it('getOrCompute whose placeholder could never fit maxBytes rejects up front, evicting nothing', async () => {
    const cache = SharedCache.create({ maxEntries: 4, maxBytes: 20 });
    cache.set('x', 1);
    const before = snapshot(cache.handle.buffer);
    await expect(cache.getOrCompute('a-long-key', () => 1)).rejects.toBeInstanceOf(InvalidArgumentError);
    expect(snapshot(cache.handle.buffer)).toEqual(before);
    expect(cache.get('x')).toBe(1);
  });

  it('with locked reads (SABRE_LOCKED_READS=1), a refused increment leaves every byte too', async () => {
    // The locked read path is chosen when the module loads: run it in a worker with that environment.
    const code = `
      const { parentPort, workerData } = require('node:worker_threads');
      import(workerData.index).then(({ SharedCache }) => {
        const cache = SharedCache.create({ maxEntries: 8, maxBytes: 1024 });
        cache.setIfAbsent('a', '');
        const before = new Uint8Array(cache.handle.buffer).slice();
        let code = 'none';
        try { cache.increment('a', 0n); } catch (error) { code = error.code; }
        const after = new Uint8Array(cache.handle.buffer);
        parentPort.postMessage({ code, same: before.every((b, i) => b === after[i]) });
      });`;
    const index = new URL('../dist/src/index.js', import.meta.url).href;
    const worker = new Worker(code, { eval: true, workerData: { index }, env: { ...process.env, SABRE_LOCKED_READS: '1' } });
    const answer = await new Promise((resolve, reject) => worker.once('message', resolve).once('error', reject));
    expect(answer).toEqual({ code: 'ERR_SABRE_ILLEGAL_STATE', same: true });
  });

  it('attach refuses a handle whose buffer is shorter than the cache it describes (writes to it would be lost)', () => {
    const cache = filled();
    const half = new SharedArrayBuffer(cache.handle.buffer.byteLength / 2);
    new Uint8Array(half).set(new Uint8Array(cache.handle.buffer, 0, half.byteLength));
    expect(() => SharedCache.attach({ ...cache.handle, buffer: half })).toThrow(HandleError);
  });
});

describe('what is accepted works exactly', () => {
  it('compareAndSet with a value read back, even when it re-encodes larger than maxValueBytes (the read-modify-CAS loop)', () => {
    const cache = SharedCache.create({ maxEntries: 8, maxBytes: 4096, maxValueBytes: 14 });
    cache.set('list', [1, 2]);
    const current = cache.get('list');
    expect(cache.compareAndSet('list', current, [1, 2, 3].slice(0, 2))).toBe(true);
    expect(cache.compareAndSet('list', 'not it', [9])).toBe(false);
    expect(cache.compareAndDelete('list', cache.get('list'))).toBe(true);
  });

  it('getOrCompute works with maxValueBytes below its 16-byte placeholder', async () => {
    const cache = SharedCache.create({ maxEntries: 8, maxBytes: 4096, maxValueBytes: 8 });
    await expect(cache.getOrCompute('k', () => 7)).resolves.toBe(7);
    expect(cache.get('k')).toBe(7);
    expect(cache[checkIntegrity]()).toEqual([]);
  });

  it('a getOrCompute whose compute returns undefined stores nothing and gives undefined to every waiter (one computation)', async () => {
    const cache = SharedCache.create({ maxEntries: 8, maxBytes: 4096 });
    let runs = 0;
    let finish: (value: undefined) => void = () => {};
    const compute = (): Promise<undefined> => {
      runs++;
      return new Promise((resolve) => (finish = resolve));
    };
    const first = cache.getOrCompute('k', compute);
    const second = cache.getOrCompute('k', compute);
    await new Promise((resolve) => setTimeout(resolve, 50));
    finish(undefined);
    await expect(Promise.all([first, second])).resolves.toEqual([undefined, undefined]);
    expect(runs).toBe(1);
    expect(cache.has('k')).toBe(false);
    expect(cache.stats()).toMatchObject({ inserts: 1, abandonedFlights: 1, size: 0 });
  });

  it('clear() during a getOrCompute flight wakes its waiters (they do not sleep out the lease)', async () => {
    const cache = SharedCache.create({ maxEntries: 16, maxBytes: 4096 });
    let finish: (value: string) => void = () => {};
    const owner = cache.getOrCompute('k', () => new Promise<string>((resolve) => (finish = resolve)), { leaseMs: 3_600_000 });
    await new Promise((resolve) => setImmediate(resolve));
    const waiter = cache.getOrCompute('k', () => 'the waiter computed', { leaseMs: 3_600_000 });
    await new Promise((resolve) => setTimeout(resolve, 30));
    cache.clear(); // removes the flight's placeholder: the waiter must hear of it, not wait an hour
    finish('the owner computed');
    await expect(owner).resolves.toBe('the owner computed');
    await expect(waiter).resolves.toMatch(/computed/);
    expect(cache[checkIntegrity]()).toEqual([]);
  });

  it('a number counter takes a bigint delta while the result stays a safe integer', () => {
    const cache = SharedCache.create({ maxEntries: 8, maxBytes: 4096 });
    cache.set('a', -1);
    expect(cache.increment('a', 2n ** 53n)).toBe(Number.MAX_SAFE_INTEGER);
    expect(() => cache.increment('a', 1n)).toThrow(IllegalStateError);
  });

  it('an onEvict listener that throws neither fails the write that evicted nor skips the other listeners; it is reported', async () => {
    const cache = SharedCache.create({ maxEntries: 1, maxBytes: 4096 });
    const heard: string[] = [];
    cache.onEvict(() => {
      throw new Error('listener broke');
    });
    cache.onEvict((key) => heard.push(String(key)));
    const warnings: Error[] = [];
    const onWarning = (warning: Error): void => void warnings.push(warning);
    process.on('warning', onWarning);
    try {
      cache.set('a', 1);
      expect(() => cache.set('b', 2)).not.toThrow();
      expect(cache.get('b')).toBe(2);
      expect(heard).toEqual(['a']);
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings.map((w) => (w as Error & { code?: string }).code)).toContain('SABRE_EVICT_LISTENER');
    } finally {
      process.off('warning', onWarning);
    }
  });
});

describe('accounting: size = inserts - deletes - evictions - abandoned flights, exactly', () => {
  it('the README example: 2,000 sets and 2,000 increments of one counter make 2,001 entries, every one counted', () => {
    const cache = SharedCache.create({ maxEntries: 10_000, maxBytes: 1 << 20 });
    for (let i = 0; i < 2000; i++) {
      cache.set(`user:${i}`, { i });
      cache.increment('hits');
    }
    const stats = cache.stats();
    expect(stats).toMatchObject({ size: 2001, inserts: 2001, sets: 4000, deletes: 0 });
  });

  it('every way in and out is counted once', async () => {
    const cache = SharedCache.create({ maxEntries: 4, maxBytes: 4096 });
    for (let i = 0; i < 10; i++) cache.set(i, i); // 6 capacity evictions
    cache.delete(9);
    cache.compareAndDelete(8, 8);
    await cache.getOrCompute('g', () => undefined);
    await expect(cache.getOrCompute('f', () => Promise.reject(new Error('no')))).rejects.toThrow('no');
    cache.clear();
    const s = cache.stats();
    const evicted = Object.values(s.evictions).reduce((a, b) => a + b, 0);
    expect(s).toMatchObject({ inserts: 12, deletes: 4, abandonedFlights: 2, size: 0 });
    expect(evicted).toBe(6);
    expect(s.inserts - s.deletes - evicted - s.abandonedFlights).toBe(s.size);
    expect(cache[checkIntegrity]()).toEqual([]);
  });
});
