/**
 * Audit A: lost updates on a shared counter. Worker threads read, (get preempted), write back +1.
 * Unsafe: get, then set. Safe: the cache's atomic increment. Every increment is recorded in a
 * history and checked for linearizability against a sequential counter.
 */
import { Op } from '../history.js';
import { checkLinearizable } from '../linearizability.js';
import { defineScenario } from '../scenario-spec.js';
import { cacheOf, shareOf } from './support.js';

export const counterOutcomes = [
  { id: /^all \d+ counted$/, grade: 'ACCEPTABLE', description: 'the final count equals the number of increments' },
  { id: /^lost \d+ of \d+$/, grade: 'FORBIDDEN', description: 'lost updates: the final count is short' },
  { id: /not linearizable/, grade: 'FORBIDDEN', description: 'the recorded history has no valid sequential order' },
] as const;

/** The counter's outcome: the final value against the total, and the linearizability check of the history. */
export function counterOutcome(final: number, total: number, history: Parameters<typeof checkLinearizable>[0]): string {
  if (final < total) return `lost ${total - final} of ${total}`;
  const check = checkLinearizable(history);
  if (check.linearizable === false) return `final ${final} of ${total}, not linearizable`;
  return `all ${total} counted`;
}

export const lostUpdates = defineScenario({
  id: 'A',
  name: 'lost-updates',
  title: 'Lost updates on a shared counter (worker threads)',
  audit: 'A',
  variants: { unsafe: 'get, then set(value + 1)', safe: 'cache.increment(key): one atomic read-modify-write' },
  params: { increments: 50, workers: 2 },
  actors: (p) => p.workers,
  trials: { full: 100_000, quick: 2_000 },
  cache: () => ({ maxEntries: 64, maxBytes: 64 * 1024 }),
  actor(ctx) {
    const cache = cacheOf(ctx);
    for (let i = shareOf(ctx.params.increments, ctx.actors, ctx.actor); i > 0; i--) {
      const call = ctx.history.invoke(Op.increment, 0, 1);
      if (ctx.variant === 'unsafe') {
        const next = ((cache.get('counter') as number | undefined) ?? 0) + 1;
        ctx.point();
        cache.set('counter', next);
        ctx.history.respond(call, next);
      } else {
        ctx.history.respond(call, cache.increment('counter') as number);
      }
    }
  },
  arbiter: (ctx) => counterOutcome((cacheOf(ctx).get('counter') as number | undefined) ?? 0, ctx.params.increments, ctx.history.read()),
  reset: (ctx) => void cacheOf(ctx).delete('counter'),
  outcomes: counterOutcomes,
});
