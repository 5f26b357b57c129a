/**
 * Audit B: 100 concurrent writers set distinct keys into a cache bounded below that. Afterwards
 * the size is within the bound, every surviving entry reads back exactly what was written (no
 * torn or mixed value), and the counters agree with the contents.
 */
import { NaiveCache, type NaiveCacheHandle } from '../naive-cache.js';
import { defineScenario } from '../scenario-spec.js';
import { cacheOf, firstOf, integrityOf, shareOf } from './support.js';

/** The value written under key k: its low half is derived from its high half, so a mix of two writes shows. */
const checkOf = (k: number): number => k * 7 + 1;

export const boundedWrites = defineScenario({
  id: 'B',
  name: 'bounded-writes',
  title: 'Concurrent writes to a bounded cache',
  audit: 'B',
  variants: { unsafe: 'a plain shared-memory map: check-then-act bound, value written in two halves', safe: 'SharedCache.set' },
  params: { writers: 100, maxEntries: 50, workers: 2 },
  actors: (p) => p.workers,
  trials: { full: 100_000, quick: 1_000 },
  cache: (p) => ({ maxEntries: p.maxEntries, maxBytes: p.maxEntries * 256 }),
  shared: (p, variant): NaiveCacheHandle | undefined => (variant === 'unsafe' ? NaiveCache.create(p.maxEntries) : undefined),
  prepare(ctx) {
    if (ctx.shared) ctx.local.naive = new NaiveCache(ctx.shared, ctx.point);
    ctx.local.setsBefore = cacheOf(ctx).stats().sets;
  },
  actor(ctx) {
    const first = firstOf(ctx.params.writers, ctx.actors, ctx.actor);
    for (let k = first; k < first + shareOf(ctx.params.writers, ctx.actors, ctx.actor); k++) {
      if (ctx.variant === 'unsafe') (ctx.local.naive as NaiveCache).set(k, k, checkOf(k));
      else cacheOf(ctx).set(`writer:${k}`, { k, check: checkOf(k), text: 'v'.repeat(k % 40) });
    }
  },
  arbiter(ctx) {
    const max = ctx.params.maxEntries;
    if (ctx.variant === 'unsafe') {
      const naive = ctx.local.naive as NaiveCache;
      const live = naive.countLive();
      if (live > max) return `overflow: ${live} entries > ${max}`;
      for (const [k, [high, low]] of naive.entries()) if (high !== k || low !== checkOf(k)) return 'torn entry';
      if (naive.size !== live) return `counts disagree: size says ${naive.size}, ${live} present`;
      return 'bounded, intact, counted';
    }
    const cache = cacheOf(ctx);
    const entries = [...cache.entries()];
    if (cache.size > max || entries.length > max) return `overflow: ${entries.length} entries > ${max}`;
    for (const [key, value] of entries) {
      const v = value as { k: number; check: number; text: string };
      if (key !== `writer:${v.k}` || v.check !== checkOf(v.k) || v.text.length !== v.k % 40) return 'torn entry';
    }
    const sets = cache.stats().sets - (ctx.local.setsBefore as number);
    if (sets !== ctx.params.writers || cache.size !== entries.length)
      return `counts disagree: ${sets} sets counted, size ${cache.size}, ${entries.length} present`;
    return integrityOf(cache) ?? 'bounded, intact, counted';
  },
  reset(ctx) {
    if (ctx.variant === 'unsafe') (ctx.local.naive as NaiveCache).clear();
    else cacheOf(ctx).clear();
    ctx.local.setsBefore = cacheOf(ctx).stats().sets;
  },
  outcomes: [
    { id: 'bounded, intact, counted', grade: 'ACCEPTABLE', description: 'size within the bound, every entry whole, counters agree' },
    { id: /^overflow/, grade: 'FORBIDDEN', description: 'more entries than the bound' },
    { id: 'torn entry', grade: 'FORBIDDEN', description: 'an entry reads back a mix of two writes' },
    { id: /^counts disagree/, grade: 'FORBIDDEN', description: 'the counters disagree with the contents' },
    { id: /^inconsistent cache/, grade: 'FORBIDDEN', description: "the cache's structures disagree" },
  ],
});
