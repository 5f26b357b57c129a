/**
 * SharedCache options, checked up front (piscina-style): a bad option throws before any memory
 * is allocated.
 */
import { InvalidArgumentError } from '../errors.js';
import { checkInteger, describeValue } from '../shared/validate.js';
import { ManualClock } from './clock.js';
import { CHUNK_PAYLOAD, nextPowerOfTwo } from './layout.js';

/** Eviction policies. */
export type EvictionPolicy = 'sieve' | 'lru';

/** Options of {@link SharedCache.create}. */
export interface SharedCacheOptions {
  /** The most entries the cache holds at any instant (integer, 1 to 16,777,216). */
  maxEntries: number;
  /** The most key + value bytes it holds at any instant (integer, 1 to 1 GiB). Keys count as UTF-8 bytes. */
  maxBytes: number;
  /** Default time to live of an entry, in ms (> 0). Default: entries do not expire. */
  ttlMs?: number;
  /**
   * `'sieve'` (default): SIEVE, a hit sets one bit and eviction skips (and clears) visited
   * entries without reordering them. `'lru'`: CLOCK, the classic LRU approximation: a visited
   * entry gets a second chance at the head of the queue.
   */
  policy?: EvictionPolicy;
  /** Burst eviction: when the number of entries passes `highWater`, evict down to `lowWater`. Give both or neither. */
  highWater?: number;
  /** See `highWater`; must be below it. */
  lowWater?: number;
  /** Longest key in UTF-8 bytes (default 1024). */
  maxKeyBytes?: number;
  /** Largest encoded value in bytes (default: min(maxBytes, 1 MiB)). */
  maxValueBytes?: number;
  /** A shared clock for TTLs (tests use a {@link ManualClock}); default: Date.now(). */
  clock?: ManualClock;
}

/** The validated configuration, with derived sizes. */
export interface CacheConfig {
  readonly maxEntries: number;
  readonly maxBytes: number;
  readonly ttlMs: number;
  readonly policy: EvictionPolicy;
  readonly highWater: number;
  readonly lowWater: number;
  readonly maxKeyBytes: number;
  readonly maxValueBytes: number;
  readonly stripes: number;
  readonly buckets: number;
  readonly chunks: number;
  readonly clock: ManualClock | undefined;
}

const MAX_ENTRIES = 1 << 24;
const MAX_BYTES = 1 << 30;

export const POLICIES: readonly EvictionPolicy[] = ['sieve', 'lru'];

export function checkTtl(ttlMs: unknown, what: string): number {
  if (ttlMs === undefined || ttlMs === Infinity) return Infinity;
  if (typeof ttlMs !== 'number' || Number.isNaN(ttlMs) || ttlMs <= 0) {
    throw new InvalidArgumentError(`${what} must be a number > 0 (or Infinity for no expiry), got ${describeValue(ttlMs)}`);
  }
  return ttlMs;
}

export function checkOptions(options: unknown): CacheConfig {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidArgumentError(`SharedCache.create() needs an options object, got ${describeValue(options)}`);
  }
  const o = options as SharedCacheOptions;
  const maxEntries = checkInteger(o.maxEntries, 'maxEntries', 1, MAX_ENTRIES);
  const maxBytes = checkInteger(o.maxBytes, 'maxBytes', 1, MAX_BYTES);
  const ttlMs = checkTtl(o.ttlMs, 'ttlMs');
  const policy = o.policy ?? 'sieve';
  if (!POLICIES.includes(policy)) {
    throw new InvalidArgumentError(`policy must be one of ${POLICIES.map((p) => `'${p}'`).join(', ')}, got ${describeValue(policy)}`);
  }
  if ((o.highWater === undefined) !== (o.lowWater === undefined)) {
    throw new InvalidArgumentError('highWater and lowWater go together: give both or neither');
  }
  const highWater = o.highWater === undefined ? maxEntries : checkInteger(o.highWater, 'highWater', 2, maxEntries);
  const lowWater = o.lowWater === undefined ? maxEntries : checkInteger(o.lowWater, 'lowWater', 1, highWater - 1);
  const maxKeyBytes = checkInteger(o.maxKeyBytes ?? 1024, 'maxKeyBytes', 1, 65_536);
  const maxValueBytes = checkInteger(o.maxValueBytes ?? Math.min(maxBytes, 1 << 20), 'maxValueBytes', 0, maxBytes);
  if (o.clock !== undefined && !(o.clock instanceof ManualClock)) {
    throw new InvalidArgumentError(`clock must be a ManualClock, got ${describeValue(o.clock)}`);
  }
  const stripes = Math.min(64, nextPowerOfTwo(maxEntries));
  const buckets = Math.max(stripes, nextPowerOfTwo(Math.ceil(maxEntries * 1.5)));
  // Enough chunks that any set the byte budget allows finds them (see layout.ts).
  const chunks = Math.ceil(maxBytes / CHUNK_PAYLOAD) + maxEntries;
  return { maxEntries, maxBytes, ttlMs, policy, highWater, lowWater, maxKeyBytes, maxValueBytes, stripes, buckets, chunks, clock: o.clock };
}
