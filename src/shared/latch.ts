/**
 * Latch: a one-shot countdown. Threads wait until the count reaches zero; it never resets.
 *
 * Layout (2 words, 8 bytes, 4-byte aligned):
 *
 *   word 0  header
 *   word 1  count   remaining count-downs; waiters park on it
 *
 * The count-down that reaches zero notifies every waiter. A waiter parks only on the exact
 * non-zero value it read, so a count-down between its read and its park makes the park return at
 * once: no wake-up is lost.
 */
import { IllegalStateError } from '../errors.js';
import { SharedPrimitive } from './primitive.js';
import { type Placement, type PrimitiveHandle, attachRegion, claimRegion, defineSpec, publishHeader } from './region.js';
import { assertMayBlock } from './thread.js';
import { type AsyncWaitOptions, checkAsyncOptions, checkInteger, deadlineAfter, readOptions } from './validate.js';
import { type ParkSteps, broadcastNeedsNoPassOn, isGiveUp, parkAsync, parkBlocking } from './wait.js';

const COUNT = 1;
const LIMIT = 0x7fff_ffff;

const SPEC = defineSpec({ kind: 'sabre/latch', id: 6, layout: 1, words: 2 });

/** The structured-clonable handle of a {@link Latch}. */
export type LatchHandle = PrimitiveHandle<'sabre/latch'>;

/** Options of {@link Latch.create}. */
export interface LatchOptions extends Placement {
  /** Count-downs needed to open the latch (integer >= 0; 0 creates it open). */
  count: number;
}

/** A countdown latch usable from every thread. */
export class Latch extends SharedPrimitive<'sabre/latch'> {
  /** Bytes the latch occupies inside a caller's buffer. */
  static readonly BYTES = SPEC.words * 4;
  /** Required alignment of its byte offset. */
  static readonly ALIGN = 4;

  private constructor(words: Int32Array) {
    super(SPEC, words, [COUNT]);
  }

  /** Creates a latch that opens after `count` count-downs. */
  static create(options: LatchOptions): Latch {
    const o = readOptions(options, ['count', 'buffer', 'byteOffset'], 'Latch.create() options');
    const count = checkInteger(o.count, 'count', 0, LIMIT);
    const view = claimRegion(SPEC, o, ['count']);
    Atomics.store(view, COUNT, count);
    publishHeader(SPEC, view);
    return new Latch(view);
  }

  /** Attaches to a latch created elsewhere from its handle. */
  static attach(handle: LatchHandle): Latch {
    return new Latch(attachRegion(SPEC, handle));
  }

  /** Count-downs still needed (a snapshot). */
  get count(): number {
    return Atomics.load(this.words, COUNT);
  }

  /** Counts down by `n` (default 1); opening the latch wakes every waiter. Counting past zero is an {@link IllegalStateError} and changes nothing. */
  countDown(n = 1): void {
    checkInteger(n, 'n', 1, LIMIT);
    const view = this.words;
    for (;;) {
      const count = Atomics.load(view, COUNT);
      if (n > count) throw new IllegalStateError(`Latch.countDown(${n}): only ${count} count-downs remain`);
      if (Atomics.compareExchange(view, COUNT, count, count - n) !== count) continue;
      if (count === n) Atomics.notify(view, COUNT);
      return;
    }
  }

  /** Waits until the latch is open, up to `timeoutMs` (default forever); false on timeout. Workers only. */
  wait(timeoutMs?: number): boolean {
    const deadline = deadlineAfter(timeoutMs);
    if (timeoutMs !== 0) assertMayBlock('Latch.wait()', 'Latch.waitAsync()');
    return parkBlocking(this.words, this.#untilOpen(), deadline);
  }

  /** Waits for the latch to open without blocking the event loop; false on timeout, rejects on abort. */
  async waitAsync(options?: AsyncWaitOptions): Promise<boolean> {
    const { deadline, signal } = checkAsyncOptions(options);
    signal?.throwIfAborted();
    return parkAsync(this.words, this.#untilOpen(), deadline, signal);
  }

  /** Opening notifies every waiter, so a waiter that gives up strands nobody. */
  *#untilOpen(): ParkSteps<boolean> {
    for (;;) {
      const count = Atomics.load(this.words, COUNT);
      if (count === 0) return true;
      if (isGiveUp(yield { index: COUNT, value: count, passOn: broadcastNeedsNoPassOn })) return false;
    }
  }
}
