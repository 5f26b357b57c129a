/**
 * The trial gate: where the actors of a run meet twice per trial (before it, so that they
 * collide, and after it, so that the arbiter reads a finished state). It is a counting barrier
 * on one monotonic word: meeting number n is passed once the word reaches actors × (n + 1), so
 * there is no generation to reset and no reuse race.
 *
 * Why not only sabre's Barrier: a futex wake-up costs tens of microseconds on this kind of
 * machine, longer than most trials, and releases the parties one after another, so actors let
 * out by it run one after the other and rarely collide. Here every actor that arrives early
 * spins (all of them are running, one per core), so they leave within nanoseconds of each other
 * (jcstress starts its actors the same way); only past the spin bound, or when there are more
 * actors than cores, does a waiter park on the word.
 *
 *   words (Int32): [COUNT] arrivals so far   [BROKEN] 1 once an actor failed
 */
import { availableParallelism } from 'node:os';

const COUNT = 1;
const BROKEN = 2;
/** Words the gate needs (it uses words 1 and 2 of the buffer it is given). */
export const TRIAL_GATE_WORDS = 3;

const SPINS = 100_000;
const PARK_SLICE_MS = 100;
const CORES = availableParallelism();

export class TrialGateBrokenError extends Error {
  override readonly name = 'TrialGateBrokenError';
}

export class TrialGate {
  readonly #words: Int32Array;
  readonly #actors: number;

  constructor(words: Int32Array, actors: number) {
    this.#words = words;
    this.#actors = actors;
  }

  /** Meeting number `n` (0, 1, 2, … in the same order on every actor). Throws if an actor failed, or after `timeoutMs`. */
  meet(n: number, timeoutMs: number): void {
    const words = this.#words;
    const everyone = this.#actors * (n + 1);
    // seq-cst RMW: every write this actor made before arriving is visible to whoever sees the count.
    if (Atomics.add(words, COUNT, 1) + 1 >= everyone) {
      Atomics.notify(words, COUNT);
      return;
    }
    // More actors than cores cannot all be running: spinning would only delay the others.
    if (this.#actors <= CORES) for (let spin = 0; spin < SPINS; spin++) if (Atomics.load(words, COUNT) >= everyone) return;
    const deadline = Date.now() + timeoutMs;
    for (let seen = Atomics.load(words, COUNT); seen < everyone; seen = Atomics.load(words, COUNT)) {
      if (Atomics.load(words, BROKEN) !== 0) throw new TrialGateBrokenError('another actor failed');
      if (Date.now() > deadline) throw new TrialGateBrokenError(`the other actors did not arrive within ${timeoutMs} ms`);
      Atomics.wait(words, COUNT, seen, PARK_SLICE_MS);
    }
  }

  /** Lets every waiting actor out with an error (an actor failed). */
  break(): void {
    Atomics.store(this.#words, BROKEN, 1);
    Atomics.add(this.#words, COUNT, 0);
    Atomics.notify(this.#words, COUNT);
  }
}
