/**
 * SharedCache: one bounded cache in shared memory that every thread reads and writes.
 *
 * The memory is laid out in layout.ts and managed by store.ts, whose header states the locking
 * protocol. This module applies it:
 *
 * - Reads (get/peek/has/ttl) take no lock: a seqlock-validated copy (store.ts). A hit writes
 *   shared memory only to set the entry's recency bit, and only if it is not already set.
 * - A write locks the key's stripe and opens its write section. Rewriting a value in place (the
 *   same length) needs nothing more. Anything that changes the size, the bytes or the
 *   eviction queue also takes the structure mutex: it evicts *before* inserting, in a loop, under
 *   the same lock as the insert (audit C's fix), so `size <= maxEntries` and `bytes <= maxBytes`
 *   hold at every instant, not only at the end.
 * - Victims in other stripes are claimed with tryLock (lock order: stripe, then structure, then
 *   only tryLock), so eviction never deadlocks; a busy victim is skipped for the next candidate.
 * - User code (onEvict listeners, getOrCompute's compute) never runs under a sabre lock.
 * - Every slot a write changes carries the writer's tag while it changes (SLOT.IN_FLUX), so if
 *   the writer dies the coordinator can repair the cache exactly (recovery.ts).
 */
import { HandleError, IllegalStateError, InvalidArgumentError, LockUnavailableError, MemoryLimitError } from '../errors.js';
import { adoptFromDeadHolder } from '../shared/holder.js';
import { attachRegion, defineSpec, headerOf } from '../shared/region.js';
import { OWNER_MASK, SELF_TAG } from '../shared/thread.js';
import { checkFunction, checkInteger, describeThrown, describeValue, readOptions } from '../shared/validate.js';
import { type ParkSteps, broadcastNeedsNoPassOn, parkAsync, wakeAll } from '../shared/wait.js';
import { CacheLocks } from './cache-locks.js';
import { type Flight, type FlightOutcome, FlightOutcomes, MARKER_BYTES, decodeMarker, encodeMarker } from './single-flight.js';
import { ManualClock, type ManualClockHandle } from './clock.js';
import { type CacheKey, type Encoded, ReadScratch, Tag, decodeValue, encodeValue, hashBytes, keyBytes, keyFromBytes, sameEncoding } from './codec.js';
import { FLAG_LIVE, GLOBAL, HEADER, SLOT, STRIPE, layoutOf } from './layout.js';
import { type CacheConfig, type SharedCacheOptions, checkOptions, checkTtl } from './options.js';
import { faultPoint } from '../shared/fault-points.js';
import { repairAfterDeath } from './recovery.js';
import { Counter } from './stats.js';
import { type EntryCopy, INCONSISTENT, Store, keyWordsOf, readShape } from './store.js';

const SPEC = defineSpec({ kind: 'sabre/cache', id: 16, layout: 1, words: 16 });

/** The structured-clonable handle of a {@link SharedCache}: send it to a worker and `attach` it there. */
export interface SharedCacheHandle {
  readonly kind: 'sabre/cache';
  readonly layout: number;
  readonly buffer: SharedArrayBuffer;
  readonly byteOffset: 0;
  readonly clock?: ManualClockHandle;
}

/** Why an entry left the cache without being deleted. */
export type EvictionReason = 'capacity' | 'bytes' | 'burst' | 'ttl' | 'memory' | 'recovery';

/**
 * Package-internal controls for the memory guard (src/pool/memory-guard.ts): close or open the
 * cache to new keys, and shed entries. Not exported from the package.
 */
export const setAdmission: unique symbol = Symbol('sabre.cache.setAdmission');
/** Package-internal: check every shared structure (tests, the stress harness's arbiters). */
export const checkIntegrity: unique symbol = Symbol('sabre.cache.checkIntegrity');
export const shedEntries: unique symbol = Symbol('sabre.cache.shedEntries');
/** What {@link SharedCache.recoverDeadThread} found and did. */
export interface CacheRecovery {
  readonly threadId: number;
  /** Index stripes whose mutex the dead thread held. */
  readonly stripes: number;
  /** Whether it held the structure mutex. */
  readonly structure: boolean;
  /** Entries lost, counted as 'recovery' evictions: an interrupted write is rolled back, an interrupted removal completed. */
  readonly droppedEntries: number;
  /** getOrCompute flights it was computing, ended so that a waiter computes at once instead of waiting out the lease. */
  readonly abandonedFlights: number;
}

/** Called in the registering thread for each entry that thread's operations evicted (`V`: the cache's value type). */
export type EvictionListener<V = unknown> = (key: CacheKey, value: V, reason: EvictionReason) => void;

export type { CacheKey };

/** Per-write options. */
export interface SetOptions {
  /** Time to live of this entry in ms (> 0, or Infinity for none). Default: the cache's `ttlMs`. */
  ttlMs?: number;
}

/** Options of {@link SharedCache.getOrCompute}. */
export interface ComputeOptions extends SetOptions {
  /**
   * How long the computing caller may take before a waiter assumes it died and takes over, in
   * ms (default 30,000). A computation that outlives its lease still returns its value to its
   * own caller, and stores it only if no other flight has taken over.
   */
  leaseMs?: number;
}

/** Counters kept in shared memory: every thread reads the same numbers. */
export interface CacheStats {
  readonly hits: number;
  readonly misses: number;
  /** Writes that stored a value: set, a winning setIfAbsent, a successful compareAndSet, increment, a getOrCompute that stored its value. */
  readonly sets: number;
  /** Writes that created an entry (a getOrCompute placeholder included; its value then replaces it without another insert). */
  readonly inserts: number;
  /** Entries removed by delete, compareAndDelete and clear. */
  readonly deletes: number;
  readonly evictions: {
    readonly capacity: number;
    readonly bytes: number;
    readonly burst: number;
    readonly ttl: number;
    readonly memory: number;
    /** Entries a dead worker was writing when it died, dropped by crash recovery. */
    readonly recovery: number;
  };
  /** New keys refused while a memory guard had the cache closed. */
  readonly admissionsRefused: number;
  /** Reads that found an entry past its expiry (lazy expiry). */
  readonly expirations: number;
  /** getOrCompute calls that waited for another caller's computation. */
  readonly singleFlightWaits: number;
  /** getOrCompute placeholders removed without a value: the compute failed or returned undefined, or its thread died. */
  readonly abandonedFlights: number;
  /** Writes that found their stripe locked and had to wait. */
  readonly lockContention: number;
  /** Entries now (getOrCompute placeholders included). `size === inserts - deletes - (every eviction) - abandonedFlights`, exactly. */
  readonly size: number;
  readonly bytes: number;
}

/**
 * A key prepared for lookups, kept per thread (see #keys). It also remembers the last value this
 * thread read for it, when that value is immutable (string, number, boolean, null, bigint): as
 * long as the stripe's seqlock word still holds the value it had at that validated read, no
 * write has touched the stripe since, so the remembered value is still the stored one.
 */
interface KeyRef {
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
  seenSlot: number;
  seenExpiry: number;
  seenValue: unknown;
  /** The hand epoch under which this thread last saw the entry's visited bit set (NaN: never). */
  visitedEpoch: number;
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
/** Most entries one operation may pass over or evict (bounded work; the rest is done by later operations). */
const WORK_LIMIT = 1_000;
/** Entries a structural write checks for expiry (the incremental TTL sweep). */
const SWEEP_BATCH = 2;
/** Lock-free read attempts before a reader takes the stripe mutex. */
const READ_RETRIES = 8;
/** Attempts of a write whose eviction found every candidate busy. */
const WRITE_RETRIES = 1_000;
/**
 * Lock-free reads rely on a plain load never being performed after a later Atomics.load of the
 * seqlock word. V8 on x86-64 guarantees it (TSO, and atomics are compiler barriers); on weaker
 * memory models (arm64 `ldar` is only an acquire) a plain load could slip past the validating
 * load, so there the readers take the stripe mutex instead. SABRE_LOCKED_READS=1 forces that
 * path anywhere (the tests use it to check it on x64 too).
 */
const LOCK_FREE_READS = (process.arch === 'x64' || process.arch === 'ia32') && process.env.SABRE_LOCKED_READS !== '1';

/** Thrown inside a write when eviction found every candidate busy; the write is retried from scratch. */
class Busy extends Error {}

const REASON_COUNTER: Record<EvictionReason, number> = {
  capacity: Counter.evictedCapacity,
  bytes: Counter.evictedBytes,
  burst: Counter.evictedBurst,
  ttl: Counter.evictedTtl,
  memory: Counter.evictedMemory,
  recovery: Counter.evictedRecovery,
};

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
/** What a counter's value takes encoded: a float64, or an int64 bigint. */
const COUNTER_BYTES = 8;
/** How often a flight that could not be ended tries again (#endFlightSoon). */
const END_FLIGHT_RETRY_MS = 10;
/** getOrCompute's default lease, in ms. */
const DEFAULT_LEASE_MS = 30_000;

/**
 * A bounded cache in one SharedArrayBuffer, shared by every thread that attaches its handle.
 *
 * `V` is the type of the values (as lru-cache's `LRUCache<K, V>`; default `unknown`). It is a
 * promise the caller makes, checked by the compiler only: at run time every thread reads
 * whatever was stored, so every thread that attaches the cache should use the same `V`.
 * `increment` stores numbers (or bigints) whatever `V` is.
 *
 * @example
 * ```ts
 * const cache = SharedCache.create<{ name: string }>({ maxEntries: 10_000, maxBytes: 16 << 20, ttlMs: 60_000 });
 * new Worker(file, { workerData: cache.handle });   // worker: SharedCache.attach<{ name: string }>(workerData)
 * cache.set('user:1', { name: 'Ada' });
 * cache.get('user:1');                              // { name: 'Ada' }, a copy: { name: string } | undefined
 * ```
 */
export class SharedCache<V = unknown> {
  readonly #store: Store;
  readonly #locks: CacheLocks;
  readonly #outcomes: FlightOutcomes;
  readonly #clock: ManualClock | undefined;
  /** Typed for values of `never` so that a SharedCache<V> stays a SharedCache<unknown> (V covariant); they get V values. */
  readonly #listeners = new Set<EvictionListener<never>>();
  #evicted: Array<[CacheKey, V, EvictionReason]> = [];
  /** Prepared keys (bytes, hash, bucket, stripe) of recently used key strings, so a hot key is encoded and hashed once per thread. */
  readonly #keys = new Map<CacheKey, KeyRef>();
  /** Where a read copies the value it found, and what it found: set by #readLive. */
  readonly #scratch = new ReadScratch();
  #foundSlot = -1;
  #foundSeq = -1;
  #foundTag = 0;
  #foundLength = 0;
  #foundExpiry = 0;
  /**
   * The stripe whose write section the running write has opened, or -1. A write opens it at its
   * first change, not when it locks: a write that changes nothing (a failed compare-and-set, a
   * refused increment) leaves even the seqlock word as it was.
   */
  #sectionStripe = -1;
  #handle: SharedCacheHandle | undefined;

  private constructor(store: Store, clock: ManualClock | undefined) {
    this.#store = store;
    this.#locks = new CacheLocks(store);
    this.#outcomes = new FlightOutcomes(store.i32, store.u8, store.layout.flights);
    this.#clock = clock;
  }

  /**
   * Creates a cache of values of type `V` (unchecked at run time: see the class). Every option is
   * checked first; a bad one throws InvalidArgumentError and allocates nothing.
   */
  static create<V = unknown>(options: SharedCacheOptions): SharedCache<V> {
    const config = checkOptions(options);
    const totalBytes = layoutOf(config).totalBytes;
    let buffer: SharedArrayBuffer;
    try {
      buffer = new SharedArrayBuffer(totalBytes);
    } catch (error) {
      throw new InvalidArgumentError(
        `maxEntries ${config.maxEntries} and maxBytes ${config.maxBytes} need ${totalBytes} bytes of shared memory, which this runtime cannot allocate (${(error as Error).message})`,
      );
    }
    writeHeader(buffer, config);
    const store = new Store(buffer, readShape(buffer), true);
    Atomics.store(store.i32, HEADER.MAGIC, headerOf(SPEC)); // published last: attachers see a complete cache
    return new SharedCache<V>(store, config.clock);
  }

  /**
   * Attaches to a cache created in another thread, as a cache of values of type `V` (unchecked:
   * the values are whatever the other threads stored). A handle of another kind or version
   * throws HandleError.
   */
  static attach<V = unknown>(handle: SharedCacheHandle): SharedCache<V> {
    const words = attachRegion(SPEC, handle);
    const buffer = words.buffer as SharedArrayBuffer;
    const shape = readShape(buffer);
    const needed = layoutOf(shape).totalBytes;
    if (buffer.byteLength < needed) {
      // A copy of part of a cache's memory: writes to it would "succeed" and be lost.
      throw new HandleError(`bad sabre/cache handle: its header describes a cache of ${needed} bytes, but the buffer has ${buffer.byteLength}`);
    }
    return new SharedCache<V>(new Store(buffer, shape, false), handle.clock ? ManualClock.attach(handle.clock) : undefined);
  }

  /** The handle to send to other threads (postMessage, workerData). */
  get handle(): SharedCacheHandle {
    const buffer = this.#store.i32.buffer as SharedArrayBuffer;
    return (this.#handle ??= Object.freeze({
      kind: 'sabre/cache' as const,
      layout: SPEC.layout,
      buffer,
      byteOffset: 0 as const,
      ...(this.#clock ? { clock: this.#clock.handle } : {}),
    }));
  }

  /** Entries now (a snapshot; never above maxEntries). */
  get size(): number {
    return this.#store.size;
  }

  /** Key + value bytes now (a snapshot; never above maxBytes). */
  get bytes(): number {
    return this.#store.bytes;
  }

  /** The configured bounds. */
  get maxEntries(): number {
    return this.#store.shape.maxEntries;
  }

  get maxBytes(): number {
    return this.#store.shape.maxBytes;
  }

  // ---- reads ---------------------------------------------------------------------------------

  /** The value of `key` (a copy the caller may keep), or undefined. A hit marks the entry recently used. */
  get(key: CacheKey): V | undefined {
    const k = this.#key(key);
    // The hot path is kept tiny so that V8 inlines all of it; the rest lives in #getFromMemory.
    if (this.#stillSeen(k)) {
      // The entry's visited bit was set when this thread last looked and no eviction pass has
      // cleared bits since: skip reading the entry's record at all (a likely cache miss).
      const epoch = this.#store.handEpoch();
      if (k.visitedEpoch !== epoch) {
        this.#store.markVisited(k.seenSlot);
        k.visitedEpoch = epoch;
      }
      this.#store.stats.bump(Counter.hits);
      return k.seenValue as V;
    }
    return this.#getFromMemory(k) as V | undefined;
  }

  #getFromMemory(k: KeyRef): unknown {
    if (!this.#readLive(k, true)) {
      this.#store.stats.bump(Counter.misses);
      return undefined;
    }
    const value = this.#decodeFound(k);
    const epoch = this.#store.handEpoch();
    this.#store.markVisited(this.#foundSlot);
    k.visitedEpoch = epoch; // read before marking: a pass that starts meanwhile makes this thread look again
    this.#store.stats.bump(Counter.hits);
    return value;
  }

  /** Like get, without marking the entry as used and without counting a hit or miss. */
  peek(key: CacheKey): V | undefined {
    const k = this.#key(key);
    if (this.#stillSeen(k)) return k.seenValue as V;
    return this.#readLive(k, false) ? (this.#decodeFound(k) as V) : undefined;
  }

  /** Whether `key` holds a live entry (no recency update). */
  has(key: CacheKey): boolean {
    const k = this.#key(key);
    return this.#stillSeen(k) || this.#readLive(k, false);
  }

  /** Remaining time to live of `key` in ms: Infinity if it never expires, undefined if there is no such entry. */
  ttl(key: CacheKey): number | undefined {
    if (!this.#readLive(this.#key(key), false)) return undefined;
    return this.#foundExpiry === Infinity ? Infinity : Math.max(0, this.#foundExpiry - this.#now());
  }

  // ---- writes --------------------------------------------------------------------------------

  /** Stores `value` under `key`, evicting first if a bound requires it. */
  set(key: CacheKey, value: V, options?: SetOptions): this {
    const k = this.#key(key);
    const encoded = this.#encode(k, value);
    const expiry = this.#expiryFrom(options);
    this.#write(k, (slot) => this.#storeValue(k, slot, encoded, expiry));
    return this;
  }

  /** Stores `value` only if `key` holds no live entry. Exactly one of any number of racing callers, on any threads, gets true. */
  setIfAbsent(key: CacheKey, value: V, options?: SetOptions): boolean {
    const k = this.#key(key);
    const encoded = this.#encode(k, value);
    const expiry = this.#expiryFrom(options);
    return this.#write(k, (slot) => {
      if (slot >= 0 && !this.#isMarker(slot)) return false;
      this.#storeValue(k, slot, encoded, expiry);
      return true;
    });
  }

  /**
   * Replaces the value of `key` with `next` if it currently equals `expected` (compared by
   * encoding: primitives by value, bytes by content, objects by their structured-clone bytes).
   * Keeps the entry's expiry unless `options.ttlMs` is given. `expected` is only compared, never
   * stored, so it is not held to the size limits (a value read back may re-encode larger).
   */
  compareAndSet(key: CacheKey, expected: V, next: V, options?: SetOptions): boolean {
    const k = this.#key(key);
    const want = encodeValue(expected);
    const encoded = this.#encode(k, next);
    const { ttlMs } = readOptions(options, ['ttlMs'], 'options');
    const ttl = ttlMs === undefined ? undefined : checkTtl(ttlMs, 'options.ttlMs');
    return this.#write(k, (slot) => {
      if (slot < 0 || this.#isMarker(slot) || !this.#holds(slot, want)) return false;
      this.#storeValue(k, slot, encoded, ttl === undefined ? this.#store.expiryOf(slot) : this.#expiryAfter(ttl));
      return true;
    });
  }

  /** Deletes `key` if its value currently equals `expected` (compared as in compareAndSet; counted as a delete). */
  compareAndDelete(key: CacheKey, expected: V): boolean {
    const k = this.#key(key);
    const want = encodeValue(expected);
    return this.#write(k, (slot) => {
      if (slot < 0 || this.#isMarker(slot) || !this.#holds(slot, want)) return false;
      this.#removeOwn(slot, Counter.deletes);
      return true;
    });
  }

  /**
   * Adds `delta` (default 1) to the integer under `key` and returns the new value; a missing key
   * counts as 0 and gets the default TTL; an existing entry keeps its expiry (as Redis INCR).
   * Number counters stay within ±2^53-1 (safe integers), bigint counters within int64; a result
   * outside that range, or a value that is not an integer, throws and changes nothing. A counter
   * takes 8 bytes: a cache whose limits cannot hold `key` with 8 bytes refuses at once. A number
   * delta returns a number and a bigint delta a bigint (the counter's own type, as stored,
   * whatever the cache's `V`).
   */
  increment(key: CacheKey, delta?: number): number;
  increment(key: CacheKey, delta: bigint): bigint;
  increment(key: CacheKey, delta: number | bigint = 1): number | bigint {
    const k = this.#key(key);
    if (typeof delta === 'number' ? !Number.isSafeInteger(delta) : typeof delta !== 'bigint' || delta < INT64_MIN || delta > INT64_MAX) {
      throw new InvalidArgumentError(`delta must be a safe integer or an int64 bigint, got ${describeValue(delta)}`);
    }
    this.#checkFits(k, COUNTER_BYTES);
    // Check against the current value without a lock first, so that a call that must fail
    // (overflow, not an integer) fails before it touches shared memory; the locked pass below
    // decides for real.
    if (this.#readLive(k, false)) addInteger(key, this.#scratch.decode(this.#foundTag, this.#foundLength), delta);
    return this.#write(k, (slot) => {
      const present = slot >= 0 && !this.#isMarker(slot);
      const current = present ? this.#valueOf(slot) : typeof delta === 'bigint' ? 0n : 0;
      const next = addInteger(key, current, delta);
      const expiry = present ? this.#store.expiryOf(slot) : this.#expiryAfter(this.#store.shape.ttlMs);
      this.#storeValue(k, slot, encodeValue(next), expiry);
      return next;
    });
  }

  /** Sets the time to live of `key` from now (`Infinity` removes its expiry). False if there is no such entry. */
  expire(key: CacheKey, ttlMs: number): boolean {
    const k = this.#key(key);
    if (ttlMs === undefined) throw new InvalidArgumentError('expire(key, ttlMs): ttlMs is required (Infinity removes the expiry)');
    const ttl = checkTtl(ttlMs, 'ttlMs');
    return this.#write(k, (slot) => {
      if (slot < 0 || this.#isMarker(slot)) return false;
      this.#openSection(k.stripe);
      this.#store.setExpiry(slot, this.#expiryAfter(ttl));
      return true;
    });
  }

  /** Deletes `key`; true if it held a live entry. (A getOrCompute in flight for it is not cancelled: its result is stored when it ends.) */
  delete(key: CacheKey): boolean {
    return this.#write(this.#key(key), (slot) => {
      if (slot < 0 || this.#isMarker(slot)) return false;
      this.#removeOwn(slot, Counter.deletes);
      return true;
    });
  }

  /** Removes every entry (each counted as a delete). Entries being computed by getOrCompute go too; their computations store their values when they end. */
  clear(): void {
    const store = this.#store;
    const locks = this.#locks;
    locks.lockAllStripes();
    try {
      // Stripes whose getOrCompute placeholders go: their waiters must hear that the flight's
      // entry is gone (they park until the stripe's flight word moves).
      const flightStripes = new Set<number>();
      locks.withStructure(() => {
        for (let stripe = 0; stripe < store.shape.stripes; stripe++) store.beginWrite(stripe);
        try {
          const order = store.queueOrder();
          order.forEach((slot, n) => {
            if (n === order.length >> 1) faultPoint('clear:halfway');
            if (this.#isMarker(slot)) flightStripes.add(store.stripeOf(store.bucketOfSlot(slot)));
            store.beginSlotChange(slot);
            store.unlinkFromBucket(slot);
            store.freeSlot(slot, Counter.deletes);
          });
        } finally {
          for (let stripe = 0; stripe < store.shape.stripes; stripe++) store.endWrite(stripe);
        }
      });
      for (const stripe of flightStripes) this.#endFlight(stripe);
    } finally {
      locks.unlockAllStripes();
    }
  }

  // ---- single flight ---------------------------------------------------------------------------

  /**
   * The value of `key`, computing it if missing, with one computation in the whole process: of
   * any number of concurrent callers on any threads, exactly one runs `compute` (outside every
   * lock) and the others wait, without blocking their event loop, for its result. An error from
   * `compute` rejects every waiting caller and is not cached. A `compute` that returns
   * `undefined` stores nothing, and every waiting caller gets `undefined` too (as lru-cache's
   * fetch). If the computing thread dies, its lease (`leaseMs`) runs out (or its pool ends the
   * flight at once) and a waiter takes over. The value is stored with `ttlMs`.
   *
   * `T` is what `compute` returns: a `V`, or `undefined` (stored as nothing). The result is typed
   * `T` whether it was computed here, by another caller, or found in the cache: the cache does not
   * check it (see the class), so give every caller of a key the same kind of `compute`.
   */
  async getOrCompute<T extends V | undefined>(key: CacheKey, compute: () => T | PromiseLike<T>, options?: ComputeOptions): Promise<T> {
    const k = this.#key(key);
    checkFunction(compute, 'compute');
    const { ttlMs, leaseMs: leaseOption } = readOptions(options, ['ttlMs', 'leaseMs'], 'options');
    const expiry = this.#expiryAfter(ttlMs === undefined ? this.#store.shape.ttlMs : checkTtl(ttlMs, 'options.ttlMs'));
    const leaseMs = leaseOption === undefined ? DEFAULT_LEASE_MS : checkTtl(leaseOption, 'options.leaseMs');
    // The placeholder must fit too, or the call would evict for nothing and then fail.
    this.#checkFits(k, MARKER_BYTES);
    const store = this.#store;
    const flightWord = store.stripeWord(k.stripe, STRIPE.FLIGHT);
    let waited = false;
    for (;;) {
      if (this.#readLive(k, true)) {
        store.markVisited(this.#foundSlot);
        store.stats.bump(Counter.hits);
        return this.#scratch.decode(this.#foundTag, this.#foundLength) as T;
      }
      // Read the flight word before looking under the lock: a flight that ends after the look
      // changes it, so the park below returns at once instead of sleeping through the end.
      const seen = Atomics.load(store.i32, flightWord);
      const step = this.#write(k, (slot): { value: unknown } | { wait: Flight } | { own: Flight } => {
        if (slot >= 0) {
          const copy = store.copyEntry(slot)!;
          if (copy.tag !== Tag.PENDING) return { value: decodeValue(copy.tag, copy.value) };
          const flight = decodeMarker(copy.value);
          if (flight.leaseExpiry > Date.now()) return { wait: flight };
        }
        const flight = { owner: SELF_TAG, id: Atomics.add(store.i32, GLOBAL.FLIGHTS, 1) + 1, leaseExpiry: Date.now() + leaseMs };
        this.#put(k, slot, { tag: Tag.PENDING, bytes: encodeMarker(flight) }, Infinity);
        return { own: flight };
      });
      if ('value' in step) {
        store.stats.bump(Counter.hits);
        return step.value as T;
      }
      if ('own' in step) {
        store.stats.bump(Counter.misses);
        return this.#fly(k, step.own, compute, expiry);
      }
      if (!waited) store.stats.bump(Counter.singleFlightWaits);
      waited = true;
      const leaseLeft = Math.max(0, step.wait.leaseExpiry - Date.now());
      await parkAsync(store.i32, parkUntilChanged(store.i32, flightWord, seen), performance.now() + leaseLeft);
      const outcome = this.#locks.withStructure(() => this.#outcomes.outcomeOf(step.wait.id));
      if (outcome?.failed) throw outcome.error;
      if (outcome !== undefined) return undefined as T;
    }
  }

  /** Runs the computation this caller owns, then ends the flight: stores the value, or records the failure (or the empty result). */
  async #fly<T>(k: KeyRef, flight: Flight, compute: () => T | PromiseLike<T>, expiry: number): Promise<T> {
    let value: T;
    let encoded: Encoded | undefined;
    try {
      value = await compute();
      if (value !== undefined) encoded = this.#encode(k, value);
    } catch (error) {
      this.#endFlightSoon(k, flight, { failed: true, error });
      throw error;
    }
    if (encoded === undefined) {
      this.#endFlightSoon(k, flight, { failed: false });
      return value;
    }
    const stored = encoded;
    try {
      this.#write(k, (slot) => {
        // Store unless someone set a value meanwhile, or another caller took the flight over.
        if (slot >= 0 && !this.#ownsFlight(slot, flight)) return;
        this.#storeValue(k, slot, stored, expiry);
      });
    } catch (error) {
      // Not stored (a lock held by a stuck or dead thread, …): the flight still ends, with this
      // error, or its waiters would sleep out the whole lease.
      this.#endFlightSoon(k, flight, { failed: true, error });
      throw error;
    }
    return value;
  }

  /**
   * Ends a flight that has no value (#endFlightWithout) now or, if the cache's locks cannot be had
   * now (a holder stuck or dead, not yet recovered), as soon as they can: retried every 10 ms
   * until the lease runs out, when a waiter takes the flight over anyway. A flight left open
   * keeps its waiters parked for the rest of its lease.
   */
  #endFlightSoon(k: KeyRef, flight: Flight, outcome: FlightOutcome): void {
    try {
      this.#endFlightWithout(k, flight, outcome);
    } catch (error) {
      if (!(error instanceof LockUnavailableError) || Date.now() >= flight.leaseExpiry) return;
      setTimeout(() => this.#endFlightSoon(k, flight, outcome), END_FLIGHT_RETRY_MS).unref();
    }
  }

  /** Ends a flight that has no value: records why for its waiters, removes its placeholder (if still its own) and wakes them. */
  #endFlightWithout(k: KeyRef, flight: Flight, outcome: FlightOutcome): void {
    this.#write(k, (slot) => {
      this.#locks.withStructure(() => this.#outcomes.record(flight.id, outcome));
      if (this.#ownsFlight(slot, flight)) this.#removeOwn(slot, Counter.abandonedFlights);
      else this.#endFlight(k.stripe);
    });
  }

  #isMarker(slot: number): boolean {
    return this.#store.i32[this.#store.slotWord(slot) + SLOT.TAG] === Tag.PENDING;
  }

  #ownsFlight(slot: number, flight: Flight): boolean {
    return slot >= 0 && this.#isMarker(slot) && decodeMarker(this.#store.copyEntry(slot)!.value).id === flight.id;
  }

  /** Wakes the getOrCompute waiters of a stripe (their flight ended, one way or another). */
  #endFlight(stripe: number): void {
    const word = this.#store.stripeWord(stripe, STRIPE.FLIGHT);
    Atomics.add(this.#store.i32, word, 1);
    Atomics.notify(this.#store.i32, word);
  }

  // ---- iteration, stats, events ---------------------------------------------------------------

  /**
   * A snapshot of the live entries, taken one stripe at a time under that stripe's lock: never
   * throws, never yields a key twice, never yields a torn value, whatever other threads do.
   * Entries written during the iteration may or may not appear.
   */
  *entries(): IterableIterator<[CacheKey, V]> {
    const store = this.#store;
    for (let stripe = 0; stripe < store.shape.stripes; stripe++) {
      const copies: Array<[Uint8Array, EntryCopy]> = [];
      this.#locks.lockStripe(stripe);
      try {
        for (let bucket = stripe; bucket < store.shape.buckets; bucket += store.shape.stripes) {
          for (let link = store.i32[store.bucketWord(bucket)]!; link !== 0; link = store.i32[store.slotWord(link - 1) + SLOT.NEXT]!) {
            const copy = store.copyEntry(link - 1);
            if (copy !== null) copies.push([store.keyOf(link - 1), copy]);
          }
        }
      } finally {
        this.#locks.unlockStripe(stripe);
      }
      const now = this.#now();
      for (const [key, copy] of copies) if (copy.expiry > now && copy.tag !== Tag.PENDING) yield [keyFromBytes(key), decodeValue(copy.tag, copy.value) as V];
    }
  }

  /** A snapshot of the live keys (see {@link entries}). */
  *keys(): IterableIterator<CacheKey> {
    for (const [key] of this.entries()) yield key;
  }

  [Symbol.iterator](): IterableIterator<[CacheKey, V]> {
    return this.entries();
  }

  /**
   * The shared counters (the same numbers in every thread). Read under the structure mutex, so
   * the entry accounting is exact: `size === inserts - deletes - (every eviction) - abandonedFlights`.
   */
  stats(): CacheStats {
    const c = this.#store.stats;
    return this.#locks.withStructure(() => ({
      hits: c.read(Counter.hits),
      misses: c.read(Counter.misses),
      sets: c.read(Counter.sets),
      inserts: c.read(Counter.inserts),
      deletes: c.read(Counter.deletes),
      evictions: {
        capacity: c.read(Counter.evictedCapacity),
        bytes: c.read(Counter.evictedBytes),
        burst: c.read(Counter.evictedBurst),
        ttl: c.read(Counter.evictedTtl),
        memory: c.read(Counter.evictedMemory),
        recovery: c.read(Counter.evictedRecovery),
      },
      admissionsRefused: c.read(Counter.admissionsRefused),
      expirations: c.read(Counter.expirations),
      singleFlightWaits: c.read(Counter.singleFlightWaits),
      abandonedFlights: c.read(Counter.abandonedFlights),
      lockContention: c.read(Counter.lockContention),
      size: this.size,
      bytes: this.bytes,
    }));
  }

  /**
   * Calls `listener(key, value, reason)` in this thread for every entry that this thread's
   * operations evict, after the operation has released its locks. Returns an unsubscribe function.
   * A listener that throws does not undo or fail the write that evicted (it succeeded), nor skip
   * the other listeners: its error is reported as a process warning (code SABRE_EVICT_LISTENER).
   */
  onEvict(listener: EvictionListener<V>): () => void {
    if (typeof listener !== 'function') throw new InvalidArgumentError(`listener must be a function, got ${describeValue(listener)}`);
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * See {@link checkIntegrity}: stops the world (every stripe mutex, in order, then the
   * structure mutex) and returns what is inconsistent, or an empty list.
   */
  [checkIntegrity](): string[] {
    this.#locks.lockAllStripes();
    try {
      return this.#locks.withStructure(() => this.#store.integrityProblems());
    } finally {
      this.#locks.unlockAllStripes();
    }
  }

  /** See {@link setAdmission}. */
  [setAdmission](open: boolean): void {
    Atomics.store(this.#store.i32, HEADER.ADMISSION_CLOSED, open ? 0 : 1);
  }

  /** See {@link setAdmission}: evicts up to `count` entries by the policy (bounded: at most 1,000). Returns how many. */
  [shedEntries](count: number): number {
    let evicted = 0;
    this.#locks.withStructure(() => {
      while (evicted < Math.min(count, WORK_LIMIT) && this.#evictOne(-1, -1, 'memory')) evicted++;
    });
    this.#notifyEvictions();
    return evicted;
  }

  /**
   * Call once the thread `threadId` has exited (from its Worker's `'exit'` event; read
   * `worker.threadId` before, it reads -1 there), if it may have used this cache. If it died
   * holding cache locks, takes them over, repairs every structure they guarded (recovery.ts:
   * what it was changing is dropped and counted as 'recovery' evictions) and releases them; ends
   * its getOrCompute flights so that a waiter computes at once; wakes every thread parked on the
   * cache. Returns what it did, or null if the thread left nothing behind. A `sabre/pool` does
   * this by itself. Never call it for a running thread: it would take its locks away.
   *
   * Throws {@link LockUnavailableError}, having changed nothing, if the structure lock stays
   * held by another thread (stuck or also dead) for `lockTimeoutMs`; call it again later.
   */
  recoverDeadThread(threadId: number): CacheRecovery | null {
    checkInteger(threadId, 'threadId', 0, OWNER_MASK - 1);
    const store = this.#store;
    const structure = store.structure;
    // The structure mutex first (waiting, bounded, only if the dead thread does not hold it),
    // then the dead thread's stripes, which are taken over without waiting: a timeout leaves
    // nothing taken, and the out-of-order acquisition cannot deadlock since it never waits.
    const heldStructure = structure[adoptFromDeadHolder](threadId);
    if (!heldStructure) this.#locks.lockStructure();
    const held: number[] = [];
    let droppedEntries = 0;
    try {
      store.stripeLocks.forEach((lock, stripe) => {
        if (lock[adoptFromDeadHolder](threadId)) held.push(stripe);
      });
      if (heldStructure || held.length > 0) droppedEntries = repairAfterDeath(store, threadId + 1, held).droppedEntries;
    } finally {
      this.#locks.unlockStructure();
      for (const stripe of held) this.#locks.unlockStripe(stripe);
    }
    const abandonedFlights = this.#endFlightsOf(threadId + 1);
    // A wake-up the dead thread took with it (it was being woken when it died) is sent again.
    for (const lock of [structure, ...store.stripeLocks]) lock.recoverDeadThread(threadId);
    wakeAll(
      store.i32,
      Array.from({ length: store.shape.stripes }, (_, stripe) => store.stripeWord(stripe, STRIPE.FLIGHT)),
    );
    if (!heldStructure && held.length === 0 && abandonedFlights === 0) return null;
    return { threadId, stripes: held.length, structure: heldStructure, droppedEntries, abandonedFlights };
  }

  /**
   * Removes the flight markers owned by the thread tagged `owner` (which is dead) and wakes their
   * waiters, who find no entry and start a new flight. Candidates are found without a lock, then
   * checked again under their stripe's lock.
   */
  #endFlightsOf(owner: number): number {
    const store = this.#store;
    let ended = 0;
    for (let slot = 0; slot < store.shape.maxEntries; slot++) {
      if (!this.#isMarker(slot)) continue;
      const stripe = store.stripeOf(store.bucketOfSlot(slot));
      this.#locks.lockStripe(stripe);
      try {
        const live = (store.i32[store.slotWord(slot) + SLOT.FLAGS]! & FLAG_LIVE) !== 0;
        if (live && this.#isMarker(slot) && store.stripeOf(store.bucketOfSlot(slot)) === stripe && decodeMarker(store.copyEntry(slot)!.value).owner === owner) {
          this.#removeOwn(slot, Counter.abandonedFlights);
          ended++;
        }
      } finally {
        this.#closeSection();
        this.#locks.unlockStripe(stripe);
      }
    }
    return ended;
  }

  // ---- internals: keys, values, time ----------------------------------------------------------

  #key(key: unknown): KeyRef {
    const prepared = this.#keys.get(key as CacheKey);
    if (prepared !== undefined) return prepared;
    if (typeof key !== 'string' && (typeof key !== 'number' || Number.isNaN(key))) {
      throw new InvalidArgumentError(`key must be a string or a number (not NaN), got ${describeValue(key)}`);
    }
    const bytes = keyBytes(key);
    const { maxKeyBytes, buckets, stripes, maxEntries } = this.#store.shape;
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
      seenSlot: -1,
      seenExpiry: 0,
      seenValue: undefined,
      visitedEpoch: NaN,
    };
    if (this.#keys.size >= Math.min(KEY_CACHE_MAX, Math.max(KEY_CACHE_MIN, maxEntries))) this.#keys.clear();
    this.#keys.set(key, ref);
    return ref;
  }

  /** Encodes a value to store under `k`, refusing (before anything is touched) one the limits can never hold. */
  #encode(k: KeyRef, value: unknown): Encoded {
    const encoded = encodeValue(value);
    const { maxValueBytes } = this.#store.shape;
    if (encoded.bytes.length > maxValueBytes) {
      throw new InvalidArgumentError(`value is ${encoded.bytes.length} bytes encoded; maxValueBytes is ${maxValueBytes}`);
    }
    this.#checkFits(k, encoded.bytes.length);
    return encoded;
  }

  /** Refuses up front an entry of `k` and `valueBytes` that could never fit, however much were evicted. */
  #checkFits(k: KeyRef, valueBytes: number): void {
    const { maxBytes, maxValueBytes } = this.#store.shape;
    if (valueBytes === COUNTER_BYTES && valueBytes > maxValueBytes) {
      throw new InvalidArgumentError(`a counter takes ${COUNTER_BYTES} bytes; maxValueBytes is ${maxValueBytes}`);
    }
    if (k.bytes.length + valueBytes > maxBytes) {
      throw new InvalidArgumentError(`key + value is ${k.bytes.length + valueBytes} bytes; maxBytes is ${maxBytes}`);
    }
  }

  #now(): number {
    return this.#clock ? this.#clock.now() : Date.now();
  }

  #expiryAfter(ttlMs: number): number {
    return ttlMs === Infinity ? Infinity : this.#now() + ttlMs;
  }

  #expiryFrom(options: SetOptions | undefined): number {
    const { ttlMs } = readOptions(options, ['ttlMs'], 'options');
    return this.#expiryAfter(ttlMs === undefined ? this.#store.shape.ttlMs : checkTtl(ttlMs, 'options.ttlMs'));
  }

  #holds(slot: number, want: Encoded): boolean {
    const copy = this.#store.copyEntry(slot)!;
    return sameEncoding(copy.tag, copy.value, want);
  }

  #valueOf(slot: number): unknown {
    const copy = this.#store.copyEntry(slot)!;
    return decodeValue(copy.tag, copy.value);
  }

  // ---- internals: the read path ----------------------------------------------------------------

  /**
   * Looks `k` up and, if it holds a live value (not a flight marker, not expired), copies it into
   * the scratch and records slot, tag, length and expiry in the #found fields.
   */
  #readLive(k: KeyRef, countExpiry: boolean): boolean {
    if (!this.#lookupInto(k) || this.#foundTag === Tag.PENDING) return false;
    if (this.#foundExpiry === Infinity || this.#foundExpiry > this.#now()) return true;
    if (countExpiry) this.#store.stats.bump(Counter.expirations);
    return false;
  }

  #lookupInto(k: KeyRef): boolean {
    const store = this.#store;
    const i32 = store.i32;
    if (LOCK_FREE_READS) {
      const seq = store.seqWord(k.stripe);
      for (let attempt = 0; attempt < READ_RETRIES; attempt++) {
        // Seqlock read: an even value means no write section is open on this stripe.
        const before = Atomics.load(i32, seq);
        if ((before & 1) !== 0) continue;
        const slot = store.find(k.bucket, k.hash, k.bytes, k.words);
        if (slot === INCONSISTENT) continue;
        if (slot < 0) {
          if (Atomics.load(i32, seq) === before) return false;
          continue;
        }
        const tag = store.tagOf(slot);
        const expiry = store.expiryOf(slot);
        const length = store.copyValueInto(slot, this.#scratch);
        // Unchanged after the copy: no writer touched this stripe's memory meanwhile, so the copy is whole.
        if (length >= 0 && Atomics.load(i32, seq) === before) return this.#found(slot, tag, length, expiry, before);
      }
    }
    this.#locks.lockStripe(k.stripe);
    try {
      const slot = store.find(k.bucket, k.hash, k.bytes, k.words);
      if (slot < 0) return false;
      // Under the stripe mutex no write section is open, so the seqlock word is stable (and even).
      const seq = Atomics.load(i32, store.seqWord(k.stripe));
      return this.#found(slot, store.tagOf(slot), store.copyValueInto(slot, this.#scratch), store.expiryOf(slot), seq);
    } finally {
      this.#locks.unlockStripe(k.stripe);
    }
  }

  /** Whether this thread's remembered value for `k` is still the stored one, and still live. */
  #stillSeen(k: KeyRef): boolean {
    return k.seenSeq === Atomics.load(this.#store.i32, k.seqWord) && (k.seenExpiry === Infinity || k.seenExpiry > this.#now());
  }

  /** Decodes the value #readLive found, remembering it on the key when it is immutable. */
  #decodeFound(k: KeyRef): unknown {
    const tag = this.#foundTag;
    const value = this.#scratch.decode(tag, this.#foundLength);
    const immutable = isStringTag(tag) ? (value as string).length <= REMEMBER_STRING_LENGTH : tag <= Tag.BIGSTR;
    if (immutable) {
      k.seenSeq = this.#foundSeq;
      k.seenSlot = this.#foundSlot;
      k.seenExpiry = this.#foundExpiry;
      k.seenValue = value;
    }
    return value;
  }

  #found(slot: number, tag: number, length: number, expiry: number, seq: number): true {
    this.#foundSeq = seq;
    this.#foundSlot = slot;
    this.#foundTag = tag;
    this.#foundLength = length;
    this.#foundExpiry = expiry;
    return true;
  }

  // ---- internals: the write path ---------------------------------------------------------------

  /**
   * Runs `body` with the key's stripe locked. `body` gets the slot of the key's live entry, or -1
   * (an expired entry is removed first). Every change opens the stripe's write section first
   * (#openSection); it is closed before the lock is released. Retries from scratch if an
   * eviction found every candidate busy. Eviction listeners run after the locks are released.
   */
  #write<T>(k: KeyRef, body: (slot: number) => T): T {
    const store = this.#store;
    for (let attempt = 0; ; attempt++) {
      const contended = this.#locks.lockStripe(k.stripe); // throws having taken nothing
      if (contended) store.stats.bump(Counter.lockContention);
      try {
        faultPoint('write:locked');
        let slot = store.find(k.bucket, k.hash, k.bytes, k.words);
        const expiry = slot >= 0 ? store.expiryOf(slot) : Infinity;
        if (slot >= 0 && expiry !== Infinity && expiry <= this.#now()) {
          const expired = slot;
          this.#locks.withStructure(() => this.#removeClaimed(expired, k.stripe, k.stripe, 'ttl'));
          slot = -1;
        }
        return body(slot);
      } catch (error) {
        if (!(error instanceof Busy) || attempt >= WRITE_RETRIES) {
          if (error instanceof Busy) throw new IllegalStateError('SharedCache: could not make room; every eviction candidate stayed busy');
          throw error;
        }
      } finally {
        this.#closeSection();
        this.#locks.unlockStripe(k.stripe);
        this.#notifyEvictions();
      }
      // Busy: every candidate's stripe was locked by writers that may be waiting for the structure
      // mutex we just released. Let them finish, then try again.
      Atomics.wait(BACKOFF, 0, 0, 0.05 * Math.min(attempt + 1, 20));
    }
  }

  /** Opens `stripe`'s write section (odd seqlock word) unless the running write has already. Stripe mutex held. */
  #openSection(stripe: number): void {
    if (this.#sectionStripe === stripe) return;
    this.#store.beginWrite(stripe);
    this.#sectionStripe = stripe;
  }

  #closeSection(): void {
    if (this.#sectionStripe < 0) return;
    this.#store.endWrite(this.#sectionStripe);
    this.#sectionStripe = -1;
  }

  /** Stores a value (not a flight marker) and counts the set. Stripe mutex held. */
  #storeValue(k: KeyRef, slot: number, encoded: Encoded, expiry: number): void {
    this.#put(k, slot, encoded, expiry);
    this.#store.stats.bump(Counter.sets);
  }

  /**
   * Stores the encoded value for `k` in `slot` (or a new slot if -1). Stripe mutex held. Every
   * lock it needs is taken before the first change, so a refusal changes nothing.
   */
  #put(k: KeyRef, slot: number, encoded: Encoded, expiry: number): void {
    const store = this.#store;
    if (slot < 0 && Atomics.load(store.i32, HEADER.ADMISSION_CLOSED) !== 0) {
      store.stats.bump(Counter.admissionsRefused);
      throw new MemoryLimitError('SharedCache: the memory guard is at its limit and refuses new keys (existing keys can still be updated)');
    }
    const endsFlight = slot >= 0 && this.#isMarker(slot) && encoded.tag !== Tag.PENDING;
    if (slot >= 0 && store.fitsInPlace(slot, encoded.bytes.length)) {
      this.#openSection(k.stripe);
      store.overwrite(slot, k.bytes.length, encoded.tag, encoded.bytes, expiry);
    } else {
      this.#locks.withStructure(() => {
        faultPoint('put:structure');
        const w = slot >= 0 ? store.slotWord(slot) : -1;
        const oldBytes = slot >= 0 ? store.i32[w + SLOT.KEY_LEN]! + store.i32[w + SLOT.VALUE_LEN]! : 0;
        this.#makeRoom(k.stripe, slot, slot < 0 ? 1 : 0, k.bytes.length + encoded.bytes.length - oldBytes);
        this.#openSection(k.stripe);
        // allocSlot marks a new slot as changing; an existing one is marked here. Either way the
        // mark stays until the entry is whole and linked (recovery.ts drops marked slots).
        if (slot >= 0) store.beginSlotChange(slot);
        const target = slot >= 0 ? slot : store.allocSlot();
        faultPoint('put:allocated');
        store.fill(target, k.bytes, encoded.tag, encoded.bytes, expiry);
        faultPoint('put:filled');
        if (slot < 0) store.linkIntoBucket(target, k.bucket, k.hash);
        faultPoint('put:linked');
        store.endSlotChange(target);
        this.#afterInsert(k.stripe, target);
      });
    }
    // The value is in: the flight whose placeholder it replaced has ended; wake its waiters.
    if (endsFlight) this.#endFlight(k.stripe);
  }

  /** Evicts until one more entry of `bytes` more bytes fits. Structure mutex held. Throws Busy if no candidate can be claimed. */
  #makeRoom(ownStripe: number, exclude: number, slots: number, bytes: number): void {
    const store = this.#store;
    const { maxEntries, maxBytes } = store.shape;
    while (store.size + slots > maxEntries || store.bytes + bytes > maxBytes) {
      const reason: EvictionReason = store.size + slots > maxEntries ? 'capacity' : 'bytes';
      if (!this.#evictOne(ownStripe, exclude, reason)) throw new Busy();
    }
  }

  /** Burst eviction down to lowWater, then a small TTL sweep. Structure mutex held. */
  #afterInsert(ownStripe: number, inserted: number): void {
    const store = this.#store;
    const { highWater, lowWater } = store.shape;
    if (store.size > highWater) {
      for (let n = 0; n < WORK_LIMIT && store.size > lowWater; n++) {
        if (!this.#evictOne(ownStripe, inserted, 'burst')) break;
      }
    }
    const now = this.#now();
    for (let n = 0; n < SWEEP_BATCH; n++) {
      const slot = store.nextSweep();
      if (slot < 0) break;
      if (slot !== inserted && store.expiryOf(slot) <= now) this.#claimAndRemove(slot, ownStripe, 'ttl');
    }
  }

  /** Chooses a victim by the policy, claims its stripe and removes it. Structure mutex held. */
  #evictOne(ownStripe: number, exclude: number, reason: EvictionReason): boolean {
    const store = this.#store;
    let claimed = -1;
    const victim = store.nextVictim((slot) => {
      if (slot === exclude) return false;
      const stripe = store.stripeOf(store.bucketOfSlot(slot));
      if (stripe !== ownStripe && !this.#locks.tryLockStripe(stripe)) return false;
      claimed = stripe;
      return true;
    }, WORK_LIMIT);
    if (victim < 0) return false;
    if (claimed !== ownStripe) faultPoint('evict:claimed');
    this.#removeClaimed(victim, claimed, ownStripe, reason);
    return true;
  }

  #claimAndRemove(slot: number, ownStripe: number, reason: EvictionReason): void {
    const store = this.#store;
    const stripe = store.stripeOf(store.bucketOfSlot(slot));
    if (stripe !== ownStripe && !this.#locks.tryLockStripe(stripe)) return;
    this.#removeClaimed(slot, stripe, ownStripe, reason);
  }

  /** Removes `slot`, whose stripe this thread holds (its own, or just claimed). Structure mutex held. */
  #removeClaimed(slot: number, stripe: number, ownStripe: number, reason: EvictionReason): void {
    const store = this.#store;
    if (stripe === ownStripe) {
      this.#openSection(ownStripe);
      this.#remove(slot, reason);
      return;
    }
    store.beginWrite(stripe);
    try {
      this.#remove(slot, reason);
    } finally {
      store.endWrite(stripe);
      this.#locks.unlockStripe(stripe);
    }
  }

  /** Removes an entry of the caller's own stripe (delete, compareAndDelete, an abandoned flight), counted in `removal`. Stripe mutex held. */
  #removeOwn(slot: number, removal: number): void {
    const store = this.#store;
    const stripe = store.stripeOf(store.bucketOfSlot(slot));
    const marker = this.#isMarker(slot);
    this.#locks.withStructure(() => {
      this.#openSection(stripe);
      store.beginSlotChange(slot);
      store.unlinkFromBucket(slot);
      faultPoint('delete:unlinked');
      store.freeSlot(slot, removal);
    });
    if (marker) this.#endFlight(stripe);
  }

  /** Evicts `slot`: its stripe's write section is open and the structure mutex is held. */
  #remove(slot: number, reason: EvictionReason): void {
    const store = this.#store;
    if ((store.i32[store.slotWord(slot) + SLOT.FLAGS]! & FLAG_LIVE) === 0) return;
    const marker = this.#isMarker(slot);
    const stripe = store.stripeOf(store.bucketOfSlot(slot));
    if (!marker && this.#listeners.size > 0) {
      const copy = store.copyEntry(slot)!;
      this.#evicted.push([keyFromBytes(store.keyOf(slot)), decodeValue(copy.tag, copy.value) as V, reason]);
    }
    store.beginSlotChange(slot);
    store.unlinkFromBucket(slot);
    faultPoint('remove:unlinked');
    store.freeSlot(slot, REASON_COUNTER[reason]);
    if (marker) this.#endFlight(stripe);
  }

  /** Calls the eviction listeners (locks released). A listener's error is reported, never thrown into the write. */
  #notifyEvictions(): void {
    if (this.#evicted.length === 0) return;
    const evicted = this.#evicted;
    this.#evicted = [];
    for (const [key, value, reason] of evicted) {
      for (const listener of this.#listeners) {
        try {
          listener(key, value as never, reason);
        } catch (error) {
          process.emitWarning(`an onEvict listener threw ${describeThrown(error)}; the write that evicted succeeded`, { code: 'SABRE_EVICT_LISTENER' });
        }
      }
    }
  }
}

const BACKOFF = new Int32Array(new SharedArrayBuffer(4));

/**
 * Parks until `view[index]` moves on from `value` (a flight ended), or the driver's deadline. The
 * end of a slice (wait.ts) with the word unchanged only re-parks: nothing to look at yet.
 */
function* parkUntilChanged(view: Int32Array, index: number, value: number): ParkSteps<void> {
  for (;;) {
    const reason = yield { index, value, passOn: broadcastNeedsNoPassOn };
    if (reason !== 'recheck' || Atomics.load(view, index) !== value) return;
  }
}

/** Whether a value tag holds a string (remembered per key like the other immutable values when short). */
function isStringTag(tag: number): boolean {
  return tag === Tag.STRING || tag === Tag.STRING16;
}

function writeHeader(buffer: SharedArrayBuffer, config: CacheConfig): void {
  const i32 = new Int32Array(buffer, 0, 16);
  i32[HEADER.MAX_ENTRIES] = config.maxEntries;
  i32[HEADER.MAX_BYTES] = config.maxBytes;
  i32[HEADER.BUCKETS] = config.buckets;
  i32[HEADER.STRIPES] = config.stripes;
  i32[HEADER.CHUNKS] = config.chunks;
  i32[HEADER.MAX_KEY_BYTES] = config.maxKeyBytes;
  i32[HEADER.MAX_VALUE_BYTES] = config.maxValueBytes;
  i32[HEADER.POLICY] = config.policy === 'lru' ? 1 : 0;
  i32[HEADER.HIGH_WATER] = config.highWater;
  i32[HEADER.LOW_WATER] = config.lowWater;
  i32[HEADER.LOCK_TIMEOUT_MS] = config.lockTimeoutMs === Infinity ? -1 : Math.ceil(config.lockTimeoutMs);
  new Float64Array(buffer, 0, 8)[HEADER.TTL_F64] = config.ttlMs;
}

function addInteger(key: CacheKey, current: unknown, delta: number | bigint): number | bigint {
  if (typeof current === 'bigint') {
    const next = current + BigInt(delta);
    if (next < INT64_MIN || next > INT64_MAX) throw new IllegalStateError(`increment('${key}'): ${next} is outside int64`);
    return next;
  }
  if (typeof current === 'number' && Number.isSafeInteger(current)) {
    // A number counter stays a number: a bigint delta is fine as long as the result is safe.
    const exact = BigInt(current) + BigInt(delta);
    if (exact > MAX_SAFE || exact < -MAX_SAFE)
      throw new IllegalStateError(`increment('${key}'): ${exact} is not a safe integer (use bigint counters beyond 2^53)`);
    return Number(exact);
  }
  throw new IllegalStateError(`increment('${key}'): the value is not an integer (${describeValue(current)})`);
}
