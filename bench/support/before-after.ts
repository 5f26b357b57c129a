/**
 * Two builds of sabre side by side, in one process, interleaved: the measures of issue 14 for an
 * earlier build ("before", its repository folder given) and this one ("after"), with lru-cache
 * run the same way in a worker as the single-thread anchor. On a shared host whose load drifts
 * by 2x within minutes, suites run one after the other cannot be compared; rounds that alternate
 * every task can (each figure is the median over the rounds).
 *
 *   node dist/bench/support/before-after.js <before-repo> [--rounds N] [--out folder]
 *
 * Every task is one worker running batches over the same precomputed keys as the cache and
 * workloads suites: 10,000 prefilled keys `key:N` → `value:N`, uniform or a scrambled Zipf(0.99)
 * stream, sets overwriting with values of the same size.
 */
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { isMainThread, workerData } from 'node:worker_threads';
import { LRUCache } from 'lru-cache';
import { seededRandom } from '../../src/stress/random.js';
import { Crew } from './crew.js';
import { MASK, UNIVERSE, keyOf, valueOf, workload } from './mix.js';
import { machine } from './report.js';

/** The operation a task's workers run. */
type Op = 'get' | 'set' | 'distinct' | 'zipf-read' | 'zipf-90' | 'zipf-write';

interface TaskData {
  /** The repository whose dist/ build a sabre task loads; '' for lru-cache. */
  readonly repo: string;
  readonly handle?: unknown;
  readonly op: Op;
  readonly workers: number;
  readonly index: number;
  readonly control: SharedArrayBuffer;
  /** Float64 per worker: the median ns per operation of the slices of its last batch. */
  readonly slices: SharedArrayBuffer;
}

const BATCH = 50_000; // operations per worker per batch
/**
 * Operations per timed slice within a batch (in the worker). At a load of many runnable threads
 * per core a 50,000-operation batch is always preempted somewhere, and its wall time says more
 * about the scheduler than about the code; the median of its 25 slices mostly ran unpreempted.
 */
const SLICE = 2_000;

interface Store {
  get(key: string): unknown;
  set(key: string, value: string): unknown;
}

/** The loop a worker runs, over its own precomputed stream. */
function loopOf(op: Op, cache: Store, workers: number, index: number): (size: number) => void {
  const keys = Array.from({ length: UNIVERSE }, (_, id) => keyOf(id));
  const values = keys.map((_, id) => valueOf(id));
  let at = 0;
  let sink = 0;
  if (op === 'zipf-read' || op === 'zipf-90' || op === 'zipf-write') {
    const { ids, writes } = workload(op === 'zipf-read' ? 100 : op === 'zipf-90' ? 90 : 0, index);
    return (size) => {
      for (let i = 0; i < size; i++) {
        const j = at++ & MASK;
        const id = ids[j]!;
        if (writes[j] === 1) cache.set(keys[id]!, values[id]!);
        else if (cache.get(keys[id]!) !== undefined) sink++;
      }
      if (sink < 0) console.log(sink);
    };
  }
  const random = seededRandom(1234 + index);
  // Uniform keys; 'distinct': only the keys N with N % workers === index.
  const order = Int32Array.from({ length: MASK + 1 }, () => {
    if (op !== 'distinct') return Math.floor(random() * UNIVERSE);
    const n = Math.floor(random() * Math.ceil(UNIVERSE / workers)) * workers + index;
    return n < UNIVERSE ? n : index;
  });
  if (op === 'get')
    return (size) => {
      for (let i = 0; i < size; i++) if (cache.get(keys[order[at++ & MASK]!]!) !== undefined) sink++;
      if (sink < 0) console.log(sink);
    };
  return (size) => {
    for (let i = 0; i < size; i++) {
      const k = order[at++ & MASK]!;
      cache.set(keys[k]!, values[k]!);
    }
  };
}

async function worker(): Promise<void> {
  const data = workerData as TaskData;
  let cache: Store;
  if (data.repo === '') {
    const lru = new LRUCache<string, string>({ max: UNIVERSE });
    for (let id = 0; id < UNIVERSE; id++) lru.set(keyOf(id), valueOf(id));
    cache = lru;
  } else {
    const { SharedCache } = (await import(pathToFileURL(join(data.repo, 'dist/src/index.js')).href)) as typeof import('../../src/index.js');
    cache = SharedCache.attach(data.handle as never);
  }
  const run = loopOf(data.op, cache, data.workers, data.index);
  const slices = new Float64Array(data.slices);
  const times = new Float64Array(Math.ceil(BATCH / SLICE));
  // The worker side of a Crew (crew.ts): [0] command sequence, [1] batch size (-1 = exit), [2] workers done.
  const c = new Int32Array(data.control);
  let seen = 0;
  for (;;) {
    Atomics.wait(c, 0, seen);
    seen = Atomics.load(c, 0);
    const size = Atomics.load(c, 1);
    if (size < 0) return;
    let n = 0;
    for (let done = 0; done < size; done += SLICE, n++) {
      const start = performance.now();
      run(Math.min(SLICE, size - done));
      times[n] = ((performance.now() - start) * 1e6) / Math.min(SLICE, size - done);
    }
    slices[data.index] = median(Array.from(times.subarray(0, n)));
    Atomics.add(c, 2, 1);
    Atomics.notify(c, 2);
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1]!;
}

interface Task {
  readonly name: string;
  readonly crew: Crew;
  readonly workers: number;
  /** Per round: wall ns per operation of the whole batch (aggregate over the workers). */
  readonly wall: number[];
  /** Per round: the first worker's median slice, ns per operation. */
  readonly sliced: number[];
  readonly slices: Float64Array;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const flag = (name: string): string | undefined => {
    const at = argv.indexOf(name);
    return at >= 0 ? argv[at + 1] : undefined;
  };
  const beforeRepo = resolve(argv[0] ?? '');
  const afterRepo = resolve(new URL('../../..', import.meta.url).pathname);
  const rounds = Number(flag('--rounds') ?? 15);
  const file = new URL(import.meta.url);
  const tasks: Task[] = [];
  const add = (name: string, repo: string, handle: unknown, op: Op, workers: number): void => {
    const slices = new Float64Array(new SharedArrayBuffer(8 * workers));
    const crew = new Crew(file, workers, (index) => ({ repo, handle, op, workers, index, slices: slices.buffer }));
    tasks.push({ name, crew, workers, wall: [], sliced: [], slices });
  };
  for (const [label, repo] of [
    ['before', beforeRepo],
    ['after', afterRepo],
  ] as const) {
    const { SharedCache } = (await import(pathToFileURL(join(repo, 'dist/src/index.js')).href)) as typeof import('../../src/index.js');
    const cache = SharedCache.create({ maxEntries: UNIVERSE, maxBytes: 1 << 20 });
    for (let id = 0; id < UNIVERSE; id++) cache.set(keyOf(id), valueOf(id));
    for (const op of ['get', 'set', 'zipf-read', 'zipf-90', 'zipf-write'] as const) add(`${label} ${op}`, repo, cache.handle, op, 1);
    add(`${label} get 2`, repo, cache.handle, 'get', 2);
    add(`${label} distinct 1`, repo, cache.handle, 'distinct', 1);
    add(`${label} distinct 2`, repo, cache.handle, 'distinct', 2);
  }
  for (const op of ['get', 'set', 'zipf-read', 'zipf-write'] as const) add(`lru ${op}`, '', undefined, op, 1);
  for (const task of tasks) await task.crew.batch(BATCH); // warm-up
  for (let round = 0; round < rounds; round++) {
    for (const task of tasks) {
      const start = performance.now();
      await task.crew.batch(BATCH);
      task.wall.push(((performance.now() - start) * 1e6) / (BATCH * task.workers));
      task.sliced.push(task.slices[0]!);
    }
  }
  await Promise.all(tasks.map((t) => t.crew.close()));
  /** One worker's cost per operation: the median of its slices' medians. */
  const ns = (name: string): number => median(tasks.find((t) => t.name === name)!.sliced);
  /** Aggregate wall time per operation of a batch (for scaling: it needs the workers to overlap). */
  const wall = (name: string): number => median(tasks.find((t) => t.name === name)!.wall);
  const fmt = (n: number): string => `${n.toFixed(0)} ns`;
  const x = (n: number): string => `${n.toFixed(2)}x`;
  const pct = (n: number): string => `${(n * 100).toFixed(0)} %`;
  const rows: Array<[string, (side: string) => string, string]> = [
    ['set (overwrite, same size) from one worker, uniform: ns per op', (s) => fmt(ns(`${s} set`)), fmt(ns('lru set'))],
    ['  vs lru-cache set (goal ≥ 0.33x, stretch 0.5x)', (s) => x(ns('lru set') / ns(`${s} set`)), ''],
    ['write-only, Zipf(0.99), one worker: ns per op', (s) => fmt(ns(`${s} zipf-write`)), fmt(ns('lru zipf-write'))],
    ['  vs lru-cache', (s) => x(ns('lru zipf-write') / ns(`${s} zipf-write`)), ''],
    ['90/10 from one worker, share of its read-only throughput (goal ≥ 50 %)', (s) => pct(ns(`${s} zipf-read`) / ns(`${s} zipf-90`)), ''],
    ['set, 2 workers vs 1, distinct keys, aggregate wall time (goal ≥ 1.6x)', (s) => x(wall(`${s} distinct 1`) / wall(`${s} distinct 2`)), ''],
    ['set, distinct keys: a lone worker vs one of 2, per-slice cost (1x = no interference)', (s) => x(ns(`${s} distinct 1`) / ns(`${s} distinct 2`)), ''],
    ['get from one worker, uniform: ns per op', (s) => fmt(ns(`${s} get`)), fmt(ns('lru get'))],
    ['  vs lru-cache get', (s) => x(ns('lru get') / ns(`${s} get`)), ''],
    ['get, 2 workers vs 1, uniform, aggregate wall time (goal ≥ 1.7x)', (s) => x(wall(`${s} get`) / wall(`${s} get 2`)), ''],
    ['get: a lone worker vs one of 2, per-slice cost (1x = no interference)', (s) => x(ns(`${s} get`) / ns(`${s} get 2`)), ''],
    ['get from one worker, Zipf(0.99): ns per op', (s) => fmt(ns(`${s} zipf-read`)), fmt(ns('lru zipf-read'))],
    ['  vs lru-cache get (goal ≥ 0.8x)', (s) => x(ns('lru zipf-read') / ns(`${s} zipf-read`)), ''],
  ];
  const lines = [
    '# sabre cache before and after (issue 14)',
    '',
    `Machine: ${Object.values(machine()).join(', ')}. Before: ${beforeRepo}; after: ${afterRepo}.`,
    '',
    '| measure | before | after | lru-cache (in a worker) |',
    '|---|---:|---:|---:|',
    ...rows.map(([measure, side, anchor]) => `| ${measure} | ${side('before')} | ${side('after')} | ${anchor} |`),
    '',
    `- One process; every task a worker (or two) over the same keys; ${rounds} rounds, each running every task once in turn (${BATCH.toLocaleString('en')} operations per worker per batch).`,
    `- Costs per operation are timed in the worker, per slice of ${SLICE.toLocaleString('en')} operations: the median slice of each batch, then the median over the rounds (a slice that was preempted is an outlier, not the figure). The 2-vs-1 aggregates are the wall time of whole batches, which needs the two workers to run at once: on an overloaded host they understate scaling; the per-slice rows show whether the two workers slow each other (shared lines), whatever the host.`,
    '- Ratios are what count: absolute figures on this shared host drift by 2x or more with its load.',
    '',
  ];
  const markdown = lines.join('\n');
  console.log(markdown);
  const out = flag('--out');
  if (out !== undefined) {
    writeFileSync(join(out, 'before-after.md'), markdown);
    writeFileSync(
      join(out, 'before-after.json'),
      `${JSON.stringify({ machine: machine(), rounds, tasks: tasks.map((t) => ({ name: t.name, workers: t.workers, wallNsPerOp: t.wall, sliceNsPerOp: t.sliced })) }, null, 2)}\n`,
    );
  }
}

if (isMainThread) await main();
else await worker();
