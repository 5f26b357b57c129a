/**
 * The AsyncCache behaviour table: what every cache must do the same, whatever it runs on (a
 * SharedCache through asyncCache, a RedisCache or a TieredCache on one server or on a cluster).
 * Run by test/redis-async-cache.test.ts and test/redis-cluster.test.ts.
 */
import { expect } from 'vitest';
import { type AsyncCache, InvalidArgumentError } from '../../src/index.js';

/** Each row: a name and a scenario run on a fresh, empty cache. */
export const TABLE: Array<[string, (cache: AsyncCache) => Promise<void>]> = [
  [
    'set / get / peek / has / delete',
    async (c) => {
      expect(await c.get('a')).toBeUndefined();
      await c.set('a', { x: [1, 2] });
      expect(await c.get('a')).toEqual({ x: [1, 2] });
      expect(await c.peek('a')).toEqual({ x: [1, 2] });
      expect(await c.has('a')).toBe(true);
      expect(await c.delete('a')).toBe(true);
      expect(await c.delete('a')).toBe(false);
      expect(await c.has('a')).toBe(false);
    },
  ],
  [
    'values of every type, bytes as bytes',
    async (c) => {
      const values = [
        's',
        '',
        'a\uD800',
        1.5,
        -0,
        NaN,
        true,
        false,
        null,
        5n,
        2n ** 100n,
        [1, 'x'],
        new Map([[1, 2]]),
        new Uint8Array([1, 2]),
        Buffer.from('b'),
      ];
      for (const [i, value] of values.entries()) await c.set(i, value);
      for (const [i, value] of values.entries()) {
        const back = await c.get(i);
        expect(back).toEqual(value);
        if (typeof value === 'object' && value !== null) expect(Object.getPrototypeOf(back)).toBe(Object.getPrototypeOf(value));
        if (typeof value === 'number') expect(Object.is(back, value)).toBe(true);
      }
    },
  ],
  [
    'setIfAbsent, compareAndSet, compareAndDelete',
    async (c) => {
      expect(await c.setIfAbsent('k', 1)).toBe(true);
      expect(await c.setIfAbsent('k', 2)).toBe(false);
      expect(await c.compareAndSet('k', 2, 3)).toBe(false);
      expect(await c.compareAndSet('k', 1, 3)).toBe(true);
      expect(await c.compareAndSet('k', 3n, 4)).toBe(false);
      expect(await c.compareAndDelete('k', 1)).toBe(false);
      expect(await c.compareAndDelete('k', 3)).toBe(true);
      await c.set('o', [1, 2, 3]);
      expect(await c.compareAndSet('o', await c.get('o'), 'next')).toBe(true);
      expect(await c.get('o')).toBe('next');
    },
  ],
  [
    'increment: types, TTL kept, refusals change nothing',
    async (c) => {
      expect(await c.increment('n')).toBe(1);
      expect(await c.increment('n', 2n)).toBe(3);
      expect(await c.increment('b', 2n)).toBe(2n);
      await c.set('t', 1, { ttlMs: 60_000 });
      await c.increment('t');
      expect(await c.ttl('t')).toBeGreaterThan(0);
      await c.set('max', Number.MAX_SAFE_INTEGER);
      await expect(c.increment('max')).rejects.toMatchObject({ code: 'ERR_SABRE_ILLEGAL_STATE' });
      await c.set('s', 'text');
      await expect(c.increment('s')).rejects.toMatchObject({ code: 'ERR_SABRE_ILLEGAL_STATE' });
      expect(await c.get('max')).toBe(Number.MAX_SAFE_INTEGER);
      expect(await c.get('s')).toBe('text');
    },
  ],
  [
    'ttl and expire',
    async (c) => {
      await c.set('k', 'v', { ttlMs: Infinity });
      expect(await c.ttl('k')).toBe(Infinity);
      expect(await c.expire('k', 10_000)).toBe(true);
      const left = await c.ttl('k');
      expect(left).toBeGreaterThan(0);
      expect(left).toBeLessThanOrEqual(10_000);
      expect(await c.expire('k', Infinity)).toBe(true);
      expect(await c.ttl('k')).toBe(Infinity);
      expect(await c.expire('nope', 1_000)).toBe(false);
      expect(await c.ttl('nope')).toBeUndefined();
    },
  ],
  [
    'getOrCompute: once for concurrent callers; undefined stores nothing; an error rejects its caller and stores nothing',
    async (c) => {
      let runs = 0;
      const compute = async () => {
        runs++;
        await new Promise((r) => setTimeout(r, 20));
        return 'v';
      };
      const got = await Promise.all(Array.from({ length: 10 }, () => c.getOrCompute('k', compute)));
      expect(got).toEqual(Array(10).fill('v'));
      expect(runs).toBe(1);
      expect(await c.getOrCompute('u', () => undefined)).toBeUndefined();
      expect(await c.has('u')).toBe(false);
      await expect(
        c.getOrCompute('e', () => {
          throw new Error('boom');
        }),
      ).rejects.toThrow('boom');
      expect(await c.has('e')).toBe(false);
      const stats = await c.stats();
      expect(stats.singleFlightWaits).toBeGreaterThan(0);
    },
  ],
  [
    'bad input: the same typed errors, as rejections',
    async (c) => {
      const attempts = [
        () => c.set({} as never, 1),
        () => c.set(NaN, 1),
        () => c.set('k', undefined),
        () => c.set('k', 1, { ttlMs: -1 }),
        () => c.increment('k', 1.5),
        () => c.expire('k', 0),
        () => c.getOrCompute('k', 5 as never),
      ];
      for (const attempt of attempts) await expect(attempt()).rejects.toBeInstanceOf(InvalidArgumentError);
      expect(await c.has('k')).toBe(false);
    },
  ],
];
