/**
 * Audit G across processes: the panic breaker's set-if-absent (first writer wins, 24 h expiry),
 * by 20 actor processes sharing one Redis. Each trial arms every process, then releases them all
 * at once; each calls set-if-absent on the trial's key with its own value and reads the key back,
 * stamping both calls with the host's monotonic clock. Forbidden: more or fewer than one winner,
 * a stored value that is not the winner's, a history with no valid sequential order (each round
 * against a sequential set-if-absent model), or a dead man's switch that misbehaves (the expiry is
 * set, a refresh extends it, a delete ends it and the next set-if-absent wins).
 * Unsafe: EXISTS, then SET (two round trips: several processes see the key absent). Safe:
 * RedisCache.setIfAbsent (one SET NX PX).
 */
import type { RedisCache } from '../../../redis/index.js';
import { ABSENT, Op, type Operation } from '../../history.js';
import { checkLinearizable } from '../../linearizability.js';
import { type ProcessScenario, type StampedOp, stamped, yieldPoint } from '../process-scenario.js';
import { connectCache, tieredParam, workersOf } from './support.js';

const params = { workers: 20, ttlSeconds: 86_400, ...tieredParam };

export const processSetIfAbsent: ProcessScenario<typeof params> = {
  id: 'G',
  name: 'set-if-absent',
  title: 'Set-if-absent by processes released together on Redis (20 by default; first writer wins, 24 h expiry)',
  audit: 'G',
  variants: { unsafe: 'if (!(await has(key))) await set(key): two round trips', safe: 'await cache.setIfAbsent(key, value, { ttlMs }): one SET NX PX' },
  params,
  actors: workersOf,
  trials: { full: 2_000, quick: 30 },
  trialTimeoutMs: 10_000,
  outcomes: [
    { id: 'one winner, stored, switch works', grade: 'ACCEPTABLE', description: 'exactly one winner, its value stored, expiry/refresh/delete behave' },
    { id: /^\d+ winners$/, grade: 'FORBIDDEN', description: 'more than one process (or none) won set-if-absent' },
    { id: "the winner's value is not the stored one", grade: 'FORBIDDEN', description: 'a later writer overwrote the winner' },
    { id: 'not linearizable', grade: 'FORBIDDEN', description: 'the recorded history has no valid sequential order' },
    { id: /^switch:/, grade: 'FORBIDDEN', description: 'the expiry, refresh or delete of the key misbehaved' },
  ],

  async child(ctx) {
    const cache = await connectCache(ctx);
    const value = ctx.actor + 1;
    let key = '';
    return {
      handlers: {
        arm: (payload: { key: string }) => {
          key = payload.key;
          return true;
        },
        go: async (): Promise<StampedOp[]> => {
          const ttlMs = ctx.params.ttlSeconds * 1_000;
          const won = await stamped(
            Op.setIfAbsent,
            0,
            value,
            async () => {
              if (ctx.variant !== 'unsafe') return cache.setIfAbsent(key, value, { ttlMs });
              const absent = !(await cache.has(key));
              await yieldPoint(ctx.random);
              if (absent) await cache.set(key, value, { ttlMs });
              return absent;
            },
            Number,
          );
          const read = await stamped(
            Op.get,
            0,
            0,
            () => cache.get(key),
            (v) => (v === undefined ? ABSENT : Number(v)),
          );
          return [won.op, read.op];
        },
      },
      close: () => cache.close(),
    };
  },

  async trial(ctx) {
    const key = `G:${ctx.trial}`;
    await ctx.actors.all('arm', { key }, ctx.deadlineMs);
    const replies = (await ctx.actors.all('go', undefined, ctx.deadlineMs)) as StampedOp[][];
    const history: Operation[] = replies.flatMap((ops, client) => ops.map((o) => ({ ...o, client }) as Operation));
    const winners = history.filter((o) => o.op === Op.setIfAbsent && o.result === 1);
    try {
      if (winners.length !== 1) return `${winners.length} winners`;
      if (Number(await ctx.cache.get(key)) !== winners[0]!.arg) return "the winner's value is not the stored one";
      if (checkLinearizable(history).linearizable === false) return 'not linearizable';
      return await deadMansSwitch(ctx.cache, key, ctx.params.ttlSeconds * 1_000);
    } finally {
      await ctx.cache.delete(key);
    }
  },
};

/** The dead man's switch, in Redis: expiry set, refresh extends it, delete ends it, then a new first writer wins. */
async function deadMansSwitch(cache: RedisCache, key: string, ttlMs: number): Promise<string> {
  const ttl = await cache.ttl(key);
  if (ttl === undefined || ttl > ttlMs || ttl <= 0) return `switch: ttl ${ttl} after set-if-absent with ${ttlMs} ms`;
  if (!(await cache.expire(key, ttlMs * 2)) || ((await cache.ttl(key)) ?? 0) <= ttlMs) return 'switch: refresh did not extend the expiry';
  if (!(await cache.delete(key)) || (await cache.has(key))) return 'switch: delete did not end it';
  if (!(await cache.setIfAbsent(key, 'next', { ttlMs }))) return 'switch: set-if-absent lost after a delete';
  return 'one winner, stored, switch works';
}
