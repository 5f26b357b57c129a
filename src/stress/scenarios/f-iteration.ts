/**
 * Audit F: iteration while others mutate. A purge loop iterated a live dictionary while other
 * tasks deleted from it. Actor 0 iterates; the others delete entries and write them back with new
 * values. Forbidden: an iteration that crashes, yields a key twice, or yields a torn entry.
 * Unsafe: iterate the live slots in place. Safe: SharedCache.entries(), a consistent snapshot
 * per stripe.
 */
import { NaiveCache, type NaiveCacheHandle } from '../naive-cache.js';
import { defineScenario } from '../scenario-spec.js';
import { cacheOf } from './support.js';

/** Value v of key k: high = k * 1000 + version, low = a check of high. */
const lowOf = (high: number): number => (high * 7 + 3) | 0;

export const iteration = defineScenario({
  id: 'F',
  name: 'iteration',
  title: 'Iteration while others mutate',
  audit: 'F',
  variants: { unsafe: 'iterate the live slots in place', safe: 'SharedCache.entries(): a snapshot, stripe by stripe' },
  params: { entries: 100, workers: 2 },
  actors: (p) => Math.max(2, p.workers),
  trials: { full: 100_000, quick: 3_000 },
  cache: (p) => ({ maxEntries: p.entries * 2, maxBytes: p.entries * 2 * 128 }),
  shared: (p, variant): NaiveCacheHandle | undefined => (variant === 'unsafe' ? NaiveCache.create(p.entries * 2, 2) : undefined),
  prepare(ctx) {
    if (ctx.shared) ctx.local.naive = new NaiveCache(ctx.shared, ctx.point);
    if (ctx.actor === 0) fill(ctx.local.naive as NaiveCache | undefined, ctx.cache, ctx.params.entries, 0);
  },
  actor(ctx) {
    const naive = ctx.local.naive as NaiveCache | undefined;
    if (ctx.actor === 0) {
      const seen = new Set<number>();
      try {
        const entries = naive ? naive.entries() : (cacheOf(ctx).entries() as Iterable<[number, [number, number]]>);
        for (const [key, [high, low]] of entries) {
          if (seen.has(key)) return void (ctx.local.outcome = 'yielded a key twice');
          seen.add(key);
          if (Math.floor(high / 1000) !== key || low !== lowOf(high)) return void (ctx.local.outcome = 'yielded a torn entry');
        }
        ctx.local.outcome = 'consistent';
      } catch (error) {
        ctx.local.outcome = `iteration crashed: ${(error as Error).name}`;
      }
      return;
    }
    // Mutators: delete a key, then write it back with a new version (a different slot, maybe).
    for (let k = ctx.actor - 1; k < ctx.params.entries; k += ctx.actors - 1) {
      const high = k * 1000 + ((ctx.trial + 1) % 1000);
      if (naive) {
        naive.delete(k);
        ctx.point();
        naive.set(k, high, lowOf(high));
      } else {
        cacheOf(ctx).delete(k);
        cacheOf(ctx).set(k, [high, lowOf(high)]);
      }
    }
  },
  arbiter: (ctx) => ctx.local.outcome as string,
  reset(ctx) {
    // Put back whatever a mutator left missing, so every trial iterates a full map.
    fill(ctx.local.naive as NaiveCache | undefined, ctx.cache, ctx.params.entries, ctx.trial + 1);
  },
  outcomes: [
    { id: 'consistent', grade: 'ACCEPTABLE', description: 'every key at most once, every entry whole' },
    { id: 'yielded a key twice', grade: 'FORBIDDEN', description: 'the iteration yielded an entry twice' },
    { id: 'yielded a torn entry', grade: 'FORBIDDEN', description: 'the iteration yielded a torn or misplaced entry' },
    { id: /^iteration crashed/, grade: 'FORBIDDEN', description: 'the iteration threw' },
  ],
});

function fill(naive: NaiveCache | undefined, cache: import('../../cache/shared-cache.js').SharedCache | undefined, entries: number, version: number): void {
  for (let k = 0; k < entries; k++) {
    const high = k * 1000 + (version % 1000);
    if (naive) naive.set(k, high, lowOf(high));
    else if (!cache!.has(k)) cache!.set(k, [high, lowOf(high)]);
  }
}
