/**
 * SharedCache benchmarks: sabre side by side with what a user would pick instead, in one process
 * run, over the same precomputed keys (10,000 string keys `key:N`, small values, prefilled):
 *
 * - lru-cache in one thread (the single-thread ceiling),
 * - a Map owned by one thread behind postMessage, one request at a time and pipelined (all of a
 *   sample's requests in flight at once), and the same through comlink,
 * - the npm `sharedmap` (a SharedArrayBuffer map: strings only, no eviction),
 * - sabre get / set / 90-10 mixed on the main thread and from 1 and 2 worker threads, and sets
 *   from 1 and 2 workers on distinct keys (each worker its own half: how writes scale),
 * - and the hit ratio of each eviction policy on a Zipf(0.99) stream against lru-cache.
 *
 *   npm run bench:cache              full run, writes bench/results/cache.{json,md}
 *   npm run bench:cache -- --quick   smoke test (numbers are noisy)
 */
import { LRUCache } from 'lru-cache';
import sharedmap from 'sharedmap';
import { SharedCache } from '../src/index.js';
import { seededRandom } from '../src/stress/random.js';
import { Crew } from './support/crew.js';
import { hitRatio } from './support/hit-ratio.js';
import { MapOwner } from './support/map-owner.js';
import { Suite, quick } from './support/suite.js';
import { type Goal, type Row, ratioGoal, speedGoal, writeReport, resultsDir } from './support/report.js';
import { zipfStream } from './support/zipf.js';

// sharedmap's types declare a named export; at run time its CommonJS build exports the class itself.
const SharedMap = sharedmap as unknown as typeof import('sharedmap').SharedMap;

const KEYS = 10_000;
const BATCH = 1_000; // operations per sample on the main thread
const WORKER_BATCH = quick ? 20_000 : 200_000; // operations per worker per sample
const ROUND_TRIPS = quick ? 50 : 200; // message round trips per sample
const PIPELINED = quick ? 500 : 2_000; // requests in flight per pipelined sample

const keys = Array.from({ length: KEYS }, (_, i) => `key:${i}`);
const values = keys.map((_, i) => `value:${i}`);
const random = seededRandom(42);
const order = Int32Array.from({ length: 1 << 16 }, () => Math.floor(random() * KEYS));
let at = 0;
const nextKey = (): number => order[at++ & 0xffff]!;

const N = {
  lruGet: 'lru-cache get, one thread',
  lruSet: 'lru-cache set, one thread',
  mapGet: 'Map get, one thread (floor)',
  sabreGetMain: 'sabre get, main thread',
  sabreSetMain: 'sabre set, main thread',
  sabreGet1: 'sabre get, 1 worker',
  sabreGet2: 'sabre get, 2 workers (aggregate)',
  sabreSet1: 'sabre set, 1 worker',
  sabreSet2: 'sabre set, 2 workers (aggregate)',
  sabreMixed1: 'sabre 90/10 get/set, 1 worker',
  sabreMixed2: 'sabre 90/10 get/set, 2 workers (aggregate)',
  sabreDistinct1: 'sabre set, 1 worker, distinct keys',
  sabreDistinct2: 'sabre set, 2 workers, distinct keys (aggregate)',
  sharedmapGet: 'sharedmap get, one thread',
  sharedmapSet: 'sharedmap set, one thread',
  postMessage: 'Map in an owner thread, postMessage round trip',
  comlink: 'Map in an owner thread, comlink round trip',
  pipelined: 'Map in an owner thread, postMessage pipelined',
} as const;

function prefilled(): SharedCache {
  const cache = SharedCache.create({ maxEntries: KEYS, maxBytes: 1 << 20 });
  keys.forEach((key, i) => cache.set(key, values[i]!));
  return cache;
}

const zKey = (id: number): string => `z:${id}`;

async function main(): Promise<void> {
  const suite = new Suite('cache');
  const add = suite.add.bind(suite);
  let sink = 0;

  const lru = new LRUCache<string, string>({ max: KEYS });
  const map = new Map<string, string>();
  keys.forEach((key, i) => {
    lru.set(key, values[i]!);
    map.set(key, values[i]!);
  });
  const mainCache = prefilled();
  const shared = new SharedMap(KEYS * 2, 16, 16);
  keys.forEach((key, i) => shared.set(key, values[i]!));

  const opsFile = new URL('./workers/cache-ops.js', import.meta.url);
  const workerCache = prefilled();
  const crew = (mode: 'get' | 'set' | 'mixed', size: number): Crew => new Crew(opsFile, size, () => ({ cache: workerCache.handle, mode, keys: KEYS }));
  const crews = {
    get1: crew('get', 1),
    get2: crew('get', 2),
    set1: crew('set', 1),
    set2: crew('set', 2),
    mixed1: crew('mixed', 1),
    mixed2: crew('mixed', 2),
    distinct1: new Crew(new URL('./support/distinct-writer.js', import.meta.url), 1, () => ({ cache: workerCache.handle, keys: KEYS, workers: 1 })),
    distinct2: new Crew(new URL('./support/distinct-writer.js', import.meta.url), 2, () => ({ cache: workerCache.handle, keys: KEYS, workers: 2 })),
  };
  const owner = new MapOwner(KEYS);

  add(N.mapGet, BATCH, () => {
    for (let i = 0; i < BATCH; i++) if (map.get(keys[nextKey()]!) !== undefined) sink++;
  });
  add(N.lruGet, BATCH, () => {
    for (let i = 0; i < BATCH; i++) if (lru.get(keys[nextKey()]!) !== undefined) sink++;
  });
  add(N.lruSet, BATCH, () => {
    for (let i = 0; i < BATCH; i++) {
      const k = nextKey();
      lru.set(keys[k]!, values[k]!);
    }
  });
  add(N.sabreGetMain, BATCH, () => {
    for (let i = 0; i < BATCH; i++) if (mainCache.get(keys[nextKey()]!) !== undefined) sink++;
  });
  add(N.sabreSetMain, BATCH, () => {
    for (let i = 0; i < BATCH; i++) {
      const k = nextKey();
      mainCache.set(keys[k]!, values[k]!);
    }
  });
  add(N.sabreGet1, WORKER_BATCH, () => crews.get1.batch(WORKER_BATCH));
  add(N.sabreGet2, 2 * WORKER_BATCH, () => crews.get2.batch(WORKER_BATCH));
  add(N.sabreSet1, WORKER_BATCH, () => crews.set1.batch(WORKER_BATCH));
  add(N.sabreSet2, 2 * WORKER_BATCH, () => crews.set2.batch(WORKER_BATCH));
  add(N.sabreMixed1, WORKER_BATCH, () => crews.mixed1.batch(WORKER_BATCH));
  add(N.sabreMixed2, 2 * WORKER_BATCH, () => crews.mixed2.batch(WORKER_BATCH));
  add(N.sabreDistinct1, WORKER_BATCH, () => crews.distinct1.batch(WORKER_BATCH));
  add(N.sabreDistinct2, 2 * WORKER_BATCH, () => crews.distinct2.batch(WORKER_BATCH));
  add(N.sharedmapGet, BATCH, () => {
    for (let i = 0; i < BATCH; i++) if (shared.get(keys[nextKey()]!) !== undefined) sink++;
  });
  add(N.sharedmapSet, BATCH, () => {
    for (let i = 0; i < BATCH; i++) {
      const k = nextKey();
      shared.set(keys[k]!, values[k]!);
    }
  });
  add(N.postMessage, ROUND_TRIPS, async () => {
    for (let i = 0; i < ROUND_TRIPS; i++) if ((await owner.request(keys[nextKey()]!)) !== undefined) sink++;
  });
  add(N.pipelined, PIPELINED, async () => {
    const answers = await owner.pipeline(Array.from({ length: PIPELINED }, () => [keys[nextKey()]!] as const));
    for (const answer of answers) if (answer !== undefined) sink++;
  });
  add(N.comlink, ROUND_TRIPS, async () => {
    for (let i = 0; i < ROUND_TRIPS; i++) if ((await owner.remote.get(keys[nextKey()]!)) !== undefined) sink++;
  });

  const rows: Row[] = await suite.run();
  await Promise.all([...Object.values(crews).map((c) => c.close()), owner.close()]);

  const capacity = 1_000;
  const stream = zipfStream(100_000, 0.99, quick ? 100_000 : 1_000_000, 7);
  const ratios = {
    sieve: hitRatio(stream, capacity, 'sieve', zKey),
    clock: hitRatio(stream, capacity, 'lru', zKey),
    lruCache: hitRatio(stream, capacity, 'lru-cache', zKey),
  };

  const median = (name: string): number => rows.find((r) => r.name === name)!.medianNs;
  const goals: Goal[] = [
    speedGoal('a get from a worker vs lru-cache get in one thread (goal 1/3, stretch 1/2)', rows, N.sabreGet1, N.lruGet, 1 / 3),
    speedGoal('a set from a worker vs lru-cache set in one thread: within 3x (stretch: 2x)', rows, N.sabreSet1, N.lruSet, 1 / 3),
    ratioGoal('two writer threads vs one on distinct keys, aggregate throughput', median(N.sabreDistinct1) / median(N.sabreDistinct2), 1.6),
    speedGoal('a get from a worker vs a postMessage round trip to an owner thread', rows, N.sabreGet1, N.postMessage, 30),
    speedGoal('a get from a worker vs a request to an owner thread, pipelined (all in flight)', rows, N.sabreGet1, N.pipelined, 1),
    ratioGoal('two reader threads vs one, aggregate throughput', median(N.sabreGet1) / median(N.sabreGet2), 1.7),
    ratioGoal('SIEVE hit ratio vs lru-cache (LRU) on Zipf(0.99), same capacity', ratios.sieve / ratios.lruCache, 1),
  ];
  const hitSection = [
    `## Hit ratio on Zipf(0.99)`,
    '',
    `100,000 keys, ${stream.length.toLocaleString('en')} requests, capacity ${capacity.toLocaleString('en')} (set on miss).`,
    '',
    '| policy | hit ratio |',
    '|---|---:|',
    `| sabre SIEVE (default) | ${(ratios.sieve * 100).toFixed(2)} % |`,
    `| sabre CLOCK (\`policy: 'lru'\`) | ${(ratios.clock * 100).toFixed(2)} % |`,
    `| lru-cache (exact LRU) | ${(ratios.lruCache * 100).toFixed(2)} % |`,
    '',
  ];
  const notes = [
    'All rows come from one process run over the same precomputed keys; ratios between rows are what matters.',
    `Main-thread rows time ${BATCH} operations per sample; worker rows ${WORKER_BATCH} per worker per sample (aggregate rows divide by all operations of all workers); message rows ${ROUND_TRIPS} sequential round trips per sample, the pipelined row ${PIPELINED} requests all in flight at once.`,
    'Reads are all hits (the cache is prefilled with every key); sets overwrite existing keys with values of the same size. The distinct-keys rows give each writer its own half of the keys.',
    quick ? 'QUICK RUN: short sampling, for smoke-testing only.' : 'Full run.',
  ];
  const markdown = writeReport(resultsDir(), quick ? 'cache-quick' : 'cache', 'sabre cache benchmarks', rows, goals, notes, hitSection);
  console.log(markdown);
  void sink;
}

await main();
