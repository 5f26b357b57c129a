/**
 * One asynchronous cache interface that both caches satisfy: a {@link SharedCache} (one process,
 * its worker threads) through {@link asyncCache}, and a `RedisCache` from `sabre/redis` (many
 * processes) directly. Code written against {@link AsyncCache} moves from one to the other by
 * configuration: the same values round-trip, the same keys are accepted, the same inputs are
 * refused with the same typed errors, and every method returns a promise (errors included: a bad
 * argument rejects, it does not throw).
 */
import type { CacheKey, SharedCache } from './cache/shared-cache.js';

/** Per-write options. */
export interface AsyncSetOptions {
  /** Time to live of this entry in ms (> 0, or Infinity for none). Default: the cache's `ttlMs`. */
  ttlMs?: number;
}

/** Options of {@link AsyncCache.getOrCompute}. */
export interface AsyncComputeOptions extends AsyncSetOptions {
  /** How long the computing caller may take before a waiter assumes it died and takes over, in ms. */
  leaseMs?: number;
}

/** The counters both caches keep. */
export interface AsyncCacheStats {
  readonly hits: number;
  readonly misses: number;
  readonly sets: number;
  readonly deletes: number;
  readonly singleFlightWaits: number;
}

/**
 * The cache API, asynchronous. See SharedCache for each method's rules (keys, values, TTLs,
 * integer rules); `V` is the type of the values.
 */
export interface AsyncCache<V = unknown> {
  /** The value of `key`, or undefined; counts a hit or a miss. */
  get(key: CacheKey): Promise<V | undefined>;
  /** Like get, without counting a hit or a miss (nor marking the entry as used). */
  peek(key: CacheKey): Promise<V | undefined>;
  /** Whether `key` holds an entry now. */
  has(key: CacheKey): Promise<boolean>;
  /** Remaining time to live of `key` in ms: Infinity if it never expires, undefined if there is no such entry. */
  ttl(key: CacheKey): Promise<number | undefined>;
  /** Stores `value` under `key` (resolves once stored; a failure rejects, it is never a silent success). */
  set(key: CacheKey, value: V, options?: AsyncSetOptions): Promise<unknown>;
  /** Stores `value` only if `key` holds no entry; true if it did. Atomic: of racing callers exactly one wins. */
  setIfAbsent(key: CacheKey, value: V, options?: AsyncSetOptions): Promise<boolean>;
  /** Replaces the value of `key` by `next` only if it equals `expected` (by encoded bytes); true if it did. Atomic. */
  compareAndSet(key: CacheKey, expected: V, next: V, options?: AsyncSetOptions): Promise<boolean>;
  /** Deletes `key` only if its value equals `expected`; true if it did. Atomic. */
  compareAndDelete(key: CacheKey, expected: V): Promise<boolean>;
  /** Adds `delta` (default 1) to the integer under `key` (absent: 0) and returns the result. Atomic: no increment is lost. */
  increment(key: CacheKey, delta?: number): Promise<number>;
  increment(key: CacheKey, delta: bigint): Promise<bigint>;
  /** Sets the time to live of `key` from now (Infinity removes its expiry); false if there is no such entry. */
  expire(key: CacheKey, ttlMs: number): Promise<boolean>;
  /** Deletes `key`; true if there was an entry. */
  delete(key: CacheKey): Promise<boolean>;
  /** The value of `key`, or `compute()`'s, computed once however many callers ask at the same time (single flight). */
  getOrCompute<T extends V | undefined>(key: CacheKey, compute: () => T | PromiseLike<T>, options?: AsyncComputeOptions): Promise<T>;
  /** The counters. */
  stats(): Promise<AsyncCacheStats>;
  /**
   * Releases what this object holds (a Redis cache's connections; calls made afterwards reject).
   * For {@link asyncCache} it releases nothing: the SharedCache stays its creator's.
   */
  close(): Promise<void>;
}

/**
 * A {@link SharedCache} as an {@link AsyncCache}: each call runs the synchronous method and
 * returns its result (or its error) as a promise.
 */
export function asyncCache<V>(shared: SharedCache<V>): AsyncCache<V> {
  // An async arrow turns a synchronous throw into a rejection, as a Redis call would fail.
  const run =
    <A extends unknown[], R>(method: (...args: A) => R) =>
    async (...args: A): Promise<R> =>
      method.apply(shared, args);
  return {
    get: run(shared.get),
    peek: run(shared.peek),
    has: run(shared.has),
    ttl: run(shared.ttl),
    set: run(shared.set),
    setIfAbsent: run(shared.setIfAbsent),
    compareAndSet: run(shared.compareAndSet),
    compareAndDelete: run(shared.compareAndDelete),
    increment: run(shared.increment as (key: CacheKey, delta?: number | bigint) => number | bigint) as AsyncCache<V>['increment'],
    expire: run(shared.expire),
    delete: run(shared.delete),
    getOrCompute: (key, compute, options) => shared.getOrCompute(key, compute, options),
    stats: async () => shared.stats(),
    close: async () => {},
  };
}
