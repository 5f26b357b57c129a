/**
 * A separate process with a TieredCache, for the staleness and cross-process invalidation tests
 * (run from dist/). argv: target (see redis-target.ts), prefix, role, key, arg. It connects,
 * waits until its invalidation subscription is in place, prints 'ready', and waits for 'go'.
 *
 * - writer: for each line `set <n>` on stdin, sets key to n and prints `wrote <n> <Date.now()>`
 *   once the write (and its announcement) is done; on `end` it closes and prints its result.
 * - reader: reads key in a loop (yielding to the event loop between reads, so that announcements
 *   are handled) until it reads arg. Before each read it notes how many announcements it has
 *   received; it prints `cached <n>` the first time n is answered from L1. Its result: the reads
 *   as runs of equal (value, announcements seen), with their first and last times and L1 hits.
 */
import { createInterface } from 'node:readline';
import { TieredCache } from '../../src/redis/index.js';
import { targetOf } from './redis-target.js';

const [target = '', prefix = '', role = '', key = '', arg = '0'] = process.argv.slice(2);
const cache = await TieredCache.connect({ ...targetOf(target), prefix, l1: { maxEntries: 1_000, maxBytes: 1 << 20 }, localTtlMs: 60_000 });
while (!cache.synced) await new Promise((resolve) => setTimeout(resolve, 5));
console.log('ready');
const input = createInterface({ input: process.stdin });
const lines = input[Symbol.asyncIterator]();
await lines.next(); // 'go'

/** Reads with the same value and the same count of announcements seen before them. */
interface Run {
  value: number;
  seen: number;
  firstMs: number;
  lastMs: number;
  reads: number;
  localHits: number;
}

let result: unknown;
if (role === 'writer') {
  for (;;) {
    const { value: line, done } = await lines.next();
    if (done || line === 'end') break;
    const n = Number(line.split(' ')[1]);
    await cache.set(key, n);
    console.log(`wrote ${n} ${Date.now()}`);
  }
  result = true;
} else {
  const last = Number(arg);
  const runs: Run[] = [];
  let reported: number | undefined;
  // Bounded: a reader that never sees the last value stops after 40 s, and the test reports it.
  const deadline = Date.now() + 40_000;
  while (Date.now() < deadline) {
    const before = await cache.stats();
    const firstMs = Date.now();
    const value = (await cache.get(key)) as number;
    const lastMs = Date.now();
    const local = (await cache.stats()).localHits > before.localHits ? 1 : 0;
    const run = runs.at(-1);
    if (run !== undefined && run.value === value && run.seen === before.invalidationsReceived) {
      run.reads++;
      run.lastMs = lastMs;
      run.localHits += local;
    } else runs.push({ value, seen: before.invalidationsReceived, firstMs, lastMs, reads: 1, localHits: local });
    if (local === 1 && reported !== value) {
      reported = value;
      console.log(`cached ${value}`);
    }
    if (value === last) break;
    await new Promise((resolve) => setImmediate(resolve));
  }
  result = { runs, invalidationsReceived: (await cache.stats()).invalidationsReceived };
}
input.close();
process.stdin.destroy();
await cache.close();
console.log(JSON.stringify({ result }));
