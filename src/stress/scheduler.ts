/**
 * A seeded scheduler for async interleavings on one event loop (the async half of audit A).
 *
 * Tasks call `await scheduler.yield()` where real code would `await` I/O. Instead of resuming in
 * FIFO order, the scheduler resumes one waiting task at a time, chosen by its seeded generator:
 * the same seed gives the same interleaving, so a failing run replays exactly (the idea of
 * fast-check's scheduler, without its property-testing machinery).
 */
import { seededRandom } from './random.js';

export class SeededScheduler {
  #random: () => number;
  readonly #waiting: Array<() => void> = [];
  #pumping = false;
  /** Every choice made, in order (the interleaving, for reports). */
  readonly choices: number[] = [];

  constructor(seed: number) {
    this.#random = seededRandom(seed);
  }

  /** Re-seeds (each trial gets its own seed, so any trial can be replayed alone). */
  reseed(seed: number): void {
    this.#random = seededRandom(seed);
    this.choices.length = 0;
  }

  /** Suspends the calling task until the scheduler picks it. */
  yield(): Promise<void> {
    const resumed = new Promise<void>((resolve) => this.#waiting.push(resolve));
    this.#pump();
    return resumed;
  }

  /** Runs `tasks` concurrently under this scheduler and waits for all of them. */
  async run<T>(tasks: ReadonlyArray<() => Promise<T>>): Promise<T[]> {
    return Promise.all(tasks.map((task) => task()));
  }

  /**
   * Resumes one waiting task, chosen at random, once the microtask queue has drained (so every
   * task that is about to yield has yielded: the choice is among all of them).
   */
  #pump(): void {
    if (this.#pumping) return;
    this.#pumping = true;
    setImmediate(() => {
      this.#pumping = false;
      if (this.#waiting.length === 0) return;
      const index = Math.floor(this.#random() * this.#waiting.length);
      this.choices.push(index);
      const [resume] = this.#waiting.splice(index, 1);
      resume!();
      if (this.#waiting.length > 0) this.#pump();
    });
  }
}
