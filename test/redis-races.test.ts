/**
 * RedisCache across processes and connections: racing conditional writes have exactly one winner,
 * increments are never lost, a getOrCompute stampede computes once, and when the computing process
 * is killed mid-compute a waiter takes over once its lease has run out. The children are real
 * processes (test/support/redis-child.ts, run from dist/: `npm run build` first, as `npm test` does).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisCache } from '../src/redis/index.js';
import { builtScript, cacheChild, race } from './support/redis-process.js';
import { RedisServer, redisAvailable } from './support/redis-server.js';

describe.skipIf(!redisAvailable)('RedisCache across processes', () => {
  let server: RedisServer;
  let cache: RedisCache;
  let n = 0;
  const prefix = () => `race${++n}:`;

  beforeAll(async () => {
    builtScript('redis-child'); // fails early, saying to build, when it is missing
    server = await RedisServer.start();
  });
  afterAll(async () => {
    await cache?.close();
    await server?.stop();
  });

  it('20 processes race setIfAbsent on one key: exactly one wins, and its value is stored', async () => {
    const p = prefix();
    const results = await race(20, (i) => cacheChild({ url: server.url }, p, 'setIfAbsent', 'k', i + 1));
    const winners = results.flatMap((won, i) => (won === true ? [i + 1] : []));
    expect(winners).toHaveLength(1);
    cache = await RedisCache.connect({ url: server.url, prefix: p });
    expect(await cache.get('k')).toBe(winners[0]);
    await cache.close();
  });

  it('20 processes race compareAndSet(0 → own id): exactly one wins', async () => {
    const p = prefix();
    cache = await RedisCache.connect({ url: server.url, prefix: p });
    await cache.set('k', 0);
    const results = await race(20, (i) => cacheChild({ url: server.url }, p, 'compareAndSet', 'k', i + 1));
    const winners = results.flatMap((won, i) => (won === true ? [i + 1] : []));
    expect(winners).toHaveLength(1);
    expect(await cache.get('k')).toBe(winners[0]);
    await cache.close();
  });

  it('compareAndSet on 20 connections of one process: exactly one winner per round, 50 rounds', async () => {
    const p = prefix();
    const caches = await Promise.all(Array.from({ length: 20 }, () => RedisCache.connect({ url: server.url, prefix: p })));
    for (let round = 0; round < 50; round++) {
      await caches[0]!.set('k', round * 100);
      const won = await Promise.all(caches.map((c, i) => c.compareAndSet('k', round * 100, round * 100 + i + 1)));
      expect(won.filter(Boolean)).toHaveLength(1);
    }
    for (const c of caches) await c.close();
  });

  it('8 processes × 250 increments and 4 connections here × 250: none lost', async () => {
    const p = prefix();
    cache = await RedisCache.connect({ url: server.url, prefix: p });
    const locals = await Promise.all(Array.from({ length: 4 }, () => RedisCache.connect({ url: server.url, prefix: p })));
    const children = race(8, () => cacheChild({ url: server.url }, p, 'increment', 'n', 250));
    await Promise.all(
      locals.map(async (c) => {
        for (let i = 0; i < 250; i++) await c.increment('n');
      }),
    );
    await children;
    expect(await cache.get('n')).toBe(12 * 250);
    for (const c of locals) await c.close();
    await cache.close();
  });

  it('a getOrCompute stampede of 12 processes and 20 callers on 2 connections here computes once', async () => {
    const p = prefix();
    const here = await Promise.all([0, 1].map(() => RedisCache.connect({ url: server.url, prefix: p })));
    let localRuns = 0;
    const children = race(12, () => cacheChild({ url: server.url }, p, 'compute', 'k', 200));
    const locals = Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        here[i % 2]!.getOrCompute('k', async () => {
          localRuns++;
          await here[0]!.increment('computes');
          await new Promise((resolve) => setTimeout(resolve, 200));
          return 'computed here';
        }),
      ),
    );
    const values = [...(await children), ...(await locals)];
    expect(new Set(values).size).toBe(1); // every caller got the one computed value
    expect(await here[0]!.get('computes')).toBe(1);
    const waits = (await here[0]!.stats()).singleFlightWaits + (await here[1]!.stats()).singleFlightWaits;
    expect(waits + localRuns).toBeGreaterThan(0);
    for (const c of here) await c.close();
  });

  it('the computing process is killed mid-compute: a waiter takes over after the lease and computes', async () => {
    const p = prefix();
    const leaseMs = 400;
    const [hanging] = [cacheChild({ url: server.url }, p, 'hang', 'k', leaseMs)];
    await hanging.ready;
    hanging.go();
    await hanging.printed('computing');
    cache = await RedisCache.connect({ url: server.url, prefix: p });
    // A waiter starts while the lease is held; then the computer dies.
    let ran = 0;
    const waiter = cache.getOrCompute(
      'k',
      () => {
        ran++;
        return 'taken over';
      },
      { leaseMs },
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    hanging.process.kill('SIGKILL');
    await expect(hanging.result).rejects.toThrow(/SIGKILL/);
    expect(await waiter).toBe('taken over');
    expect(ran).toBe(1);
    const stats = await cache.stats();
    expect(stats.singleFlightWaits).toBe(1);
    expect(stats.leaseTakeovers).toBe(1);
    expect(await cache.get('k')).toBe('taken over');
    await cache.close();
  });

  it('a computation longer than its lease keeps it (renewed): a waiter never takes over a live computer', async () => {
    const p = prefix();
    const a = await RedisCache.connect({ url: server.url, prefix: p });
    const b = await RedisCache.connect({ url: server.url, prefix: p });
    const leaseMs = 150;
    let release!: () => void;
    const slow = a.getOrCompute('k', () => new Promise<string>((resolve) => (release = () => resolve('slow'))), { leaseMs });
    while (release === undefined) await new Promise((resolve) => setTimeout(resolve, 5));
    let waiterComputed = false;
    const waiter = b.getOrCompute(
      'k',
      () => {
        waiterComputed = true;
        return 'taken over';
      },
      { leaseMs },
    );
    // Six lease periods: without renewal the lease would have expired five times over.
    await new Promise((resolve) => setTimeout(resolve, 6 * leaseMs));
    expect(waiterComputed).toBe(false);
    release();
    expect(await slow).toBe('slow');
    expect(await waiter).toBe('slow');
    expect(waiterComputed).toBe(false);
    await a.close();
    await b.close();
  });

  it('a computation that never settles holds its lease at most maxComputeMs: a waiter then takes over, and the late value is not stored', async () => {
    const p = prefix();
    const a = await RedisCache.connect({ url: server.url, prefix: p, maxComputeMs: 300 });
    const b = await RedisCache.connect({ url: server.url, prefix: p });
    let release!: () => void;
    const hung = a.getOrCompute('k', () => new Promise<string>((resolve) => (release = () => resolve('late'))), { leaseMs: 100 });
    while (release === undefined) await new Promise((resolve) => setTimeout(resolve, 5));
    // b waits while a's lease is renewed, then takes over once renewals stopped (bounded: the test's timeout).
    expect(await b.getOrCompute('k', () => 'taken over', { leaseMs: 100 })).toBe('taken over');
    release();
    expect(await hung).toBe('late'); // its own caller gets it...
    expect(await b.get('k')).toBe('taken over'); // ...but it is not stored over the other's
    await expect(RedisCache.connect({ url: server.url, maxComputeMs: 0 })).rejects.toThrow(/maxComputeMs/);
    await a.close();
    await b.close();
  });

  it('a computer that outlives its lease does not overwrite the value of the one that took over (fencing)', async () => {
    const p = prefix();
    const a = await RedisCache.connect({ url: server.url, prefix: p });
    const b = await RedisCache.connect({ url: server.url, prefix: p });
    let release!: () => void;
    const slow = a.getOrCompute('k', () => new Promise<string>((resolve) => (release = () => resolve('slow'))), { leaseMs: 100 });
    while (release === undefined) await new Promise((resolve) => setTimeout(resolve, 5));
    // Stop a's renewals from mattering: its lease key is deleted as if it had expired.
    const { KeySpace } = await import('../src/redis/wire.js');
    const keys = new KeySpace(p);
    const { createClient } = await import('@redis/client');
    const raw = createClient({ url: server.url });
    await raw.connect();
    await raw.sendCommand(['DEL', keys.lease(keys.value('k'))]);
    expect(await b.getOrCompute('k', () => 'fast')).toBe('fast');
    release();
    expect(await slow).toBe('slow'); // its own caller still gets its value...
    expect(await b.get('k')).toBe('fast'); // ...but the store was refused
    expect((await a.stats()).unstoredComputes).toBe(1);
    raw.destroy();
    await a.close();
    await b.close();
  });
});
