/**
 * Audit E: eviction bursts. The analysis cache evicted ONE entry when it passed its threshold, so
 * a burst of consolidations grew it without bound. The fix: past a high-water mark (80) evict down
 * to a low-water mark (50). Every worker drives a burst of many times the capacity at once; a
 * monitor samples the number of entries throughout. Reported besides the verdict: set latency
 * during bursts against steady state (rewrites of present keys), and resident and shared memory
 * after each burst (flat across bursts means nothing leaks).
 */
import { performance } from 'node:perf_hooks';
import { NaiveCache, type NaiveCacheHandle } from '../naive-cache.js';
import { defineScenario } from '../scenario-spec.js';
import { cacheOf, entriesNow, raiseTo } from './support.js';

export const evictionBursts = defineScenario({
  id: 'E',
  name: 'eviction-bursts',
  title: 'Eviction bursts: high-water 80, low-water 50',
  audit: 'E',
  variants: {
    unsafe: 'evict one entry when past the threshold (check-then-act)',
    safe: "SharedCache with highWater 80 / lowWater 50: evict down to 50 under the insert's lock",
  },
  params: { capacity: 100, highWater: 80, lowWater: 50, burst: 400, workers: 2 },
  actors: (p) => p.workers,
  trials: { full: 100_000, quick: 300 },
  cache: (p) => ({ maxEntries: p.capacity, maxBytes: p.capacity * 128, highWater: p.highWater, lowWater: p.lowWater }),
  // The unsafe map's threshold is the high-water mark: it evicts one entry each time it is reached.
  shared: (p, variant): NaiveCacheHandle | undefined => (variant === 'unsafe' ? NaiveCache.create(p.highWater, 16) : undefined),
  prepare(ctx) {
    if (ctx.shared) ctx.local.naive = new NaiveCache(ctx.shared, ctx.point);
  },
  actor(ctx) {
    const { burst, highWater } = ctx.params;
    const base = (ctx.trial * ctx.actors + ctx.actor) * burst;
    const set = (k: number): void => {
      if (ctx.variant === 'unsafe') (ctx.local.naive as NaiveCache).set(k % 1_000_000_000, k, k);
      else cacheOf(ctx).set(k, k);
    };
    // Steady state first: rewrites of a few present keys (no eviction), then the burst of new keys.
    const steadyKeys = Math.min(10, highWater >> 2);
    for (let k = 0; k < steadyKeys; k++) set(-1 - ctx.actor * steadyKeys - k);
    for (let k = 0; k < steadyKeys; k++) {
      const started = performance.now();
      set(-1 - ctx.actor * steadyKeys - k);
      ctx.sample('set µs, steady state', (performance.now() - started) * 1_000);
    }
    for (let k = base; k < base + burst; k++) {
      const started = performance.now();
      set(k);
      ctx.sample('set µs, during a burst', (performance.now() - started) * 1_000);
      raiseTo(ctx.monitorWords, 0, entriesNow(ctx));
    }
  },
  monitor(ctx) {
    raiseTo(ctx.monitorWords, 0, entriesNow(ctx));
  },
  arbiter(ctx) {
    const seen = Math.max(Atomics.exchange(ctx.monitorWords, 0, 0), entriesNow(ctx));
    ctx.sample('resident MiB after a burst', process.memoryUsage.rss() / 2 ** 20);
    if (ctx.variant === 'safe') ctx.sample('shared bytes in use after a burst', cacheOf(ctx).bytes);
    const bound = ctx.variant === 'unsafe' ? ctx.params.highWater : ctx.params.capacity;
    return seen > bound ? `grew past the bound: ${seen} entries > ${bound}` : 'bound held';
  },
  reset(ctx) {
    if (ctx.variant === 'unsafe') (ctx.local.naive as NaiveCache).clear();
  },
  outcomes: [
    { id: 'bound held', grade: 'ACCEPTABLE', description: 'no sample ever saw more entries than the bound during the bursts' },
    { id: /^grew past the bound/, grade: 'FORBIDDEN', description: 'a burst grew the cache past its bound' },
  ],
});
