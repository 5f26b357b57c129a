/**
 * Bug: double-checked lazy initialisation without a lock. Each worker checks a `ready` flag and,
 * seeing it unset, builds the shared lookup table itself: both workers can pass the check before
 * either sets the flag, and the table is built twice (twice the work, and a reader can see it
 * half rebuilt).
 * Fix: keep the fast-path check, but build under a Mutex and check the flag again once it is held.
 */
import { type ActorContext, defineScenario } from 'sabre/stress';
import { Mutex } from 'sabre';

const READY = 0;
const BUILDS = 1;
const TABLE = 2;
const SIZE = 4_096;

const state = () => ({ words: new Int32Array(new SharedArrayBuffer(4 * (TABLE + SIZE))), init: Mutex.create() });
type Ctx = ActorContext<Record<never, number>, undefined, ReturnType<typeof state>, Record<string, never>>;

/** Fills the table (the expensive part: each entry is a hundred-odd rounds of hashing) and counts how often it was built. */
function buildTable(words: Int32Array): void {
  Atomics.add(words, BUILDS, 1);
  for (let i = 0; i < SIZE; i++) {
    let h = i;
    for (let round = 0; round < 128; round++) h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d) + round;
    words[TABLE + i] = h;
  }
}

function table({ state, point }: Ctx): Int32Array {
  const { words } = state;
  if (Atomics.load(words, READY) === 0) {
    point(); // the other worker may be checking the flag right now
    buildTable(words);
    Atomics.store(words, READY, 1);
  }
  return words.subarray(TABLE);
}

function tableFixed({ state, point }: Ctx): Int32Array {
  const { words, init } = state;
  if (Atomics.load(words, READY) === 0) {
    point();
    init.lock();
    try {
      if (Atomics.load(words, READY) === 0) {
        buildTable(words);
        Atomics.store(words, READY, 1);
      }
    } finally {
      init.unlock();
    }
  }
  return words.subarray(TABLE);
}

/** A worker's first lookup: it finds the table missing and builds it. */
function lookup(ctx: Ctx): void {
  if (table(ctx)[ctx.actor] === undefined) throw new RangeError('the table is too small');
}

function lookupFixed(ctx: Ctx): void {
  if (tableFixed(ctx)[ctx.actor] === undefined) throw new RangeError('the table is too small');
}

const arbiter = ({ state }: Ctx) => (Atomics.load(state.words, BUILDS) === 1 ? 'built-once' : 'built-twice');
const outcomes = {
  'built-once': 'ACCEPTABLE',
  'built-twice': { grade: 'FORBIDDEN', description: 'both workers saw the table missing and built it' },
} as const;

export const lazyInit = defineScenario({
  id: 'lazy-init',
  title: 'a lazily built shared table, checked without a lock',
  state,
  actors: [lookup, lookup],
  arbiter,
  outcomes,
});

export const lazyInitFixed = defineScenario({
  id: 'lazy-init-fixed',
  title: 'a lazily built shared table, built under a mutex and checked again',
  state,
  actors: [lookupFixed, lookupFixed],
  arbiter,
  outcomes,
});
