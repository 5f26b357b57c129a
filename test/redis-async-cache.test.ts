/**
 * One behaviour table, run against every cache through the AsyncCache interface: a SharedCache
 * (asyncCache adapter), a RedisCache, and a TieredCache (a SharedCache over Redis). What an
 * application sees must not change when it moves from one process to many by configuration.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SharedCache, asyncCache } from '../src/index.js';
import { RedisCache, TieredCache } from '../src/redis/index.js';
import { TABLE } from './support/async-cache-table.js';
import { RedisServer, redisAvailable } from './support/redis-server.js';

describe('AsyncCache: SharedCache through asyncCache()', () => {
  it.each(TABLE)('%s', async (_, scenario) => {
    await scenario(asyncCache(SharedCache.create({ maxEntries: 1_000, maxBytes: 1 << 20 })));
  });

  it("close() resolves and releases nothing: the SharedCache stays its creator's", async () => {
    const shared = SharedCache.create<string>({ maxEntries: 100, maxBytes: 1 << 16 });
    const cache = asyncCache(shared);
    await cache.set('k', 'v');
    await expect(cache.close()).resolves.toBeUndefined();
    expect(shared.get('k')).toBe('v');
    expect(await cache.get('k')).toBe('v');
  });
});

describe.skipIf(!redisAvailable)('AsyncCache: RedisCache', () => {
  let server: RedisServer;
  const open: Array<RedisCache | TieredCache> = [];
  let n = 0;
  beforeAll(async () => {
    server = await RedisServer.start();
  });
  afterAll(async () => {
    for (const cache of open) await cache.close();
    await server?.stop();
  });

  it.each(TABLE)('%s', async (_, scenario) => {
    const cache = await RedisCache.connect({ url: server.url, prefix: `table${++n}:` });
    open.push(cache);
    await scenario(cache);
  });

  it.each(TABLE)('TieredCache: %s', async (_, scenario) => {
    const cache = await TieredCache.connect({ url: server.url, prefix: `tiered${++n}:`, l1: { maxEntries: 1_000, maxBytes: 1 << 20 } });
    open.push(cache);
    await scenario(cache);
  });
});
