/**
 * The public types of SharedCache (re-exported by shared-cache.ts and the package index): its
 * handle, options per call, statistics, eviction events and recovery report.
 */
import type { ManualClockHandle } from './clock.js';
import type { CacheKey } from './codec.js';

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
