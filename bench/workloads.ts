/**
 * Cache workloads side by side: read-only, 90/10, 75/25 and write-only over a scrambled
 * Zipf(0.99) stream of 10,000 prefilled keys (support/mix.ts), run by
 *
 * - sabre from 1..N worker threads (N = the cores, or --threads N), aggregate throughput,
 * - lru-cache in one thread (the single-thread ceiling),
 * - a Map owned by one thread behind postMessage, one request at a time and pipelined (a
 *   sample's requests all in flight at once), and the same through comlink,
 * - the npm `sharedmap` in one thread (strings only, no eviction),
 * - Redis through ioredis, when `--redis redis://host:port` is given.
 *
 * Every competitor runs the same precomputed stream in the same process run, several rounds
 * interleaved (support/suite.ts). Writes bench/results/workloads.{json,md}; the JSON's `series`
 * feeds the HTML report's throughput-against-threads chart.
 */
import { availableParallelism } from 'node:os';
import { LRUCache } from 'lru-cache';
import sharedmap from 'sharedmap';
import { SharedCache } from '../src/index.js';
import { Crew } from './support/crew.js';
import { MapOwner } from './support/map-owner.js';
import { MASK, MIXES, type MixName, UNIVERSE, keyOf, valueOf, workload } from './support/mix.js';
import { type Goal, type Row, speedGoal, writeReport, resultsDir } from './support/report.js';
import { Suite, quick } from './support/suite.js';

const SharedMap = sharedmap as unknown as typeof import('sharedmap').SharedMap;

const flag = (name: string): string | undefined => {
  const at = process.argv.indexOf(name);
  return at > 0 ? process.argv[at + 1] : undefined;
};
const maxThreads = Number(flag('--threads') ?? availableParallelism());
const redisUrl = flag('--redis');

const BATCH = 1_000; // operations per sample in one thread
const WORKER_BATCH = quick ? 20_000 : 100_000; // operations per worker per sample
const ROUND_TRIPS = quick ? 50 : 200; // sequential round trips per sample
const PIPELINED = quick ? 500 : 2_000; // requests in flight per pipelined sample

const keys = Array.from({ length: UNIVERSE }, (_, id) => keyOf(id));
const values = keys.map((_, id) => valueOf(id));

/** One point of the throughput-against-threads chart. */
interface Point {
  readonly competitor: string;
  readonly mix: MixName;
  readonly threads: number;
  readonly opsPerSec: number;
}

const rowName = (competitor: string, mix: MixName, threads?: number): string =>
  `${competitor}, ${mix}${threads === undefined ? '' : `, ${threads} ${threads === 1 ? 'worker' : 'workers'}`}`;

async function connectRedis(url: string): Promise<import('ioredis').Redis> {
  const { Redis } = await import('ioredis');
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  await redis.flushdb();
  for (let id = 0; id < UNIVERSE; id += 500) await redis.mset(...keys.slice(id, id + 500).flatMap((k, i) => [k, values[id + i]!]));
  return redis;
}

async function main(): Promise<void> {
  const suite = new Suite('workloads');
  const cache = SharedCache.create({ maxEntries: UNIVERSE, maxBytes: 1 << 20 });
  const lru = new LRUCache<string, string>({ max: UNIVERSE });
  const shared = new SharedMap(UNIVERSE * 2, 16, 16);
  keys.forEach((key, id) => {
    cache.set(key, values[id]!);
    lru.set(key, values[id]!);
    shared.set(key, values[id]!);
  });
  const owner = new MapOwner(UNIVERSE);
  const redis = redisUrl ? await connectRedis(redisUrl) : undefined;
  const crews: Crew[] = [];
  const threadCounts = Array.from({ length: maxThreads }, (_, i) => i + 1);
  let sink = 0;

  for (const mix of MIXES) {
    const { ids, writes } = workload(mix.readPercent, 0);
    let at = 0;
    const local = (get: (key: string) => unknown, set: (key: string, value: string) => unknown) => () => {
      for (let i = 0; i < BATCH; i++) {
        const j = at++ & MASK;
        const id = ids[j]!;
        if (writes[j] === 1) set(keys[id]!, values[id]!);
        else if (get(keys[id]!) !== undefined) sink++;
      }
    };
    suite.add(
      rowName('lru-cache, one thread', mix.name),
      BATCH,
      local(
        (k) => lru.get(k),
        (k, v) => lru.set(k, v),
      ),
    );
    suite.add(
      rowName('sharedmap, one thread', mix.name),
      BATCH,
      local(
        (k) => shared.get(k),
        (k, v) => shared.set(k, v),
      ),
    );
    for (const threads of threadCounts) {
      const crew = new Crew(new URL('./workers/workload.js', import.meta.url), threads, (index) => ({
        cache: cache.handle,
        readPercent: mix.readPercent,
        index,
      }));
      crews.push(crew);
      suite.add(rowName('sabre', mix.name, threads), threads * WORKER_BATCH, () => crew.batch(WORKER_BATCH));
    }
    const roundTrips = (call: (key: string, value?: string) => Promise<unknown>) => async () => {
      for (let i = 0; i < ROUND_TRIPS; i++) {
        const j = at++ & MASK;
        const id = ids[j]!;
        if ((await call(keys[id]!, writes[j] === 1 ? values[id]! : undefined)) !== undefined) sink++;
      }
    };
    suite.add(
      rowName('Map in an owner thread, postMessage', mix.name),
      ROUND_TRIPS,
      roundTrips((k, v) => owner.request(k, v)),
    );
    suite.add(rowName('Map in an owner thread, postMessage pipelined', mix.name), PIPELINED, async () => {
      const requests = Array.from({ length: PIPELINED }, () => {
        const j = at++ & MASK;
        const id = ids[j]!;
        return [keys[id]!, writes[j] === 1 ? values[id]! : undefined] as const;
      });
      for (const answer of await owner.pipeline(requests)) if (answer !== undefined) sink++;
    });
    suite.add(
      rowName('Map in an owner thread, comlink', mix.name),
      ROUND_TRIPS,
      roundTrips((k, v) => (v === undefined ? owner.remote.get(k) : owner.remote.set(k, v))),
    );
    if (redis)
      suite.add(
        rowName('Redis via ioredis', mix.name),
        ROUND_TRIPS,
        roundTrips((k, v) => (v === undefined ? redis.get(k) : redis.set(k, v))),
      );
  }

  const rows: Row[] = await suite.run();
  await Promise.all([...crews.map((c) => c.close()), owner.close()]);
  redis?.disconnect();

  const series: Point[] = rows.flatMap((row) => {
    const match = /^(.*), (read-only|90\/10|75\/25|write-only)(?:, (\d+) workers?)?$/.exec(row.name);
    if (!match) return [];
    const competitor = match[3] === undefined ? match[1]! : 'sabre';
    return [{ competitor, mix: match[2] as MixName, threads: Number(match[3] ?? 1), opsPerSec: row.opsPerSec }];
  });
  const top = maxThreads;
  const goals: Goal[] = [
    speedGoal(
      'read-only: sabre from 1 worker vs lru-cache in one thread (goal 1/3)',
      rows,
      rowName('sabre', 'read-only', 1),
      rowName('lru-cache, one thread', 'read-only'),
      1 / 3,
    ),
    speedGoal(
      'read-only: sabre from 1 worker vs a postMessage owner thread',
      rows,
      rowName('sabre', 'read-only', 1),
      rowName('Map in an owner thread, postMessage', 'read-only'),
      30,
    ),
    speedGoal(
      'read-only: sabre from 1 worker vs sharedmap in one thread',
      rows,
      rowName('sabre', 'read-only', 1),
      rowName('sharedmap, one thread', 'read-only'),
      1,
    ),
    speedGoal(
      'read-only: a get from 1 worker vs lru-cache get in one thread, Zipf(0.99) (goal 0.8x)',
      rows,
      rowName('sabre', 'read-only', 1),
      rowName('lru-cache, one thread', 'read-only'),
      0.8,
    ),
    speedGoal('90/10 from 1 worker: share of its read-only throughput (goal 50 %)', rows, rowName('sabre', '90/10', 1), rowName('sabre', 'read-only', 1), 0.5),
    speedGoal(
      'write-only: sabre from 1 worker vs lru-cache in one thread: within 3x',
      rows,
      rowName('sabre', 'write-only', 1),
      rowName('lru-cache, one thread', 'write-only'),
      1 / 3,
    ),
    speedGoal(
      'read-only: sabre from 1 worker vs a pipelined postMessage owner thread (all requests in flight)',
      rows,
      rowName('sabre', 'read-only', 1),
      rowName('Map in an owner thread, postMessage pipelined', 'read-only'),
      1,
    ),
    ...(top > 1
      ? [
          speedGoal(
            `read-only: ${top} workers vs 1, aggregate (adding readers must not slow a shared cache)`,
            rows,
            rowName('sabre', 'read-only', top),
            rowName('sabre', 'read-only', 1),
            1.7,
          ),
        ]
      : []),
    ...(top > 1
      ? [
          speedGoal(
            `75/25: ${top} workers vs 1, aggregate (writes must not collapse it)`,
            rows,
            rowName('sabre', '75/25', top),
            rowName('sabre', '75/25', 1),
            1,
          ),
        ]
      : []),
  ];
  const notes = [
    `Keys: ${UNIVERSE.toLocaleString('en')} prefilled string keys, requested by a scrambled Zipf(0.99) stream precomputed per thread; writes overwrite with values of the same size.`,
    `One-thread rows time ${BATCH} operations per sample; sabre rows ${WORKER_BATCH} per worker per sample (aggregate over the workers); message rows ${ROUND_TRIPS} sequential round trips per sample; pipelined rows ${PIPELINED} requests all in flight at once (a user who batches requests to an owner thread).`,
    redisUrl ? `Redis: ${redisUrl}, sequential round trips (no pipelining).` : 'Redis: not measured (pass --redis redis://host:port).',
    quick ? 'QUICK RUN: short sampling, for smoke-testing only.' : 'Full run.',
  ];
  console.log(writeReport(resultsDir(), quick ? 'workloads-quick' : 'workloads', 'sabre cache workloads', rows, goals, notes, [], { series }));
  void sink;
}

await main();
