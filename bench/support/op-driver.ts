/**
 * A fixed amount of one cache operation in a worker, for counting instructions rather than
 * timing them: on a shared host whose load moves by 10x within minutes, wall-clock figures
 * cannot tell a 20 % change from noise, and callgrind's instruction counts can (this virtual
 * machine exposes no hardware counters to `perf stat`).
 *
 *   node dist/bench/support/op-driver.js <repo | lru> <set | get | zget> <ops>
 *
 * The worker prefills 10,000 keys `key:N` → `value:N` (the cache suite's), runs WARM (default
 * 200,000) operations to let the JIT settle, then `ops` more. Instructions per operation are
 * the difference between two runs under callgrind, divided by the difference in `ops`, so that
 * start-up, prefill, warm-up and compilation cancel out:
 *
 *   valgrind --tool=callgrind --callgrind-out-file=/dev/null node --single-threaded \
 *     dist/bench/support/op-driver.js <repo> set 100000        (then 300000; Ir difference / 200,000)
 *
 * `--single-threaded` keeps V8's compilers and GC on the main thread, so the same work is counted
 * in every run. Add `--hash-seed=1` too: the string hash seed is random per process
 * and moves the keys in the Map's bucket chains, which changes a get by up to ±100 instructions. Add `--perf-basic-prof` and map callgrind's unnamed JIT addresses through
 * /tmp/perf-<pid>.map to split the count by function. `repo` is a folder holding a sabre build
 * (dist/), so two builds can be compared; `lru` runs lru-cache the same way. `set` overwrites
 * with values of the same size, `get` reads uniformly, `zget` along a Zipf(0.99) stream.
 */
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker, isMainThread, workerData } from 'node:worker_threads';
import { LRUCache } from 'lru-cache';
import { UNIVERSE, keyOf, valueOf } from './mix.js';
import { zipfStream } from './zipf.js';

interface Data {
  readonly repo: string;
  readonly op: 'set' | 'get' | 'zget';
  readonly ops: number;
}

interface Cache {
  get(key: string): unknown;
  set(key: string, value: string): unknown;
}

async function worker({ repo, op, ops }: Data): Promise<void> {
  let cache: Cache;
  if (repo === 'lru') cache = new LRUCache<string, string>({ max: UNIVERSE });
  else {
    const { SharedCache } = (await import(pathToFileURL(join(repo, 'dist/src/index.js')).href)) as typeof import('../../src/index.js');
    cache = SharedCache.create({ maxEntries: UNIVERSE, maxBytes: 1 << 20 });
  }
  const keys = Array.from({ length: UNIVERSE }, (_, id) => keyOf(id));
  const values = keys.map((_, id) => valueOf(id));
  keys.forEach((key, id) => cache.set(key, values[id]!));
  const order = op === 'zget' ? zipfStream(UNIVERSE, 0.99, 1 << 16, 101) : Int32Array.from({ length: 1 << 16 }, (_, i) => (i * 7919) % UNIVERSE);
  let at = 0;
  let sink = 0;
  const run =
    op === 'set'
      ? (n: number): void => {
          for (let i = 0; i < n; i++) {
            const id = order[at++ & 0xffff]!;
            cache.set(keys[id]!, values[id]!);
          }
        }
      : (n: number): void => {
          for (let i = 0; i < n; i++) if (cache.get(keys[order[at++ & 0xffff]!]!) !== undefined) sink++;
        };
  run(Number(process.env.WARM ?? 200_000));
  const start = performance.now();
  run(ops);
  console.log(
    `${op} ${repo}: ${(((performance.now() - start) * 1e6) / Math.max(1, ops)).toFixed(1)} ns/op (wall clock: only a sanity check) ${sink < 0 ? sink : ''}`,
  );
}

if (isMainThread) {
  const [repo = '.', op = 'set', ops = '100000'] = process.argv.slice(2);
  if (op !== 'set' && op !== 'get' && op !== 'zget') throw new Error(`op must be set, get or zget, got ${op}`);
  const worker = new Worker(new URL(import.meta.url), { workerData: { repo: repo === 'lru' ? repo : resolve(repo), op, ops: Number(ops) } });
  worker.on('error', (error) => {
    console.error(error);
    process.exitCode = 1;
  });
} else await worker(workerData as Data);
