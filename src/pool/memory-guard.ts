/**
 * The memory guard (AUDITS.md J): watches the process's resident memory (which counts every
 * thread's heap and the shared cache) and moves between three states, reporting transitions only
 * (AUDITS.md K: steady state is a number you can read, not a stream of events).
 *
 *   normal   ->  warning  at warnRatio x limit
 *   warning  ->  limit    at the limit
 *   limit    ->  warning  below the limit;  any -> normal  below warnRatio x limit
 *
 * At the limit the pool either refuses new work ('reject': tasks and new cache keys fail with
 * MemoryLimitError) or sheds cache entries ('evict') until memory falls.
 */

/** One reading of the process's memory. */
export interface MemorySample {
  /** Resident set size of the whole process (all threads), in bytes. */
  readonly rssBytes: number;
  /** The main thread's V8 heap in use, in bytes. */
  readonly heapUsedBytes: number;
  /** Key + value bytes in the pool's cache (0 without a cache). */
  readonly cacheBytes: number;
}

export type MemoryState = 'normal' | 'warning' | 'limit';

/** What the pool emits as `'memory'` on every state transition. */
export interface MemoryEvent extends MemorySample {
  readonly state: MemoryState;
  readonly previous: MemoryState;
  readonly limitBytes: number;
  readonly warnBytes: number;
}

export interface MemoryGuardConfig {
  readonly limitBytes: number;
  readonly warnRatio: number;
  readonly intervalMs: number;
}

export class MemoryGuard {
  readonly #config: MemoryGuardConfig;
  readonly #sample: () => MemorySample;
  readonly #onTransition: (event: MemoryEvent) => void;
  readonly #whileAtLimit: () => void;
  readonly #timer: NodeJS.Timeout;
  #state: MemoryState = 'normal';

  constructor(config: MemoryGuardConfig, sample: () => MemorySample, onTransition: (event: MemoryEvent) => void, whileAtLimit: () => void) {
    this.#config = config;
    this.#sample = sample;
    this.#onTransition = onTransition;
    this.#whileAtLimit = whileAtLimit;
    this.#timer = setInterval(() => this.check(), config.intervalMs);
    this.#timer.unref(); // watching must never keep a process alive
  }

  get state(): MemoryState {
    return this.#state;
  }

  /** Takes a sample now and reports a transition if the state changed. */
  check(): MemorySample {
    const sample = this.#sample();
    const { limitBytes, warnRatio } = this.#config;
    const warnBytes = limitBytes * warnRatio;
    const next: MemoryState = sample.rssBytes >= limitBytes ? 'limit' : sample.rssBytes >= warnBytes ? 'warning' : 'normal';
    const previous = this.#state;
    if (next !== previous) {
      this.#state = next;
      this.#onTransition({ ...sample, state: next, previous, limitBytes, warnBytes });
    }
    if (next === 'limit') this.#whileAtLimit();
    return sample;
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}
