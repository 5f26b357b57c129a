/**
 * SharedCache: one bounded cache in shared memory that every thread reads and writes. This is
 * the facade: it checks arguments and hands each operation to the module that owns its concept.
 *
 *   module            concept
 *   layout.ts         where everything is in the SharedArrayBuffer (diagram), branded Slot/Link
 *   header.ts         the configuration line, written at create and read at attach
 *   store.ts          the memory: records, chunk chains, bucket chains, free lists
 *   eviction.ts       the eviction queue, and SIEVE / CLOCK behind one small interface
 *   stats.ts          per-thread counter blocks, summed on read
 *   reader.ts         the read path: prepared keys, seqlock reads, remembered values
 *   writer.ts         the write protocol: locks, write sections, eviction, listeners
 *   single-flight.ts  getOrCompute's protocol (flight-records.ts: its memory formats)
 *   cache-locks.ts    bounded waits for the cache's locks
 *   recovery.ts       crash repair after a thread dies; integrity.ts, its dual, the oracle
 *
 * Which lock each member needs is written `@guardedBy …` everywhere (see DESIGN.md).
 * User code (onEvict listeners, getOrCompute's compute) never runs under a sabre lock.
 */
import { HandleError, InvalidArgumentError } from '../errors.js';
import { attachRegion, defineSpec, headerOf } from '../shared/region.js';
import { OWNER_MASK } from '../shared/thread.js';
import { checkFunction, checkInteger, describeValue, readOptions } from '../shared/validate.js';
import { CacheLocks } from './cache-locks.js';
import { CacheTime, ManualClock } from './clock.js';
import { type CacheKey, INT64_MAX, INT64_MIN, Tag, decodeValue, encodeValue, keyFromBytes } from './codec.js';
import { MARKER_BYTES } from './flight-records.js';
import { readShape, writeHeader } from './header.js';
import { integrityProblems } from './integrity.js';
import { HEADER, NO_SLOT, layoutOf } from './layout.js';
import { type SharedCacheOptions, checkOptions, checkTtl } from './options.js';
import { type KeyRef, PreparedKeys, Reader } from './reader.js';
import { recoverThread } from './recovery.js';
import { SingleFlight } from './single-flight.js';
import { Counter } from './stats.js';
import { type EntryCopy, Store } from './store.js';
import type { CacheRecovery, CacheStats, ComputeOptions, EvictionListener, SetOptions, SharedCacheHandle } from './types.js';
import { COUNTER_BYTES, Writer, staged } from './writer.js';
import { addInteger } from './counter-values.js';

export type { CacheRecovery, CacheStats, ComputeOptions, EvictionListener, EvictionReason, SetOptions, SharedCacheHandle } from './types.js';
export type { CacheKey };

const SPEC = defineSpec({ kind: 'sabre/cache', id: 16, layout: 1, words: 16 });

/**
 * Package-internal controls for the memory guard (src/pool/memory-guard.ts): close or open the
 * cache to new keys, and shed entries. Not exported from the package.
 */
export const setAdmission: unique symbol = Symbol('sabre.cache.setAdmission');
/** Package-internal: check every shared structure (tests, the stress harness's arbiters). */
export const checkIntegrity: unique symbol = Symbol('sabre.cache.checkIntegrity');
export const shedEntries: unique symbol = Symbol('sabre.cache.shedEntries');

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
  readonly #time: CacheTime;
  readonly #clock: ManualClock | undefined;
  readonly #keys: PreparedKeys;
  readonly #reader: Reader;
  readonly #writer: Writer<V>;
  readonly #flights: SingleFlight;
  /** Typed for values of `never` so that a SharedCache<V> stays a SharedCache<unknown> (V covariant); they get V values. */
  readonly #listeners = new Set<EvictionListener<never>>();
  #handle: SharedCacheHandle | undefined;

  private constructor(store: Store, clock: ManualClock | undefined) {
    this.#store = store;
    this.#locks = new CacheLocks(store);
    this.#clock = clock;
    this.#time = new CacheTime(clock);
    this.#keys = new PreparedKeys(store);
    this.#reader = new Reader(store, this.#locks, this.#time);
    this.#writer = new Writer<V>(store, this.#locks, this.#time, this.#listeners);
    this.#flights = new SingleFlight(store, this.#locks, this.#reader, this.#writer as Writer<unknown>);
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

  // ---- reads: reader.ts, no lock ---------------------------------------------------------------

  /** The value of `key` (a copy the caller may keep), or undefined. A hit marks the entry recently used. */
  get(key: CacheKey): V | undefined {
    return this.#reader.get(this.#keys.of(key)) as V | undefined;
  }

  /** Like get, without marking the entry as used and without counting a hit or miss. */
  peek(key: CacheKey): V | undefined {
    const k = this.#keys.of(key);
    if (this.#reader.stillSeen(k)) return k.seenValue as V;
    const found = this.#reader.live(k, false);
    return found === null ? undefined : (this.#reader.decode(k, found) as V);
  }

  /** Whether `key` holds a live entry (no recency update). */
  has(key: CacheKey): boolean {
    const k = this.#keys.of(key);
    return this.#reader.stillSeen(k) || this.#reader.live(k, false) !== null;
  }

  /** Remaining time to live of `key` in ms: Infinity if it never expires, undefined if there is no such entry. */
  ttl(key: CacheKey): number | undefined {
    const found = this.#reader.live(this.#keys.of(key), false);
    if (found === null) return undefined;
    return found.expiry === Infinity ? Infinity : Math.max(0, found.expiry - this.#time.now());
  }

  // ---- writes: writer.ts, under the key's stripe lock ---------------------------------------------

  /** Stores `value` under `key`, evicting first if a bound requires it. */
  set(key: CacheKey, value: V, options?: SetOptions): this {
    const k = this.#keys.of(key);
    const expiry = this.#expiryFrom(options);
    if (!this.#writer.setInPlace(k, value, expiry)) this.#setStaged(k, value, expiry);
    return this;
  }

  /**
   * set() beyond the in-place case: stage the value, then the general write. A method of its own
   * so that set's compiled code stays small: TurboFan inlines callees into a caller up to a
   * budget of bytecode, and the closure and staging here used it up, leaving the encoder and the
   * counter of the common case as calls.
   */
  #setStaged(k: KeyRef, value: V, expiry: number): void {
    const encoded = this.#writer.stage(k, value); // last before the write (see Staged)
    this.#writer.write(k, (slot) => this.#writer.storeValue(k, slot, encoded, expiry));
  }

  /** Stores `value` only if `key` holds no live entry. Exactly one of any number of racing callers, on any threads, gets true. */
  setIfAbsent(key: CacheKey, value: V, options?: SetOptions): boolean {
    const k = this.#keys.of(key);
    const expiry = this.#expiryFrom(options);
    const encoded = this.#writer.stage(k, value); // last before the write (see Staged)
    return this.#writer.write(k, (slot) => {
      if (slot !== NO_SLOT && !this.#writer.isMarker(slot)) return false;
      this.#writer.storeValue(k, slot, encoded, expiry);
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
    const k = this.#keys.of(key);
    const want = encodeValue(expected);
    const encoded = this.#writer.encode(k, next);
    const { ttlMs } = readOptions(options, ['ttlMs'], 'options');
    const ttl = ttlMs === undefined ? undefined : checkTtl(ttlMs, 'options.ttlMs');
    return this.#writer.write(k, (slot) => {
      if (slot === NO_SLOT || this.#writer.isMarker(slot) || !this.#writer.holds(slot, want)) return false;
      this.#writer.storeValue(k, slot, encoded, ttl === undefined ? this.#store.expiryOf(slot) : this.#time.expiryAfter(ttl));
      return true;
    });
  }

  /** Deletes `key` if its value currently equals `expected` (compared as in compareAndSet; counted as a delete). */
  compareAndDelete(key: CacheKey, expected: V): boolean {
    const k = this.#keys.of(key);
    const want = encodeValue(expected);
    return this.#writer.write(k, (slot) => {
      if (slot === NO_SLOT || this.#writer.isMarker(slot) || !this.#writer.holds(slot, want)) return false;
      this.#writer.removeOwn(slot, Counter.deletes);
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
    const k = this.#keys.of(key);
    if (typeof delta === 'number' ? !Number.isSafeInteger(delta) : typeof delta !== 'bigint' || delta < INT64_MIN || delta > INT64_MAX) {
      throw new InvalidArgumentError(`delta must be a safe integer or an int64 bigint, got ${describeValue(delta)}`);
    }
    this.#writer.checkFits(k, COUNTER_BYTES);
    // Check against the current value without a lock first, so that a call that must fail
    // (overflow, not an integer) fails before it touches shared memory; the locked pass below
    // decides for real.
    const found = this.#reader.live(k, false);
    if (found !== null) addInteger(key, this.#reader.scratch.decode(found.tag, found.length), delta);
    return this.#writer.write(k, (slot) => {
      const present = slot !== NO_SLOT && !this.#writer.isMarker(slot);
      const current = present ? this.#writer.valueOf(slot) : typeof delta === 'bigint' ? 0n : 0;
      const next = addInteger(key, current, delta);
      const expiry = present ? this.#store.expiryOf(slot) : this.#time.expiryAfter(this.#store.shape.ttlMs);
      this.#writer.storeValue(k, slot, staged(encodeValue(next)), expiry);
      return next;
    });
  }

  /** Sets the time to live of `key` from now (`Infinity` removes its expiry). False if there is no such entry. */
  expire(key: CacheKey, ttlMs: number): boolean {
    const k = this.#keys.of(key);
    if (ttlMs === undefined) throw new InvalidArgumentError('expire(key, ttlMs): ttlMs is required (Infinity removes the expiry)');
    const ttl = checkTtl(ttlMs, 'ttlMs');
    return this.#writer.write(k, (slot) => {
      if (slot === NO_SLOT || this.#writer.isMarker(slot)) return false;
      this.#writer.openSection(k.stripe);
      this.#store.setExpiry(slot, this.#time.expiryAfter(ttl));
      return true;
    });
  }

  /** Deletes `key`; true if it held a live entry. (A getOrCompute in flight for it is not cancelled: its result is stored when it ends.) */
  delete(key: CacheKey): boolean {
    return this.#writer.write(this.#keys.of(key), (slot) => {
      if (slot === NO_SLOT || this.#writer.isMarker(slot)) return false;
      this.#writer.removeOwn(slot, Counter.deletes);
      return true;
    });
  }

  /** Removes every entry (each counted as a delete). Entries being computed by getOrCompute go too; their computations store their values when they end. */
  clear(): void {
    this.#locks.lockAllStripes();
    try {
      this.#writer.removeAll();
    } finally {
      this.#locks.unlockAllStripes();
    }
  }

  // ---- single flight: single-flight.ts -----------------------------------------------------------

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
    const k = this.#keys.of(key);
    checkFunction(compute, 'compute');
    const { ttlMs, leaseMs: leaseOption } = readOptions(options, ['ttlMs', 'leaseMs'], 'options');
    const expiry = this.#time.expiryAfter(ttlMs === undefined ? this.#store.shape.ttlMs : checkTtl(ttlMs, 'options.ttlMs'));
    const leaseMs = leaseOption === undefined ? DEFAULT_LEASE_MS : checkTtl(leaseOption, 'options.leaseMs');
    // The placeholder must fit too, or the call would evict for nothing and then fail.
    this.#writer.checkFits(k, MARKER_BYTES);
    return this.#flights.getOrCompute(k, compute, expiry, leaseMs);
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
        for (const slot of store.slotsOfStripe(stripe)) {
          const copy = store.copyEntry(slot);
          if (copy !== null) copies.push([store.keyOf(slot), copy]);
        }
      } finally {
        this.#locks.unlockStripe(stripe);
      }
      const now = this.#time.now();
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
    return this.#locks.withStructure(() => this.#store.stats.snapshot(this.size, this.bytes));
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
      return this.#locks.withStructure(() => integrityProblems(this.#store));
    } finally {
      this.#locks.unlockAllStripes();
    }
  }

  /** See {@link setAdmission}. */
  [setAdmission](open: boolean): void {
    // Atomics.store: writers read it with Atomics.load before admitting a new key, without a lock.
    Atomics.store(this.#store.i32, HEADER.ADMISSION_CLOSED, open ? 0 : 1);
  }

  /** See {@link setAdmission}: evicts up to `count` entries by the policy (bounded: at most 1,000). Returns how many. */
  [shedEntries](count: number): number {
    return this.#writer.evictor.shed(count);
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
    return recoverThread(this.#store, this.#locks, threadId, (owner) => this.#flights.endFlightsOf(owner));
  }

  // ---- internals ---------------------------------------------------------------------------------

  /**
   * The absolute expiry of a write with these options (the cache's ttlMs by default). No options
   * is the common call: it reads nothing, and this stays small enough for TurboFan to inline into
   * set without spending set's budget on the options path (#expiryOfOptions).
   */
  #expiryFrom(options: SetOptions | undefined): number {
    return options === undefined ? this.#time.expiryAfter(this.#store.shape.ttlMs) : this.#expiryOfOptions(options);
  }

  #expiryOfOptions(options: SetOptions): number {
    const { ttlMs } = readOptions(options, ['ttlMs'], 'options');
    return this.#time.expiryAfter(ttlMs === undefined ? this.#store.shape.ttlMs : checkTtl(ttlMs, 'options.ttlMs'));
  }
}
