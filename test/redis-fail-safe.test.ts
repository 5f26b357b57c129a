/**
 * The fail-safe, against a real server that is killed mid-run and started again: while Redis is
 * away every call either gets a grace value (last confirmed within graceMs) or a
 * StoreUnavailableError, never a silent success; the state changes are announced once each; after
 * the restart calls succeed again and no value served from the local map outlives the outage.
 * Waits are bounded by attempts, never asserted in wall-clock time.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RedisCache, StoreUnavailableError } from '../src/redis/index.js';
import { RedisServer, redisAvailable } from './support/redis-server.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** What a call did: its value, or the error it was refused with. */
async function outcome<T>(call: Promise<T>): Promise<{ value: T } | { error: unknown }> {
  return call.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
}

/** Retries `call` until it succeeds (Redis back and reconnected), at most `attempts` times. */
async function whenBack<T>(call: () => Promise<T>, attempts = 400): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await call();
    } catch (error) {
      if (!(error instanceof StoreUnavailableError) || i >= attempts) throw error;
      await sleep(50);
    }
  }
}

describe.skipIf(!redisAvailable)('RedisCache fail-safe', () => {
  let server: RedisServer;
  beforeAll(async () => {
    server = await RedisServer.start();
  });
  afterAll(async () => {
    await server?.stop();
  });
  // A test that failed while the server was down must not take the next ones with it.
  afterEach(async () => {
    server.resume();
    if (!server.running) await server.restart();
  });

  it('server killed: grace values or StoreUnavailableError, writes never succeed silently; restarted: calls succeed and the local values are dropped', async () => {
    const cache = await RedisCache.connect({ url: server.url, prefix: 'fs:', graceMs: 600_000, commandTimeoutMs: 1_000, connectTimeoutMs: 1_000 });
    const strict = await RedisCache.connect({ url: server.url, prefix: 'fs:', commandTimeoutMs: 1_000, connectTimeoutMs: 1_000 });
    const events: string[] = [];
    let served: number | undefined;
    cache.on('unavailable', (event) => events.push(`unavailable:${event.cause instanceof Error}`));
    cache.on('available', (event) => {
      events.push('available');
      served = event.servedFromGrace;
    });
    await cache.set('a', { n: 1 });
    await cache.set('b', 'bee');
    expect(await cache.get('a')).toEqual({ n: 1 });
    expect(await strict.get('a')).toEqual({ n: 1 });

    await server.stop();

    // Reads of confirmed values: the grace value (a copy each time).
    const first = await cache.get('a');
    expect(first).toEqual({ n: 1 });
    (first as { n: number }).n = 99;
    expect(await cache.get('a')).toEqual({ n: 1 });
    expect(await cache.peek('b')).toBe('bee');
    expect(await cache.has('b')).toBe(true);
    expect(await cache.getOrCompute('b', () => 'should not run')).toBe('bee');
    // Anything else: StoreUnavailableError, with its code.
    const refused = [
      cache.get('never-read'),
      cache.getOrCompute('never-read', () => 'computed'),
      cache.set('c', 1),
      cache.setIfAbsent('c', 1),
      cache.compareAndSet('a', { n: 1 }, { n: 2 }),
      cache.compareAndDelete('a', { n: 1 }),
      cache.increment('n'),
      cache.expire('a', 1_000),
      cache.ttl('a'),
      cache.delete('b'),
      strict.get('a'),
    ];
    for (const result of await Promise.all(refused.map((call) => outcome(call as Promise<unknown>)))) {
      expect(result).toHaveProperty('error');
      const error = (result as { error: unknown }).error;
      expect(error).toBeInstanceOf(StoreUnavailableError);
      expect((error as StoreUnavailableError).code).toBe('ERR_SABRE_STORE_UNAVAILABLE');
    }
    // A write that failed leaves its key's value unknown (it may have reached Redis): 'a' and 'b' are no longer served.
    await expect(cache.get('b')).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(cache.get('a')).rejects.toBeInstanceOf(StoreUnavailableError);
    const during = await cache.stats();
    expect(during.outages).toBe(1);
    expect(during.graceServed).toBeGreaterThanOrEqual(5);
    expect(during.unavailableErrors).toBe(12); // the 10 refused above and the two reads just now (strict counts its own)
    expect(events).toEqual(['unavailable:true']); // once, however many calls failed

    await server.restart();
    // Back: the restarted server is empty, and the grace value of 'a' must not outlive the outage.
    expect(await whenBack(() => cache.get('a'))).toBeUndefined();
    expect(events).toEqual(['unavailable:true', 'available']);
    expect(served).toBe(during.graceServed);
    await cache.set('a', 2);
    expect(await whenBack(() => strict.get('a'))).toBe(2);
    expect(await cache.increment('n')).toBe(1);
    expect((await cache.stats()).outages).toBe(1);
    await cache.close();
    await strict.close();
  });

  it('a compute that fails is answered with the grace value; without one its error is rethrown', async () => {
    const cache = await RedisCache.connect({ url: server.url, prefix: 'fs2:', graceMs: 600_000 });
    expect(await cache.getOrCompute('k', () => 'v1', { ttlMs: 1 })).toBe('v1');
    while (await cache.has('k')) await sleep(5); // expired in Redis, still known here
    const fail = () => {
      throw new Error('source down');
    };
    expect(await cache.getOrCompute('k', fail)).toBe('v1');
    await expect(cache.getOrCompute('other', fail)).rejects.toThrow('source down');
    expect((await cache.stats()).graceServed).toBe(1);
    await cache.close();
  });

  it('a hung server (SIGSTOP): every call times out after commandTimeoutMs as StoreUnavailableError; thawed, calls succeed', async () => {
    const cache = await RedisCache.connect({ url: server.url, prefix: 'fs3:', commandTimeoutMs: 200 });
    await cache.set('k', 'v');
    server.pause();
    try {
      await expect(cache.get('k')).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(cache.set('k', 'w')).rejects.toBeInstanceOf(StoreUnavailableError);
      expect((await cache.stats()).timeouts).toBe(2);
    } finally {
      server.resume();
    }
    // The set that timed out may still have been applied once the server answered: either value, never an error.
    expect(['v', 'w']).toContain(await whenBack(() => cache.get('k')));
    expect(cache.state).toBe('available');
    await cache.close();
  });
});
