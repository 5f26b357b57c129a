/**
 * Audit A, the audits' own bug: async tasks on ONE event loop do read, `await`, write back. No
 * thread is involved; the interleaving comes from the await. The tasks run under the seeded
 * scheduler, so every interleaving is replayable. Unsafe: read, await, write. Safe: the same
 * under async-mutex (the audits' fix).
 */
import { Mutex as AsyncMutex } from 'async-mutex';
import { Op } from '../history.js';
import { defineScenario } from '../scenario-spec.js';
import { counterOutcome, counterOutcomes } from './a-lost-updates.js';
import { cacheOf } from './support.js';

export const asyncLostUpdates = defineScenario({
  id: 'A-async',
  name: 'async-lost-updates',
  title: 'Lost updates on a shared counter (async tasks on one event loop)',
  audit: 'A',
  variants: { unsafe: 'read, await, write', safe: 'read, await, write under async-mutex runExclusive' },
  params: { tasks: 30 },
  actors: () => 1,
  trials: { full: 100_000, quick: 1_000 },
  cache: () => ({ maxEntries: 64, maxBytes: 64 * 1024 }),
  prepare(ctx) {
    ctx.local.mutex = new AsyncMutex();
  },
  async actor(ctx) {
    const cache = cacheOf(ctx);
    const mutex = ctx.local.mutex as AsyncMutex;
    const track = async (): Promise<void> => {
      await ctx.scheduler.yield(); // tasks start in a seeded order, not in creation order
      const call = ctx.history.invoke(Op.increment, 0, 1);
      const readModifyWrite = async (): Promise<number> => {
        const next = ((cache.get('mentions') as number | undefined) ?? 0) + 1;
        await ctx.scheduler.yield(); // where the real code awaited I/O
        cache.set('mentions', next);
        return next;
      };
      const next = ctx.variant === 'unsafe' ? await readModifyWrite() : await mutex.runExclusive(readModifyWrite);
      ctx.history.respond(call, next);
    };
    await ctx.scheduler.run(Array.from({ length: ctx.params.tasks }, () => track));
  },
  arbiter: (ctx) => counterOutcome((cacheOf(ctx).get('mentions') as number | undefined) ?? 0, ctx.params.tasks, ctx.history.read()),
  reset: (ctx) => void cacheOf(ctx).delete('mentions'),
  outcomes: counterOutcomes,
});
