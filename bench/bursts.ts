/**
 * Eviction bursts: set latency percentiles while every worker drives a burst of new keys many
 * times the capacity (sabre with high/low water marks 80 %/50 %: eviction in batches under the
 * insert's lock), against steady state (rewrites, no eviction); and lru-cache, which evicts one
 * entry per insert, in one thread, for reference. Also checks that the bound held and that memory
 * stayed flat across repeated bursts. Writes bench/results/bursts.*.
 */
import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { LRUCache } from 'lru-cache';
import { SharedCache } from '../src/index.js';
import { summarize } from '../src/stress/verdict.js';
import { type Goal, type Row, ratioGoal, writeReport, resultsDir } from './support/report.js';
import { quick } from './support/suite.js';

const CAPACITY = 10_000;
const STEADY = quick ? 20_000 : 200_000;
const BURST = quick ? 50_000 : 500_000;
const BURSTS = quick ? 2 : 5;
const workers = availableParallelism();

function concat(parts: Float64Array[]): Float64Array {
  const out = new Float64Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

async function main(): Promise<void> {
  const cache = SharedCache.create({
    maxEntries: CAPACITY,
    maxBytes: CAPACITY * 128,
    highWater: Math.floor(CAPACITY * 0.8),
    lowWater: Math.floor(CAPACITY * 0.5),
  });
  const steady: Float64Array[] = [];
  const burst: Float64Array[] = [];
  const rss: number[] = [];
  let maxSize = 0;
  for (let round = 0; round < BURSTS; round++) {
    const results = await Promise.all(
      Array.from(
        { length: workers },
        (_, index) =>
          new Promise<{ steadyNs: Float64Array; burstNs: Float64Array }>((resolve, reject) => {
            const worker = new Worker(new URL('./workers/burst.js', import.meta.url), {
              workerData: { cache: cache.handle, index: index + round * workers, steady: STEADY, burst: BURST },
            });
            worker.once('message', resolve);
            worker.once('error', reject);
          }),
      ),
    );
    for (const r of results) {
      steady.push(r.steadyNs);
      burst.push(r.burstNs);
    }
    maxSize = Math.max(maxSize, cache.size);
    rss.push(process.memoryUsage.rss());
  }
  const lru = new LRUCache<string, number>({ max: CAPACITY });
  const lruSteady = new Float64Array(STEADY);
  const lruBurst = new Float64Array(BURST);
  for (let i = 0; i < CAPACITY; i++) lru.set(`fill:${i}`, i);
  for (let i = 0; i < STEADY; i++) {
    const t = performance.now();
    lru.set(`fill:${i % 20}`, i);
    lruSteady[i] = (performance.now() - t) * 1e6;
  }
  for (let i = 0; i < BURST; i++) {
    const t = performance.now();
    lru.set(`burst:${i}`, i);
    lruBurst[i] = (performance.now() - t) * 1e6;
  }
  const latency = summarize(
    new Map([
      [`sabre set, steady state, ${workers} workers`, concat(steady)],
      [`sabre set, during bursts, ${workers} workers`, concat(burst)],
      ['lru-cache set, steady state, one thread', lruSteady],
      ['lru-cache set, during a burst, one thread', lruBurst],
    ]),
  );
  const rows: Row[] = latency.map((l) => ({ name: l.name, medianNs: l.p50, opsPerSec: 1e9 / l.p50, p99Ns: l.p99, rmePercent: 0, samples: 0 }));
  const growthMiB = (rss[rss.length - 1]! - rss[0]!) / 2 ** 20;
  const goals: Goal[] = [
    ratioGoal(
      `the bound held through ${BURSTS} bursts of ${workers} × ${BURST.toLocaleString('en')} new keys (capacity ÷ largest size seen)`,
      CAPACITY / Math.max(1, maxSize),
      1,
    ),
    ratioGoal('sabre p99 during bursts within 10x of its steady-state p99 (steady p99 × 10 ÷ burst p99)', (latency[0]!.p99 * 10) / latency[1]!.p99, 1),
  ];
  const section = [
    '## Latency percentiles',
    '',
    '| | p50 | p99 | p99.9 |',
    '|---|---:|---:|---:|',
    ...latency.map((l) => `| ${l.name} | ${(l.p50 / 1e3).toFixed(2)} µs | ${(l.p99 / 1e3).toFixed(2)} µs | ${(l.p999 / 1e3).toFixed(2)} µs |`),
    '',
    `Resident memory after each burst: ${rss.map((r) => `${(r / 2 ** 20).toFixed(0)} MiB`).join(', ')} (growth from the first to the last: ${growthMiB.toFixed(1)} MiB); shared memory is fixed at creation (${(cache.handle.buffer.byteLength / 2 ** 20).toFixed(1)} MiB).`,
    '',
  ];
  const notes = [
    `Capacity ${CAPACITY.toLocaleString('en')}, high water 80 %, low water 50 %. Each worker times ${STEADY.toLocaleString('en')} steady-state sets and ${BURST.toLocaleString('en')} burst sets per round, ${BURSTS} rounds.`,
    quick ? 'QUICK RUN.' : 'Full run.',
  ];
  console.log(
    writeReport(resultsDir(), quick ? 'bursts-quick' : 'bursts', 'sabre eviction bursts', rows, goals, notes, section, {
      latency,
      rssMiB: rss.map((r) => r / 2 ** 20),
    }),
  );
}

await main();
