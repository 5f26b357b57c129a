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

/** The cache API, asynchronous. See SharedCache for each method's rules; `V` is the type of the values. */
export interface AsyncCache<V = unknown> {
  get(key: CacheKey): Promise<V | undefined>;
  peek(key: CacheKey): Promise<V | undefined>;
  has(key: CacheKey): Promise<boolean>;
  ttl(key: CacheKey): Promise<number | undefined>;
  set(key: CacheKey, value: V, options?: AsyncSetOptions): Promise<unknown>;
  setIfAbsent(key: CacheKey, value: V, options?: AsyncSetOptions): Promise<boolean>;
  compareAndSet(key: CacheKey, expected: V, next: V, options?: AsyncSetOptions): Promise<boolean>;
  compareAndDelete(key: CacheKey, expected: V): Promise<boolean>;
  increment(key: CacheKey, delta?: number): Promise<number>;
  increment(key: CacheKey, delta: bigint): Promise<bigint>;
  expire(key: CacheKey, ttlMs: number): Promise<boolean>;
  delete(key: CacheKey): Promise<boolean>;
  getOrCompute<T extends V | undefined>(key: CacheKey, compute: () => T | PromiseLike<T>, options?: AsyncComputeOptions): Promise<T>;
  stats(): Promise<AsyncCacheStats>;
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
  };
}
