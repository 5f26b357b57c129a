/**
 * A clock every thread shares, for testing TTLs. A function cannot cross threads, so the
 * injectable clock is itself shared memory: one int64 of milliseconds that tests move forward.
 */
import { InvalidArgumentError } from '../errors.js';
import { describeValue } from '../shared/validate.js';

/** The structured-clonable handle of a {@link ManualClock}. */
export interface ManualClockHandle {
  readonly kind: 'sabre/manual-clock';
  readonly buffer: SharedArrayBuffer;
}

/** A clock that only moves when told to; every thread attached to it reads the same time. */
export class ManualClock {
  readonly #now: BigInt64Array;

  private constructor(buffer: SharedArrayBuffer) {
    this.#now = new BigInt64Array(buffer, 0, 1);
  }

  /** A clock reading `startMs` (default 0). */
  static create(startMs = 0): ManualClock {
    if (!Number.isSafeInteger(startMs) || startMs < 0) throw new InvalidArgumentError(`startMs must be a safe integer >= 0, got ${describeValue(startMs)}`);
    const clock = new ManualClock(new SharedArrayBuffer(8));
    Atomics.store(clock.#now, 0, BigInt(startMs));
    return clock;
  }

  static attach(handle: ManualClockHandle): ManualClock {
    if (handle?.kind !== 'sabre/manual-clock' || !(handle.buffer instanceof SharedArrayBuffer) || handle.buffer.byteLength < 8) {
      throw new InvalidArgumentError('not a ManualClock handle');
    }
    return new ManualClock(handle.buffer);
  }

  get handle(): ManualClockHandle {
    return { kind: 'sabre/manual-clock', buffer: this.#now.buffer as SharedArrayBuffer };
  }

  /** The current time in ms. */
  now(): number {
    return Number(Atomics.load(this.#now, 0));
  }

  /** Moves the clock forward by `ms` (a safe integer >= 0). */
  advance(ms: number): void {
    if (!Number.isSafeInteger(ms) || ms < 0) throw new InvalidArgumentError(`ms must be a safe integer >= 0, got ${describeValue(ms)}`);
    Atomics.add(this.#now, 0, BigInt(ms));
  }
}

/** The time a cache reads for TTLs: its ManualClock if it has one, else Date.now(). */
export class CacheTime {
  readonly #clock: ManualClock | undefined;

  constructor(clock: ManualClock | undefined) {
    this.#clock = clock;
  }

  now(): number {
    return this.#clock ? this.#clock.now() : Date.now();
  }

  /** The absolute expiry of an entry written now with `ttlMs` (Infinity: none). */
  expiryAfter(ttlMs: number): number {
    return ttlMs === Infinity ? Infinity : this.now() + ttlMs;
  }

  /** Whether an entry with this absolute expiry is still live now (Infinity never reads the clock). */
  live(expiry: number): boolean {
    return expiry === Infinity || expiry > this.now();
  }
}
