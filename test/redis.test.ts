/**
 * RedisCache against a real redis-server (started here, on a free port): every method, the exact
 * round-trip of every value SharedCache stores, SharedCache's integer rules for increment, and bad
 * input refused with a typed error that leaves Redis unchanged.
 */
import { createClient } from '@redis/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IllegalStateError, InvalidArgumentError } from '../src/index.js';
import { RedisCache, StoreReplyError } from '../src/redis/index.js';
import { RedisServer, redisAvailable } from './support/redis-server.js';

type Raw = ReturnType<typeof createClient>;

/** Every key and value (as bytes) and whether each has a TTL: what a refused call must leave as it was. */
export async function snapshotRedis(raw: Raw): Promise<string[]> {
  const keys = (await raw.sendCommand<string[]>(['KEYS', '*'])).sort();
  const rows: string[] = [];
  for (const key of keys) {
    const value = await raw.sendCommand<string | null>(['GET', key]);
    const ttl = await raw.sendCommand<number>(['PTTL', key]);
    rows.push(`${key}=${Buffer.from(value ?? '', 'latin1').toString('hex')} ttl:${ttl === -1 ? 'none' : 'some'}`);
  }
  return rows;
}

describe.skipIf(!redisAvailable)('RedisCache', () => {
  let server: RedisServer;
  let cache: RedisCache;
  let raw: Raw;
  let prefixes = 0;
  /** A cache of its own (a fresh prefix) for one test. */
  const fresh = async (options: Record<string, unknown> = {}) => RedisCache.connect({ url: server.url, prefix: `t${++prefixes}:`, ...options });

  beforeAll(async () => {
    server = await RedisServer.start();
    cache = await RedisCache.connect({ url: server.url, prefix: 'main:' });
    raw = createClient({ url: server.url });
    raw.on('error', () => {});
    await raw.connect();
  });

  afterAll(async () => {
    await cache?.close();
    raw?.destroy();
    await server?.stop();
  });

  describe('values come back as they went in, as copies', () => {
    it.each([
      ['a string', 'héllo wörld ✓'],
      ['an empty string', ''],
      ['a long string', 'x'.repeat(5_000)],
      ['a string with a lone surrogate', 'a\uD800b'],
      ['a number', 42.5],
      ['NaN', NaN],
      ['-0', -0],
      ['Infinity', -Infinity],
      ['true', true],
      ['false', false],
      ['null', null],
      ['an int64 bigint', -(2n ** 63n)],
      ['a huge bigint', 2n ** 200n],
      ['an object', { a: [1, 2, { b: 'x' }], when: new Date(0), map: new Map([[1, 'one']]) }],
      ['an array', [1, 'two', null]],
    ])('%s', async (_, value) => {
      await cache.set('k', value);
      const back = await cache.get('k');
      expect(back).toEqual(value);
      if (typeof value === 'number') expect(Object.is(back, value)).toBe(true);
      expect(await cache.peek('k')).toEqual(value);
    });

    it('bytes: a Uint8Array comes back as a Uint8Array, a Buffer as a Buffer, both copies', async () => {
      const bytes = new Uint8Array([1, 2, 3, 0, 255]);
      await cache.set('u8', bytes);
      await cache.set('buf', Buffer.from('hi'));
      const got = (await cache.get('u8')) as Uint8Array;
      expect(got).toEqual(bytes);
      expect(Object.getPrototypeOf(got)).toBe(Uint8Array.prototype);
      expect(got.byteOffset).toBe(0);
      expect(got.buffer.byteLength).toBe(bytes.length); // its own memory, not a slice of a reply
      const buf = await cache.get('buf');
      expect(Buffer.isBuffer(buf)).toBe(true);
      expect((buf as Buffer).toString()).toBe('hi');
      got[0] = 99;
      expect(((await cache.get('u8')) as Uint8Array)[0]).toBe(1);
    });

    it('keys: strings and numbers never collide (1 and "1" are two keys), and keys live under the prefix', async () => {
      const c = await fresh();
      await c.set(1, 'number');
      await c.set('1', 'string');
      await c.set(-0, 'zero');
      await c.set('\uD800', 'lone');
      expect(await c.get(1)).toBe('number');
      expect(await c.get('1')).toBe('string');
      expect(await c.get(0)).toBe('zero'); // -0 and 0 are one key, as in SharedCache
      expect(await c.get('\uD800')).toBe('lone');
      expect(await c.get('\uFFFD')).toBeUndefined();
      const keys = await raw.sendCommand<string[]>(['KEYS', `t${prefixes}:*`]);
      expect(keys).toHaveLength(4);
      await c.close();
    });
  });

  describe('every method', () => {
    it('get, peek, has, delete, and hits/misses counted by get only', async () => {
      const c = await fresh();
      expect(await c.get('a')).toBeUndefined();
      expect(await c.has('a')).toBe(false);
      await c.set('a', 1);
      expect(await c.has('a')).toBe(true);
      expect(await c.get('a')).toBe(1);
      expect(await c.peek('a')).toBe(1);
      expect(await c.delete('a')).toBe(true);
      expect(await c.delete('a')).toBe(false);
      expect(await c.peek('a')).toBeUndefined();
      const stats = await c.stats();
      expect(stats).toMatchObject({ hits: 1, misses: 1, sets: 1, deletes: 1, unavailableErrors: 0, graceServed: 0 });
      await c.close();
    });

    it('set with ttlMs, ttl, expire (Infinity removes the expiry), and the default ttlMs of the cache', async () => {
      const c = await fresh({ ttlMs: 60_000 });
      await c.set('forever', 'v', { ttlMs: Infinity });
      await c.set('default', 'v');
      await c.set('short', 'v', { ttlMs: 30_000 });
      expect(await c.ttl('forever')).toBe(Infinity);
      expect(await c.ttl('default')).toBeGreaterThan(30_000);
      expect(await c.ttl('short')).toBeGreaterThan(0);
      expect(await c.ttl('short')).toBeLessThanOrEqual(30_000);
      expect(await c.ttl('missing')).toBeUndefined();
      expect(await c.expire('short', Infinity)).toBe(true);
      expect(await c.ttl('short')).toBe(Infinity);
      expect(await c.expire('forever', 5_000)).toBe(true);
      expect(await c.ttl('forever')).toBeLessThanOrEqual(5_000);
      expect(await c.expire('missing', 5_000)).toBe(false);
      expect(await c.expire('missing', Infinity)).toBe(false);
      // An entry that expires is gone (1 ms TTL; polled, no wall-clock assertion).
      await c.set('gone', 'v', { ttlMs: 1 });
      while ((await c.peek('gone')) !== undefined) await new Promise((r) => setTimeout(r, 5));
      expect(await c.has('gone')).toBe(false);
      await c.close();
    });

    it('setIfAbsent: only when absent, with its TTL', async () => {
      const c = await fresh();
      expect(await c.setIfAbsent('k', 'first', { ttlMs: 60_000 })).toBe(true);
      expect(await c.setIfAbsent('k', 'second')).toBe(false);
      expect(await c.get('k')).toBe('first');
      expect(await c.ttl('k')).toBeGreaterThan(0);
      await c.close();
    });

    it('compareAndSet / compareAndDelete: by encoding, objects by value; the expiry kept unless ttlMs is given', async () => {
      const c = await fresh();
      await c.set('n', 1, { ttlMs: 60_000 });
      expect(await c.compareAndSet('n', 2, 3)).toBe(false);
      expect(await c.compareAndSet('n', 1, 2)).toBe(true);
      expect(await c.get('n')).toBe(2);
      expect(await c.ttl('n')).toBeGreaterThan(0); // kept
      expect(await c.compareAndSet('n', 2, 3, { ttlMs: Infinity })).toBe(true);
      expect(await c.ttl('n')).toBe(Infinity);
      expect(await c.compareAndSet('missing', 1, 2)).toBe(false);
      expect(await c.has('missing')).toBe(false);
      // 1 and 1n and '1' are different values.
      expect(await c.compareAndSet('n', 3n, 4)).toBe(false);
      expect(await c.compareAndSet('n', '3', 4)).toBe(false);
      // An array read back re-encodes differently (V8's serialization is not canonical): equal values still match.
      await c.set('o', { list: [1, 2, 3], at: new Date(5) });
      const back = await c.get('o');
      expect(await c.compareAndSet('o', back, { list: [4] })).toBe(true);
      expect(await c.compareAndSet('o', { list: [1] }, 'x')).toBe(false);
      expect(await c.compareAndDelete('o', { list: [4] })).toBe(true);
      expect(await c.has('o')).toBe(false);
      expect(await c.compareAndDelete('n', 99)).toBe(false);
      expect(await c.compareAndDelete('n', 3)).toBe(true);
      expect(await c.compareAndDelete('n', 3)).toBe(false);
      await c.close();
    });

    it('increment: SharedCache rules (types, ranges, not an integer), the TTL kept as INCR keeps it', async () => {
      const c = await fresh({ ttlMs: 60_000 });
      expect(await c.increment('n')).toBe(1);
      expect(await c.increment('n', 41)).toBe(42);
      expect(await c.increment('n', -50)).toBe(-8);
      expect(await c.get('n')).toBe(-8);
      expect(await c.ttl('n')).toBeGreaterThan(0); // a new counter gets the default TTL
      await c.set('kept', 5, { ttlMs: 30_000 });
      expect(await c.increment('kept', 1)).toBe(6);
      expect(await c.ttl('kept')).toBeGreaterThan(0);
      expect(await c.ttl('kept')).toBeLessThanOrEqual(30_000);
      await c.set('forever', 0, { ttlMs: Infinity });
      expect(await c.increment('forever', 2n)).toBe(2); // a number counter stays a number
      expect(await c.ttl('forever')).toBe(Infinity);
      expect(await c.increment('b', 5n)).toBe(5n);
      expect(await c.increment('b', 1)).toBe(6n); // a bigint counter stays a bigint
      await c.set('big', 2n ** 62n);
      expect(await c.increment('big', 2n ** 62n - 1n)).toBe(2n ** 63n - 1n);
      await c.set('safe', Number.MAX_SAFE_INTEGER - 1);
      expect(await c.increment('safe')).toBe(Number.MAX_SAFE_INTEGER);
      // Refusals change nothing.
      await expect(c.increment('safe')).rejects.toBeInstanceOf(IllegalStateError);
      expect(await c.get('safe')).toBe(Number.MAX_SAFE_INTEGER);
      await expect(c.increment('big', 1n)).rejects.toThrow(/int64/);
      expect(await c.get('big')).toBe(2n ** 63n - 1n);
      // The exact sum 2 is in range, although the delta is not a double: int64 arithmetic, not Lua's doubles.
      await c.set('edge', -(2 ** 53 - 1));
      expect(await c.increment('edge', 2n ** 53n + 1n)).toBe(2);
      for (const value of ['1', 1.5, { n: 1 }, null, NaN, Infinity]) {
        await c.set('x', value);
        await expect(c.increment('x')).rejects.toThrow(/not an integer/);
        expect(await c.get('x')).toEqual(value);
      }
      await c.set('bad-big', 2n ** 70n); // a bigint beyond int64 is a value, not a counter
      await expect(c.increment('bad-big', 1n)).rejects.toBeInstanceOf(IllegalStateError);
      expect(await c.get('bad-big')).toBe(2n ** 70n);
      await c.close();
    });

    it('getOrCompute: computes a missing value once, stores it with its TTL, finds it afterwards; undefined stores nothing; an error rejects and stores nothing', async () => {
      const c = await fresh();
      let runs = 0;
      expect(await c.getOrCompute('k', async () => ++runs, { ttlMs: 60_000 })).toBe(1);
      expect(await c.getOrCompute('k', async () => ++runs)).toBe(1);
      expect(runs).toBe(1);
      expect(await c.ttl('k')).toBeGreaterThan(0);
      expect(await c.getOrCompute('u', () => undefined)).toBeUndefined();
      expect(await c.has('u')).toBe(false);
      await expect(
        c.getOrCompute('e', () => {
          throw new Error('boom');
        }),
      ).rejects.toThrow('boom');
      expect(await c.has('e')).toBe(false);
      expect(await c.getOrCompute('e', () => 'then')).toBe('then'); // the lease was released
      await expect(c.getOrCompute('f', () => (() => 1) as never)).rejects.toBeInstanceOf(InvalidArgumentError);
      expect(await c.getOrCompute('f', () => 'ok')).toBe('ok');
      expect(await c.stats()).toMatchObject({ computes: 6, hits: 1, misses: 4 });
      await c.close();
    });

    it('compare-and-set runs as a Lua script before Redis 8.4 and as SET IFEQ / DELEX from 8.4 on', async () => {
      const { versionAtLeast } = await import('../src/redis/atomic.js');
      expect([versionAtLeast('7.0.15', 8, 4), versionAtLeast('8.2.1', 8, 4), versionAtLeast('8.4.0', 8, 4), versionAtLeast('9.0.0', 8, 4)]).toEqual([
        false,
        false,
        true,
        true,
      ]);
      const info = String(await raw.sendCommand(['INFO', 'server']));
      const version = /redis_version:([\d.]+)/.exec(info)![1]!;
      expect(cache.nativeCompareAndSet).toBe(versionAtLeast(version, 8, 4));
    });

    it('what Redis refuses, or holds without sabre having written it, is a StoreReplyError (ERR_SABRE_STORE_REPLY), never an untyped error', async () => {
      const own = await fresh();
      const { KeySpace } = await import('../src/redis/wire.js');
      const keys = new KeySpace(`t${prefixes}:`);
      await raw.sendCommand(['LPUSH', keys.value('list'), 'x']); // a list: GET answers WRONGTYPE
      await raw.sendCommand(['SET', keys.value('foreign'), '']); // an empty string: no sabre tag
      await raw.sendCommand(['SET', keys.value('alien'), '\u00ffgarbage']); // a tag sabre never writes
      for (const key of ['list', 'foreign', 'alien']) {
        const error = await own.get(key).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error, key).toBeInstanceOf(StoreReplyError);
        expect((error as StoreReplyError).code, key).toBe('ERR_SABRE_STORE_REPLY');
      }
      await expect(own.get('list')).rejects.toThrow(/WRONGTYPE/);
      await expect(own.increment('list')).rejects.toBeInstanceOf(StoreReplyError);
      expect(own.state).toBe('available'); // a refusal is an answer: Redis is there
      await raw.sendCommand(['DEL', keys.value('list'), keys.value('foreign'), keys.value('alien')]); // other tests read every key
      await own.close();
    });

    it('close: later calls throw IllegalStateError', async () => {
      const c = await fresh();
      await c.close();
      await expect(c.get('k')).rejects.toBeInstanceOf(IllegalStateError);
      await c.close(); // twice is fine
    });
  });

  describe('bad input', () => {
    it('bad keys, values, TTLs, deltas and options get a typed error and leave Redis unchanged', async () => {
      const c = await fresh();
      await c.set('k', 'v', { ttlMs: 60_000 });
      await c.set('n', 1);
      const before = await snapshotRedis(raw);
      const attempts: Array<() => Promise<unknown>> = [
        () => c.set({} as never, 'v'),
        () => c.set(NaN, 'v'),
        () => c.set(true as never, 'v'),
        () => c.set('k', undefined),
        () => c.set('k', (() => 1) as never),
        () => c.set('k', Symbol('s') as never),
        () => c.set('k', { f() {} }),
        () => c.set('k', 'v', { ttlMs: -5 }),
        () => c.set('k', 'v', { ttlMs: NaN }),
        () => c.set('k', 'v', { ttlMs: 0 }),
        () => c.set('k', 'v', { ttl: 5 } as never),
        () => c.set('k', 'v', 'soon' as never),
        () => c.setIfAbsent('k2', undefined),
        () => c.compareAndSet('k', 'v', (() => 2) as never),
        () => c.compareAndSet('k', 'v', 'w', { ttlMs: -1 }),
        () => c.compareAndDelete('k', undefined),
        () => c.increment('n', NaN),
        () => c.increment('n', 1.5),
        () => c.increment('n', '1' as never),
        () => c.increment('n', 2n ** 64n),
        () => c.expire('k', -1),
        () => c.expire('k', undefined as never),
        () => c.get(null as never),
        () => c.delete({} as never),
        () => c.getOrCompute('k', 'nope' as never),
        () => c.getOrCompute('g', () => 1, { leaseMs: 0 }),
        () => c.on('sometimes' as never, () => {}) as never,
      ];
      for (const attempt of attempts) {
        const outcome = await Promise.resolve()
          .then(attempt)
          .then(
            () => 'resolved',
            (error: unknown) => error,
          );
        expect(outcome).toBeInstanceOf(InvalidArgumentError);
        expect((outcome as InvalidArgumentError).code).toBe('ERR_SABRE_INVALID_ARGUMENT');
      }
      expect(await snapshotRedis(raw)).toEqual(before);
      await c.close();
    });

    it('connect: each bad option is named; an unreachable server is a StoreUnavailableError', async () => {
      const bad: Array<[unknown, RegExp]> = [
        [undefined, /options object/],
        [{}, /url/],
        [{ url: 'http://x' }, /url/],
        [{ url: server.url, prefix: 1 }, /prefix/],
        [{ url: server.url, ttlMs: -1 }, /ttlMs/],
        [{ url: server.url, commandTimeoutMs: Infinity }, /commandTimeoutMs/],
        [{ url: server.url, connectTimeoutMs: 0 }, /connectTimeoutMs/],
        [{ url: server.url, graceMs: -1 }, /graceMs/],
        [{ url: server.url, maxGraceEntries: 1.5 }, /maxGraceEntries/],
        [{ url: server.url, leaseMs: NaN }, /leaseMs/],
        [{ url: server.url, grace: 5 }, /unknown option "grace"/],
      ];
      for (const [options, message] of bad) {
        const error = await RedisCache.connect(options as never).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(InvalidArgumentError);
        expect((error as Error).message).toMatch(message);
      }
      const { freePort } = await import('./support/redis-server.js');
      const nobody = await RedisCache.connect({ url: `redis://127.0.0.1:${await freePort()}`, connectTimeoutMs: 300 }).catch((e: unknown) => e);
      expect((nobody as { code?: string }).code).toBe('ERR_SABRE_STORE_UNAVAILABLE');
    });
  });
});
