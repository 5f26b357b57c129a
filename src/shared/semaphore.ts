/**
 * Semaphore: a counting semaphore in shared memory.
 *
 * Layout (4 words, 16 bytes, 4-byte aligned):
 *
 *   word 0  header
 *   word 1  permits     available now, 0..maxPermits
 *   word 2  waiters     threads parked (or about to park) on `permits`
 *   word 3  maxPermits  the ceiling release() may not pass (fixed at creation)
 *
 * Acquirers of different sizes wait on the same word, so release() wakes every parked acquirer
 * (each re-checks whether its `n` now fits); the `waiters` word lets an uncontended release skip
 * the notify call entirely.
 *
 * Memory ordering: an acquirer increments `waiters` and only then re-reads `permits`; a releaser
 * adds to `permits` and only then reads `waiters`. Both are seq-cst, so in their single total
 * order at least one of them sees the other: either the acquirer sees the new permits and does
 * not park, or the releaser sees a waiter and notifies. No wake-up can fall between the two.
 *
 * Not fair: a large acquire may wait while smaller ones keep succeeding.
 */
import { IllegalStateError } from '../errors.js';
import { runHeld, runHeldAsync } from './guard.js';
import { SharedPrimitive } from './primitive.js';
import { type Placement, type PrimitiveHandle, attachRegion, claimRegion, defineSpec, publishHeader } from './region.js';
import { assertMayBlock } from './thread.js';
import { type AsyncWaitOptions, checkAsyncOptions, checkInteger, deadlineAfter, readOptions } from './validate.js';
import { type ParkSteps, type WakeReason, broadcastNeedsNoPassOn, isGiveUp, parkAsync, parkBlocking } from './wait.js';

const PERMITS = 1;
const WAITERS = 2;
const MAX = 3;
const LIMIT = 0x7fff_ffff;

const SPEC = defineSpec({ kind: 'sabre/semaphore', id: 3, layout: 1, words: 4 });

/** The structured-clonable handle of a {@link Semaphore}. */
export type SemaphoreHandle = PrimitiveHandle<'sabre/semaphore'>;

/** Options of {@link Semaphore.create}. */
export interface SemaphoreOptions extends Placement {
  /** Permits available at the start (integer >= 0). */
  permits: number;
  /** The most permits there may ever be; release() past it is an error. Default: `permits`, or 2^31-1 when `permits` is 0. */
  maxPermits?: number;
}

/** A counting semaphore usable from every thread: blocking forms for workers, async forms for the main thread. */
export class Semaphore extends SharedPrimitive<'sabre/semaphore'> {
  /** Bytes the semaphore occupies inside a caller's buffer. */
  static readonly BYTES = SPEC.words * 4;
  /** Required alignment of its byte offset. */
  static readonly ALIGN = 4;

  private constructor(words: Int32Array) {
    super(SPEC, words, [PERMITS]);
  }

  /** Creates a semaphore with `permits` available. */
  static create(options: SemaphoreOptions): Semaphore {
    const o = readOptions(options, ['permits', 'maxPermits', 'buffer', 'byteOffset'], 'Semaphore.create() options');
    const permits = checkInteger(o.permits, 'permits', 0, LIMIT);
    const maxPermits = checkInteger(o.maxPermits === undefined ? (permits === 0 ? LIMIT : permits) : o.maxPermits, 'maxPermits', Math.max(1, permits), LIMIT);
    const view = claimRegion(SPEC, o, ['permits', 'maxPermits']);
    Atomics.store(view, PERMITS, permits);
    Atomics.store(view, MAX, maxPermits);
    publishHeader(SPEC, view);
    return new Semaphore(view);
  }

  /** Attaches to a semaphore created elsewhere from its handle. */
  static attach(handle: SemaphoreHandle): Semaphore {
    return new Semaphore(attachRegion(SPEC, handle));
  }

  /** Permits available now (a snapshot). */
  get available(): number {
    return Atomics.load(this.words, PERMITS);
  }

  /** The ceiling set at creation. */
  get maxPermits(): number {
    return Atomics.load(this.words, MAX);
  }

  /** Takes `n` permits (default 1) if they are available now; never waits. */
  tryAcquire(n = 1): boolean {
    return this.#tryTake(this.#checkCount(n));
  }

  /** Takes `n` permits, waiting up to `timeoutMs` (default forever); false on timeout. Workers only. */
  acquire(n = 1, timeoutMs?: number): boolean {
    this.#checkCount(n);
    const deadline = deadlineAfter(timeoutMs);
    if (timeoutMs !== 0) assertMayBlock('Semaphore.acquire()', 'Semaphore.acquireAsync()');
    return this.#tryTake(n) || parkBlocking(this.words, this.#contended(n), deadline);
  }

  /** Takes `n` permits without blocking the event loop; false on timeout, rejects on abort. */
  async acquireAsync(n = 1, options?: AsyncWaitOptions): Promise<boolean> {
    this.#checkCount(n);
    const { deadline, signal } = checkAsyncOptions(options);
    signal?.throwIfAborted();
    return this.#tryTake(n) || parkAsync(this.words, this.#contended(n), deadline, signal);
  }

  /** Returns `n` permits (default 1). Throws {@link IllegalStateError}, changing nothing, if that would pass maxPermits. */
  release(n = 1): void {
    this.#checkCount(n);
    const view = this.words;
    const max = Atomics.load(view, MAX);
    for (;;) {
      const permits = Atomics.load(view, PERMITS);
      if (permits + n > max) {
        throw new IllegalStateError(`Semaphore.release(${n}): ${permits} permits are available and the maximum is ${max}`);
      }
      if (Atomics.compareExchange(view, PERMITS, permits, permits + n) === permits) break;
    }
    if (Atomics.load(view, WAITERS) > 0) Atomics.notify(view, PERMITS);
  }

  /** Runs `fn` holding `n` permits (blocking form, workers only). */
  withPermits<T>(n: number, fn: () => T, timeoutMs?: number): T {
    return runHeld(
      'Semaphore.withPermits()',
      fn,
      () => this.acquire(n, timeoutMs),
      () => this.release(n),
      timeoutMs,
    );
  }

  /** Runs `fn` (sync or async) holding `n` permits taken with {@link acquireAsync}. */
  withPermitsAsync<T>(n: number, fn: () => T | PromiseLike<T>, options?: AsyncWaitOptions): Promise<T> {
    return runHeldAsync(
      'Semaphore.withPermitsAsync()',
      fn,
      () => this.acquireAsync(n, options),
      () => this.release(n),
      options?.timeoutMs,
    );
  }

  #checkCount(n: unknown): number {
    return checkInteger(n, 'n', 1, Atomics.load(this.words, MAX));
  }

  #tryTake(n: number): boolean {
    const view = this.words;
    let permits = Atomics.load(view, PERMITS);
    while (permits >= n) {
      const seen = Atomics.compareExchange(view, PERMITS, permits, permits - n);
      if (seen === permits) return true;
      permits = seen;
    }
    return false;
  }

  /** Release wakes every parked acquirer, so one that gives up never strands another. */
  *#contended(n: number): ParkSteps<boolean> {
    const view = this.words;
    for (;;) {
      if (this.#tryTake(n)) return true;
      Atomics.add(view, WAITERS, 1);
      const permits = Atomics.load(view, PERMITS);
      const reason: WakeReason = permits >= n ? 'changed' : yield { index: PERMITS, value: permits, passOn: broadcastNeedsNoPassOn };
      Atomics.sub(view, WAITERS, 1);
      if (isGiveUp(reason)) return false;
    }
  }
}
