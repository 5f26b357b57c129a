/**
 * Bug: check-then-act on the cache. Workers claim jobs with `if (!cache.has(job)) cache.set(job,
 * me)`: both can see the job unclaimed before either sets it, and the job runs twice.
 * Fix: `cache.setIfAbsent(job, me)`, which checks and sets in one step and tells who won.
 */
import { type ActorContext, defineScenario } from 'sabre/stress';
import { SharedCache } from 'sabre';

const JOBS = 32;

const state = () => ({
  claims: SharedCache.create<number>({ maxEntries: 128, maxBytes: 64 * 1024 }),
  runs: new Int32Array(new SharedArrayBuffer(4)),
});
type Ctx = ActorContext<Record<never, number>, undefined, ReturnType<typeof state>, Record<string, never>>;

function claim({ state, actor, point }: Ctx, job: string): boolean {
  if (state.claims.has(job)) return false;
  point(); // another worker may be claiming the same job
  state.claims.set(job, actor);
  return true;
}

function claimFixed({ state, actor }: Ctx, job: string): boolean {
  return state.claims.setIfAbsent(job, actor);
}

function runJobs(tryClaim: (ctx: Ctx, job: string) => boolean) {
  return (ctx: Ctx): void => {
    for (let j = 0; j < JOBS; j++) if (tryClaim(ctx, `job:${j}`)) Atomics.add(ctx.state.runs, 0, 1);
  };
}

const arbiter = ({ state }: Ctx) => (Atomics.load(state.runs, 0) === JOBS ? 'each-once' : 'claimed-twice');
const outcomes = {
  'each-once': 'ACCEPTABLE',
  'claimed-twice': { grade: 'FORBIDDEN', description: 'two workers both claimed the same job' },
} as const;

export const cacheClaim = defineScenario({
  id: 'cache-claim',
  title: 'jobs claimed with cache.has() then cache.set()',
  state,
  actors: [runJobs(claim), runJobs(claim)],
  arbiter,
  outcomes,
});

export const cacheClaimFixed = defineScenario({
  id: 'cache-claim-fixed',
  title: 'jobs claimed with cache.setIfAbsent()',
  state,
  actors: [runJobs(claimFixed), runJobs(claimFixed)],
  arbiter,
  outcomes,
});
