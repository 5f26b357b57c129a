/**
 * Audit H: fail-safe when the store is unavailable. A condition `and store is not None` silently
 * skipped the fail-safe path when no store was configured. Here half the callers have no store
 * and the other half have a store that refuses writes (the memory guard closed it); every call
 * must end as a stored success, a counted fallback, or a clear error: never a silent success.
 * Unsafe: `if (store && enabled) store.write()` and report success either way. Safe: the same
 * call with an explicit unavailable branch that uses the fallback and counts it.
 */
import { MemoryLimitError } from '../../errors.js';
import { setAdmission, type SharedCache } from '../../cache/shared-cache.js';
import { defineScenario } from '../scenario-spec.js';
import { cacheOf } from './support.js';

/** Shared counters (monitorWords): what callers reported, and what the fallback counted. */
const REPORTED_SUCCESS = 1;
const FALLBACKS = 2;
const ERRORS = 3;

type Result = 'stored' | 'fallback' | 'error';

function recordUnsafe(store: SharedCache | undefined, key: string): Result {
  try {
    if (store !== undefined) store.setIfAbsent(key, Date.now());
  } catch {
    // "best effort": the audited code swallowed the store's error too
  }
  return 'stored';
}

function recordSafe(store: SharedCache | undefined, key: string, counters: Int32Array): Result {
  if (store === undefined) {
    Atomics.add(counters, FALLBACKS, 1); // no store configured: the fallback, counted and visible
    return 'fallback';
  }
  try {
    store.setIfAbsent(key, Date.now());
    return 'stored';
  } catch (error) {
    if (error instanceof MemoryLimitError) {
      Atomics.add(counters, FALLBACKS, 1);
      return 'fallback';
    }
    Atomics.add(counters, ERRORS, 1);
    return 'error';
  }
}

export const failSafe = defineScenario({
  id: 'H',
  name: 'fail-safe',
  title: 'Fail-safe when the store is unavailable',
  audit: 'H',
  variants: { unsafe: '`if (store && enabled) store.write()`, success either way', safe: 'an explicit unavailable branch: fallback, counted' },
  params: { calls: 50, workers: 2 },
  actors: (p) => p.workers,
  trials: { full: 100_000, quick: 500 },
  cache: () => ({ maxEntries: 256, maxBytes: 256 * 128 }),
  prepare(ctx) {
    if (ctx.actor === 0) cacheOf(ctx)[setAdmission](false); // the store refuses new keys: it is "unavailable"
  },
  actor(ctx) {
    const counters = ctx.monitorWords;
    for (let i = 0; i < ctx.params.calls; i++) {
      // Every other call has no store configured at all.
      const store = (i + ctx.actor) % 2 === 0 ? undefined : cacheOf(ctx);
      const key = `panic:${ctx.trial}:${ctx.actor}:${i}`;
      const result = ctx.variant === 'unsafe' ? recordUnsafe(store, key) : recordSafe(store, key, counters);
      if (result === 'stored') Atomics.add(counters, REPORTED_SUCCESS, 1);
    }
  },
  arbiter(ctx) {
    const c = ctx.monitorWords;
    const reported = Atomics.load(c, REPORTED_SUCCESS);
    const stored = cacheOf(ctx).size;
    const accounted = stored + Atomics.load(c, FALLBACKS) + Atomics.load(c, ERRORS);
    const calls = ctx.params.calls * ctx.actors;
    if (reported > stored) return `silent success: ${reported - stored} calls reported stored, nothing stored`;
    return accounted === calls ? 'every call stored, counted as fallback, or failed' : `unaccounted: ${calls - accounted} calls`;
  },
  reset(ctx) {
    for (const i of [REPORTED_SUCCESS, FALLBACKS, ERRORS]) Atomics.store(ctx.monitorWords, i, 0);
  },
  finish(ctx) {
    if (ctx.actor === 0) cacheOf(ctx)[setAdmission](true);
  },
  outcomes: [
    { id: 'every call stored, counted as fallback, or failed', grade: 'ACCEPTABLE', description: 'no call ended silently' },
    { id: /^silent success/, grade: 'FORBIDDEN', description: 'a call reported success while nothing was stored' },
    { id: /^unaccounted/, grade: 'FORBIDDEN', description: 'calls that ended neither stored, nor counted, nor failed' },
  ],
});
