/**
 * What one SharedCache.set costs, step by step: each step of an overwrite of the same size,
 * timed alone in a worker thread (where the cache's writers run), next to the whole set and
 * lru-cache's set. The numbers feed the breakdown in src/cache/DESIGN.md.
 *
 *   node dist/bench/support/set-steps.js
 *
 * Each step is timed over the same 10,000 keys as the cache benchmark, in a loop of 1,000,000
 * operations, best of 5 runs (a floor, not a median: the point is what a step costs at least).
 */
import { Worker, isMainThread, threadId } from 'node:worker_threads';
import { LRUCache } from 'lru-cache';
import { SharedCache } from '../../src/index.js';
import { acquireInternal } from '../../src/shared/mutex.js';
import { encodeValue } from '../../src/cache/codec.js';
import { readOptions } from '../../src/shared/validate.js';
import { Store, readShape } from '../../src/cache/store.js';

const KEYS = 10_000;
const OPS = 1_000_000;
const RUNS = 5;

function time(name: string, body: (i: number) => void): [string, number] {
  let best = Infinity;
  for (let run = 0; run < RUNS; run++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < OPS; i++) body(i);
    best = Math.min(best, Number(process.hrtime.bigint() - start) / OPS);
  }
  return [name, best];
}

function measure(): Array<[string, number]> {
  const keys = Array.from({ length: KEYS }, (_, i) => `key:${i}`);
  const values = keys.map((_, i) => `value:${i}`);
  const order = Int32Array.from({ length: 1 << 16 }, (_, i) => (i * 7919) % KEYS);
  const pick = (i: number): number => order[i & 0xffff]!;
  const cache = SharedCache.create({ maxEntries: KEYS, maxBytes: 1 << 20 });
  keys.forEach((key, i) => cache.set(key, values[i]!));
  const store = new Store(cache.handle.buffer, readShape(cache.handle.buffer), false);
  const lru = new LRUCache<string, string>({ max: KEYS });
  keys.forEach((key, i) => lru.set(key, values[i]!));
  const map = new Map(keys.map((key) => [key, { key }]));
  const lock = store.stripeLocks[0]!;
  const seq = store.seqWord(0);
  const i32 = store.i32;
  const stats = new Int32Array(cache.handle.buffer, 128 + (threadId % 16) * 128, 32);
  let sink = 0;
  const rows = [
    time('lru-cache set', (i) => {
      const k = pick(i);
      lru.set(keys[k]!, values[k]!);
    }),
    time('sabre set (whole)', (i) => {
      const k = pick(i);
      cache.set(keys[k]!, values[k]!);
    }),
    time('key preparation (Map lookup)', (i) => {
      sink += map.get(keys[pick(i)]!) === undefined ? 0 : 1;
    }),
    time('encodeValue (allocates the bytes)', (i) => {
      sink += encodeValue(values[pick(i)]!).bytes.length;
    }),
    time('readOptions(undefined) + expiry', () => {
      sink += readOptions(undefined, ['ttlMs'], 'options').ttlMs === undefined ? 1 : 0;
    }),
    time('stripe lock + unlock (2 CAS)', () => {
      lock[acquireInternal](0);
      lock.unlock();
    }),
    time('seqlock write section (2 Atomics.add)', () => {
      Atomics.add(i32, seq, 1);
      Atomics.add(i32, seq, 1);
    }),
    time('seqlock write section (2 Atomics.store)', () => {
      const s = i32[seq]!;
      Atomics.store(i32, seq, s + 1);
      Atomics.store(i32, seq, s + 2);
    }),
    time('counter (1 Atomics.add, own line)', () => {
      Atomics.add(stats, 4, 1);
    }),
    time('counter (plain add, own line)', () => {
      stats[6] = (stats[6]! + 1) | 0;
    }),
  ];
  void sink;
  return rows;
}

if (isMainThread) {
  const worker = new Worker(new URL(import.meta.url));
  worker.on('message', (rows: Array<[string, number]>) => {
    for (const [name, ns] of rows) console.log(`${name.padEnd(44)} ${ns.toFixed(1).padStart(7)} ns`);
  });
} else {
  const { parentPort } = await import('node:worker_threads');
  parentPort!.postMessage(measure());
}
