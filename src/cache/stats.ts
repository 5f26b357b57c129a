/**
 * Cache statistics in shared memory, one block of counters per thread, summed on read.
 *
 *   stats section (layout.ts): STAT_STRIPES blocks of 128 bytes (two cache lines), then one line
 *   of owner words
 *
 *   block 0            block 1            …  block 15           owners line
 *   [16 × (lo, hi)]    [16 × (lo, hi)]       [16 × (lo, hi)]    [tag of block 0's owner, …, 15's]
 *    shared: RMW        owned: plain          owned: plain       0 = unowned (block 0: always)
 *
 * Each block holds the 16 counters as (low, high) Int32 pairs, a 64-bit count each. A thread
 * claims a block of its own (CAS of its tag into the owner word) when it attaches, and counts
 * there with plain stores: a block has one writer, so an increment needs no atomic
 * read-modify-write (~1 ns against ~10 ns for Atomics.add, on the line of every write and hit).
 * Threads beyond the 15 owned blocks share block 0 and count there with Atomics.add. Recovering
 * a dead thread frees its block (its counts stay: they are history) for a thread to come.
 *
 * Readers sum every block with Atomics.load. Aligned Int32 accesses never tear, so a reader sees
 * each word's old or new value. The entry accounting (REMOVALS) is counted and read under the
 * structure mutex, whose release and acquisition order the owner's plain stores before the
 * reader's loads: `size = inserts - removals` is exact whenever the structure mutex is free.
 */
import { SELF_TAG } from '../shared/thread.js';
import { LINE, STAT_STRIPES } from './layout.js';
import type { CacheStats } from './types.js';

/** The counters, by index. */
export const Counter = {
  hits: 0,
  misses: 1,
  sets: 2,
  deletes: 3,
  evictedCapacity: 4,
  evictedBytes: 5,
  evictedBurst: 6,
  evictedTtl: 7,
  expirations: 8,
  singleFlightWaits: 9,
  lockContention: 10,
  evictedMemory: 11,
  admissionsRefused: 12,
  evictedRecovery: 13,
  /** Writes that created an entry (a getOrCompute placeholder included). */
  inserts: 14,
  /** getOrCompute placeholders removed without a value (compute failed or returned undefined, or its thread died). */
  abandonedFlights: 15,
} as const;

/**
 * The counters that account for every entry, written only under the structure mutex (with the
 * size they explain), so that at every instant the structure mutex is free:
 *
 *   size = inserts - deletes - evictions (every reason) - abandonedFlights
 */
export const REMOVALS: readonly number[] = [
  Counter.deletes,
  Counter.evictedCapacity,
  Counter.evictedBytes,
  Counter.evictedBurst,
  Counter.evictedTtl,
  Counter.evictedMemory,
  Counter.evictedRecovery,
  Counter.abandonedFlights,
];

export const STAT_BLOCK_BYTES = 128;
const BLOCK_WORDS = STAT_BLOCK_BYTES / 4;
/** The block threads without one of their own share (counted in with Atomics.add). */
const SHARED_BLOCK = 0;
/** Bytes of the stats section: the blocks and the owners line. */
export const STATS_BYTES = STAT_STRIPES * STAT_BLOCK_BYTES + LINE;

export class StripedCounters {
  readonly #words: Int32Array;
  /** The owner words (one per block). */
  readonly #owners: Int32Array;
  /** This thread's block's first word. */
  readonly #base: number;
  /** Whether this thread owns its block (plain stores) or shares block 0 (RMW). */
  readonly #owned: boolean;

  constructor(buffer: SharedArrayBuffer, byteOffset: number) {
    this.#words = new Int32Array(buffer, byteOffset, STAT_STRIPES * BLOCK_WORDS);
    this.#owners = new Int32Array(buffer, byteOffset + STAT_STRIPES * STAT_BLOCK_BYTES, STAT_STRIPES);
    const block = this.#claimBlock();
    this.#owned = block !== SHARED_BLOCK;
    this.#base = block * BLOCK_WORDS;
  }

  /**
   * The block this thread owns already (a second SharedCache object over the same memory in the
   * same thread shares it: one thread, one writer), else a free one claimed by CAS, else block 0.
   */
  #claimBlock(): number {
    for (let block = 1; block < STAT_STRIPES; block++) if (Atomics.load(this.#owners, block) === SELF_TAG) return block;
    for (let block = 1; block < STAT_STRIPES; block++) if (Atomics.compareExchange(this.#owners, block, 0, SELF_TAG) === 0) return block;
    return SHARED_BLOCK;
  }

  /** Frees the block of the dead thread tagged `tag` (its counts stay). Call only for a dead thread. */
  releaseBlockOf(tag: number): void {
    for (let block = 1; block < STAT_STRIPES; block++) Atomics.compareExchange(this.#owners, block, tag, 0);
  }

  /** Adds 1 to counter `index` in this thread's block. */
  bump(index: number): void {
    const low = this.#base + index * 2;
    const words = this.#words;
    if (this.#owned) {
      // The only writer of this block: plain stores (see the module comment).
      const next = (words[low]! + 1) | 0;
      words[low] = next;
      if (next === 0) words[low + 1]!++; // the low word wrapped
    } else if (Atomics.add(words, low, 1) === -1) {
      // Block 0 is shared: an RMW. It returns the old value: -1 (0xFFFFFFFF) means the low word just wrapped.
      Atomics.add(words, low + 1, 1);
    }
  }

  /** Adds `n` (0 <= n < 2^31) to counter `index` in this thread's block. */
  add(index: number, n: number): void {
    const low = this.#base + index * 2;
    const words = this.#words;
    let before: number;
    if (this.#owned) {
      before = words[low]! >>> 0;
      words[low] = (before + n) | 0;
    } else before = Atomics.add(words, low, n) >>> 0;
    if (before + n > 0xffff_ffff) {
      if (this.#owned) words[low + 1]!++;
      else Atomics.add(words, low + 1, 1);
    }
  }

  /** The sum of counter `index` over all blocks. */
  read(index: number): number {
    let total = 0;
    for (let block = 0; block < this.#words.length; block += BLOCK_WORDS) {
      const high = Atomics.load(this.#words, block + index * 2 + 1);
      total += high * 2 ** 32 + (Atomics.load(this.#words, block + index * 2) >>> 0);
    }
    return total;
  }

  /** inserts minus every removal: what the size must be (see {@link REMOVALS}). @guardedBy structure-mutex (for an exact answer) */
  accountedSize(): number {
    let size = this.read(Counter.inserts);
    for (const index of REMOVALS) size -= this.read(index);
    return size;
  }

  /** Every counter, with the size and bytes given. @guardedBy structure-mutex (for exact accounting) */
  snapshot(size: number, bytes: number): CacheStats {
    return {
      hits: this.read(Counter.hits),
      misses: this.read(Counter.misses),
      sets: this.read(Counter.sets),
      inserts: this.read(Counter.inserts),
      deletes: this.read(Counter.deletes),
      evictions: {
        capacity: this.read(Counter.evictedCapacity),
        bytes: this.read(Counter.evictedBytes),
        burst: this.read(Counter.evictedBurst),
        ttl: this.read(Counter.evictedTtl),
        memory: this.read(Counter.evictedMemory),
        recovery: this.read(Counter.evictedRecovery),
      },
      admissionsRefused: this.read(Counter.admissionsRefused),
      expirations: this.read(Counter.expirations),
      singleFlightWaits: this.read(Counter.singleFlightWaits),
      abandonedFlights: this.read(Counter.abandonedFlights),
      lockContention: this.read(Counter.lockContention),
      size,
      bytes,
    };
  }
}
