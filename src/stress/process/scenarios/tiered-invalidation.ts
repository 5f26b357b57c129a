/**
 * TieredCache across processes: a write in one process is never read stale in another beyond the
 * documented bound (until the invalidation is delivered; without one, at most localTtlMs).
 * Actor 0 writes, the others read; each has its own L1 (a SharedCache of its process). A trial:
 * the parent stores the key's old value; every reader reads it (filling its L1); then all are
 * released together: the writer writes the new value while the readers read in a loop (reads in
 * flight across the write: the L1 fill race); then each reader reads until it sees the new value.
 * Forbidden: a stale read begun after the reader's TieredCache received the invalidation, a stale
 * read with no invalidation for longer than `deliveryMs` after the write was acknowledged (far
 * below localTtlMs: what a cache without invalidation would serve), or a value never written.
 * Unsafe: L1 in front of Redis with no invalidation (only localTtlMs bounds a stale copy). Safe:
 * TieredCache (pub/sub announcements, fills guarded by a sequence number).
 */
import { SharedCache } from '../../../index.js';
import { TieredCache } from '../../../redis/index.js';
import { type ChildContext, type ProcessScenario, now } from '../process-scenario.js';
import { connectRedis } from './support.js';

const params = { workers: 4, localTtlMs: 60_000, deliveryMs: 2_000 };
type P = typeof params;

/** What a reader needs of a two-level cache, and how many invalidations it received. */
interface Tier {
  get(key: string): Promise<unknown>;
  set(key: string, value: number): Promise<unknown>;
  invalidations(): Promise<number>;
  close(): Promise<void>;
}

/** How long a reader waits for its TieredCache's subscription at start. */
const SYNC_MS = 10_000;
const FRESH = 'fresh once the invalidation arrived';
const NO_DELIVERY = 'the invalidation never arrived';

async function connectTier(ctx: ChildContext<P>): Promise<Tier> {
  const local = SharedCache.create({ maxEntries: 1_024, maxBytes: 1 << 20 });
  if (ctx.variant === 'unsafe') {
    // L1 filled from Redis for localTtlMs, and no announcement of writes: the bug under test.
    const redis = await connectRedis(ctx);
    return {
      async get(key) {
        const hit = local.get(key);
        if (hit !== undefined) return hit;
        const value = await redis.get(key);
        if (value !== undefined) local.set(key, value, { ttlMs: ctx.params.localTtlMs });
        return value;
      },
      async set(key, value) {
        await redis.set(key, value);
        local.delete(key);
      },
      invalidations: async () => 0,
      close: () => redis.close(),
    };
  }
  const tiered = await TieredCache.connect({ url: ctx.url, prefix: ctx.prefix, localTtlMs: ctx.params.localTtlMs, commandTimeoutMs: 5_000, l1: local });
  for (const deadline = Date.now() + SYNC_MS; !tiered.synced; ) {
    if (Date.now() > deadline) throw new Error(`TieredCache did not subscribe to its invalidations within ${SYNC_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return {
    get: (key) => tiered.get(key),
    set: (key, value) => tiered.set(key, value),
    invalidations: async () => (await tiered.stats()).invalidationsReceived,
    close: () => tiered.close(),
  };
}

interface Round {
  readonly key: string;
  readonly old: number;
  readonly value: number;
}

export const processTieredInvalidation: ProcessScenario<P> = {
  id: 'tiered',
  name: 'tiered-invalidation',
  title: 'TieredCache: a write in one process is never read stale in another beyond the invalidation',
  audit: 'tiered',
  variants: {
    unsafe: 'L1 in front of Redis, no invalidation (only localTtlMs bounds a stale copy)',
    safe: 'TieredCache: pub/sub invalidation, guarded L1 fills',
  },
  params,
  actors: (p) => Math.max(2, p.workers),
  trials: { full: 500, quick: 10 },
  trialTimeoutMs: 10_000,
  outcomes: [
    { id: FRESH, grade: 'ACCEPTABLE', description: 'every stale read ended when the invalidation was delivered' },
    {
      id: 'stale after its invalidation was delivered',
      grade: 'FORBIDDEN',
      description: "a read begun after the reader's L1 was told of the write returned the old value",
    },
    {
      id: /^stale \d+ ms after the write, no invalidation$/,
      grade: 'FORBIDDEN',
      description: 'an L1 kept serving the old value with no invalidation (beyond deliveryMs)',
    },
    { id: 'a value that was never written', grade: 'FORBIDDEN', description: 'a read returned neither the old nor the new value' },
    { id: NO_DELIVERY, grade: 'INTERESTING', description: 'a reader read the new value, but its invalidation did not arrive within deliveryMs' },
  ],

  async child(ctx) {
    const tier = await connectTier(ctx);
    let baseline = 0;
    /** One reader's read, judged: undefined while it may be stale, else the outcome. */
    const judgedRead = async (round: Round, ackedAt: number | undefined): Promise<string | undefined> => {
      const delivered = (await tier.invalidations()) > baseline;
      const value = await tier.get(round.key);
      if (value === round.value) return FRESH;
      if (value !== round.old) return 'a value that was never written';
      if (delivered) return 'stale after its invalidation was delivered';
      const staleMs = ackedAt === undefined ? 0 : (now() - ackedAt) / 1_000;
      return staleMs > ctx.params.deliveryMs ? `stale ${Math.round(staleMs)} ms after the write, no invalidation` : undefined;
    };
    return {
      handlers: {
        fill: async (round: Round) => {
          if (ctx.actor === 0) return;
          await tier.get(round.key);
          baseline = await tier.invalidations();
        },
        go: async (round: Round): Promise<number | string | undefined> => {
          if (ctx.actor === 0) {
            await tier.set(round.key, round.value);
            return now(); // acknowledged
          }
          // Reads in flight across the write: a stale one must not be copied into L1 after the invalidation.
          for (let i = 0; i < 5; i++) {
            const outcome = await judgedRead(round, undefined);
            if (outcome !== undefined && outcome !== FRESH) return outcome;
          }
          return undefined;
        },
        check: async (payload: Round & { ackedAt: number }): Promise<{ outcome: string; staleMs: number }> => {
          for (;;) {
            const outcome = await judgedRead(payload, payload.ackedAt);
            const staleMs = (now() - payload.ackedAt) / 1_000;
            if (outcome === FRESH) {
              // Fresh: its invalidation must still arrive (else the next trial's baseline would be off).
              while ((await tier.invalidations()) <= baseline) {
                if ((now() - payload.ackedAt) / 1_000 > ctx.params.deliveryMs) return { outcome: NO_DELIVERY, staleMs };
                await new Promise((resolve) => setTimeout(resolve, 2));
              }
              return { outcome, staleMs };
            }
            if (outcome !== undefined) return { outcome, staleMs };
            await new Promise((resolve) => setTimeout(resolve, 2));
          }
        },
      },
      close: () => tier.close(),
    };
  },

  async trial(ctx) {
    const round: Round = { key: `T:${ctx.trial}`, old: 2 * ctx.trial, value: 2 * ctx.trial + 1 };
    await ctx.cache.set(round.key, round.old);
    try {
      await ctx.actors.all('fill', round, ctx.deadlineMs);
      const [ackedAt, ...racing] = (await ctx.actors.all('go', round, ctx.deadlineMs)) as [number, ...(string | undefined)[]];
      const raced = racing.find((o) => o !== undefined);
      if (raced !== undefined) return raced;
      const readers = Array.from({ length: ctx.actors.count - 1 }, (_, i) => i + 1);
      const checks = (await Promise.all(readers.map((a) => ctx.actors.call(a, 'check', { ...round, ackedAt }, ctx.deadlineMs)))) as Array<{
        outcome: string;
        staleMs: number;
      }>;
      for (const check of checks) ctx.sample('ms from the write to the first fresh read', check.staleMs);
      return checks.find((c) => c.outcome !== FRESH)?.outcome ?? FRESH;
    } finally {
      await ctx.cache.delete(round.key);
    }
  },
};
