/**
 * CondVar: a condition variable for sabre Mutexes, built on a sequence counter.
 *
 * Layout (3 words, 12 bytes, 4-byte aligned):
 *
 *   word 0  header
 *   word 1  sequence   bumped by every notify; waiters park on the value they read
 *   word 2  waiters    threads inside wait(); lets notify skip the wake call when nobody waits
 *
 * Why no wake-up is lost: a waiter reads `sequence` while it still holds the mutex, then unlocks
 * and parks on that value. A notify after the unlock bumps `sequence` before waking, so either
 * the park sees a changed value and returns at once, or the waiter is already parked and is woken.
 *
 * Memory ordering: the waiter increments `waiters` before reading `sequence`; a notifier bumps
 * `sequence` before reading `waiters`. In the seq-cst total order one of them sees the other, so a
 * notifier that skips the wake call (waiters = 0) did so before the waiter read the sequence,
 * i.e. the notify happened before the wait began, which is a notify nobody was owed.
 *
 * As with every condition variable, a wait can return without the condition being true (another
 * waiter got there first, or notifyOne raced a new waiter): callers re-check their predicate in a
 * loop.
 */
import { InvalidArgumentError, NotOwnerError } from '../errors.js';
import { Mutex } from './mutex.js';
import { SharedPrimitive } from './primitive.js';
import { type Placement, type PrimitiveHandle, attachRegion, claimRegion, defineSpec, publishHeader } from './region.js';
import { assertMayBlock } from './thread.js';
import { type AsyncWaitOptions, checkAsyncOptions, deadlineAfter, describeValue } from './validate.js';
import { type ParkSteps, isGiveUp, parkAsync, parkBlocking } from './wait.js';

const SEQUENCE = 1;
const WAITERS = 2;

const SPEC = defineSpec({ kind: 'sabre/condvar', id: 5, layout: 1, words: 3 });

/** The structured-clonable handle of a {@link CondVar}. */
export type CondVarHandle = PrimitiveHandle<'sabre/condvar'>;

function checkMutex(mutex: unknown, what: string): Mutex {
  if (!(mutex instanceof Mutex)) throw new InvalidArgumentError(`${what}: mutex must be a sabre Mutex, got ${describeValue(mutex)}`);
  return mutex;
}

/** A condition variable usable from every thread, paired with a {@link Mutex} at each wait. */
export class CondVar extends SharedPrimitive<'sabre/condvar'> {
  /** Bytes the condvar occupies inside a caller's buffer. */
  static readonly BYTES = SPEC.words * 4;
  /** Required alignment of its byte offset. */
  static readonly ALIGN = 4;

  private constructor(words: Int32Array) {
    super(SPEC, words, [SEQUENCE]);
  }

  /** Creates a condition variable. */
  static create(placement?: Placement): CondVar {
    const view = claimRegion(SPEC, placement);
    publishHeader(SPEC, view);
    return new CondVar(view);
  }

  /** Attaches to a condvar created elsewhere from its handle. */
  static attach(handle: CondVarHandle): CondVar {
    return new CondVar(attachRegion(SPEC, handle));
  }

  /**
   * Releases `mutex` (which this thread must hold), waits for a notify up to `timeoutMs`, and
   * re-acquires `mutex` before returning, whatever happens. Returns false on timeout. Workers only.
   */
  wait(mutex: Mutex, timeoutMs?: number): boolean {
    checkMutex(mutex, 'CondVar.wait()');
    const deadline = deadlineAfter(timeoutMs);
    // Always refused on the main thread, even with a zero timeout: re-acquiring the mutex may block.
    assertMayBlock('CondVar.wait()', 'CondVar.waitAsync()');
    const sequence = this.#enter(mutex);
    try {
      return parkBlocking(this.words, this.#untilNotified(sequence), deadline);
    } finally {
      this.#leave();
      mutex.lock();
    }
  }

  /**
   * The async form of {@link wait}: resolves to false on timeout; on abort rejects with
   * `signal.reason`. In every case `mutex` is held again when the promise settles.
   */
  async waitAsync(mutex: Mutex, options?: AsyncWaitOptions): Promise<boolean> {
    checkMutex(mutex, 'CondVar.waitAsync()');
    const { deadline, signal } = checkAsyncOptions(options);
    signal?.throwIfAborted();
    const sequence = this.#enter(mutex);
    try {
      return await parkAsync(this.words, this.#untilNotified(sequence), deadline, signal);
    } finally {
      this.#leave();
      await mutex.lockAsync();
    }
  }

  /** Wakes one waiter (if any). */
  notifyOne(): void {
    this.#notify(1);
  }

  /** Wakes every waiter. */
  notifyAll(): void {
    this.#notify(Infinity);
  }

  /** Threads currently inside wait()/waitAsync() (a snapshot). */
  get waiters(): number {
    return Atomics.load(this.words, WAITERS);
  }

  #notify(count: number): void {
    Atomics.add(this.words, SEQUENCE, 1);
    if (Atomics.load(this.words, WAITERS) > 0) Atomics.notify(this.words, SEQUENCE, count);
  }

  /** Announces the waiter and reads the sequence while the mutex is still held, then releases it. */
  #enter(mutex: Mutex): number {
    if (!mutex.isHeldByCurrentThread()) throw new NotOwnerError('CondVar.wait(): this thread must hold the mutex it waits with');
    Atomics.add(this.words, WAITERS, 1);
    const sequence = Atomics.load(this.words, SEQUENCE);
    mutex.unlock();
    return sequence;
  }

  #leave(): void {
    Atomics.sub(this.words, WAITERS, 1);
  }

  /**
   * Parks on the sequence read under the mutex. A changed value is a notify that came after the
   * unlock. A slice that ends with the sequence moved on is one too: a notifyOne whose wake-up
   * went to a waiter that was terminated before it ran reaches the others that way, as a
   * spurious wake-up (which every caller's predicate loop already allows for).
   */
  *#untilNotified(sequence: number): ParkSteps<boolean> {
    for (;;) {
      const reason = yield { index: SEQUENCE, value: sequence };
      if (isGiveUp(reason)) return false;
      if (reason !== 'recheck' || Atomics.load(this.words, SEQUENCE) !== sequence) return true;
    }
  }
}
