/**
 * A bench worker for eviction bursts: times every set, first in steady state (rewrites of present
 * keys: no eviction), then during a burst of new keys many times the capacity, and returns the
 * latencies (ns) of both phases.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { SharedCache, type SharedCacheHandle } from '../../src/index.js';

const { cache: handle, index, steady, burst } = workerData as { cache: SharedCacheHandle; index: number; steady: number; burst: number };
const cache = SharedCache.attach(handle);
const time = (fn: () => void): number => {
  const started = performance.now();
  fn();
  return (performance.now() - started) * 1e6;
};
const steadyNs = new Float64Array(steady);
const burstNs = new Float64Array(burst);
for (let i = 0; i < steady; i++) steadyNs[i] = time(() => cache.set(`steady:${index}:${i % 20}`, i));
for (let i = 0; i < burst; i++) burstNs[i] = time(() => cache.set(`burst:${index}:${i}`, i));
parentPort!.postMessage({ steadyNs, burstNs }, [steadyNs.buffer, burstNs.buffer]);
