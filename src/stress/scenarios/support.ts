/** Small helpers shared by the built-in scenarios. */
import { checkIntegrity, type SharedCache } from '../../cache/shared-cache.js';
import type { NaiveCache } from '../naive-cache.js';
import type { TrialContext } from '../scenario.js';

/** How many of `total` items actor `actor` of `actors` takes (the first ones take one more). */
export function shareOf(total: number, actors: number, actor: number): number {
  return Math.floor(total / actors) + (actor < total % actors ? 1 : 0);
}

/** The index of this actor's first item when `total` items are dealt out by {@link shareOf}. */
export function firstOf(total: number, actors: number, actor: number): number {
  let first = 0;
  for (let a = 0; a < actor; a++) first += shareOf(total, actors, a);
  return first;
}

/** The pool's cache; a scenario that declares `cache()` always has one (any other's throws on use). */
export function cacheOf(ctx: TrialContext<never, unknown> | TrialContext): SharedCache {
  return ctx.cache;
}

/** The cache's own consistency check (every structure against every other), as an outcome fragment. */
export function integrityOf(cache: SharedCache): string | undefined {
  const problems = cache[checkIntegrity]();
  return problems.length === 0 ? undefined : `inconsistent cache: ${problems[0]}`;
}

/** Raises the shared word `index` to at least `value` (a CAS loop: several threads may report). */
export function raiseTo(words: Int32Array, index: number, value: number): void {
  for (let seen = Atomics.load(words, index); value > seen; ) {
    const previous = Atomics.compareExchange(words, index, seen, value);
    if (previous === seen) return;
    seen = previous;
  }
}

/**
 * Entries present right now: the unsafe variants' naive map is counted slot by slot (its size
 * counter may itself be wrong), the cache by its size. The naive map lives in `ctx.local.naive`.
 */
export function entriesNow(ctx: TrialContext<never, unknown> | TrialContext): number {
  return ctx.variant === 'unsafe' ? (ctx.local.naive as NaiveCache).countLive() : cacheOf(ctx).size;
}
