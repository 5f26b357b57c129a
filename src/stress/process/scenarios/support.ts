/** Helpers shared by the process scenarios. */
import { type AsyncCache, RedisCache, StoreUnavailableError, TieredCache } from '../../../redis/index.js';
import { InvalidArgumentError } from '../../../errors.js';
import type { ChildContext } from '../process-scenario.js';

/** The actor's RedisCache on the run's server and prefix (calls time out well inside a trial deadline). */
export function connectRedis(ctx: Pick<ChildContext, 'url' | 'prefix'>, options: { graceMs?: number; commandTimeoutMs?: number } = {}): Promise<RedisCache> {
  return RedisCache.connect({ url: ctx.url, prefix: ctx.prefix, commandTimeoutMs: options.commandTimeoutMs ?? 5_000, graceMs: options.graceMs ?? 0 });
}

/** Waits until `cache` reaches Redis again (after a restart it reconnects with a backoff), at most `deadlineMs`. */
export async function untilAvailable(cache: RedisCache, deadlineMs: number): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    try {
      await cache.has('sabre:ping');
      return;
    } catch (error) {
      if (!(error instanceof StoreUnavailableError) || Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

/** The parameter that picks the cache an actor uses: 0 a RedisCache, 1 a TieredCache (its own L1 in front of Redis). */
export const tieredParam = { tiered: 0 };

/**
 * A scenario's actor count (`workers`), once `tiered` is checked (0 or 1): called while the run
 * is planned, so a bad value is refused before any process starts.
 */
export function workersOf(params: { workers: number; tiered: number }): number {
  if (params.tiered !== 0 && params.tiered !== 1)
    throw new InvalidArgumentError(`--param tiered must be 0 (RedisCache) or 1 (TieredCache), got ${params.tiered}`);
  return params.workers;
}

/**
 * The actor's cache through the one interface both satisfy ({@link AsyncCache}): a RedisCache, or
 * with `tiered: 1` a TieredCache whose L1 is this process's. The scenario's code is the same.
 */
export function connectCache(ctx: Pick<ChildContext<{ tiered: number }>, 'url' | 'prefix' | 'params'>): Promise<AsyncCache> {
  if (ctx.params.tiered !== 1) return connectRedis(ctx);
  return TieredCache.connect({ url: ctx.url, prefix: ctx.prefix, commandTimeoutMs: 5_000, graceMs: 0, l1: { maxEntries: 1_024, maxBytes: 1 << 20 } });
}
