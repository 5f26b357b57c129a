/**
 * Mutex: a futex-style lock whose lock word also names its holder.
 *
 * Layout (4 words, 16 bytes, 4-byte aligned; 64-byte aligned keeps it on its own cache line):
 *
 *   word 0  header      kind + layout version (region.ts)
 *   word 1  state       0 = unlocked
 *                       bits 0..27  holder tag (threadId + 1)
 *                       bit  28     reserved: HOLDER_DIED, for dead-holder recovery (coordinator)
 *                       bit  30     WAITERS: someone may be parked, unlock must notify
 *   word 2  epoch       acquisitions so far (wraps at 2^32); a fencing token for the current hold
 *   word 3  deaths      holds released because their holder thread died (see recoverDeadThread)
 *
 * Why the holder lives in the state word: taking the lock and recording who took it are one CAS,
 * so there is no instant at which the lock is held by nobody-knows-whom. A coordinator that sees a
 * dead thread's tag in the word knows for certain that the dead thread holds it (robust futexes
 * in Linux use the same trick).
 *
 * The algorithm is Drepper's three-state mutex ("Futexes Are Tricky", mutex 3) with the owner tag
 * in place of the "locked" value: uncontended lock and unlock are one CAS each and never call
 * into the kernel; a contended locker sets WAITERS before parking, and whoever unlocks a word with
 * WAITERS set wakes one parked thread.
 *
 * Memory ordering: every JS Atomics operation is sequentially consistent. The CAS that takes the
 * lock and the CAS/exchange that releases it are atomic operations on the same word, so every
 * plain write made inside the critical section happens-before the next holder's reads.
 */
import { IllegalStateError, NotOwnerError, type TimeoutError } from '../errors.js';
import { runHeld, runHeldAsync } from './guard.js';
import { SharedPrimitive } from './primitive.js';
import { type Placement, type PrimitiveHandle, attachRegion, claimRegion, defineSpec, publishHeader } from './region.js';
import { OWNER_MASK, SELF_TAG, assertMayBlock, threadIdOfTag } from './thread.js';
import { type AsyncWaitOptions, checkAsyncOptions, deadlineAfter } from './validate.js';
import { type ParkSteps, SPIN_LIMIT, isGiveUp, parkAsync, parkBlocking } from './wait.js';
import { type Holder, adoptFromDeadHolder, releaseDeadHold, stampEpoch } from './holder.js';

const STATE = 1;
const EPOCH = 2;
const DEATHS = 3;
const WAITERS = 1 << 30;

const SPEC = defineSpec({ kind: 'sabre/mutex', id: 1, layout: 1, words: 4, holderTag: (words) => Atomics.load(words, STATE) & OWNER_MASK });

/**
 * Package-internal: how sabre's own structures (the cache's locks) take a mutex, on any thread,
 * the main one included: they hold it for microseconds and never while user code runs, so a
 * main-thread caller of their synchronous API may wait that long, and always up to a deadline
 * (the caller's bound; `0` tries once). No epoch is stamped (nobody wants a fencing token there,
 * and a locked read then leaves every byte as it found it). True once held, false at the deadline.
 * Not exported from the package.
 */
export const acquireInternal: unique symbol = Symbol('sabre.mutex.acquireInternal');

/** The index of a mutex's state word within its region (word 0 is the header). */
export const MUTEX_STATE_WORD = STATE;

/**
 * The lock's fast path on a mutex's state word (`view[index]`, the region's word
 * {@link MUTEX_STATE_WORD}): one CAS from free to held by this thread. Every acquisition starts
 * with it; the cache's in-place set calls it on a stripe mutex through the cache's own view of
 * the buffer, so that its whole write is one flat function (cache/store.ts rewriteIfHeld).
 * Stamps no epoch (see {@link acquireInternal}).
 */
export function tryAcquireWord(view: Int32Array, index: number): boolean {
  return Atomics.compareExchange(view, index, 0, SELF_TAG) === 0;
}

/**
 * The release's fast path: one CAS from "held by this thread, nobody waiting" to free. False,
 * having changed nothing, when a waiter has announced itself (WAITERS) or this thread does not
 * hold the lock: then {@link Mutex.unlock} does the rest (or throws).
 */
export function releaseWordFast(view: Int32Array, index: number): boolean {
  return Atomics.compareExchange(view, index, SELF_TAG, 0) === SELF_TAG;
}

/** The structured-clonable handle of a {@link Mutex}. */
export type MutexHandle = PrimitiveHandle<'sabre/mutex'>;

/**
 * A mutual-exclusion lock in shared memory, usable from every thread of the process.
 *
 * Workers use the blocking forms (`lock`, `withLock`); the main thread uses `lockAsync` and
 * `withLockAsync`, which wait without blocking the event loop. Both kinds may contend for the
 * same mutex. Not reentrant: a thread that blocks on a mutex it already holds gets an error.
 *
 * @example
 * ```ts
 * const m = Mutex.create();
 * new Worker(file, { workerData: m.handle });     // in the worker: Mutex.attach(workerData)
 * await m.withLockAsync(() => { counter[0] += 1 });
 * ```
 */
export class Mutex extends SharedPrimitive<'sabre/mutex'> {
  /** Bytes the mutex occupies inside a caller's buffer. */
  static readonly BYTES = SPEC.words * 4;
  /** Required alignment of its byte offset (64 is better for a hot lock: its own cache line). */
  static readonly ALIGN = 4;

  private constructor(words: Int32Array) {
    super(SPEC, words, [STATE]);
  }

  /** Creates an unlocked mutex, in a new buffer or at `byteOffset` in a caller's zeroed buffer. */
  static create(placement?: Placement): Mutex {
    const view = claimRegion(SPEC, placement);
    publishHeader(SPEC, view);
    return new Mutex(view);
  }

  /** Attaches to a mutex created elsewhere (any thread) from its handle. */
  static attach(handle: MutexHandle): Mutex {
    return new Mutex(attachRegion(SPEC, handle));
  }

  /** Takes the lock if it is free; never waits. */
  tryLock(): boolean {
    if (!tryAcquireWord(this.words, STATE)) return false;
    this.#stampEpoch();
    return true;
  }

  /**
   * Takes the lock, waiting up to `timeoutMs` (default: forever). Returns false on timeout.
   * Workers only: on the main thread use {@link lockAsync}.
   */
  lock(timeoutMs?: number): boolean {
    const deadline = deadlineAfter(timeoutMs);
    if (timeoutMs !== 0) assertMayBlock('Mutex.lock()', 'Mutex.lockAsync()');
    if (this.tryLock()) return true;
    this.#refuseSelfDeadlock();
    if (!parkBlocking(this.words, this.#contended(), deadline)) return false;
    this.#stampEpoch();
    return true;
  }

  /** See {@link acquireInternal}. */
  [acquireInternal](deadline: number): boolean {
    if (tryAcquireWord(this.words, STATE)) return true;
    if (deadline <= performance.now()) return false;
    this.#refuseSelfDeadlock();
    return parkBlocking(this.words, this.#contended(), deadline);
  }

  /**
   * Takes the lock without blocking the event loop. Resolves to true once held, to false if
   * `timeoutMs` passes first; rejects with `signal.reason` if `signal` aborts first.
   */
  async lockAsync(options?: AsyncWaitOptions): Promise<boolean> {
    const { deadline, signal } = checkAsyncOptions(options);
    signal?.throwIfAborted();
    if (this.tryLock()) return true;
    if (!(await parkAsync(this.words, this.#contended(), deadline, signal))) return false;
    this.#stampEpoch();
    return true;
  }

  /** Releases the lock. Throws {@link NotOwnerError} (changing nothing) if this thread does not hold it. */
  unlock(): void {
    const view = this.words;
    // Fast path: one CAS both proves this thread holds the lock and, since nobody announced
    // themselves (no WAITERS), releases it with nobody to wake.
    if (releaseWordFast(view, STATE)) return;
    // The word is not SELF_TAG. If this thread does not hold the lock it cannot come to hold it
    // meanwhile; if it does, only WAITERS can be set, which only the holder clears.
    const state = Atomics.load(view, STATE);
    if ((state & OWNER_MASK) !== SELF_TAG) {
      throw new NotOwnerError(
        state === 0
          ? 'Mutex.unlock(): the mutex is not locked'
          : `Mutex.unlock(): the mutex is held by thread ${threadIdOfTag(state & OWNER_MASK)}, not by this thread`,
      );
    }
    // WAITERS is set. Only the holder changes a word that already has WAITERS, so the exchange
    // cannot lose anyone's update; it releases, then one parked thread is woken to compete.
    Atomics.exchange(view, STATE, 0);
    Atomics.notify(view, STATE, 1);
  }

  /** Runs `fn` holding the lock (blocking form, workers only); throws {@link TimeoutError} if not acquired in time. */
  withLock<T>(fn: () => T, timeoutMs?: number): T {
    return runHeld(
      'Mutex.withLock()',
      fn,
      () => this.lock(timeoutMs),
      () => this.unlock(),
      timeoutMs,
    );
  }

  /** Runs `fn` (sync or async) holding the lock, acquired with {@link lockAsync}; throws {@link TimeoutError} on timeout. */
  withLockAsync<T>(fn: () => T | PromiseLike<T>, options?: AsyncWaitOptions): Promise<T> {
    return runHeldAsync(
      'Mutex.withLockAsync()',
      fn,
      () => this.lockAsync(options),
      () => this.unlock(),
      options?.timeoutMs,
    );
  }

  /** Whether some thread holds the lock (a snapshot: it may change at once). */
  isLocked(): boolean {
    return Atomics.load(this.words, STATE) !== 0;
  }

  /** Whether this thread holds the lock. */
  isHeldByCurrentThread(): boolean {
    return (Atomics.load(this.words, STATE) & OWNER_MASK) === SELF_TAG;
  }

  /** The current holder, or null when unlocked (a snapshot: it may change at once). */
  holder(): Holder | null {
    const state = Atomics.load(this.words, STATE);
    if (state === 0) return null;
    return { threadId: threadIdOfTag(state & OWNER_MASK), epoch: this.words[EPOCH]! >>> 0 };
  }

  /**
   * How many times a holder died holding this mutex and the coordinator released it. A thread
   * that takes the lock can compare it with the count it saw before, to learn that whatever the
   * lock guards may have been left half-changed and must be checked.
   */
  get holderDeaths(): number {
    return Atomics.load(this.words, DEATHS);
  }

  protected override releaseDeadHold(threadId: number): boolean {
    return releaseDeadHold(this.words, STATE, DEATHS, threadId, {
      heldBy: (state, tag) => (state & OWNER_MASK) === tag,
      released: () => 0,
      wake: (state) => {
        if ((state & WAITERS) !== 0) Atomics.notify(this.words, STATE, 1);
      },
    });
  }

  /**
   * See {@link adoptFromDeadHolder}: if `threadId` holds the lock, this thread becomes its holder
   * (WAITERS kept, so its unlock wakes whoever queued meanwhile). True if it did.
   */
  [adoptFromDeadHolder](threadId: number): boolean {
    const adopted = releaseDeadHold(this.words, STATE, DEATHS, threadId, {
      heldBy: (state, tag) => (state & OWNER_MASK) === tag,
      released: (state) => SELF_TAG | (state & WAITERS),
      wake: () => {},
    });
    if (adopted) this.#stampEpoch();
    return adopted;
  }

  #stampEpoch(): void {
    stampEpoch(this.words, EPOCH);
  }

  #refuseSelfDeadlock(): void {
    if (this.isHeldByCurrentThread()) {
      throw new IllegalStateError('Mutex.lock(): this thread already holds the mutex; it is not reentrant and would wait forever');
    }
  }

  /**
   * The contended path. Giving up is safe at any park: before every park this thread has made
   * sure WAITERS is set on the word it parks on, so whoever unlocks it will wake a waiter even if
   * this one has left. A thread that was woken and then gives up has, by the same rule, set
   * WAITERS on the current holder's word before leaving, so the wake-up it used is not lost.
   */
  *#contended(): ParkSteps<boolean> {
    const view = this.words;
    for (let spin = 0; spin < SPIN_LIMIT; spin++) {
      if (Atomics.load(view, STATE) === 0 && Atomics.compareExchange(view, STATE, 0, SELF_TAG) === 0) return true;
    }
    for (;;) {
      let state = Atomics.load(view, STATE);
      if (state === 0) {
        // Having waited, take it with WAITERS set: others may still be parked, and our unlock must wake them.
        if (Atomics.compareExchange(view, STATE, 0, SELF_TAG | WAITERS) === 0) return true;
        continue;
      }
      if ((state & WAITERS) === 0) {
        if (Atomics.compareExchange(view, STATE, state, state | WAITERS) !== state) continue;
        state |= WAITERS;
      }
      if (isGiveUp(yield { index: STATE, value: state })) return false;
    }
  }
}
