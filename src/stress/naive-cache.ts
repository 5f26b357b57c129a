/**
 * A deliberately unsafe bounded map in shared memory: the structure the audits found, written as
 * such code usually is, so that the unsafe variants have something real to break. Every access
 * is a plain read or write with no lock; the bound is enforced by check-then-act ("if full, evict
 * one, then insert"); a value is written in two halves; the size is a plain read-modify-write.
 * Delay points sit where preemption hurts most. Never use it for anything but showing the races.
 *
 *   Int32 words: [0] size  [1] max entries  [2] insertion counter
 *                then `capacity` slots of 4 words: key, value high half, value low half, insertion number (0 = empty)
 *
 * The slot array has room for more than `max` entries, so an overflow is observable instead of
 * writing past the end.
 */
const SIZE = 0;
const MAX = 1;
const INSERTS = 2;
const HEADER_WORDS = 4;
const SLOT_WORDS = 4;

export interface NaiveCacheHandle {
  readonly buffer: SharedArrayBuffer;
}

export class NaiveCache {
  readonly #words: Int32Array;
  readonly #capacity: number;
  readonly #point: () => void;

  constructor(handle: NaiveCacheHandle, point: () => void = () => {}) {
    this.#words = new Int32Array(handle.buffer);
    this.#capacity = (this.#words.length - HEADER_WORDS) / SLOT_WORDS;
    this.#point = point;
  }

  /** A naive cache bounded at `maxEntries`, with slot room for `slack` times as many. */
  static create(maxEntries: number, slack = 8): NaiveCacheHandle {
    const buffer = new SharedArrayBuffer(4 * (HEADER_WORDS + SLOT_WORDS * maxEntries * slack));
    new Int32Array(buffer)[MAX] = maxEntries;
    return { buffer };
  }

  get size(): number {
    return this.#words[SIZE]!;
  }

  get maxEntries(): number {
    return this.#words[MAX]!;
  }

  /** The value of `key` (a pair of halves), or undefined. */
  get(key: number): [number, number] | undefined {
    const at = this.#find(key);
    if (at < 0) return undefined;
    const high = this.#words[at + 1]!;
    this.#point();
    return [high, this.#words[at + 2]!];
  }

  /** Sets `key` to the pair (high, low): check-then-act bound, two-step value write, plain size update. */
  set(key: number, high: number, low: number): void {
    const w = this.#words;
    let at = this.#find(key);
    if (at < 0) {
      if (w[SIZE]! >= w[MAX]!) this.#evictOldest(); // `if`, not `while`, and no lock across the insert
      this.#point();
      at = this.#freeSlot();
      if (at < 0) return; // the slack is exhausted: the overflow is already visible in `size`
      w[at] = key;
      w[at + 3] = ++w[INSERTS]!;
      const size = w[SIZE]!;
      this.#point();
      w[SIZE] = size + 1;
    }
    w[at + 1] = high;
    this.#point();
    w[at + 2] = low;
  }

  delete(key: number): boolean {
    const at = this.#find(key);
    if (at < 0) return false;
    this.#words[at + 3] = 0;
    const size = this.#words[SIZE]!;
    this.#point();
    this.#words[SIZE] = size - 1;
    return true;
  }

  /** Iterates the live slots in place (no snapshot): what the purge loop of audit F did. */
  *entries(): IterableIterator<[number, [number, number]]> {
    for (let slot = 0; slot < this.#capacity; slot++) {
      const at = HEADER_WORDS + slot * SLOT_WORDS;
      if (this.#words[at + 3] === 0) continue;
      const key = this.#words[at]!;
      this.#point();
      const high = this.#words[at + 1]!;
      this.#point();
      yield [key, [high, this.#words[at + 2]!]];
    }
  }

  /** Entries actually present (counting slots, not trusting `size`). */
  countLive(): number {
    let live = 0;
    for (let slot = 0; slot < this.#capacity; slot++) if (this.#words[HEADER_WORDS + slot * SLOT_WORDS + 3] !== 0) live++;
    return live;
  }

  clear(): void {
    this.#words.fill(0, HEADER_WORDS);
    this.#words[SIZE] = 0;
  }

  #find(key: number): number {
    for (let slot = 0; slot < this.#capacity; slot++) {
      const at = HEADER_WORDS + slot * SLOT_WORDS;
      if (this.#words[at + 3] !== 0 && this.#words[at] === key) return at;
    }
    return -1;
  }

  #freeSlot(): number {
    for (let slot = 0; slot < this.#capacity; slot++) {
      const at = HEADER_WORDS + slot * SLOT_WORDS;
      if (this.#words[at + 3] === 0) return at;
    }
    return -1;
  }

  #evictOldest(): void {
    let oldest = -1;
    for (let slot = 0; slot < this.#capacity; slot++) {
      const at = HEADER_WORDS + slot * SLOT_WORDS;
      const inserted = this.#words[at + 3]!;
      if (inserted !== 0 && (oldest < 0 || inserted < this.#words[oldest + 3]!)) oldest = at;
    }
    if (oldest < 0) return;
    this.#point();
    this.#words[oldest + 3] = 0;
    this.#words[SIZE] = this.#words[SIZE]! - 1;
  }
}
