/**
 * The header line of a cache's memory (layout.ts HEADER): written once by the creating thread,
 * before the magic word publishes the cache, and read back by every thread that attaches it.
 * Both directions live here so that a field cannot be written in one place and read as
 * something else in another.
 *
 *   word   field              word   field
 *   0      magic (region.ts)  8      policy (0 SIEVE, 1 CLOCK)
 *   1      maxEntries         9      highWater
 *   2      maxBytes           10     lowWater
 *   3      buckets            11     hand epoch (changes; see HEADER.HAND_EPOCH)
 *   4      stripes            12-13  ttlMs (float64 index 6)
 *   5      chunks             14     admission closed (changes; the memory guard)
 *   6      maxKeyBytes        15     lockTimeoutMs (-1 = no bound)
 *   7      maxValueBytes
 */
import { HEADER } from './layout.js';
import type { CacheConfig } from './options.js';

/** The shape of the memory, read from the header. */
export interface StoreShape {
  readonly maxEntries: number;
  readonly maxBytes: number;
  readonly buckets: number;
  readonly stripes: number;
  readonly chunks: number;
  readonly maxKeyBytes: number;
  readonly maxValueBytes: number;
  readonly lruPolicy: boolean;
  readonly highWater: number;
  readonly lowWater: number;
  readonly ttlMs: number;
  /** The longest wait for one of the cache's locks, in ms (Infinity: no bound). */
  readonly lockTimeoutMs: number;
}

/**
 * Writes the configuration into a fresh buffer's header. Plain stores: nothing else can see the
 * buffer yet, and the creator's later Atomics.store of the magic word orders them before any
 * attacher's reads (attach validates the magic with an Atomics.load).
 */
export function writeHeader(buffer: SharedArrayBuffer, config: CacheConfig): void {
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

/** Reads the configuration back (every thread, once per attach). */
export function readShape(buffer: SharedArrayBuffer): StoreShape {
  const i32 = new Int32Array(buffer, 0, 16);
  const f64 = new Float64Array(buffer, 0, 8);
  return {
    maxEntries: i32[HEADER.MAX_ENTRIES]!,
    maxBytes: i32[HEADER.MAX_BYTES]!,
    buckets: i32[HEADER.BUCKETS]!,
    stripes: i32[HEADER.STRIPES]!,
    chunks: i32[HEADER.CHUNKS]!,
    maxKeyBytes: i32[HEADER.MAX_KEY_BYTES]!,
    maxValueBytes: i32[HEADER.MAX_VALUE_BYTES]!,
    lruPolicy: i32[HEADER.POLICY] === 1,
    highWater: i32[HEADER.HIGH_WATER]!,
    lowWater: i32[HEADER.LOW_WATER]!,
    ttlMs: f64[HEADER.TTL_F64]!,
    lockTimeoutMs: i32[HEADER.LOCK_TIMEOUT_MS]! < 0 ? Infinity : i32[HEADER.LOCK_TIMEOUT_MS]!,
  };
}
