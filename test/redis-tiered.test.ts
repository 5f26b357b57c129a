/**
 * TieredCache: L1 a SharedCache per "process" (here: one SharedCache per TieredCache, as two
 * processes would each have their own), L2 one real redis-server. A write in one process drops
 * the key from the other's L1 (pub/sub), reads are answered by L1 once filled, getOrCompute
 * computes once across both levels, and a lost subscription stops L1 from being filled.
 * Waits are polls bounded by attempts, never wall-clock assertions.
 */
import { existsSync } from 'node:fs';
import { type AddressInfo, type Socket, createConnection, createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidArgumentError, SharedCache } from '../src/index.js';
import { TieredCache, type TieredCacheHandle } from '../src/redis/index.js';
import { Child, builtScript } from './support/redis-process.js';
import { RedisServer, redisAvailable } from './support/redis-server.js';

const WORKER = fileURLToPath(new URL('../dist/test/support/redis-tiered-worker.js', import.meta.url));

/** A worker thread opening the TieredCache of `handle` (test/support/redis-tiered-worker.ts): the same L1, its own Redis connection. */
async function startWorker(handle: TieredCacheHandle) {
  const worker = new Worker(WORKER, { workerData: handle });
  let next = 0;
  const pending = new Map<number, (reply: { value?: unknown; error?: string }) => void>();
  await new Promise<void>((resolve, reject) => {
    worker.once('error', reject);
    worker.on('message', (message: { ready?: true; id: number; value?: unknown; error?: string }) => {
      if (message.ready) resolve();
      else pending.get(message.id)?.(message);
    });
  });
  const call = (op: string, key: string, ms = 0) =>
    new Promise<unknown>((resolve, reject) => {
      const id = ++next;
      pending.set(id, (reply) => (reply.error === undefined ? resolve(reply.value) : reject(new Error(reply.error))));
      worker.postMessage({ id, op, key, ms });
    });
  return {
    call,
    stop: async () => {
      await call('close', '');
      await worker.terminate();
    },
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const local = () => SharedCache.create({ maxEntries: 1_000, maxBytes: 1 << 20 });

/** Polls `condition` every 10 ms, at most `attempts` times; fails the test if it never holds. */
async function eventually(condition: () => boolean | Promise<boolean>, attempts = 1_000): Promise<void> {
  for (let i = 0; i < attempts; i++) {
    if (await condition()) return;
    await sleep(10);
  }
  throw new Error('the condition never held');
}

describe.skipIf(!redisAvailable)('TieredCache', () => {
  let server: RedisServer;
  let n = 0;
  const open: TieredCache[] = [];
  /** Two "processes" on one prefix: each its own L1. */
  async function pair(localTtlMs = 60_000): Promise<[TieredCache, TieredCache, SharedCache, SharedCache]> {
    const prefix = `tier${++n}:`;
    const [l1a, l1b] = [local(), local()];
    const a = await TieredCache.connect({ url: server.url, prefix, localTtlMs, l1: l1a });
    const b = await TieredCache.connect({ url: server.url, prefix, localTtlMs, l1: l1b });
    open.push(a, b);
    await eventually(() => a.synced && b.synced);
    return [a, b, l1a, l1b];
  }

  beforeAll(async () => {
    server = await RedisServer.start();
  });
  afterAll(async () => {
    for (const cache of open) await cache.close();
    await server?.stop();
  });

  it("a key longer than L1 allows is Redis's alone: every call works (none throws after the write was applied), and it invalidates a bigger L1 elsewhere; a bad key rejects typed", async () => {
    const prefix = `tier${++n}:`;
    const small = await TieredCache.connect({ url: server.url, prefix, l1: { maxEntries: 100, maxBytes: 1 << 16, maxKeyBytes: 16 } });
    const big = local();
    const other = await TieredCache.connect({ url: server.url, prefix, l1: big });
    open.push(small, other);
    await eventually(() => small.synced && other.synced);
    const key = 'a-key-of-forty-characters-long-enough-x';
    await small.set(key, 1); // resolves: the write reached Redis and nothing after it threw
    expect(await small.get(key)).toBe(1);
    expect(await small.has(key)).toBe(true);
    expect(await other.get(key)).toBe(1);
    expect(big.peek(key)).toBe(1); // the bigger L1 holds it
    expect(await small.increment(key)).toBe(2);
    await eventually(() => big.peek(key) === undefined); // the small one's write dropped it there
    expect(await other.get(key)).toBe(2);
    expect(await small.delete(key)).toBe(true);
    expect(await small.get(key)).toBeUndefined();
    const bad = small.get({} as never);
    await expect(bad).rejects.toBeInstanceOf(InvalidArgumentError);
  });

  it('a read fills L1; the next read is answered there; a write elsewhere drops it from L1 and the new value is read', async () => {
    const [a, b, , l1b] = await pair();
    await a.set('k', { v: 1 });
    // b fills L1 only from a read during which no announcement arrived: let a's arrive first.
    await eventually(async () => (await b.stats()).invalidationsReceived === 1);
    expect(await b.get('k')).toEqual({ v: 1 });
    expect(l1b.peek('k')).toEqual({ v: 1 });
    expect(await b.get('k')).toEqual({ v: 1 });
    expect((await b.stats()).localHits).toBe(1);
    await a.set('k', { v: 2 });
    await eventually(() => !l1b.has('k'));
    expect(await b.get('k')).toEqual({ v: 2 });
    expect((await b.stats()).invalidationsReceived).toBeGreaterThanOrEqual(1);
    // Every kind of write announces itself.
    const writes: Array<[string, () => Promise<unknown>]> = [
      ['k', () => a.compareAndSet('k', { v: 2 }, { v: 3 })],
      ['k2', () => a.increment('k2')],
      ['k', () => a.expire('k', 60_000)],
      ['k2', () => a.increment('k2')],
      ['k', () => a.compareAndDelete('k', { v: 3 })],
      ['k2', () => a.delete('k2')],
    ];
    await a.set('k2', 0);
    for (const [key, write] of writes) {
      // A read fills L1 unless an announcement arrived meanwhile (a's previous write may still be on its way).
      await eventually(async () => (await b.get(key)) !== undefined && l1b.has(key));
      await write();
      await eventually(() => !l1b.has(key));
    }
    expect(await b.get('k')).toBeUndefined();
  });

  it('a write in this process drops the key from its own L1 at once (read your writes)', async () => {
    const [a, , l1a] = await pair();
    await a.set('k', 1);
    expect(await a.get('k')).toBe(1);
    expect(l1a.has('k')).toBe(true);
    await a.set('k', 2);
    expect(l1a.has('k')).toBe(false);
    expect(await a.get('k')).toBe(2);
  });

  it('an L1 copy lives at most localTtlMs, and never past the Redis TTL', async () => {
    const [a, b, , l1b] = await pair(60_000);
    await a.set('short', 'v', { ttlMs: 5_000 });
    await eventually(async () => (await b.stats()).invalidationsReceived === 1);
    await b.get('short');
    const left = l1b.ttl('short')!;
    expect(left).toBeGreaterThan(0);
    expect(left).toBeLessThanOrEqual(5_000);
  });

  it("getOrCompute that finds another process's value keeps its L1 copy no longer than the Redis TTL", async () => {
    const [a, b, , l1b] = await pair(60_000);
    await a.set('found', 'v', { ttlMs: 5_000 });
    await eventually(async () => (await b.stats()).invalidationsReceived === 1);
    expect(await b.getOrCompute('found', () => 'not computed')).toBe('v');
    const left = l1b.ttl('found')!;
    expect(left).toBeGreaterThan(0);
    expect(left).toBeLessThanOrEqual(5_000); // not localTtlMs (60 s)
  });

  it('getOrCompute: 2 processes × 10 callers compute once; the value lands in both L1s', async () => {
    const [a, b, l1a, l1b] = await pair();
    let runs = 0;
    const compute = async () => {
      runs++;
      await sleep(50);
      return 'computed';
    };
    const values = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? a : b).getOrCompute('k', compute)));
    expect(new Set(values)).toEqual(new Set(['computed']));
    expect(runs).toBe(1);
    expect(l1a.peek('k')).toBe('computed');
    expect(l1b.peek('k')).toBe('computed');
  });

  it('getOrCompute answered by the fail-safe (its compute failed) leaves L1 alone: a later read is not served a value Redis no longer has', async () => {
    const prefix = `tier${++n}:`;
    const [l1a, l1b] = [local(), local()];
    const a = await TieredCache.connect({ url: server.url, prefix, l1: l1a });
    const b = await TieredCache.connect({ url: server.url, prefix, graceMs: 600_000, l1: l1b });
    open.push(a, b);
    await eventually(() => a.synced && b.synced);
    await a.set('k', 'old');
    await eventually(async () => (await b.stats()).invalidationsReceived === 1);
    expect(await b.get('k')).toBe('old'); // b's fail-safe now remembers 'old'
    await a.delete('k');
    await eventually(async () => (await b.stats()).invalidationsReceived === 2 && !l1b.has('k'));
    const failing = (): string => {
      throw new Error('the backend is down');
    };
    // The documented fail-safe answer: the last value Redis confirmed to b, within graceMs...
    expect(await b.getOrCompute('k', failing)).toBe('old');
    expect((await b.stats()).redis.graceServed).toBe(1);
    // ...for that call only: the delete's announcement was delivered, so no later read may return it.
    expect(l1b.has('k')).toBe(false);
    expect(await b.get('k')).toBeUndefined();
  });

  it('a first SUBSCRIBE cut off by a dropped connection is sent again on the reconnection: the TieredCache gets synced', async () => {
    // A real TCP proxy in front of the real server that drops the first connection to send SUBSCRIBE.
    const sockets = new Set<Socket>();
    let dropped = 0;
    const proxy = createServer((client) => {
      const upstream = createConnection({ host: '127.0.0.1', port: server.port });
      for (const socket of [client, upstream]) {
        sockets.add(socket);
        socket.on('error', () => {});
        socket.on('close', () => {
          sockets.delete(socket);
          client.destroy();
          upstream.destroy();
        });
      }
      client.on('data', (chunk: Buffer) => {
        if (dropped === 0 && /subscribe/i.test(chunk.toString('latin1'))) {
          dropped++;
          client.destroy();
        } else upstream.write(chunk);
      });
      upstream.pipe(client);
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const { port } = proxy.address() as AddressInfo;
    const cache = await TieredCache.connect({ url: `redis://127.0.0.1:${port}`, prefix: `tier${++n}:`, l1: local() });
    try {
      await eventually(() => dropped === 1);
      await eventually(() => cache.synced);
    } finally {
      await cache.close();
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => proxy.close(resolve));
    }
  });

  it('an announcement of a key this L1 cannot hold (another process allows longer keys) leaves the subscription synced', async () => {
    const prefix = `tier${++n}:`;
    const a = await TieredCache.connect({ url: server.url, prefix, l1: { maxEntries: 100, maxBytes: 1 << 20, maxKeyBytes: 4_096 } });
    const b = await TieredCache.connect({ url: server.url, prefix, l1: { maxEntries: 100, maxBytes: 1 << 20, maxKeyBytes: 1_024 } });
    open.push(a, b);
    await eventually(() => a.synced && b.synced);
    await a.set('k'.repeat(2_000), 1);
    await eventually(async () => (await b.stats()).invalidationsReceived === 1);
    expect(b.synced).toBe(true);
    // L1 still works in b: a read fills it, and a's next write drops it.
    await a.set('short', 1);
    await eventually(async () => (await b.stats()).invalidationsReceived === 2);
    await eventually(async () => (await b.get('short')) === 1 && b.local.has('short'));
    await a.set('short', 2);
    await eventually(() => !b.local.has('short'));
  });

  it('with Redis away: L1 still answers what it holds, other reads fail typed; when the subscription is back L1 starts afresh', async () => {
    const [a, b, , l1b] = await pair();
    await a.set('k', 'v');
    await eventually(async () => (await b.stats()).invalidationsReceived === 1);
    expect(await b.get('k')).toBe('v');
    expect(l1b.has('k')).toBe(true);
    const events: string[] = [];
    b.on('unavailable', () => events.push('unavailable'));
    b.on('available', () => events.push('available'));
    expect(b.state).toBe('available');
    await server.stop();
    try {
      expect(await b.get('k')).toBe('v'); // L1
      await expect(b.get('other')).rejects.toMatchObject({ code: 'ERR_SABRE_STORE_UNAVAILABLE' });
      await expect(b.get('other')).rejects.toMatchObject({ code: 'ERR_SABRE_STORE_UNAVAILABLE' });
      expect(b.state).toBe('unavailable');
      expect(events).toEqual(['unavailable']); // one event for the outage, not one per failed call
      await eventually(() => !b.synced);
    } finally {
      await server.restart();
    }
    await eventually(() => b.synced);
    await eventually(async () => (await b.has('x').catch(() => false)) === false && b.state === 'available');
    expect(events).toEqual(['unavailable', 'available']);
    expect(l1b.has('k')).toBe(false); // announcements may have been missed: L1 was cleared
    await eventually(async () => (await b.get('k').catch(() => 'unavailable')) === undefined); // the restarted server is empty
  });

  it('worker threads share L1 through the handle: 2 processes × 2 threads × 5 callers compute once; a value the main thread read is an L1 hit in a worker; a write in one process drops the key for every thread of the other', async () => {
    expect(existsSync(WORKER), `${WORKER} is missing: run \`npm run build\` first`).toBe(true);
    const prefix = `tier${++n}:`;
    // Two "processes": each a TieredCache that creates its own L1, and two worker threads attached to it.
    const [a, b] = [
      await TieredCache.connect({ url: server.url, prefix, l1: { maxEntries: 1_000, maxBytes: 1 << 20 } }),
      await TieredCache.connect({ url: server.url, prefix, l1: { maxEntries: 1_000, maxBytes: 1 << 20 } }),
    ];
    open.push(a, b);
    const threads = [await startWorker(a.handle), await startWorker(a.handle), await startWorker(b.handle), await startWorker(b.handle)];
    try {
      const values = await Promise.all(threads.flatMap((thread) => Array.from({ length: 5 }, () => thread.call('compute', 'k', 100))));
      expect(new Set(values)).toEqual(new Set(['computed']));
      expect(await threads[0]!.call('get', 'computes')).toBe(1);
      expect(a.local.peek('k')).toBe('computed');
      expect(b.local.peek('k')).toBe('computed');
      // The main thread of A reads a value into L1: A's workers find it there, with no Redis read.
      await eventually(() => a.synced && b.synced);
      await b.set('shared', 'from b');
      // A read fills L1 unless an announcement arrived meanwhile (b's, or the workers' increments, may still be on their way).
      await eventually(async () => (await a.get('shared')) === 'from b' && a.local.peek('shared') === 'from b');
      for (const thread of threads.slice(0, 2)) {
        const hits = (await thread.call('localHits', '')) as number;
        expect(await thread.call('get', 'shared')).toBe('from b');
        expect(await thread.call('localHits', '')).toBe(hits + 1);
      }
      // A write from a thread of process A drops the key from process B's L1, which both B threads read.
      await threads[0]!.call('set', 'k', 7);
      await eventually(() => !b.local.has('k'));
      expect(await threads[2]!.call('get', 'k')).toBe(7);
      expect(await threads[3]!.call('get', 'k')).toBe(7);
    } finally {
      for (const thread of threads) await thread.stop();
    }
  });

  it('a write in another process (a real one) drops the key from L1 for every thread of this one', async () => {
    const prefix = `tier${++n}:`;
    const a = await TieredCache.connect({ url: server.url, prefix, l1: { maxEntries: 1_000, maxBytes: 1 << 20 } });
    open.push(a);
    const threads = [await startWorker(a.handle), await startWorker(a.handle)];
    const writer = new Child(builtScript('redis-tiered-child'), [server.url, prefix, 'writer', 'k', '0']);
    try {
      await writer.ready;
      writer.go();
      writer.send('set 1');
      await writer.next('wrote 1 ');
      // Every thread has its own subscriber, and each drops the key from the shared L1 when the
      // announcement reaches it: wait until all have heard it, or a late one would drop the copy below.
      await eventually(async () => (await a.stats()).invalidationsReceived === 1);
      for (const thread of threads) await eventually(async () => (await thread.call('invalidations', '')) === 1);
      // The main thread reads the value into L1 (once no announcement overlaps the read); each worker then hits L1.
      await eventually(async () => (await a.get('k')) === 1 && a.local.peek('k') === 1);
      for (const thread of threads) {
        const hits = (await thread.call('localHits', '')) as number;
        expect(await thread.call('get', 'k')).toBe(1);
        expect(await thread.call('localHits', '')).toBe(hits + 1);
      }
      writer.send('set 2');
      await writer.next('wrote 2 ');
      await eventually(() => !a.local.has('k'));
      for (const thread of threads) expect(await thread.call('get', 'k')).toBe(2);
      writer.send('end');
      expect(await writer.result).toBe(true);
    } finally {
      writer.process.kill('SIGKILL');
      for (const thread of threads) await thread.stop();
    }
  });

  it('options: l1 is SharedCache options or a SharedCache; localTtlMs is checked; the rest are RedisCache options', async () => {
    await expect(TieredCache.connect({ url: server.url } as never)).rejects.toThrow(/options\.l1 must be/);
    await expect(TieredCache.connect({ url: server.url, l1: 5 } as never)).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(TieredCache.connect({ url: server.url, l1: { maxEntries: 0, maxBytes: 1 << 20 } })).rejects.toThrow(/maxEntries/);
    await expect(TieredCache.connect({ url: server.url, l1: local(), localTtlMs: 0 })).rejects.toThrow(/localTtlMs/);
    await expect(TieredCache.connect({ url: server.url, l1: local(), graceMs: -1 })).rejects.toThrow(/graceMs/);
    await expect(TieredCache.attach({ kind: 'sabre/cache' } as never)).rejects.toThrow(/not a TieredCache handle/);
  });

  it('connect({ l1: { maxEntries, maxBytes } }) creates L1 itself; its handle opens the same L1 elsewhere', async () => {
    const prefix = `tier${++n}:`;
    const a = await TieredCache.connect({ url: server.url, prefix, l1: { maxEntries: 100, maxBytes: 1 << 16 } });
    open.push(a);
    expect(a.local.maxEntries).toBe(100);
    const again = await TieredCache.attach(structuredClone(a.handle));
    open.push(again);
    await a.set('k', 'v');
    expect(await a.get('k')).toBe('v'); // now in L1
    expect(again.local.peek('k')).toBe('v'); // the same L1
  });
});
