/**
 * The read path, per thread: prepared keys, seqlock-validated lock-free lookups, and the values
 * a thread remembers between reads.
 *
 * - A key is encoded, hashed and placed (bucket, stripe) once per thread and kept in a map
 *   ({@link PreparedKeys}), so a hot key costs a Map lookup.
 * - A lookup takes no lock (`@guardedBy none (seqlock)`): it reads the stripe's seqlock word,
 *   walks the bucket chain and copies the value into a per-thread scratch, and reads the word
 *   again; an odd or changed word means a writer was there, and it retries. After READ_RETRIES
 *   it takes the stripe mutex (`@guardedBy stripe(k)`) so that a reader is never starved.
 * - A thread remembers the last immutable value (string, number, boolean, null, bigint) it read
 *   for a key, with the seqlock word it was read under: as long as the stripe's word still holds
 *   that value, no write has touched the stripe since, and the remembered value is the stored
 *   one. A hit on a hot key then costs one Atomics.load and no walk, no copy, no decoding.
 *
 * Results are returned ({@link Found}), never left in fields for the caller to pick up.
 */
import { InvalidArgumentError } from '../errors.js';
import { describeValue } from '../shared/validate.js';
import type { CacheLocks } from './cache-locks.js';
import type { CacheTime } from './clock.js';
import { type CacheKey, ReadScratch, Tag, hashBytes, keyBytes } from './codec.js';
import { NO_SLOT, type Slot } from './layout.js';
import { Counter } from './stats.js';
import { INCONSISTENT, type Store, keyWordsOf } from './store.js';

/**
 * A key prepared for lookups, kept per thread. It also remembers the last value this thread read
 * for it, when that value is immutable (see the module comment).
 */
export interface KeyRef {
  readonly bytes: Uint8Array;
  /** `bytes` as Int32 words, for word-wise key comparison. */
  readonly words: Int32Array;
  readonly hash: number;
  readonly bucket: number;
  readonly stripe: number;
  /** The stripe's seqlock word index. */
  readonly seqWord: number;
  /** The seqlock value at the remembered read; NaN when nothing is remembered (NaN equals no word value). */
  seenSeq: number;
  seenSlot: Slot;
  seenExpiry: number;
  seenValue: unknown;
  /** The hand epoch under which this thread last saw the entry's visited bit set (NaN: never). */
  visitedEpoch: number;
}

/** What a lookup found: the entry's slot, its tag, expiry and value length (the value is in the reader's scratch), and the seqlock word it was read under. */
export interface Found {
  readonly slot: Slot;
  readonly tag: number;
  readonly length: number;
  readonly expiry: number;
  readonly seq: number;
}

/** Longest string value a thread remembers per key (longer ones are decoded on every read). */
const REMEMBER_STRING_LENGTH = 256;
/**
 * Prepared keys a thread keeps: as many as the cache holds entries (a working set larger than
 * the cache misses anyway), but at least 1,024 (small caches see more keys than they hold) and
 * at most 65,536. When full the map starts afresh: a clear is cheaper than LRU bookkeeping here.
 */
const KEY_CACHE_MIN = 1_024;
const KEY_CACHE_MAX = 65_536;
/** Lock-free read attempts before a reader takes the stripe mutex. */
const READ_RETRIES = 8;
/**
 * Lock-free reads rely on a plain load never being performed after a later Atomics.load of the
 * seqlock word. V8 on x86-64 guarantees it (TSO, and atomics are compiler barriers); on weaker
 * memory models (arm64 `ldar` is only an acquire) a plain load could slip past the validating
 * load, so there the readers take the stripe mutex instead. SABRE_LOCKED_READS=1 forces that
 * path anywhere (the tests use it to check it on x64 too).
 */
const LOCK_FREE_READS = (process.arch === 'x64' || process.arch === 'ia32') && process.env.SABRE_LOCKED_READS !== '1';

/** This thread's prepared keys for one cache. */
export class PreparedKeys {
  readonly #store: Store;
  readonly #keys = new Map<CacheKey, KeyRef>();
  readonly #limit: number;

  constructor(store: Store) {
    this.#store = store;
    this.#limit = Math.min(KEY_CACHE_MAX, Math.max(KEY_CACHE_MIN, store.shape.maxEntries));
  }

  /** The prepared form of `key`; throws InvalidArgumentError for a key the cache cannot hold. */
  of(key: unknown): KeyRef {
    const prepared = this.#keys.get(key as CacheKey);
    if (prepared !== undefined) return prepared;
    if (typeof key !== 'string' && (typeof key !== 'number' || Number.isNaN(key))) {
      throw new InvalidArgumentError(`key must be a string or a number (not NaN), got ${describeValue(key)}`);
    }
    const bytes = keyBytes(key);
    const { maxKeyBytes, buckets, stripes } = this.#store.shape;
    if (bytes.length > maxKeyBytes)
      throw new InvalidArgumentError(
        `key is ${bytes.length} bytes stored (UTF-8, or UTF-16 for a string with a lone surrogate); maxKeyBytes is ${maxKeyBytes}`,
      );
    const hash = hashBytes(bytes);
    const bucket = hash & (buckets - 1);
    const stripe = bucket & (stripes - 1);
    const ref: KeyRef = {
      bytes,
      words: keyWordsOf(bytes),
      hash,
      bucket,
      stripe,
      seqWord: this.#store.seqWord(stripe),
      seenSeq: NaN,
      seenSlot: -1 as Slot,
      seenExpiry: 0,
      seenValue: undefined,
      visitedEpoch: NaN,
    };
    if (this.#keys.size >= this.#limit) this.#keys.clear();
    this.#keys.set(key, ref);
    return ref;
  }
}

/** The read path of one thread over one cache. */
export class Reader {
  readonly #store: Store;
  readonly #locks: CacheLocks;
  readonly #time: CacheTime;
  /** Where a lookup copies the value it found (no allocation per read). */
  readonly scratch = new ReadScratch();

  constructor(store: Store, locks: CacheLocks, time: CacheTime) {
    this.#store = store;
    this.#locks = locks;
    this.#time = time;
  }

  /** get(): the value of `k`, counted as a hit (and marked visited) or a miss. */
  get(k: KeyRef): unknown {
    // The hot path is kept tiny so that V8 inlines all of it; the rest lives in #getFromMemory.
    if (this.stillSeen(k)) {
      // The entry's visited bit was set when this thread last looked and no eviction pass has
      // cleared bits since: skip reading the entry's record at all (a likely cache miss).
      const epoch = this.#store.handEpoch();
      if (k.visitedEpoch !== epoch) {
        this.#store.markVisited(k.seenSlot);
        k.visitedEpoch = epoch;
      }
      this.#store.stats.bump(Counter.hits);
      return k.seenValue;
    }
    return this.#getFromMemory(k);
  }

  #getFromMemory(k: KeyRef): unknown {
    const found = this.live(k, true);
    if (found === null) {
      this.#store.stats.bump(Counter.misses);
      return undefined;
    }
    const value = this.decode(k, found);
    this.hit(k, found.slot);
    return value;
  }

  /** Counts a hit on `slot` and marks it visited. */
  hit(k: KeyRef, slot: Slot): void {
    const epoch = this.#store.handEpoch();
    this.#store.markVisited(slot);
    k.visitedEpoch = epoch; // read before marking: a pass that starts meanwhile makes this thread look again
    this.#store.stats.bump(Counter.hits);
  }

  /** Whether this thread's remembered value for `k` is still the stored one, and still live. */
  stillSeen(k: KeyRef): boolean {
    // Atomics.load: the validating read of the seqlock word (see the module comment).
    return k.seenSeq === Atomics.load(this.#store.i32, k.seqWord) && this.#time.live(k.seenExpiry);
  }

  /**
   * Looks `k` up; if it holds a live value (not a flight marker, not expired), returns what was
   * found, its value copied into the scratch. An expired entry counts as an expiration when
   * `countExpiry`.
   */
  live(k: KeyRef, countExpiry: boolean): Found | null {
    const found = this.lookup(k);
    if (found === null || found.tag === Tag.PENDING) return null;
    if (this.#time.live(found.expiry)) return found;
    if (countExpiry) this.#store.stats.bump(Counter.expirations);
    return null;
  }

  /** Looks `k` up, markers and expired entries included; the value is copied into the scratch. */
  lookup(k: KeyRef): Found | null {
    const store = this.#store;
    const i32 = store.i32;
    if (LOCK_FREE_READS) {
      const seq = k.seqWord;
      for (let attempt = 0; attempt < READ_RETRIES; attempt++) {
        // Seqlock read: an even value means no write section is open on this stripe. Both loads
        // of the word are Atomics.load, so no plain load of the section moves outside them.
        const before = Atomics.load(i32, seq);
        if ((before & 1) !== 0) continue;
        const slot = store.find(k.bucket, k.hash, k.bytes, k.words);
        if (slot === INCONSISTENT) continue;
        if (slot === NO_SLOT) {
          if (Atomics.load(i32, seq) === before) return null;
          continue;
        }
        const tag = store.tagOf(slot);
        const expiry = store.expiryOf(slot);
        const length = store.copyValueInto(slot, this.scratch);
        // Unchanged after the copy: no writer touched this stripe's memory meanwhile, so the copy is whole.
        if (length >= 0 && Atomics.load(i32, seq) === before) return { slot, tag, length, expiry, seq: before };
      }
    }
    this.#locks.lockStripe(k.stripe);
    try {
      const slot = store.find(k.bucket, k.hash, k.bytes, k.words);
      if (slot === NO_SLOT || slot === INCONSISTENT) return null; // (never INCONSISTENT under the lock)
      // Under the stripe mutex no write section is open, so the seqlock word is stable (and even).
      const seq = Atomics.load(i32, k.seqWord);
      return { slot, tag: store.tagOf(slot), length: store.copyValueInto(slot, this.scratch), expiry: store.expiryOf(slot), seq };
    } finally {
      this.#locks.unlockStripe(k.stripe);
    }
  }

  /** Decodes the value a lookup found (still in the scratch), remembering it on the key when it is immutable. */
  decode(k: KeyRef, found: Found): unknown {
    const tag = found.tag;
    const value = this.scratch.decode(tag, found.length);
    const immutable = tag === Tag.STRING || tag === Tag.STRING16 ? (value as string).length <= REMEMBER_STRING_LENGTH : tag <= Tag.BIGSTR;
    if (immutable) {
      k.seenSeq = found.seq;
      k.seenSlot = found.slot;
      k.seenExpiry = found.expiry;
      k.seenValue = value;
    }
    return value;
  }
}
