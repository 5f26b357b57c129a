/**
 * Bug: a request counter in shared memory bumped with `hits[0]++`. On a SharedArrayBuffer that is
 * a read, an add and a write: two workers read the same value and one increment is lost.
 * Fix: `Atomics.add(hits, 0, 1)`, one indivisible read-modify-write.
 */
import { type ActorContext, defineScenario } from 'sabre/stress';

const REQUESTS = 1_000_000;

const state = () => ({ hits: new Int32Array(new SharedArrayBuffer(4)) });
type Ctx = ActorContext<Record<never, number>, undefined, ReturnType<typeof state>, Record<string, never>>;

/** The buggy worker: counts each request it serves with a plain `++`. */
function serveRequests({ state }: Ctx): void {
  for (let i = 0; i < REQUESTS; i++) state.hits[0]!++;
}

/** The fix: the same loop with an atomic add. */
function serveRequestsFixed({ state }: Ctx): void {
  for (let i = 0; i < REQUESTS; i++) Atomics.add(state.hits, 0, 1);
}

const arbiter = ({ state }: Ctx) => (Atomics.load(state.hits, 0) === 2 * REQUESTS ? 'all-counted' : 'lost-update');
const outcomes = {
  'all-counted': 'ACCEPTABLE',
  'lost-update': { grade: 'FORBIDDEN', description: 'two workers read the same count: an increment was lost' },
} as const;

export const counter = defineScenario({
  id: 'counter',
  title: 'a shared request counter bumped with ++ by two workers',
  trialTimeoutMs: 5_000, // thousands of operations a trial: on a busy machine one may take seconds without being stuck
  state,
  actors: [serveRequests, serveRequests],
  arbiter,
  outcomes,
});

export const counterFixed = defineScenario({
  id: 'counter-fixed',
  title: 'a shared request counter bumped with Atomics.add by two workers',
  trialTimeoutMs: 5_000, // thousands of operations a trial: on a busy machine one may take seconds without being stuck
  state,
  actors: [serveRequestsFixed, serveRequestsFixed],
  arbiter,
  outcomes,
});
