/**
 * Barrier: N parties wait for each other, then all go on; reusable generation after generation.
 *
 * Layout (4 words, 16 bytes, 4-byte aligned):
 *
 *   word 0  header
 *   word 1  parties      fixed at creation
 *   word 2  arrived      parties arrived in the current generation
 *   word 3  generation   bits 0..29 the generation number (wraps), bit 30 BROKEN
 *
 * The last party to arrive zeroes `arrived` and only then advances `generation` with a CAS, so a
 * party released into the next generation always finds a zeroed count. Waiters spin briefly on
 * `generation`, then park on it; the advancing CAS is followed by a notify-all.
 *
 * A party that times out or is aborted breaks the generation (Java's CyclicBarrier semantics):
 * it sets BROKEN with a CAS on the generation it waited in, so exactly one of "the generation
 * completed" and "the generation broke" happens, and every party of that generation agrees on
 * which. After a break every arrival throws {@link BarrierBrokenError} until {@link Barrier.reset}.
 * A waiter decides from `generation` alone: the next number means it passed, anything else that
 * is not its own number means broken (reset() skips a number so stale waiters see that too).
 */
import { BarrierBrokenError, IllegalStateError, TimeoutError } from '../errors.js';
import { SharedPrimitive } from './primitive.js';
import { type Placement, type PrimitiveHandle, attachRegion, claimRegion, defineSpec, publishHeader } from './region.js';
import { assertMayBlock } from './thread.js';
import { type AsyncWaitOptions, checkAsyncOptions, checkInteger, deadlineAfter, readOptions } from './validate.js';
import { type ParkSteps, SPIN_LIMIT, broadcastNeedsNoPassOn, isGiveUp, parkAsync, parkBlocking } from './wait.js';

const PARTIES = 1;
const ARRIVED = 2;
const GENERATION = 3;
const GENERATION_MASK = (1 << 30) - 1;
const BROKEN = 1 << 30;
const MAX_PARTIES = 0x3fff_ffff;

const SPEC = defineSpec({ kind: 'sabre/barrier', id: 4, layout: 1, words: 4 });

/** The structured-clonable handle of a {@link Barrier}. */
export type BarrierHandle = PrimitiveHandle<'sabre/barrier'>;

/** Options of {@link Barrier.create}. */
export interface BarrierOptions extends Placement {
  /** How many parties each generation waits for (integer >= 1). */
  parties: number;
}

/** What a party learns when a generation completes. */
export interface BarrierArrival {
  /** True for exactly one party per generation: the last to arrive. */
  readonly leader: boolean;
  /** The generation just completed (0, 1, 2, … wrapping at 2^30). */
  readonly generation: number;
}

type Outcome = 'passed' | 'broken' | 'gave-up';

function next(generation: number, step = 1): number {
  return ((generation & GENERATION_MASK) + step) & GENERATION_MASK;
}

/** A reusable barrier for N parties on any threads: blocking form for workers, async for the main thread. */
export class Barrier extends SharedPrimitive<'sabre/barrier'> {
  /** Bytes the barrier occupies inside a caller's buffer. */
  static readonly BYTES = SPEC.words * 4;
  /** Required alignment of its byte offset. */
  static readonly ALIGN = 4;

  private constructor(words: Int32Array) {
    super(SPEC, words, [GENERATION]);
  }

  /** Creates a barrier for `parties` parties. */
  static create(options: BarrierOptions): Barrier {
    const o = readOptions(options, ['parties', 'buffer', 'byteOffset'], 'Barrier.create() options');
    const parties = checkInteger(o.parties, 'parties', 1, MAX_PARTIES);
    const view = claimRegion(SPEC, o, ['parties']);
    Atomics.store(view, PARTIES, parties);
    publishHeader(SPEC, view);
    return new Barrier(view);
  }

  /** Attaches to a barrier created elsewhere from its handle. */
  static attach(handle: BarrierHandle): Barrier {
    return new Barrier(attachRegion(SPEC, handle));
  }

  /** The number of parties per generation. */
  get parties(): number {
    return Atomics.load(this.words, PARTIES);
  }

  /** The current generation number (a snapshot). */
  get generation(): number {
    return Atomics.load(this.words, GENERATION) & GENERATION_MASK;
  }

  /** Whether the current generation is broken (a snapshot). */
  get isBroken(): boolean {
    return (Atomics.load(this.words, GENERATION) & BROKEN) !== 0;
  }

  /**
   * Arrives and waits for the other parties, up to `timeoutMs` (default forever). Workers only.
   * Throws {@link TimeoutError} on timeout (breaking the generation for everyone) and
   * {@link BarrierBrokenError} if the generation is or becomes broken.
   */
  arriveAndWait(timeoutMs?: number): BarrierArrival {
    const deadline = deadlineAfter(timeoutMs);
    if (timeoutMs !== 0) assertMayBlock('Barrier.arriveAndWait()', 'Barrier.arriveAndWaitAsync()');
    const generation = this.#arrive();
    if (generation < 0) return { leader: true, generation: ~generation };
    return this.#settle(generation, parkBlocking(this.words, this.#awaitGeneration(generation), deadline), timeoutMs);
  }

  /** Arrives and waits without blocking the event loop. Rejects as {@link arriveAndWait} throws; with `signal.reason` on abort (which also breaks the generation). */
  async arriveAndWaitAsync(options?: AsyncWaitOptions): Promise<BarrierArrival> {
    const { deadline, signal } = checkAsyncOptions(options);
    signal?.throwIfAborted();
    const generation = this.#arrive();
    if (generation < 0) return { leader: true, generation: ~generation };
    return this.#settle(generation, await parkAsync(this.words, this.#awaitGeneration(generation), deadline, signal), options?.timeoutMs);
  }

  /**
   * Makes a broken barrier usable again, starting a fresh generation. Parties still waiting in
   * the old generation see it as broken. Call it when no party is in the middle of arriving.
   */
  reset(): void {
    const view = this.words;
    for (;;) {
      const generation = Atomics.load(view, GENERATION);
      // Break first so that nobody arrives into the generation being discarded.
      if (Atomics.compareExchange(view, GENERATION, generation, generation | BROKEN) !== generation) continue;
      Atomics.store(view, ARRIVED, 0);
      // Skip a number: a stale waiter must not mistake the fresh generation for its own completing.
      Atomics.store(view, GENERATION, next(generation, 2));
      Atomics.notify(view, GENERATION);
      return;
    }
  }

  /** Registers an arrival. Returns the generation to wait for, or `~generation` (negative) when this party completed it. */
  #arrive(): number {
    const view = this.words;
    const generation = Atomics.load(view, GENERATION);
    if ((generation & BROKEN) !== 0) throw brokenError();
    const parties = Atomics.load(view, PARTIES);
    const arrived = Atomics.add(view, ARRIVED, 1) + 1;
    if (arrived < parties) return generation;
    if (arrived > parties) {
      this.#break(generation);
      throw new IllegalStateError(`Barrier.arriveAndWait(): more than ${parties} parties arrived in one generation; the barrier is now broken`);
    }
    // The last party: zero the count before opening the next generation (see the layout note).
    Atomics.store(view, ARRIVED, 0);
    if (Atomics.compareExchange(view, GENERATION, generation, next(generation)) !== generation) throw brokenError();
    Atomics.notify(view, GENERATION);
    return ~generation;
  }

  #break(generation: number): boolean {
    if (Atomics.compareExchange(this.words, GENERATION, generation, generation | BROKEN) !== generation) return false;
    Atomics.notify(this.words, GENERATION);
    return true;
  }

  #outcome(generation: number): Outcome | undefined {
    const now = Atomics.load(this.words, GENERATION);
    if (now === generation) return undefined;
    return (now & GENERATION_MASK) === next(generation) ? 'passed' : 'broken';
  }

  *#awaitGeneration(generation: number): ParkSteps<Outcome> {
    for (let spin = 0; spin < SPIN_LIMIT * 4; spin++) {
      if (Atomics.load(this.words, GENERATION) !== generation) break;
    }
    for (;;) {
      const outcome = this.#outcome(generation);
      if (outcome !== undefined) return outcome;
      if (isGiveUp(yield { index: GENERATION, value: generation, passOn: broadcastNeedsNoPassOn })) {
        // Break our generation, unless it completed (or broke) in the meantime: one CAS decides.
        return this.#break(generation) ? 'gave-up' : (this.#outcome(generation) ?? 'broken');
      }
    }
  }

  #settle(generation: number, outcome: Outcome, timeoutMs: number | undefined): BarrierArrival {
    if (outcome === 'passed') return { leader: false, generation: generation & GENERATION_MASK };
    if (outcome === 'broken') throw brokenError();
    throw new TimeoutError(`Barrier.arriveAndWait(): the other parties did not arrive within ${timeoutMs} ms; the generation is now broken`);
  }
}

function brokenError(): BarrierBrokenError {
  return new BarrierBrokenError('the barrier generation is broken (a party timed out or was aborted); call reset() to reuse it');
}
