/**
 * A waiter terminated while it is being woken strands nobody (jcstress style: each test states
 * the only allowed outcome, "every other waiter gets through").
 *
 * The race: the releaser's wake-up goes to the first parked waiter, and that waiter dies at the
 * same instant, before or after it ran. A dead thread changes nothing in shared memory, so if the
 * wake-up died with it nobody else is told. Each trial parks the doomed waiter first (so a
 * wake-one picks it), then kills it one of three ways, in turn: at the wait core's fault point
 * `park:woken` (it dies the moment the release wakes it: the race made certain), or by
 * `terminate()` right before or right after the release (the race as it comes). For `park:woken`
 * the doomed waiter parks in one long slice (the test seam `setParkSliceForTesting`): a re-park
 * goes to the tail of the futex queue, so with the default 20 ms slices the wake-one went to
 * whichever waiter had re-parked least recently, and the test's own timing made that the other
 * one often enough to miss 40 attempts in a row on a loaded host. The others keep the default
 * slices, which is one of the two defences under test. Waiters wait at most 10 s: a stranded one
 * reports `through: false` and the test fails instead of hanging.
 *
 * Two defences hold this, and each is enough on its own (checked by disabling the other): bounded
 * parks that re-check (wait.ts), and `recoverOnExit`, which wakes every waiter again once the
 * doomed thread has exited (and releases a lock it may have taken before dying).
 */
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { Barrier, CondVar, Latch, Mutex, RwLock, Semaphore, recoverOnExit, type Recoverable } from '../src/index.js';
import { settle, stateWord, until } from './support/threads.js';

const WAITER = new URL('../dist/test/workers/waiter.js', import.meta.url);
const TIMEOUT_MS = 10_000;
const TRIALS = 6;

interface Waiter {
  readonly worker: Worker;
  /** Settles when the waiter is about to park. */
  readonly parking: Promise<void>;
  readonly result: Promise<{ through: boolean } | 'died'>;
}

function startWaiter(form: string, data: Record<string, unknown>, faultPoint?: string): Waiter {
  const env = faultPoint === undefined ? process.env : { ...process.env, SABRE_FAULT_POINT: faultPoint };
  const worker = new Worker(WAITER, { workerData: { form, timeoutMs: TIMEOUT_MS, ...data }, env });
  let parked: () => void = () => {};
  const parking = new Promise<void>((resolve) => (parked = resolve));
  const result = new Promise<{ through: boolean } | 'died'>((resolve, reject) => {
    worker.on('message', (message: 'parking' | { through: boolean }) => (message === 'parking' ? parked() : resolve(message)));
    worker.once('error', reject);
    worker.once('exit', () => resolve('died'));
  });
  return { worker, parking, result };
}

/** How trial `n` kills its doomed waiter. */
function death(n: number): 'woken' | 'before' | 'after' {
  return (['woken', 'before', 'after'] as const)[n % 3]!;
}

/** One trial's parts: a fresh primitive, the doomed waiter's form, who else waits, how to release. */
interface Setup {
  readonly form: string;
  readonly data: Record<string, unknown>;
  /** Whether the doomed waiter has announced itself on the primitive (it parks right after). */
  readonly parked: () => boolean;
  readonly others: () => Waiter[];
  readonly release: () => void | Promise<unknown>;
  readonly recover: Recoverable[];
  /** What must hold after the trial, besides every other waiter getting through. */
  readonly after?: () => void;
}

/** Parks the doomed waiter, then the others, releases, and kills the doomed one as trial `n` says. */
async function trial(n: number, setup: Setup): Promise<{ outcomes: Array<{ through: boolean } | 'died'>; doomedDied: boolean }> {
  const woken = death(n) === 'woken';
  const doomed = startWaiter(setup.form, woken ? { ...setup.data, parkSliceMs: TIMEOUT_MS } : setup.data, woken ? 'park:woken' : undefined);
  await doomed.parking;
  await until(setup.parked, 'the doomed waiter parked', 10_000);
  await settle(30);
  const others = setup.others();
  await Promise.all(others.map((w) => w.parking));
  await settle(60);
  const recovered = recoverOnExit(doomed.worker, setup.recover);
  let released: void | Promise<unknown>;
  if (death(n) === 'before') {
    void doomed.worker.terminate();
    released = setup.release();
  } else {
    released = setup.release();
    if (death(n) === 'after') void doomed.worker.terminate();
  }
  const doomedDied = (await doomed.result) === 'died';
  await released;
  await recovered;
  return { outcomes: await Promise.all(others.map((w) => w.result)), doomedDied };
}

/**
 * Runs trial `n` until its race happened: a waiter armed to die when woken must be the one a
 * wake-one picks. It parks first and never re-parks, so it is at the head of the queue unless the
 * host was so slow that `settle` ended before it reached its park; a 'woken' trial is repeated
 * (on a fresh primitive) until the doomed waiter did die, up to 5 times. Every attempt must let
 * every other waiter through.
 */
async function check(n: number, setup: () => Setup): Promise<void> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const parts = setup();
    const { outcomes, doomedDied } = await trial(n, parts);
    expect(outcomes).toEqual(outcomes.map(() => ({ through: true })));
    parts.after?.();
    if (death(n) !== 'woken' || doomedDied) return;
  }
  throw new Error('in 5 attempts the wake-up never went to the waiter armed to die when woken');
}

const WAITERS = 1 << 30;
const WRITERS_WAITING = 1 << 30;
const READERS_WAITING = 1 << 29;
const trials = Array.from({ length: TRIALS }, (_, n) => n);

describe('a waiter terminated while being woken strands nobody', () => {
  it.each(trials)('Mutex (trial %i)', (n) =>
    check(n, () => {
      const mutex = Mutex.create();
      expect(mutex.tryLock()).toBe(true);
      return {
        form: 'mutex',
        data: { handle: mutex.handle },
        parked: () => (stateWord(mutex.handle) & WAITERS) !== 0,
        others: () => [startWaiter('mutex', { handle: mutex.handle }), startWaiter('mutex', { handle: mutex.handle })],
        release: () => mutex.unlock(),
        recover: [mutex],
        after: () => expect(mutex.isLocked()).toBe(false),
      };
    }),
  );

  it.each(trials)('RwLock, a writer woken to take the lock (trial %i)', (n) =>
    check(n, () => {
      const lock = RwLock.create();
      expect(lock.tryWriteLock()).toBe(true);
      return {
        form: 'write',
        data: { handle: lock.handle },
        parked: () => (stateWord(lock.handle) & WRITERS_WAITING) !== 0,
        others: () => [
          startWaiter('write', { handle: lock.handle }),
          startWaiter('read', { handle: lock.handle }),
          startWaiter('read', { handle: lock.handle }),
        ],
        release: () => lock.writeUnlock(),
        recover: [lock],
        after: () => expect(lock.isWriteLocked()).toBe(false),
      };
    }),
  );

  // (A reader that died holding its read lock cannot be told from a live one, so the count may
  // keep it: README, "When a thread dies". The live waiters get through regardless.)
  it.each(trials)('RwLock, readers woken together (trial %i)', (n) =>
    check(n, () => {
      const lock = RwLock.create();
      expect(lock.tryWriteLock()).toBe(true);
      return {
        form: 'read',
        data: { handle: lock.handle },
        parked: () => (stateWord(lock.handle) & READERS_WAITING) !== 0,
        others: () => [startWaiter('read', { handle: lock.handle }), startWaiter('read', { handle: lock.handle })],
        release: () => lock.writeUnlock(),
        recover: [lock],
      };
    }),
  );

  it.each(trials)('Semaphore (trial %i)', (n) =>
    check(n, () => {
      const semaphore = Semaphore.create({ permits: 0, maxPermits: 3 });
      return {
        form: 'semaphore',
        data: { handle: semaphore.handle },
        parked: () => Atomics.load(new Int32Array(semaphore.handle.buffer, semaphore.handle.byteOffset, 4), 2) > 0,
        others: () => [startWaiter('semaphore', { handle: semaphore.handle }), startWaiter('semaphore', { handle: semaphore.handle })],
        release: () => semaphore.release(3),
        recover: [semaphore],
      };
    }),
  );

  it.each(trials)('CondVar, notifyOne (trial %i)', (n) =>
    check(n, () => {
      const mutex = Mutex.create();
      const cv = CondVar.create();
      const flag = new SharedArrayBuffer(4);
      const data = { handle: cv.handle, mutex: mutex.handle, flag };
      return {
        form: 'condvar',
        data,
        parked: () => cv.waiters === 1,
        others: () => [startWaiter('condvar', data)],
        release: async () => {
          await mutex.lockAsync();
          Atomics.store(new Int32Array(flag), 0, 1);
          cv.notifyOne(); // one wake-up, for the first waiter: the doomed one
          mutex.unlock();
        },
        recover: [mutex, cv],
        after: () => expect(mutex.isLocked()).toBe(false),
      };
    }),
  );

  it.each(trials)('Latch (trial %i)', (n) =>
    check(n, () => {
      const latch = Latch.create({ count: 1 });
      return {
        form: 'latch',
        data: { handle: latch.handle },
        parked: () => true, // a latch counts no waiters: the pause after 'parking' lets it park
        others: () => [startWaiter('latch', { handle: latch.handle })],
        release: () => latch.countDown(),
        recover: [latch],
      };
    }),
  );

  it.each(trials)('Barrier (trial %i)', (n) =>
    check(n, () => {
      const barrier = Barrier.create({ parties: 3 });
      return {
        form: 'barrier',
        data: { handle: barrier.handle },
        parked: () => Atomics.load(new Int32Array(barrier.handle.buffer, barrier.handle.byteOffset, 4), 2) === 1, // it arrived
        others: () => [startWaiter('barrier', { handle: barrier.handle })],
        release: () => barrier.arriveAndWaitAsync({ timeoutMs: TIMEOUT_MS }),
        recover: [barrier],
      };
    }),
  );
});

describe('an aborted async waiter does not take a blocking waiter of its own thread down with it', () => {
  it('a worker aborts lockAsync, then blocks in lock() on the same mutex: it gets the lock once it is free', async () => {
    const mutex = Mutex.create();
    expect(mutex.tryLock()).toBe(true);
    const waiter = startWaiter('abortThenBlock', { handle: mutex.handle });
    await until(() => (stateWord(mutex.handle) & WAITERS) !== 0, 'the worker parked');
    await settle(150); // both its abandoned async waiter and its blocking one are queued, the async one first
    mutex.unlock(); // wakes one: the abandoned async waiter, whose thread is blocked and cannot pass it on
    expect(await waiter.result).toEqual({ through: true });
  });
});
