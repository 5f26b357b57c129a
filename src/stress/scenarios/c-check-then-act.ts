/**
 * Audit C: check-then-act overflow. The unsafe cache checks `size >= max`, evicts one, then
 * inserts, with no lock across the check and the insert: two writers both pass the check. The
 * bound must hold at every instant, so a monitor thread samples the number of entries while the
 * writers run (and each writer samples it after every insert).
 */
import { NaiveCache, type NaiveCacheHandle } from '../naive-cache.js';
import { defineScenario } from '../scenario-spec.js';
import { cacheOf, entriesNow, firstOf, raiseTo, shareOf } from './support.js';

export const checkThenAct = defineScenario({
  id: 'C',
  name: 'check-then-act',
  title: 'Check-then-act overflow ("evict before adding", `while` not `if`)',
  audit: 'C',
  variants: {
    unsafe: 'if (size >= max) evict one; then insert, no lock across',
    safe: "SharedCache: evict in a loop, before inserting, under the insert's lock",
  },
  params: { maxEntries: 50, inserts: 200, workers: 2 },
  actors: (p) => p.workers,
  trials: { full: 100_000, quick: 500 },
  cache: (p) => ({ maxEntries: p.maxEntries, maxBytes: p.maxEntries * 128 }),
  shared: (p, variant): NaiveCacheHandle | undefined => (variant === 'unsafe' ? NaiveCache.create(p.maxEntries) : undefined),
  prepare(ctx) {
    if (ctx.shared) ctx.local.naive = new NaiveCache(ctx.shared, ctx.point);
  },
  actor(ctx) {
    const first = firstOf(ctx.params.inserts, ctx.actors, ctx.actor) + ctx.trial * ctx.params.inserts;
    for (let k = first; k < first + shareOf(ctx.params.inserts, ctx.actors, ctx.actor); k++) {
      if (ctx.variant === 'unsafe') (ctx.local.naive as NaiveCache).set(k % 1_000_000, k, k);
      else cacheOf(ctx).set(k, k);
      raiseTo(ctx.monitorWords, 0, entriesNow(ctx));
    }
  },
  monitor(ctx) {
    raiseTo(ctx.monitorWords, 0, entriesNow(ctx));
  },
  arbiter(ctx) {
    const seen = Math.max(Atomics.exchange(ctx.monitorWords, 0, 0), entriesNow(ctx));
    return seen > ctx.params.maxEntries ? `overflow: ${seen} entries > ${ctx.params.maxEntries}` : 'bound held';
  },
  reset(ctx) {
    if (ctx.variant === 'unsafe') (ctx.local.naive as NaiveCache).clear();
  },
  outcomes: [
    { id: 'bound held', grade: 'ACCEPTABLE', description: 'no sample ever saw more entries than the bound' },
    { id: /^overflow/, grade: 'FORBIDDEN', description: 'the bound was exceeded at some instant' },
  ],
});
