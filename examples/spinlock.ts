/**
 * Bug: a hand-made spinlock that waits for the lock word to read 0, then stores 1. Between the
 * load and the store the other worker can do the same: both believe they hold the lock.
 * Fix: take the lock with `Atomics.compareExchange(word, 0, 0, 1)`, which only one worker can win.
 */
import { type ActorContext, defineScenario } from 'sabre/stress';

const LOCK = 0; // 0 free, 1 held
const INSIDE = 1; // workers inside the critical section right now
const OVERLAPS = 2; // times a worker found another one inside
const ROUNDS = 10_000;

const state = () => ({ words: new Int32Array(new SharedArrayBuffer(12)) });
type Ctx = ActorContext<Record<never, number>, undefined, ReturnType<typeof state>, Record<string, never>>;

function spinLock(words: Int32Array, point: () => void): void {
  while (Atomics.load(words, LOCK) !== 0) {
    // busy-wait until the lock looks free
  }
  point(); // the other worker may see it free too
  Atomics.store(words, LOCK, 1);
}

function spinLockFixed(words: Int32Array): void {
  while (Atomics.compareExchange(words, LOCK, 0, 1) !== 0) {
    // busy-wait until this worker is the one that turned 0 into 1
  }
}

function spinUnlock(words: Int32Array): void {
  Atomics.store(words, LOCK, 0);
}

/** The critical section: notes whether another worker is inside at the same time. */
function critical(words: Int32Array, point: () => void): void {
  if (Atomics.add(words, INSIDE, 1) !== 0) Atomics.add(words, OVERLAPS, 1);
  point();
  Atomics.sub(words, INSIDE, 1);
}

function worker({ state, point }: Ctx): void {
  for (let i = 0; i < ROUNDS; i++) {
    spinLock(state.words, point);
    critical(state.words, point);
    spinUnlock(state.words);
  }
}

function workerFixed({ state, point }: Ctx): void {
  for (let i = 0; i < ROUNDS; i++) {
    spinLockFixed(state.words);
    critical(state.words, point);
    spinUnlock(state.words);
  }
}

const arbiter = ({ state }: Ctx) => (Atomics.load(state.words, OVERLAPS) === 0 ? 'exclusive' : 'both-inside');
const outcomes = {
  exclusive: 'ACCEPTABLE',
  'both-inside': { grade: 'FORBIDDEN', description: 'two workers were inside the critical section at once' },
} as const;

export const spinlock = defineScenario({
  id: 'spinlock',
  title: 'a spinlock taken with load-then-store',
  trialTimeoutMs: 5_000, // thousands of operations a trial: on a busy machine one may take seconds without being stuck
  state,
  actors: [worker, worker],
  arbiter,
  outcomes,
});

export const spinlockFixed = defineScenario({
  id: 'spinlock-fixed',
  title: 'a spinlock taken with compareExchange',
  trialTimeoutMs: 5_000, // thousands of operations a trial: on a busy machine one may take seconds without being stuck
  state,
  actors: [workerFixed, workerFixed],
  arbiter,
  outcomes,
});
