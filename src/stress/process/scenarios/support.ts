/** Helpers shared by the process scenarios. */
import { RedisCache, StoreUnavailableError } from '../../../redis/index.js';
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
