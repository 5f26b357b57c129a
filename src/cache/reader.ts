/**
 * The read path, per thread: prepared keys, seqlock-validated lock-free lookups, and the values
 * a thread remembers between reads.
 *
 * - A key is encoded, hashed and placed (bucket, stripe) once per thread and kept in a map
 *   ({@link PreparedKeys}), so a hot key costs a Map lookup. Its bytes are kept as words in an
 *   arena, its length and placement inline: a lookup reaches them without a cache miss per
 *   typed-array object.
 * - A lookup takes no lock (`@guardedBy none (seqlock)`): it reads the stripe's seqlock word,
 *   walks the bucket chain and copies the value into a per-thread scratch, and reads the word
 *   again; an odd or changed word means a writer was there, and it retries. After READ_RETRIES
 *   it takes the stripe mutex (`@guardedBy stripe(k)`) so that a reader is never starved.
 * - A thread remembers the last immutable value (string, number, boolean, null, bigint) it read
 *   for a key, with the seqlock word it was read under and the entry's version: as long as the
 *   stripe's word still holds that value, no write has touched the stripe since, and the
 *   remembered value is the stored one; if the word moved, the entry's version (SLOT.VERSION,
 *   bumped by every change of the entry) says whether it was this entry that changed. A hit on a
 *   hot key then costs one Atomics.load (three when the stripe saw other writes) and no walk, no
 *   copy, no decoding.
 *
 * Results are returned ({@link Found}), never left in fields for the caller to pick up.
 */
import { InvalidArgumentError } from '../errors.js';
import { describeValue } from '../shared/validate.js';
import type { CacheLocks } from './cache-locks.js';
import type { CacheTime } from './clock.js';
import { type CacheKey, ReadScratch, Tag, hashBytes, keyBytes } from './codec.js';
import { NO_SLOT, type NoSlot, type Slot } from './layout.js';
import { Counter } from './stats.js';
import { INCONSISTENT, type KeyWords, type Store } from './store.js';

/**
 * A key prepared for lookups, kept per thread. It also remembers the last value this thread read
 * for it, when that value is immutable (see the module comment).
 */
export interface KeyRef extends KeyWords {
  /** The stripe's seqlock word index. */
  readonly seqWord: number;
  /**
   * The seqlock value at the remembered read; NO_SEQ when nothing is remembered. Every field a
   * hit reads holds a small integer, a boolean or a reference, never a double: V8 boxes a double
   * field in an object of its own (NaN and Infinity included), one more cache miss per hit.
   */
  seenSeq: number;
  seenValue: unknown;
  /** Whether the remembered value expires (then at seenExpiry); false: never (no box read). */
  seenExpires: boolean;
  /** Whether visitedEpoch holds the hand epoch under which this thread last saw the entry's visited bit set. */
  seenVisited: boolean;
  visitedEpoch: number;
  seenSlot: Slot;
  /** The entry's SLOT.VERSION at the remembered read. */
  seenVersion: number;
  seenExpiry: number;
  readonly stripe: number;
  /** Where this thread last found or put the key's entry under its stripe lock (NO_SLOT: nowhere), and the slot's generation then (store.ts stillHolds). */
  heldSlot: Slot | NoSlot;
  heldGeneration: number;
  /** The key's stored bytes (written into the chain when the key is inserted). */
  readonly bytes: Uint8Array;
}

/** No remembered read: odd, and a validated read's seqlock value is always even (stillSeen checks the parity). */
const NO_SEQ = -1;

/** What a lookup found: the entry's slot, its tag, expiry and value length (the value is in the reader's scratch), and the seqlock word it was read under. */
export interface Found {
  readonly slot: Slot;
  /** The entry's SLOT.VERSION when it was read. */
  readonly version: number;
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
/** Words of a fresh key arena (grown for a longer key): 64 KiB. */
const ARENA_WORDS = 16_384;
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
  /**
   * The arena the words of new keys go to, and its first free word. A full arena is never
   * reused (KeyRefs held by a getOrCompute in flight still read theirs): a fresh one is made.
   */
  #arena = new Int32Array(ARENA_WORDS);
  #free = 0;

  constructor(store: Store) {
    this.#store = store;
    this.#limit = Math.min(KEY_CACHE_MAX, Math.max(KEY_CACHE_MIN, store.shape.maxEntries));
  }

  /**
   * The prepared form of `key`; throws InvalidArgumentError for a key the cache cannot hold.
   * Only the Map lookup is here, so that TurboFan inlines it into get and set: see #prepare.
   */
  of(key: unknown): KeyRef {
    return this.#keys.get(key as CacheKey) ?? this.#prepare(key);
  }

  /**
   * Prepares a key this thread has not seen: validation, encoding, hashing, placing its words.
   * One flat function on purpose, longer than TurboFan's limit for an inlined function
   * (`--max-inlined-bytecode-size`, 460 bytes of bytecode in V8 11.3): it is never inlined, not
   * even into `of`. That matters because `of` gets compiled on its own while keys are new (a
   * prefill: every call prepares), and TurboFan charges a candidate the bytecode its existing
   * optimized code inlined (V8's "existing opt code's inlined bytecode size"): with the
   * preparation inlined, `of` weighed 767 bytes against get's budget of 920 and stayed a call
   * on every hit (47 instructions, callgrind); split into #prepare and #place (394 + 167 bytes),
   * both were inlined into it.
   */
  #prepare(key: unknown): KeyRef {
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
    if (this.#keys.size >= this.#limit) {
      this.#keys.clear();
      this.#newArena(ARENA_WORDS);
    }
    // The key's bytes, copied into the arena as zero-padded words.
    const count = (bytes.length + 3) >> 2;
    if (this.#free + count > this.#arena.length) this.#newArena(Math.max(ARENA_WORDS, count));
    const at = this.#free;
    const words = this.#arena;
    new Uint8Array(words.buffer, at * 4, count * 4).set(bytes);
    this.#free += count;
    // The fields in the order a hit reads them, then those an in-place set reads, then the rest
    // (V8 lays an object literal's fields out in order): a hit and a set each touch the object's
    // first 104 bytes, not all of its 168.
    const ref: KeyRef = {
      seqWord: this.#store.seqWord(stripe),
      seenSeq: NO_SEQ,
      seenValue: undefined,
      seenExpires: false,
      seenVisited: false,
      visitedEpoch: 0,
      seenSlot: NO_SLOT as Slot,
      stripe,
      heldSlot: NO_SLOT,
      heldGeneration: 0,
      seenVersion: 0,
      seenExpiry: 0,
      length: bytes.length,
      hash: hash | 0, // int32: a small integer field, where a uint32 above 2^31 would be a boxed double
      bucket,
      words,
      at,
      bytes,
    };
    this.#keys.set(key, ref);
    return ref;
  }

  #newArena(words: number): void {
    this.#arena = new Int32Array(words);
    this.#free = 0;
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
      if (!k.seenVisited || k.visitedEpoch !== epoch) {
        this.#store.markVisited(k.seenSlot);
        k.visitedEpoch = epoch;
        k.seenVisited = true;
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
    k.seenVisited = true;
    this.#store.stats.bump(Counter.hits);
  }

  /** Whether this thread's remembered value for `k` is still the stored one, and still live. */
  stillSeen(k: KeyRef): boolean {
    // Atomics.load: the validating read of the seqlock word (see the module comment).
    const i32 = this.#store.i32;
    const seq = Atomics.load(i32, k.seqWord);
    if (seq !== k.seenSeq || (seq & 1) !== 0) {
      // The stripe was written since (or is being written), but perhaps not this entry: its
      // version, read between two loads of the same even seqlock value (a seqlock read of one
      // word, so lock-free platforms only), says whether the remembered value is still the stored one.
      if (
        !LOCK_FREE_READS ||
        (seq & 1) !== 0 ||
        k.seenSeq === NO_SEQ ||
        this.#store.versionOf(k.seenSlot) !== k.seenVersion ||
        Atomics.load(i32, k.seqWord) !== seq
      )
        return false;
      k.seenSeq = seq;
    }
    return !k.seenExpires || this.#time.live(k.seenExpiry);
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
        const slot = store.find(k);
        if (slot === INCONSISTENT) continue;
        if (slot === NO_SLOT) {
          if (Atomics.load(i32, seq) === before) return null;
          continue;
        }
        const tag = store.tagOf(slot);
        const expiry = store.expiryOf(slot);
        const version = store.versionOf(slot);
        const length = store.copyValueInto(slot, this.scratch);
        // Unchanged after the copy: no writer touched this stripe's memory meanwhile, so the copy is whole.
        if (length >= 0 && Atomics.load(i32, seq) === before) return { slot, version, tag, length, expiry, seq: before };
      }
    }
    this.#locks.lockStripe(k.stripe);
    try {
      const slot = store.find(k);
      if (slot === NO_SLOT || slot === INCONSISTENT) return null; // (never INCONSISTENT under the lock)
      // Under the stripe mutex no write section is open, so the seqlock word is stable (and even).
      const seq = Atomics.load(i32, k.seqWord);
      return {
        slot,
        version: store.versionOf(slot),
        tag: store.tagOf(slot),
        length: store.copyValueInto(slot, this.scratch),
        expiry: store.expiryOf(slot),
        seq,
      };
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
      k.seenVersion = found.version;
      k.seenExpiry = found.expiry;
      k.seenExpires = found.expiry !== Infinity;
      k.seenValue = value;
    }
    return value;
  }
}
