/**
 * The cache's locks as its operations take them: every wait bounded, on every thread.
 *
 * Lock order (store.ts): a stripe mutex, then the structure mutex; holding the structure mutex,
 * another stripe only by tryLock. Holders never block and never run user code, so these locks
 * are held for microseconds. A wait of `lockTimeoutMs` therefore means the holder is stuck or
 * dead, and the waiter gives up with a {@link LockUnavailableError} instead of waiting on:
 *
 * - On the main thread an unbounded wait could never end. A dead worker's locks are recovered
 *   from its Worker's `'exit'` event, which the main thread's event loop delivers, and that loop
 *   does not turn while the main thread is parked in `Atomics.wait`.
 * - On a worker it bounds the damage of a dead thread nobody recovers (plain worker_threads
 *   without `recoverDeadThread`): a typed error instead of a hang.
 *
 * On the main thread a holder that let one wait run out is not waited for again in the same turn
 * of the event loop, on any of the cache's locks: its recovery cannot have run meanwhile (it
 * needs that loop), so a second wait would only freeze the thread for another `lockTimeoutMs`.
 * Later calls in the turn that meet that holder fail at once, until the loop turns (a main thread
 * that made three calls in one turn froze for 3x the bound before).
 *
 * Every caller takes its locks before it changes anything, so a call that gives up has changed
 * nothing. Acquisitions stamp no epoch (mutex.ts `acquireInternal`): a call that only locked and
 * read leaves every byte as it found it.
 */
import { isMainThread } from 'node:worker_threads';
import { LockUnavailableError } from '../errors.js';
import { type Mutex, acquireInternal } from '../shared/mutex.js';
import type { Store } from './store.js';

/** Main thread: the threads that held a cache lock through a whole wait in this turn of the event loop. */
const stalledThisTurn = new Set<number>();
let forgetScheduled = false;

function noteStalled(holderThreadId: number): void {
  stalledThisTurn.add(holderThreadId);
  if (forgetScheduled) return;
  forgetScheduled = true;
  // setImmediate runs after the loop's poll phase, where a dead worker's 'exit' (and so its
  // recovery) is delivered.
  setImmediate(() => {
    stalledThisTurn.clear();
    forgetScheduled = false;
  }).unref();
}

export class CacheLocks {
  readonly #store: Store;
  readonly #timeoutMs: number;

  constructor(store: Store) {
    this.#store = store;
    this.#timeoutMs = store.shape.lockTimeoutMs;
  }

  /** Takes `stripe`'s mutex, waiting up to the bound. True if it had to wait (contention). */
  lockStripe(stripe: number): boolean {
    const lock = this.#store.stripeLocks[stripe]!;
    if (lock[acquireInternal](0)) return false;
    this.#wait(lock, `index stripe ${stripe}`);
    return true;
  }

  /** Takes `stripe`'s mutex only if it is free now (the structure mutex's holder claiming a victim's stripe). */
  tryLockStripe(stripe: number): boolean {
    return this.#store.stripeLocks[stripe]![acquireInternal](0);
  }

  unlockStripe(stripe: number): void {
    this.#store.stripeLocks[stripe]!.unlock();
  }

  /** Takes every stripe mutex in ascending order (the only order in which several are ever waited for); all or none. */
  lockAllStripes(): void {
    const stripes = this.#store.shape.stripes;
    for (let stripe = 0; stripe < stripes; stripe++) {
      try {
        this.lockStripe(stripe);
      } catch (error) {
        for (let held = stripe - 1; held >= 0; held--) this.unlockStripe(held);
        throw error;
      }
    }
  }

  unlockAllStripes(): void {
    for (let stripe = this.#store.shape.stripes - 1; stripe >= 0; stripe--) this.unlockStripe(stripe);
  }

  lockStructure(): void {
    const lock = this.#store.structure;
    if (!lock[acquireInternal](0)) this.#wait(lock, 'structure');
  }

  unlockStructure(): void {
    this.#store.structure.unlock();
  }

  /** Runs `fn` holding the structure mutex. */
  withStructure<T>(fn: () => T): T {
    this.lockStructure();
    try {
      return fn();
    } finally {
      this.unlockStructure();
    }
  }

  #wait(lock: Mutex, what: string): void {
    const stalled = lock.holder()?.threadId;
    if (stalled !== undefined && stalledThisTurn.has(stalled)) {
      throw new LockUnavailableError(
        `SharedCache: the ${what} lock is still held by thread ${stalled}, which already let a wait of ${this.#timeoutMs} ms run out in this ` +
          "turn of the event loop; nothing was changed. Yield to the event loop (a dead worker's recovery runs there) and retry.",
        stalled,
      );
    }
    if (lock[acquireInternal](performance.now() + this.#timeoutMs)) return;
    const holder = lock.holder();
    if (isMainThread && holder !== null) noteStalled(holder.threadId);
    throw new LockUnavailableError(
      `SharedCache: the ${what} lock was held by ${holder ? `thread ${holder.threadId}` : 'another thread'} for over ${this.#timeoutMs} ms ` +
        '(the lockTimeoutMs option); its holder is stuck or has died. Nothing was changed. A sabre pool recovers a dead ' +
        "worker's locks once the main thread's event loop runs: yield to it and retry; with plain worker_threads call " +
        "cache.recoverDeadThread(threadId) from the Worker's 'exit' event.",
      holder?.threadId ?? null,
    );
  }
}
