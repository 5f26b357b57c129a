/**
 * Audit A across processes: lost updates on a counter in Redis. Several actor processes, released
 * together, each add their share of `increments` to the trial's counter, recording every increment
 * in a history stamped with the host's monotonic clock. Forbidden: a final value short of the
 * increments acknowledged (lost updates), or a history with no valid sequential order.
 * Unsafe: GET, then SET(value + 1) (two round trips). Safe: RedisCache.increment (one script,
 * atomic on the server).
 */
import { Op, type Operation } from '../../history.js';
import { counterOutcome, counterOutcomes } from '../../scenarios/a-lost-updates.js';
import { shareOf } from '../../scenarios/support.js';
import { type ProcessScenario, type StampedOp, stamped, yieldPoint } from '../process-scenario.js';
import { connectCache, tieredParam, workersOf } from './support.js';

const params = { increments: 200, workers: 4, ...tieredParam };

export const processLostUpdates: ProcessScenario<typeof params> = {
  id: 'A',
  name: 'lost-updates',
  title: 'Lost updates on a counter in Redis (processes released together)',
  audit: 'A',
  variants: { unsafe: 'await get(key), then await set(key, value + 1)', safe: 'await cache.increment(key): one atomic script' },
  params,
  actors: workersOf,
  trials: { full: 1_000, quick: 20 },
  trialTimeoutMs: 10_000,
  outcomes: counterOutcomes,

  async child(ctx) {
    const cache = await connectCache(ctx);
    let key = '';
    return {
      handlers: {
        arm: (payload: { key: string }) => {
          key = payload.key;
          return true;
        },
        go: async (): Promise<StampedOp[]> => {
          const ops: StampedOp[] = [];
          for (let i = shareOf(ctx.params.increments, ctx.actors, ctx.actor); i > 0; i--) {
            const done = await stamped(
              Op.increment,
              0,
              1,
              async () => {
                if (ctx.variant !== 'unsafe') return cache.increment(key);
                const next = (((await cache.get(key)) as number | undefined) ?? 0) + 1;
                await yieldPoint(ctx.random);
                await cache.set(key, next);
                return next;
              },
              Number,
            );
            ops.push(done.op);
          }
          return ops;
        },
      },
      close: () => cache.close(),
    };
  },

  async trial(ctx) {
    const key = `A:${ctx.trial}`;
    await ctx.actors.all('arm', { key }, ctx.deadlineMs);
    const replies = (await ctx.actors.all('go', undefined, ctx.deadlineMs)) as StampedOp[][];
    const history: Operation[] = replies.flatMap((ops, client) => ops.map((o) => ({ ...o, client }) as Operation));
    try {
      // Every increment in the history was acknowledged (an unacknowledged one would have thrown: `threw …`).
      return counterOutcome(Number((await ctx.cache.get(key)) ?? 0), history.length, history);
    } finally {
      await ctx.cache.delete(key);
    }
  },
};
