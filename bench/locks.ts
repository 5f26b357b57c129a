/**
 * Lock benchmarks: sabre's primitives side by side with what a user would pick instead
 * (async-mutex) and with the bare Atomics they are built on, in one process run.
 *
 *   npm run bench            full run, writes bench/results/locks.{json,md}
 *   npm run bench -- --quick a few hundred ms per task (smoke test; numbers are noisy)
 */
import { Mutex as AsyncMutex } from 'async-mutex';
import { CondVar, Mutex, RwLock, Semaphore } from '../src/index.js';
import { Crew } from './support/crew.js';
import { Suite, quick } from './support/suite.js';
import { type Goal, type Row, speedGoal, writeReport, resultsDir } from './support/report.js';

const BATCH = 1_000; // operations per sample for the nanosecond-scale tasks
const ROUNDS = quick ? 200 : 2_000; // round trips per sample for the cross-thread tasks
const WORKER_BATCH = 100_000; // lock()+unlock() per sample in the worker

type Mode = 'bare' | 'condvar' | 'semaphore' | 'mutex-contended' | 'mutex-uncontended';

const HANDOFF = new URL('./workers/handoff.js', import.meta.url);

function crew(mode: Mode, size: 1 | 2): Crew {
  const shared = {
    mode,
    flag: new SharedArrayBuffer(16),
    mutex: Mutex.create().handle,
    condvar: CondVar.create().handle,
    semaphores: [Semaphore.create({ permits: 0, maxPermits: 1 }).handle, Semaphore.create({ permits: 0, maxPermits: 1 }).handle],
  };
  return new Crew(HANDOFF, size, () => shared);
}

const NAMES = {
  workerLock: 'sabre Mutex lock()+unlock(), in a worker',
  tryLock: 'sabre Mutex tryLock()+unlock(), main thread',
  bareCas: 'bare CAS lock + store unlock (floor)',
  readLock: 'sabre RwLock tryReadLock()+readUnlock()',
  semaphore: 'sabre Semaphore tryAcquire()+release()',
  lockAsync: 'sabre Mutex await lockAsync()+unlock(), main thread',
  withLockAsync: 'sabre Mutex await withLockAsync(fn), main thread',
  asyncMutex: 'async-mutex await runExclusive(fn)',
  bare: 'handoff: bare Atomics.wait/notify ping-pong (round trip)',
  semaphorePair: 'handoff: sabre Semaphore pair ping-pong (round trip)',
  condvar: 'handoff: sabre Mutex+CondVar turn-taking (round trip)',
  contended: 'sabre Mutex lock()+unlock(), 2 workers contending (per acquisition)',
} as const;

async function main(): Promise<void> {
  const suite = new Suite('locks');
  const add = suite.add.bind(suite);

  const crews = {
    uncontended: crew('mutex-uncontended', 1),
    bare: crew('bare', 2),
    semaphore: crew('semaphore', 2),
    condvar: crew('condvar', 2),
    contended: crew('mutex-contended', 2),
  };

  const mutex = Mutex.create();
  const rwlock = RwLock.create();
  const semaphore = Semaphore.create({ permits: 1 });
  const word = new Int32Array(new SharedArrayBuffer(4));
  const asyncMutex = new AsyncMutex();
  const noop = (): void => {};

  add(NAMES.workerLock, WORKER_BATCH, () => crews.uncontended.batch(WORKER_BATCH));
  add(NAMES.tryLock, BATCH, () => {
    for (let i = 0; i < BATCH; i++) {
      mutex.tryLock();
      mutex.unlock();
    }
  });
  add(NAMES.bareCas, BATCH, () => {
    for (let i = 0; i < BATCH; i++) {
      Atomics.compareExchange(word, 0, 0, 1);
      Atomics.store(word, 0, 0);
    }
  });
  add(NAMES.readLock, BATCH, () => {
    for (let i = 0; i < BATCH; i++) {
      rwlock.tryReadLock();
      rwlock.readUnlock();
    }
  });
  add(NAMES.semaphore, BATCH, () => {
    for (let i = 0; i < BATCH; i++) {
      semaphore.tryAcquire();
      semaphore.release();
    }
  });
  add(NAMES.lockAsync, BATCH, async () => {
    for (let i = 0; i < BATCH; i++) {
      await mutex.lockAsync();
      mutex.unlock();
    }
  });
  add(NAMES.withLockAsync, BATCH, async () => {
    for (let i = 0; i < BATCH; i++) await mutex.withLockAsync(noop);
  });
  add(NAMES.asyncMutex, BATCH, async () => {
    for (let i = 0; i < BATCH; i++) await asyncMutex.runExclusive(noop);
  });
  add(NAMES.bare, ROUNDS, () => crews.bare.batch(ROUNDS));
  add(NAMES.semaphorePair, ROUNDS, () => crews.semaphore.batch(ROUNDS));
  add(NAMES.condvar, ROUNDS, () => crews.condvar.batch(ROUNDS));
  // Each of the two workers takes the lock ROUNDS times: 2 * ROUNDS acquisitions per sample.
  add(NAMES.contended, 2 * ROUNDS, () => crews.contended.batch(ROUNDS));

  const rows: Row[] = await suite.run();
  await Promise.all(Object.values(crews).map((crew) => crew.close()));

  const goals: Goal[] = [
    speedGoal('uncontended lock+unlock (worker) vs async-mutex runExclusive', rows, NAMES.workerLock, NAMES.asyncMutex, 20),
    speedGoal('uncontended tryLock+unlock (main thread) vs async-mutex runExclusive', rows, NAMES.tryLock, NAMES.asyncMutex, 20),
    speedGoal('contended handoff (Semaphore pair) vs bare wait/notify ping-pong: within 2x', rows, NAMES.semaphorePair, NAMES.bare, 0.5),
    speedGoal('contended handoff (Mutex+CondVar) vs bare wait/notify ping-pong: within 2x', rows, NAMES.condvar, NAMES.bare, 0.5),
    speedGoal('async acquire on the main thread (lockAsync) vs async-mutex runExclusive', rows, NAMES.lockAsync, NAMES.asyncMutex, 1),
  ];
  const notes = [
    'All rows come from one process run; ratios between rows are what matters, absolute times drift ±30 % between runs on shared machines.',
    `Nanosecond-scale rows time a batch of ${BATCH} operations per sample (the worker row ${WORKER_BATCH}); cross-thread rows ${ROUNDS} round trips per sample. Every row is divided back to one operation.`,
    'A round trip is two handoffs: each side wakes the other once.',
    quick ? 'QUICK RUN: short sampling, for smoke-testing only.' : 'Full run.',
  ];
  const markdown = writeReport(resultsDir(), quick ? 'locks-quick' : 'locks', 'sabre lock benchmarks', rows, goals, notes);
  console.log(markdown);
}

await main();
