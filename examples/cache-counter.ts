/**
 * Bug: a page-view counter kept in the cache with `cache.set(key, (cache.get(key) ?? 0) + 1)`.
 * Each call is atomic, the pair is not: two workers read the same count and one view is lost.
 * Fix: `cache.increment(key)`, one atomic read-modify-write inside the cache.
 */
import { type ActorContext, defineScenario } from 'sabre/stress';
import { SharedCache } from 'sabre';

const VIEWS = 100;
const KEY = 'views:/home';

const state = () => ({ cache: SharedCache.create<number>({ maxEntries: 16, maxBytes: 16 * 1024 }) });
type Ctx = ActorContext<Record<never, number>, undefined, ReturnType<typeof state>, Record<string, never>>;

function countViews({ state, point }: Ctx): void {
  for (let i = 0; i < VIEWS; i++) {
    const views = state.cache.get(KEY) ?? 0;
    point();
    state.cache.set(KEY, views + 1);
  }
}

function countViewsFixed({ state, point }: Ctx): void {
  for (let i = 0; i < VIEWS; i++) {
    point();
    state.cache.increment(KEY);
  }
}

const arbiter = ({ state }: Ctx) => (state.cache.get(KEY) === 2 * VIEWS ? 'all-counted' : 'lost-update');
const outcomes = {
  'all-counted': 'ACCEPTABLE',
  'lost-update': { grade: 'FORBIDDEN', description: 'two workers read the same count: a view was lost' },
} as const;

export const cacheCounter = defineScenario({
  id: 'cache-counter',
  title: 'a counter in the cache updated with get() then set()',
  state,
  actors: [countViews, countViews],
  arbiter,
  outcomes,
});

export const cacheCounterFixed = defineScenario({
  id: 'cache-counter-fixed',
  title: 'a counter in the cache updated with increment()',
  state,
  actors: [countViewsFixed, countViewsFixed],
  arbiter,
  outcomes,
});
