/**
 * TieredCache (sabre/redis) benchmarks, side by side in one process run:
 *
 * - a TieredCache L1 hit (the process's SharedCache), a bentocache L1 hit (its memory tier, over
 *   its Redis L2 on the same server) and a Redis GET through @redis/client, one awaited at a time
 *   and pipelined (all of a sample's in flight);
 * - a stampede: 4 processes x 2 worker threads call getOrCompute on one missing key, released
 *   together once all are connected; the computation waits until all 8 are inside getOrCompute,
 *   so the overlap is built in. Measured: computations per stampede (goal: exactly 1);
 * - 20 processes: increments of one key (none lost) and setIfAbsent rounds (exactly one winner).
 *
 * The cross-process rows run against each target, a function of the connect options only
 * (crossProcess): one Redis server now, a cluster being one more target.
 *
 * Redis: `--redis redis://host:port`, else a throwaway redis-server on a free loopback port
 * (stopped at the end, whatever happens); without redis-server the suite says so and writes an
 * empty report. Every key written carries a TTL (10 minutes) and a per-run prefix, so a shared
 * server is left as it was.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { createClient } from '@redis/client';
import { BentoCache, bentostore } from 'bentocache';
import { memoryDriver } from 'bentocache/drivers/memory';
import { redisDriver } from 'bentocache/drivers/redis';
import { SharedCache } from '../src/index.js';
import { RedisCache, type RedisCacheOptions, type RedisTarget, TieredCache } from '../src/redis/index.js';
import { RedisCluster } from './support/redis-cluster.js';
import { REDIS_SERVER, RedisServer, findRedisServer } from './support/redis-server.js';
import { type Goal, type Row, ratioGoal, resultsDir, rowOfTimes, speedGoal, writeReport } from './support/report.js';
import { Suite, quick } from './support/suite.js';
import { COMPUTE_MS, Crowd } from './support/tiered-crowd.js';

const KEYS = 1_000;
const BATCH = 1_000; // L1 reads per sample
const ROUND_TRIPS = quick ? 50 : 200; // sequential GETs per sample
const PIPELINED = quick ? 500 : 2_000; // GETs in flight per pipelined sample
const STAMPEDES = quick ? 5 : 50;
const INCREMENTS = quick ? 50 : 500; // per process
const CLAIM_ROUNDS = quick ? 5 : 50;
const STAMPEDE_SHAPE = { processes: 4, threads: 2 } as const;
const CONTENDERS = 20;
/** Every key this suite writes expires: a shared server is left clean. */
const TTL_MS = 10 * 60_000;
const SYNC_LIMIT_MS = 10_000;

const at = process.argv.indexOf('--redis');
const redisUrl = at > 0 ? process.argv[at + 1] : undefined;
const run = `bench:tiered:${Date.now().toString(36)}:`;
const name = quick ? 'tiered-quick' : 'tiered';
const TITLE = 'sabre TieredCache benchmarks (sabre/redis)';

const N = {
  shared: 'SharedCache get, same thread (synchronous: the floor)',
  awaited: 'SharedCache get, awaited (the floor of any get that returns a promise)',
  tiered: "TieredCache get, L1 hit (the process's SharedCache)",
  bento: 'bentocache get, L1 hit (memory tier over a Redis L2)',
  sequential: 'Redis GET via @redis/client, sequential (one awaited at a time)',
  pipelined: 'Redis GET via @redis/client, pipelined (all in flight)',
} as const;

/** Where the cross-process rows run: a name and the connect options (no prefix: each row brings its own). */
export interface Target {
  readonly name: string;
  readonly options: RedisTarget;
}

/** What the cross-process rows found on one target (also written to the JSON, for the tests). */
export interface CrossProcessResult {
  readonly target: string;
  /** Computations of each stampede (one per stampede is right). */
  readonly computations: number[];
  readonly increments: { readonly expected: number; readonly counted: number };
  /** Winners of each setIfAbsent round (one per round is right). */
  readonly winners: number[];
}

const keys = Array.from({ length: KEYS }, (_, i) => `key:${i}`);
const values = keys.map((_, i) => `value:${i}`);
let cursor = 0;
const nextKey = (): number => cursor++ % KEYS;

/** The L1-hit and GET rows, on one server. */
async function hitRows(url: string): Promise<{ rows: Row[]; checks: string[] }> {
  const local = SharedCache.create<string>({ maxEntries: 2 * KEYS, maxBytes: 1 << 20 });
  const tiered = await TieredCache.connect<string>({ url, prefix: `${run}t:`, ttlMs: TTL_MS, localTtlMs: TTL_MS, l1: local });
  const { hostname, port, username, password, pathname } = new URL(url);
  const bento = new BentoCache({
    default: 'tiered',
    prefix: `${run}bento`,
    ttl: TTL_MS,
    stores: {
      tiered: bentostore()
        .useL1Layer(memoryDriver({ maxItems: 2 * KEYS }))
        .useL2Layer(
          redisDriver({
            connection: {
              host: hostname,
              port: Number(port || 6379),
              ...(username ? { username: decodeURIComponent(username) } : {}),
              ...(password ? { password: decodeURIComponent(password) } : {}),
              db: Number(pathname.slice(1) || 0),
            },
          }),
        ),
    },
  });
  const client = createClient({ url });
  client.on('error', () => {}); // a failed command rejects its own call; nothing else to report
  try {
    await client.connect();
    const deadline = Date.now() + SYNC_LIMIT_MS;
    while (!tiered.synced) {
      if (Date.now() > deadline) throw new Error(`TieredCache did not subscribe to its invalidations within ${SYNC_LIMIT_MS} ms`);
      await sleep(5);
    }
    for (let i = 0; i < KEYS; i++) {
      await tiered.set(keys[i]!, values[i]!);
      await tiered.get(keys[i]!); // fills L1
      await bento.set({ key: keys[i]!, value: values[i]! });
      await client.set(`${run}raw:${keys[i]!}`, values[i]!, { PX: TTL_MS });
    }
    const rawKeys = keys.map((k) => `${run}raw:${k}`);

    // What is timed must be L1 hits: checked once over every key before timing, and after it.
    let bentoL2 = 0;
    const onHit = ({ layer }: { layer: 'l1' | 'l2' }) => void (layer === 'l2' && bentoL2++);
    bento.on('cache:hit', onHit);
    for (const key of keys) await bento.get({ key });
    bento.off('cache:hit', onHit);
    if (bentoL2 > 0) throw new Error(`bentocache answered ${bentoL2} of ${KEYS} reads from Redis, not its memory tier`);
    const before = await tiered.stats();

    const suite = new Suite('tiered');
    let sink = 0;
    suite.add(N.shared, BATCH, () => {
      for (let i = 0; i < BATCH; i++) if (local.get(keys[nextKey()]!) !== undefined) sink++;
    });
    suite.add(N.awaited, BATCH, async () => {
      for (let i = 0; i < BATCH; i++) if ((await Promise.resolve(local.get(keys[nextKey()]!))) !== undefined) sink++;
    });
    suite.add(N.tiered, BATCH, async () => {
      for (let i = 0; i < BATCH; i++) if ((await tiered.get(keys[nextKey()]!)) !== undefined) sink++;
    });
    suite.add(N.bento, BATCH, async () => {
      for (let i = 0; i < BATCH; i++) if ((await bento.get({ key: keys[nextKey()]! })) !== undefined) sink++;
    });
    suite.add(N.sequential, ROUND_TRIPS, async () => {
      for (let i = 0; i < ROUND_TRIPS; i++) if ((await client.get(rawKeys[nextKey()]!)) !== null) sink++;
    });
    suite.add(N.pipelined, PIPELINED, async () => {
      const answers = await Promise.all(Array.from({ length: PIPELINED }, () => client.get(rawKeys[nextKey()]!)));
      for (const answer of answers) if (answer !== null) sink++;
    });
    const rows = await suite.run();

    const after = await tiered.stats();
    const reads = after.hits + after.misses - before.hits - before.misses;
    const local_ = after.localHits - before.localHits;
    if (local_ !== reads) throw new Error(`TieredCache answered ${reads - local_} of ${reads} timed reads from Redis, not L1`);
    void sink;
    return {
      rows,
      checks: [
        `Every timed TieredCache read was an L1 hit (${local_.toLocaleString('en')} of ${reads.toLocaleString('en')}); bentocache answered every key from its memory tier when checked before timing (its cache:hit events).`,
      ],
    };
  } finally {
    await Promise.allSettled([tiered.close(), bento.disconnectAll(), client.quit()]);
  }
}

/** The stampede and the 20-process rows on one target. */
export async function crossProcess(target: Target): Promise<{ rows: Row[]; result: CrossProcessResult }> {
  const prefix = `${run}x:`;
  const options: RedisCacheOptions = { ...target.options, prefix, ttlMs: TTL_MS };
  const on = `, ${target.name}`;
  const rows: Row[] = [];

  const computations: number[] = [];
  const stampedeTimes: number[] = [];
  const stampede = await Crowd.start(options, STAMPEDE_SHAPE.processes, STAMPEDE_SHAPE.threads);
  try {
    for (let round = 0; round < STAMPEDES; round++) {
      const started = performance.now();
      const results = await stampede.run({ op: 'stampede', key: `stampede:${round}`, callers: stampede.callers });
      stampedeTimes.push(performance.now() - started);
      computations.push(results.filter((r) => r.computed).length);
    }
  } finally {
    await stampede.close();
  }
  rows.push(
    rowOfTimes(
      `stampede of ${STAMPEDE_SHAPE.processes} processes x ${STAMPEDE_SHAPE.threads} threads, getOrCompute: until all have the value${on}`,
      stampedeTimes,
    ),
  );

  const verify = await RedisCache.connect<number>(options);
  const crowd = await Crowd.start(options, CONTENDERS, 1);
  try {
    const started = performance.now();
    await crowd.run({ op: 'increment', key: 'counter', count: INCREMENTS });
    rows.push(
      rowOfTimes(`${CONTENDERS} processes incrementing one key, per increment (aggregate)${on}`, [performance.now() - started], CONTENDERS * INCREMENTS),
    );
    const counted = (await verify.get('counter')) ?? 0;

    const winners: number[] = [];
    const claimTimes: number[] = [];
    for (let round = 0; round < CLAIM_ROUNDS; round++) {
      const begun = performance.now();
      const results = await crowd.run({ op: 'claim', key: `claim:${round}` });
      claimTimes.push(performance.now() - begun);
      winners.push(results.filter((r) => r.won).length);
    }
    rows.push(rowOfTimes(`${CONTENDERS} processes setIfAbsent on one key: until all have answered${on}`, claimTimes));
    return { rows, result: { target: target.name, computations, increments: { expected: CONTENDERS * INCREMENTS, counted }, winners } };
  } finally {
    await crowd.close();
    await verify.close();
  }
}

function crossGoals(r: CrossProcessResult): Goal[] {
  const exactly = (counts: number[]) => counts.filter((n) => n === 1).length / counts.length;
  const { expected, counted } = r.increments;
  return [
    ratioGoal(
      `stampedes with exactly 1 computation (${STAMPEDE_SHAPE.processes} processes x ${STAMPEDE_SHAPE.threads} threads, ${r.computations.length} stampedes), ${r.target}`,
      exactly(r.computations),
      1,
    ),
    ratioGoal(`increments kept by ${CONTENDERS} processes (1 = none lost, none doubled), ${r.target}`, 1 - Math.abs(counted - expected) / expected, 1),
    ratioGoal(`setIfAbsent rounds with exactly one winner among ${CONTENDERS} processes, ${r.target}`, exactly(r.winners), 1),
  ];
}

function crossSection(results: readonly CrossProcessResult[]): string[] {
  const count = (counts: number[], n: number) => counts.filter((c) => c === n).length;
  return [
    '## Across processes',
    '',
    '| target | stampedes | with exactly 1 computation | most computations in one | increments expected | counted | setIfAbsent rounds | with exactly 1 winner |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
    ...results.map(
      (r) =>
        `| ${r.target} | ${r.computations.length} | ${count(r.computations, 1)} | ${Math.max(...r.computations)} | ${r.increments.expected} | ${r.increments.counted} | ${r.winners.length} | ${count(r.winners, 1)} |`,
    ),
    '',
  ];
}

async function main(): Promise<void> {
  let server: RedisServer | undefined;
  /** The cross-process rows' second target, started with the server (a --redis URL is one server only). */
  let cluster: RedisCluster | undefined;
  if (redisUrl === undefined) {
    if (findRedisServer() === undefined) {
      const why = `no ${REDIS_SERVER} on this machine and no --redis URL: the tiered suite is skipped (install redis-server, or pass --redis redis://host:port)`;
      console.error(`sabre bench tiered: ${why}`);
      writeReport(resultsDir(), name, TITLE, [], [], [`SKIPPED: ${why}.`], [], { skipped: why });
      return;
    }
    server = await RedisServer.start();
    // Interrupted (Ctrl-C, a kill): the servers go too; the crowd processes end when our pipes close.
    const started = server;
    for (const signal of ['SIGINT', 'SIGTERM'] as const)
      process.once(signal, () => void Promise.allSettled([started.stop(), cluster?.stop()]).finally(() => process.exit(130)));
    cluster = await RedisCluster.start();
  }
  try {
    const url = redisUrl ?? server!.url;
    const { rows, checks } = await hitRows(url);
    // Each target is one more call of crossProcess with its connect options.
    const targets: Target[] = [{ name: 'one server', options: { url } }];
    if (cluster !== undefined) targets.push({ name: 'a 3-master cluster', options: { cluster: { rootNodes: cluster.rootNodes } } });
    const results: CrossProcessResult[] = [];
    for (const target of targets) {
      const cross = await crossProcess(target);
      rows.push(...cross.rows);
      results.push(cross.result);
    }
    const goals: Goal[] = [
      speedGoal('a TieredCache L1 hit vs a sequential Redis GET (@redis/client)', rows, N.tiered, N.sequential, 100),
      speedGoal("a TieredCache L1 hit vs bentocache's L1 (memory tier) hit", rows, N.tiered, N.bento, 1),
      ...results.flatMap(crossGoals),
    ];
    const notes = [
      `Redis: ${redisUrl ?? `a throwaway ${REDIS_SERVER} on a loopback port (the hit rows and the first cross-process target) and a throwaway 3-master cluster (the second), started by the suite`}; all rows come from one process run.`,
      `L1 rows time ${BATCH} reads per sample over ${KEYS} prefilled keys; the sequential row ${ROUND_TRIPS} GETs awaited one at a time, the pipelined row ${PIPELINED} GETs all in flight.`,
      ...checks,
      `Stampedes: ${STAMPEDES}, each on a fresh key; all callers are released together once every one is connected, and the computation (then a ${COMPUTE_MS} ms wait) starts only when all of them have counted themselves in, so every caller is inside getOrCompute before the value exists. The time includes that barrier.`,
      `${CONTENDERS} processes (one TieredCache each) released together: ${INCREMENTS} increments each of one key, then ${CLAIM_ROUNDS} rounds of setIfAbsent on a fresh key.`,
      'Absolute times follow the load of the host; the ratios between rows of one run are what it shows.',
      quick ? 'QUICK RUN: short sampling, for smoke-testing only.' : 'Full run.',
    ];
    console.log(writeReport(resultsDir(), name, TITLE, rows, goals, notes, crossSection(results), { crossProcess: results }));
  } finally {
    await Promise.allSettled([server?.stop(), cluster?.stop()]);
  }
}

await main();
