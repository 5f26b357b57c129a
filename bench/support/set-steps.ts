/**
 * What one SharedCache.set costs, step by step: each step of an overwrite of the same size,
 * timed alone in a worker thread (where the cache's writers run), next to the whole set and
 * lru-cache's set. The numbers feed the breakdown in src/cache/DESIGN.md.
 *
 *   node dist/bench/support/set-steps.js
 *
 * Each step is timed over the same 10,000 keys as the cache benchmark, in a loop of 1,000,000
 * operations, best of 5 runs (a floor, not a median: the point is what a step costs at least).
 * Steps that touch the entry (find, stillHolds, overwrite) go through the same memory as a set,
 * so their cache misses are included; the whole set is the reference. Rows in pairs show the
 * step as it was and as it is (Atomics.add against a plain store, encodeValue against a scratch).
 */
import { Worker, isMainThread, threadId } from 'node:worker_threads';
import { LRUCache } from 'lru-cache';
import { SharedCache } from '../../src/index.js';
import { acquireInternal } from '../../src/shared/mutex.js';
import { encodeSmallInto, encodeValue } from '../../src/cache/codec.js';
import { PreparedKeys } from '../../src/cache/reader.js';
import { readOptions } from '../../src/shared/validate.js';
import { NO_SLOT } from '../../src/cache/layout.js';
import { INCONSISTENT, Store, readShape } from '../../src/cache/store.js';

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
  const prepared = new PreparedKeys(store);
  const refs = keys.map((key) => prepared.of(key));
  for (const ref of refs) {
    const slot = store.find(ref);
    if (slot === NO_SLOT || slot === INCONSISTENT) throw new Error('prefilled key not found');
    ref.heldSlot = slot;
    ref.heldGeneration = store.generationOf(slot);
  }
  const scratch = new Uint8Array(64);
  const view = new DataView(scratch.buffer);
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
    time('encodeSmallInto a scratch (no allocation)', (i) => {
      sink += encodeSmallInto(values[pick(i)]!, scratch, view);
    }),
    time('bucket walk + key compare (store.find)', (i) => {
      sink += store.find(refs[pick(i)]!);
    }),
    time('remembered slot check (store.stillHolds)', (i) => {
      const ref = refs[pick(i)]!;
      sink += store.stillHolds(ref.heldSlot as never, ref.heldGeneration) ? 1 : 0;
    }),
    time('record update + value copy (store.overwrite)', (i) => {
      const k = pick(i);
      const ref = refs[k]!;
      const length = encodeSmallInto(values[k]!, scratch, view);
      store.overwrite(ref.heldSlot as never, 1, scratch, length, Infinity);
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
    time('seqlock write section (2 plain stores, x86)', () => {
      i32[seq] = i32[seq]! + 1;
      i32[seq] = i32[seq]! + 1;
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
