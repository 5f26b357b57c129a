/**
 * Bug: a cache stampede. Request handlers on two workers load a user profile with "get; on a miss,
 * fetch it and set it": every handler that misses before the first fetch is stored fetches too,
 * so one cold key costs the database several identical queries.
 * Fix: `cache.getOrCompute(key, fetch)`: one fetch in the whole process, the other callers (on any
 * thread) await its result.
 */
import { type ActorContext, defineScenario } from 'sabre/stress';
import { SharedCache } from 'sabre';

interface Profile {
  id: number;
  name: string;
}

const USERS = 4;

const state = () => ({
  cache: SharedCache.create<Profile>({ maxEntries: 64, maxBytes: 64 * 1024 }),
  queries: new Int32Array(new SharedArrayBuffer(4)),
});
type Ctx = ActorContext<Record<never, number>, undefined, ReturnType<typeof state>, Record<string, never>>;

/** The database: counts its queries; each one takes a turn of the event loop. */
async function queryProfile({ state }: Ctx, id: number): Promise<Profile> {
  Atomics.add(state.queries, 0, 1);
  await new Promise((resolve) => setImmediate(resolve));
  return { id, name: `user ${id}` };
}

async function loadProfile(ctx: Ctx, id: number): Promise<Profile> {
  const key = `profile:${id}`;
  let profile = ctx.state.cache.get(key);
  if (profile === undefined) {
    profile = await queryProfile(ctx, id);
    ctx.state.cache.set(key, profile);
  }
  return profile;
}

async function loadProfileFixed(ctx: Ctx, id: number): Promise<Profile> {
  return ctx.state.cache.getOrCompute(`profile:${id}`, () => queryProfile(ctx, id));
}

/** Each worker serves two requests per user at once (a page shows the profile twice). */
function handleRequests(load: (ctx: Ctx, id: number) => Promise<Profile>) {
  return async (ctx: Ctx): Promise<void> => {
    const requests: Promise<Profile>[] = [];
    for (let id = 0; id < USERS; id++) requests.push(load(ctx, id), load(ctx, id));
    await Promise.all(requests);
  };
}

const arbiter = ({ state }: Ctx) => (Atomics.load(state.queries, 0) === USERS ? 'one-query-per-user' : 'stampede');
const outcomes = {
  'one-query-per-user': 'ACCEPTABLE',
  stampede: { grade: 'FORBIDDEN', description: 'a profile was fetched more than once' },
} as const;

export const cacheStampede = defineScenario({
  id: 'cache-stampede',
  title: 'profiles loaded with get(), fetch on a miss, set()',
  state,
  actors: [handleRequests(loadProfile), handleRequests(loadProfile)],
  arbiter,
  outcomes,
});

export const cacheStampedeFixed = defineScenario({
  id: 'cache-stampede-fixed',
  title: 'profiles loaded with getOrCompute()',
  state,
  actors: [handleRequests(loadProfileFixed), handleRequests(loadProfileFixed)],
  arbiter,
  outcomes,
});
