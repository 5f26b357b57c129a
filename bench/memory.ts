/**
 * Memory per entry: 100,000 entries (string keys `key:N`, 16-character string values) in sabre
 * (shared bytes reserved and in use, and resident memory added) against lru-cache and a Map
 * (V8 heap added). Measured in one process with a forced GC between steps. Writes
 * bench/results/memory.*.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { LRUCache } from 'lru-cache';
import { SharedCache } from '../src/index.js';
import { type Goal, ratioGoal, writeReport, resultsDir } from './support/report.js';
import { quick } from './support/suite.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const ENTRIES = quick ? 20_000 : 100_000;
const value = (i: number): string => `v${String(i).padStart(15, '0')}`;

function measure(fill: () => unknown): { heap: number; rss: number; keep: unknown } {
  gc();
  const before = process.memoryUsage();
  const keep = fill();
  gc();
  const after = process.memoryUsage();
  return { heap: (after.heapUsed - before.heapUsed) / ENTRIES, rss: (after.rss - before.rss) / ENTRIES, keep };
}

const sabre = measure(() => {
  const cache = SharedCache.create({ maxEntries: ENTRIES, maxBytes: ENTRIES * 40 });
  for (let i = 0; i < ENTRIES; i++) cache.set(`key:${i}`, value(i));
  return cache;
});
const cache = sabre.keep as SharedCache;
const reserved = cache.handle.buffer.byteLength / ENTRIES;
const inUse = cache.bytes / ENTRIES;
const lru = measure(() => {
  const l = new LRUCache<string, string>({ max: ENTRIES });
  for (let i = 0; i < ENTRIES; i++) l.set(`key:${i}`, value(i));
  return l;
});
const map = measure(() => {
  const m = new Map<string, string>();
  for (let i = 0; i < ENTRIES; i++) m.set(`key:${i}`, value(i));
  return m;
});
const goals: Goal[] = [ratioGoal('lru-cache heap per entry ÷ sabre shared bytes reserved per entry (sabre no larger)', lru.heap / reserved, 1)];
const section = [
  '## Bytes per entry',
  '',
  '| | bytes per entry |',
  '|---|---:|',
  `| sabre: shared memory reserved (the whole buffer ÷ maxEntries) | ${reserved.toFixed(0)} |`,
  `| sabre: key + value bytes in use | ${inUse.toFixed(0)} |`,
  `| sabre: V8 heap added (this thread's prepared-key memo, up to 65,536 keys) | ${sabre.heap.toFixed(0)} |`,
  `| sabre: resident memory added (the buffer's touched pages, the heap above, code) | ${sabre.rss.toFixed(0)} |`,
  `| lru-cache: V8 heap added | ${lru.heap.toFixed(0)} |`,
  `| Map: V8 heap added | ${map.heap.toFixed(0)} |`,
  '',
];
const notes = [
  `${ENTRIES.toLocaleString('en')} entries; sabre's buffer is sized for maxBytes = 40 bytes per entry, and lives outside the V8 heap (shared by every thread).`,
  quick ? 'QUICK RUN.' : 'Full run.',
];
console.log(
  writeReport(resultsDir(), quick ? 'memory-quick' : 'memory', 'sabre memory per entry', [], goals, notes, section, {
    bytesPerEntry: { sabreReserved: reserved, sabreInUse: inUse, sabreHeap: sabre.heap, sabreRss: sabre.rss, lruCacheHeap: lru.heap, mapHeap: map.heap },
  }),
);
