/**
 * Bug: a position record of two words (x, y) that one worker updates and another reads, each
 * word on its own. The reader can see the new x with the old y: a position that never existed.
 * Fix: guard the record with a sabre RwLock (the writer takes it to write, the reader to read).
 */
import { type ActorContext, defineScenario } from 'sabre/stress';
import { RwLock } from 'sabre';

const X = 0;
const Y = 1;
const TORN = 2;
const MOVES = 5_000;

// The object moves along the diagonal: x === y in every position it ever has.
const state = () => ({ record: new Int32Array(new SharedArrayBuffer(12)), lock: RwLock.create() });
type Ctx = ActorContext<Record<never, number>, undefined, ReturnType<typeof state>, Record<string, never>>;

function move({ state, point }: Ctx): void {
  const { record } = state;
  for (let step = 1; step <= MOVES; step++) {
    Atomics.store(record, X, step);
    point();
    Atomics.store(record, Y, step);
  }
}

function moveFixed({ state, point }: Ctx): void {
  const { record, lock } = state;
  for (let step = 1; step <= MOVES; step++) {
    lock.writeLock();
    try {
      Atomics.store(record, X, step);
      point();
      Atomics.store(record, Y, step);
    } finally {
      lock.writeUnlock();
    }
  }
}

function track({ state, point }: Ctx): void {
  const { record } = state;
  for (let i = 0; i < MOVES; i++) {
    const x = Atomics.load(record, X);
    point();
    const y = Atomics.load(record, Y);
    if (x !== y) Atomics.add(record, TORN, 1);
  }
}

function trackFixed({ state, point }: Ctx): void {
  const { record, lock } = state;
  for (let i = 0; i < MOVES; i++) {
    lock.readLock();
    try {
      const x = Atomics.load(record, X);
      point();
      const y = Atomics.load(record, Y);
      if (x !== y) Atomics.add(record, TORN, 1);
    } finally {
      lock.readUnlock();
    }
  }
}

const arbiter = ({ state }: Ctx) => (Atomics.load(state.record, TORN) === 0 ? 'consistent' : 'torn-read');
const outcomes = {
  consistent: 'ACCEPTABLE',
  'torn-read': { grade: 'FORBIDDEN', description: 'the reader saw x of one position and y of another' },
} as const;

export const tornRead = defineScenario({
  id: 'torn-read',
  title: 'a two-word record written and read word by word',
  trialTimeoutMs: 5_000, // thousands of operations a trial: on a busy machine one may take seconds without being stuck
  state,
  actors: [move, track],
  arbiter,
  outcomes,
});

export const tornReadFixed = defineScenario({
  id: 'torn-read-fixed',
  title: 'a two-word record guarded by an RwLock',
  trialTimeoutMs: 5_000, // thousands of operations a trial: on a busy machine one may take seconds without being stuck
  state,
  actors: [moveFixed, trackFixed],
  arbiter,
  outcomes,
});
