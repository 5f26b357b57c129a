/**
 * TieredCache: two levels. L1 is a SharedCache of this process (every worker thread that attaches
 * it shares it); L2 is Redis, shared by every process. A read is answered by L1 when it can and
 * otherwise by Redis (the value then kept in L1 for at most `localTtlMs`); a write goes to Redis,
 * then drops the key from this process's L1 and announces it on a pub/sub channel (the writer's
 * random id, then the key), on which every other TieredCache of the prefix drops the key from its L1.
 *
 * Why L1 never keeps a value that a write replaced (beyond the delivery of the announcement):
 * - a read copies a value into L1 only if no announcement arrived while it read Redis (a sequence
 *   number counts them), and only while the subscription is in place;
 * - when the subscription is lost (an announcement may be missed) copying stops, and when it is
 *   back L1 is cleared, since what it holds may have been replaced meanwhile;
 * - every L1 entry expires after `localTtlMs` at most, which bounds what nothing else could catch.
 *
 * getOrCompute is single-flight at two levels: the threads of a process share one L1 flight
 * (SharedCache.getOrCompute), whose computation is the processes' Redis flight (a lease).
 *
 * The staleness bound: once the announcement of a write has been delivered to a process (its
 * subscriber connection received it, and the event loop ran its handler), no thread of that
 * process reads the value the write replaced; before that, a read may still return it from L1.
 * The delivery time is what bounds staleness in practice (a PUBLISH and one hop: measured by
 * test/redis-staleness.test.ts); `localTtlMs` bounds what no announcement reaches (a lost
 * PUBLISH, counted in invalidationsLost).
 */
import { randomBytes } from 'node:crypto';
import { type CacheKey, hashBytes } from '../cache/codec.js';
import { InvalidArgumentError, SabreError } from '../errors.js';
import { SharedCache, type SharedCacheHandle, type SharedCacheOptions } from '../index.js';
import { describeValue, readOptions } from '../shared/validate.js';
import type { AsyncCache, AsyncCacheStats, AsyncComputeOptions, AsyncSetOptions } from '../async-cache.js';
import type { Availability, Connection } from './connection.js';
import type { AvailabilityListener } from './fail-safe.js';
import { type RedisCacheOptions, checkPositiveMs } from './options.js';
import { RedisCache, type RedisCacheStats, internals } from './redis-cache.js';
import type { KeySpace } from './wire.js';

/** Options of {@link TieredCache.connect}: those of RedisCache (L2, `url` or `cluster`), then L1's. */
export type TieredCacheOptions<V = unknown> = RedisCacheOptions & {
  /**
   * L1: the options of the SharedCache that TieredCache creates for this process (every worker
   * thread then shares it through {@link TieredCache.handle}), or a SharedCache of this process
   * to use as L1 (one you created, or attached from a handle).
   */
  l1: SharedCacheOptions | SharedCache<V>;
  /**
   * How long a value copied from Redis stays in L1 at most, in ms (> 0, finite). Default 10,000.
   * The backstop of the staleness bound: a write whose announcement never arrives (the publish
   * failed, counted in invalidationsLost) is read stale from L1 for at most this long.
   */
  localTtlMs?: number;
};

/**
 * What a worker thread needs to open the same TieredCache (`TieredCache.attach(handle)`): L1's
 * SharedCache handle and the Redis options. Pass it in `workerData` or a message; it holds the
 * Redis URLs, credentials included, so keep it inside the process.
 */
export interface TieredCacheHandle {
  readonly kind: 'sabre/tiered-cache';
  readonly l1: SharedCacheHandle;
  readonly options: Readonly<RedisCacheOptions & { localTtlMs: number }>;
}

/** The counters of one TieredCache. */
export interface TieredCacheStats extends AsyncCacheStats {
  /** getOrCompute waits: L1's (the whole process's: SharedCache counters are shared by its threads) plus this connection's in Redis. */
  readonly singleFlightWaits: number;
  /** Reads answered by L1. */
  readonly localHits: number;
  /** Announcements of other processes' writes received (each dropped a key from L1). */
  readonly invalidationsReceived: number;
  /** Writes done in Redis whose announcement could not be published (L1s elsewhere keep the old value up to localTtlMs). */
  readonly invalidationsLost: number;
  /** L2's own counters. */
  readonly redis: RedisCacheStats;
}

const ORIGIN_BYTES = 16;
const SEQUENCE_STRIPES = 1_024;

/**
 * A SharedCache (L1, this process) in front of Redis (L2, every process), as one {@link AsyncCache}.
 *
 * @example
 * ```ts
 * const cache = await TieredCache.connect({ url: 'redis://127.0.0.1:6379', prefix: 'app:', l1: { maxEntries: 10_000, maxBytes: 16 << 20 } });
 * await cache.getOrCompute('user:1', () => loadUser(1)); // one computation across every thread and process
 * new Worker(file, { workerData: cache.handle }); // there: await TieredCache.attach(workerData), over the same L1
 * ```
 */
export class TieredCache<V = unknown> implements AsyncCache<V> {
  readonly #local: SharedCache<V>;
  readonly #redis: RedisCache<V>;
  readonly #connection: Connection;
  readonly #keys: KeySpace;
  /** The RedisCache's fail-safe counters (live): a read answered by the fail-safe is not copied into L1. */
  readonly #failSafe: { readonly graceServed: number };
  readonly #localTtlMs: number;
  readonly #handle: TieredCacheHandle;
  readonly #unsubscribe: () => void;
  /**
   * Starts each announcement of this TieredCache, so that it ignores its own (its writes drop L1
   * themselves). One per thread, not per process: another thread's read may fill L1 just after
   * this thread's write dropped the key, and only the announcement, heard there, drops that copy.
   */
  readonly #origin = randomBytes(ORIGIN_BYTES);
  /**
   * Announcements seen, per stripe of keys (by hash), and resynchronisations: a read of a key that
   * saw its stripe's number or the epoch change must not fill L1. Stripes keep an announcement of
   * one key from stopping the fills of every other (a collision only costs a fill).
   */
  readonly #stripes = new Uint32Array(SEQUENCE_STRIPES);
  #epoch = 0;
  #synced = false;
  readonly #counters = { hits: 0, misses: 0, localHits: 0, sets: 0, deletes: 0, invalidationsReceived: 0, invalidationsLost: 0 };

  private constructor(local: SharedCache<V>, redis: RedisCache<V>, options: TieredCacheHandle['options']) {
    this.#local = local;
    this.#redis = redis;
    ({ connection: this.#connection, keys: this.#keys, failSafe: this.#failSafe } = redis[internals]());
    this.#localTtlMs = options.localTtlMs;
    this.#handle = Object.freeze({ kind: 'sabre/tiered-cache', l1: local.handle, options });
    this.#unsubscribe = this.#connection.subscribe(this.#keys.invalidations, (message) => this.#invalidated(message), {
      synced: () => {
        // Announcements may have been missed while the subscription was down: start L1 afresh.
        this.#epoch++;
        this.#local.clear();
        this.#synced = true;
      },
      lost: () => {
        this.#epoch++;
        this.#synced = false;
      },
    });
  }

  /**
   * Creates L1 (a SharedCache from `options.l1`, or uses the SharedCache given there) and
   * connects L2 (the other options, as RedisCache.connect's). Bad options are refused with an
   * InvalidArgumentError naming them, before any connection is opened; an unreachable Redis is
   * a StoreUnavailableError.
   */
  static async connect<V = unknown>(options: TieredCacheOptions<V>): Promise<TieredCache<V>> {
    if (typeof options !== 'object' || options === null) throw new InvalidArgumentError(`options must be an object, got ${describeValue(options)}`);
    const { l1, localTtlMs, ...redisOptions } = options;
    const ttl = localTtlMs === undefined ? 10_000 : checkPositiveMs(localTtlMs, 'options.localTtlMs', false);
    let local: SharedCache<V>;
    if (l1 instanceof SharedCache) local = l1;
    else if (typeof l1 === 'object' && l1 !== null) local = SharedCache.create<V>(l1 as SharedCacheOptions);
    else throw new InvalidArgumentError(`options.l1 must be SharedCache options ({ maxEntries, maxBytes, ... }) or a SharedCache, got ${describeValue(l1)}`);
    return TieredCache.#open(local, { ...(redisOptions as RedisCacheOptions), localTtlMs: ttl });
  }

  /**
   * The same TieredCache in another worker thread of this process: L1 is the SharedCache of
   * `handle` (shared, not copied), L2 a Redis connection of the thread's own (connected here).
   */
  static async attach<V = unknown>(handle: TieredCacheHandle): Promise<TieredCache<V>> {
    if (handle?.kind !== 'sabre/tiered-cache' || typeof handle.options !== 'object') {
      throw new InvalidArgumentError(`not a TieredCache handle: ${describeValue(handle)}`);
    }
    return TieredCache.#open(SharedCache.attach<V>(handle.l1), handle.options);
  }

  static async #open<V>(local: SharedCache<V>, options: TieredCacheHandle['options']): Promise<TieredCache<V>> {
    const { localTtlMs: _, ...redisOptions } = options;
    return new TieredCache(local, await RedisCache.connect<V>(redisOptions as RedisCacheOptions), Object.freeze({ ...options }));
  }

  /** What a worker thread passes to {@link TieredCache.attach} to open this TieredCache over the same L1. */
  get handle(): TieredCacheHandle {
    return this.#handle;
  }

  /** L1: the SharedCache of this process (its stats() are the process's, every thread's). */
  get local(): SharedCache<V> {
    return this.#local;
  }

  /** Whether Redis answers (RedisCache's state: L1 hits are served either way). */
  get state(): Availability {
    return this.#redis.state;
  }

  /**
   * Listens to the changes of Redis's availability, as RedisCache.on: 'unavailable' once when an
   * outage starts, 'available' once when it ends. Returns what removes the listener.
   */
  on(event: Availability, listener: AvailabilityListener): () => void {
    return this.#redis.on(event, listener);
  }

  /** Whether L1 is being filled (the invalidation subscription is in place). */
  get synced(): boolean {
    return this.#synced;
  }

  /**
   * The value of `key`: from L1 if it holds it, else from Redis (then kept in L1).
   *
   * An L1 hit costs a SharedCache get and one settled promise: this is not an async function, so
   * that a hit runs no async machinery of its own (bench/results/tiered.md measures it).
   */
  get(key: CacheKey): Promise<V | undefined> {
    return this.#read(key, true);
  }

  /** Like get, without counting a hit or a miss. */
  peek(key: CacheKey): Promise<V | undefined> {
    return this.#read(key, false);
  }

  /** Whether `key` holds an entry (in L1, or else in Redis). */
  async has(key: CacheKey): Promise<boolean> {
    let local = false;
    try {
      local = this.#local.has(key);
    } catch {
      // as in get: a key L1 cannot hold is asked of Redis, which refuses a bad one typed
    }
    return local || this.#redis.has(key);
  }

  /** The TTL in Redis (L1's copies live shorter). */
  async ttl(key: CacheKey): Promise<number | undefined> {
    return this.#redis.ttl(key);
  }

  /** Stores `value` in Redis, then drops `key` from every L1 (this one at once, the others when the announcement arrives). */
  async set(key: CacheKey, value: V, options?: AsyncSetOptions): Promise<this> {
    await this.#redis.set(key, value, options);
    this.#counters.sets++;
    await this.#written(key);
    return this;
  }

  /** RedisCache.setIfAbsent; a winning write is announced as set's. */
  async setIfAbsent(key: CacheKey, value: V, options?: AsyncSetOptions): Promise<boolean> {
    return this.#writtenIf(key, await this.#redis.setIfAbsent(key, value, options), 'sets');
  }

  /** RedisCache.compareAndSet (atomic in Redis, never against an L1 copy); a success is announced. */
  async compareAndSet(key: CacheKey, expected: V, next: V, options?: AsyncSetOptions): Promise<boolean> {
    return this.#writtenIf(key, await this.#redis.compareAndSet(key, expected, next, options), 'sets');
  }

  /** RedisCache.compareAndDelete; a success is announced. */
  async compareAndDelete(key: CacheKey, expected: V): Promise<boolean> {
    return this.#writtenIf(key, await this.#redis.compareAndDelete(key, expected), 'deletes');
  }

  /** RedisCache.increment (in Redis, with SharedCache's integer rules); announced. */
  increment(key: CacheKey, delta?: number): Promise<number>;
  increment(key: CacheKey, delta: bigint): Promise<bigint>;
  async increment(key: CacheKey, delta: number | bigint = 1): Promise<number | bigint> {
    const result = await this.#redis.increment(key, delta as bigint);
    this.#counters.sets++;
    await this.#written(key);
    return result;
  }

  /** RedisCache.expire; announced, since L1 copies carry the old expiry. */
  async expire(key: CacheKey, ttlMs: number): Promise<boolean> {
    // L1 copies carry the old expiry: drop them.
    return this.#writtenIf(key, await this.#redis.expire(key, ttlMs), null);
  }

  /** Deletes `key` in Redis and from every L1. */
  async delete(key: CacheKey): Promise<boolean> {
    const removed = await this.#redis.delete(key);
    if (removed) this.#counters.deletes++;
    await this.#written(key);
    return removed;
  }

  /** One computation per process (L1's flight), which is one per prefix across processes (L2's lease). */
  async getOrCompute<T extends V | undefined>(key: CacheKey, compute: () => T | PromiseLike<T>, options?: AsyncComputeOptions): Promise<T> {
    const { ttlMs } = readOptions(options, ['ttlMs', 'leaseMs'], 'options');
    const before = this.#sequenceOf(key);
    const localTtl = Math.min(this.#localTtlMs, typeof ttlMs === 'number' && ttlMs > 0 ? ttlMs : Infinity);
    /**
     * What this thread's flight got from Redis: the value, its remaining life there (undefined:
     * unknown), and whether it was a fail-safe answer.
     */
    let fromRedis: { value: T; ttl: number | undefined; grace: boolean } | undefined;
    let value: T;
    try {
      value = await this.#local.getOrCompute(
        key,
        async () => {
          // A fail-safe answer (Redis away, or the compute failed) is the last value Redis confirmed
          // before: an answer for this call, not a value to keep, since the write that replaced it
          // may have been announced already. Another call's grace answer meanwhile only costs a fill.
          const graceBefore = this.#failSafe.graceServed;
          const found = await this.#redis.getOrCompute(key, compute, options);
          const grace = this.#failSafe.graceServed !== graceBefore;
          // The value may be another process's, with less life left in Redis than localTtl.
          fromRedis = { value: found, grace, ttl: grace ? undefined : await this.#redis.ttl(key).catch(() => undefined) };
          return found;
        },
        { ttlMs: localTtl },
      );
    } catch (error) {
      // L1 could not keep what Redis gave (too large for it): the value is still the answer.
      if (fromRedis !== undefined && error instanceof SabreError) return fromRedis.value;
      throw error;
    }
    if (fromRedis === undefined) return value; // another thread's flight: it fixed L1's copy
    if (fromRedis.grace || !this.#synced || this.#sequenceOf(key) !== before || fromRedis.ttl === undefined) {
      // A fail-safe answer, an announcement meanwhile (or none could arrive), or an unknown life in
      // Redis: L1's copy may be stale or outlive the entry.
      this.#drop(key);
    } else if (fromRedis.ttl < localTtl) {
      // Never past the Redis TTL: L1 stored it for localTtl a moment ago (the flight's option).
      this.#local.expire(key, Math.max(1, fromRedis.ttl));
    }
    return value;
  }

  /** This TieredCache's counters, and its RedisCache's (L1's own are `local.stats()`, shared by the process). */
  async stats(): Promise<TieredCacheStats> {
    const redis = await this.#redis.stats();
    // L1's waits are the process's (its counters are shared by every thread), L2's this connection's.
    return { ...this.#counters, singleFlightWaits: this.#local.stats().singleFlightWaits + redis.singleFlightWaits, redis };
  }

  /** Closes the Redis connections (L1, the SharedCache, stays as it is: other threads may use it). */
  async close(): Promise<void> {
    this.#unsubscribe();
    await this.#redis.close();
  }

  /** L1 first, synchronously; Redis on a miss. Errors (a bad key) come back as a rejected promise, as from an async function. */
  #read(key: CacheKey, counted: boolean): Promise<V | undefined> {
    let local: V | undefined;
    try {
      local = counted ? this.#local.get(key) : this.#local.peek(key);
    } catch {
      // A key L1 cannot hold (longer than its maxKeyBytes) is Redis's alone; any other bad key
      // RedisCache refuses with the same typed error. Either way a rejection, not a throw.
      return this.#readRedis(key, counted);
    }
    if (local === undefined) return this.#readRedis(key, counted);
    if (counted) {
      this.#counters.hits++;
      this.#counters.localHits++;
    }
    return Promise.resolve(local);
  }

  /** An L1 miss: Redis's value, copied into L1 unless an announcement (or a lost subscription) may have made it stale. */
  async #readRedis(key: CacheKey, counted: boolean): Promise<V | undefined> {
    const before = this.#sequenceOf(key);
    const graceBefore = this.#failSafe.graceServed;
    const [value, ttl] = await Promise.all([counted ? this.#redis.get(key) : this.#redis.peek(key), this.#redis.ttl(key).catch(() => undefined)]);
    if (counted) this.#counters[value === undefined ? 'misses' : 'hits']++;
    // A fail-safe answer (the GET failed, the PTTL may not have) is for this call only: a write
    // that replaced it may have been announced already. Another call's grace answer meanwhile only costs a fill.
    const grace = this.#failSafe.graceServed !== graceBefore;
    if (value !== undefined && ttl !== undefined && !grace && this.#synced && this.#sequenceOf(key) === before) {
      try {
        this.#local.set(key, value, { ttlMs: Math.min(this.#localTtlMs, Math.max(1, ttl)) });
      } catch (error) {
        // L1 is an optimisation: a value it cannot hold (too large, a lock timeout) is read from Redis next time.
        if (!(error instanceof SabreError)) throw error;
      }
    }
    return value;
  }

  async #writtenIf(key: CacheKey, done: boolean, counter: 'sets' | 'deletes' | null): Promise<boolean> {
    if (done) {
      if (counter !== null) this.#counters[counter]++;
      await this.#written(key);
    }
    return done;
  }

  /** After a write to Redis: drop the key here, announce it to the other processes. */
  async #written(key: CacheKey): Promise<void> {
    this.#stripes[this.#stripeOf(this.#keys.value(key))]!++;
    this.#drop(key); // the write is done: nothing here may make it look failed
    try {
      await this.#connection.call(['PUBLISH', this.#keys.invalidations, Buffer.concat([this.#origin, this.#keys.value(key)])]);
    } catch {
      // The write is done; only its announcement is lost. Counted; L1s elsewhere expire it.
      this.#counters.invalidationsLost++;
    }
  }

  #invalidated(message: Buffer): void {
    if (this.#origin.equals(message.subarray(0, ORIGIN_BYTES))) return;
    const valueKey = message.subarray(ORIGIN_BYTES);
    this.#stripes[this.#stripeOf(valueKey)]!++;
    this.#counters.invalidationsReceived++;
    // Nothing may be thrown here: it would reach node-redis as the subscriber's 'error' (L1 unsynced for good).
    this.#drop(this.#keys.keyOf(valueKey));
  }

  /**
   * Drops `key` from L1, throwing nothing. A key L1 cannot hold (longer than its maxKeyBytes, as
   * another process's L1 may allow) is not in it. Any other failure (a lock timeout) must not
   * leave a copy that a write replaced: L1 is cleared; if that fails too, it is counted in
   * invalidationsLost (the copy then lives at most localTtlMs).
   */
  #drop(key: CacheKey): void {
    try {
      this.#local.delete(key);
    } catch (error) {
      if (error instanceof InvalidArgumentError) return;
      try {
        this.#local.clear();
      } catch {
        this.#counters.invalidationsLost++;
      }
    }
  }

  #stripeOf(valueKey: Buffer): number {
    return hashBytes(valueKey) & (SEQUENCE_STRIPES - 1);
  }

  /** What a read compares before filling L1: the key's stripe and the epoch. */
  #sequenceOf(key: CacheKey): string {
    return `${this.#epoch}:${this.#stripes[this.#stripeOf(this.#keys.value(key))]}`;
  }
}
