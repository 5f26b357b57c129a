/**
 * sabre/redis on a real Redis Cluster: 3 masters started here (test/support/redis-cluster.ts).
 * The AsyncCache behaviour table on RedisCache and TieredCache with their keys spread over all
 * three masters (checked on each node), getOrCompute's multi-key scripts across every master,
 * races between real processes (one setIfAbsent winner of 20, no lost increment, one computation
 * per stampede), and TieredCache invalidation and its staleness bound between two processes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../src/index.js';
import { RedisCache, type RedisTarget, TieredCache } from '../src/redis/index.js';
import { TABLE } from './support/async-cache-table.js';
import { keySlot } from '../src/redis/wire.js';
import { RedisCluster, redisCli } from './support/redis-cluster.js';
import { builtScript, cacheChild, race } from './support/redis-process.js';
import { redisAvailable } from './support/redis-server.js';
import { judgeStaleness, runStaleness } from './support/redis-staleness.js';

describe('cluster options are checked before connecting', () => {
  const bad: Array<[string, unknown, RegExp]> = [
    ['both url and cluster', { url: 'redis://127.0.0.1:1', cluster: { rootNodes: ['redis://127.0.0.1:1'] } }, /either url .* or cluster/],
    ['neither', { prefix: 'x:' }, /url .* or cluster .* is required/],
    ['no root nodes', { cluster: { rootNodes: [] } }, /rootNodes must be a non-empty array/],
    ['root nodes not an array', { cluster: { rootNodes: 'redis://127.0.0.1:1' } }, /rootNodes must be a non-empty array/],
    ['a root node not a URL', { cluster: { rootNodes: ['redis://127.0.0.1:1', 'localhost:7000'] } }, /rootNodes\[1\] must be a redis:\/\//],
    ['an unknown cluster option', { cluster: { rootNodes: ['redis://127.0.0.1:1'], nodes: [] } }, /unknown option "nodes"/],
    ['a prefix with a brace on a cluster', { cluster: { rootNodes: ['redis://127.0.0.1:1'] }, prefix: 'app{1}:' }, /must not contain '\{' or '\}'/],
  ];
  it.each(bad)('%s', async (_, options, message) => {
    const error = await RedisCache.connect(options as never).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as Error).message).toMatch(message);
  });
});

describe.skipIf(!redisAvailable)('sabre/redis on a 3-master Redis Cluster', () => {
  let cluster: RedisCluster;
  let target: RedisTarget;
  let n = 0;
  const open: Array<RedisCache | TieredCache> = [];

  beforeAll(async () => {
    builtScript('redis-child'); // fails early, saying to build, when it is missing
    cluster = await RedisCluster.start(3);
    target = { cluster: { rootNodes: cluster.rootNodes } };
  }, 60_000);
  afterAll(async () => {
    for (const cache of open) await cache.close();
    await cluster?.stop();
  });

  /** How many keys of `prefix` each master holds (KEYS on each node alone). */
  const spread = async (prefix: string) => Promise.all(cluster.nodes.map((_, i) => cluster.keysOn(i, `${prefix}*`).then((keys) => keys.length)));

  describe.each([
    ['RedisCache', (prefix: string) => RedisCache.connect({ ...target, prefix })],
    ['TieredCache', (prefix: string) => TieredCache.connect({ ...target, prefix, l1: { maxEntries: 1_000, maxBytes: 1 << 20 } })],
  ])('%s: the AsyncCache table', (name, connect) => {
    const prefix = `c${name}:`;
    it.each(TABLE)('%s', async (_, scenario) => {
      const cache = await connect(`${prefix}${++n}:`);
      open.push(cache);
      await scenario(cache);
    });
    it("the table's keys landed on every master", async () => {
      const counts = await spread(prefix);
      expect(
        counts.every((count) => count > 0),
        `keys per master: ${counts}`,
      ).toBe(true);
    });
  });

  it('getOrCompute on 60 keys over every master: its scripts (value, lease, fencing counter in one slot) run on each, computing each key once', async () => {
    const prefix = `lease${++n}:`;
    const [a, b] = [await RedisCache.connect({ ...target, prefix }), await RedisCache.connect({ ...target, prefix })];
    open.push(a, b);
    const runs = new Map<number, number>();
    const compute = (key: number) => async () => {
      runs.set(key, (runs.get(key) ?? 0) + 1);
      await new Promise((resolve) => setTimeout(resolve, 20));
      return `v${key}`;
    };
    const keys = Array.from({ length: 60 }, (_, i) => i);
    const values = await Promise.all(keys.flatMap((key) => [a.getOrCompute(key, compute(key)), b.getOrCompute(key, compute(key))]));
    expect(values).toEqual(keys.flatMap((key) => [`v${key}`, `v${key}`]));
    expect([...runs.values()].every((count) => count === 1)).toBe(true);
    const counts = await spread(prefix);
    expect(
      counts.every((count) => count > 0),
      `keys per master: ${counts}`,
    ).toBe(true);
    // The slot the connection computes to track availability per master is the cluster's own.
    for (const key of ['plain', 'a{tag}b', 'a{}b', '{}', 'x{y', `${prefix}{123}k`]) {
      expect(keySlot(Buffer.from(key)), key).toBe(Number(await redisCli(cluster.nodes[0]!.port, 'CLUSTER', 'KEYSLOT', key)));
    }
  });

  it('20 processes race setIfAbsent on one key: exactly one wins, and its value is stored', async () => {
    const prefix = `race${++n}:`;
    const results = await race(20, (i) => cacheChild(target, prefix, 'setIfAbsent', 'k', i + 1));
    const winners = results.flatMap((won, i) => (won === true ? [i + 1] : []));
    expect(winners).toHaveLength(1);
    const cache = await RedisCache.connect({ ...target, prefix });
    open.push(cache);
    expect(await cache.get('k')).toBe(winners[0]);
  });

  it('6 processes × 100 increments on one key, and on a key of each master: none lost', async () => {
    const prefix = `inc${++n}:`;
    const cache = await RedisCache.connect({ ...target, prefix });
    open.push(cache);
    const keys = ['n', 'm', 'o'];
    await race(6, (i) => cacheChild(target, prefix, 'increment', i < 3 ? 'n' : keys[i - 3]!, 100));
    expect(await cache.get('n')).toBe(400);
    expect(await cache.get('m')).toBe(100);
    expect(await cache.get('o')).toBe(100);
  });

  it('a getOrCompute stampede of 8 processes computes once', async () => {
    const prefix = `stampede${++n}:`;
    const values = await race(8, () => cacheChild(target, prefix, 'compute', 'k', 200));
    expect(new Set(values).size).toBe(1);
    const cache = await RedisCache.connect({ ...target, prefix });
    open.push(cache);
    expect(await cache.get('computes')).toBe(1);
  });

  it('TieredCache across two processes: a write in A invalidates B, B never reads past the announcements it received, never goes back', async () => {
    const writes = 20;
    const run = await runStaleness(target, `stale${++n}:`, writes);
    const judged = judgeStaleness(run);
    console.log(
      `staleness (cluster): ${judged.reads} reads in B, ${judged.staleReads} in runs of equal reads that outlasted the return of the write replacing their value (${judged.staleLocalHits} from L1), max ${judged.maxStaleMs} ms stale`,
    );
    expect(judged.beyondBound).toEqual([]);
    expect(judged.backwards).toEqual([]);
    expect(run.invalidationsReceived).toBe(writes);
    expect(run.runs.at(-1)!.value).toBe(writes);
    expect(run.runs.reduce((sum, r) => sum + r.localHits, 0)).toBeGreaterThanOrEqual(writes);
  });

  it('a master that stops answering: calls on its slots fail typed within commandTimeoutMs (or get the grace value), the other masters keep serving', async () => {
    const prefix = `failsafe${++n}:`;
    const cache = await RedisCache.connect({ ...target, prefix, commandTimeoutMs: 300, graceMs: 60_000 });
    open.push(cache);
    const events: string[] = [];
    cache.on('unavailable', () => events.push('unavailable'));
    cache.on('available', () => events.push('available'));
    const keys = Array.from({ length: 30 }, (_, i) => `k${i}`);
    for (const key of keys) await cache.set(key, key);
    // Which keys each master holds, asked of each node.
    const on = await Promise.all(cluster.nodes.map((_, i) => cluster.keysOn(i, `${prefix}*`)));
    const owner = (key: string) => on.findIndex((held) => held.some((k) => k.endsWith(`}${key}`)));
    const paused = keys.filter((key) => owner(key) === 1);
    const live = keys.filter((key) => owner(key) !== 1 && owner(key) !== -1);
    expect(paused.length).toBeGreaterThan(0);
    expect(live.length).toBeGreaterThan(0);
    cluster.nodes[1]!.pause();
    try {
      expect(await cache.get(paused[0]!)).toBe(paused[0]); // last confirmed value, within graceMs
      await expect(cache.set(paused[0]!, 'new')).rejects.toMatchObject({ code: 'ERR_SABRE_STORE_UNAVAILABLE' }); // a write never succeeds silently
      await expect(cache.get(paused[0]!)).rejects.toMatchObject({ code: 'ERR_SABRE_STORE_UNAVAILABLE' }); // that write's outcome is unknown: no grace value
      // Calls on the other masters succeed, but the outage of one is not over: no flip back and forth.
      for (const key of live.slice(0, 5)) expect(await cache.get(key)).toBe(key);
      expect(cache.state).toBe('unavailable');
      expect(await cache.get(paused[0]!).catch(() => 'failed')).toBe('failed');
      expect(events).toEqual(['unavailable']);
      const stats = await cache.stats();
      expect(stats.graceServed).toBe(1);
      expect(stats.timeouts).toBeGreaterThanOrEqual(2);
    } finally {
      cluster.nodes[1]!.resume();
    }
    // Once the master answers again, so do its slots (polled, bounded).
    for (let i = 0; ; i++) {
      const value = await cache.get(paused[1] ?? paused[0]!).catch(() => 'unavailable');
      if (value !== 'unavailable') break;
      if (i > 200) throw new Error('the resumed master never answered');
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    await cache.get(paused[0]!);
    expect(cache.state).toBe('available');
    expect(events).toEqual(['unavailable', 'available']);
  });
});
