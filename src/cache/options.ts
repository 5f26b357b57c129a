/**
 * SharedCache options, checked up front (piscina-style): a bad option throws before any memory
 * is allocated. Unknown names are refused (a misspelt `ttl` would otherwise be silently ignored),
 * and only `undefined` means "the default": `null` is a value like any other, and a bad one.
 */
import { InvalidArgumentError } from '../errors.js';
import { checkInteger, describeValue, readOptions } from '../shared/validate.js';
import { ManualClock } from './clock.js';
import { CHUNK_PAYLOAD, nextPowerOfTwo } from './layout.js';

/** Eviction policies. */
export type EvictionPolicy = 'sieve' | 'lru';

/** Options of {@link SharedCache.create}. */
export interface SharedCacheOptions {
  /** The most entries the cache holds at any instant (integer, 1 to 16,777,216). */
  maxEntries: number;
  /**
   * The most key + value bytes it holds at any instant (integer, 1 to 1 GiB). Keys count as their
   * stored bytes: UTF-8 for a string (1 + 2 per UTF-16 code unit if it has a lone surrogate), 9 for a number.
   */
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
  /** Longest key in stored bytes, as counted by `maxBytes` (default 1024). */
  maxKeyBytes?: number;
  /** Largest encoded value in bytes (default: min(maxBytes, 1 MiB)). */
  maxValueBytes?: number;
  /** A shared clock for TTLs (tests use a {@link ManualClock}); default: Date.now(). */
  clock?: ManualClock;
  /**
   * How long a synchronous cache call waits for one of the cache's internal locks before throwing
   * LockUnavailableError (nothing changed); a lock held that long means its holder is stuck or
   * dead. Number > 0 or Infinity. Default 2,000.
   */
  lockTimeoutMs?: number;
}

/** Every name {@link SharedCacheOptions} knows; any other is refused. */
const OPTION_NAMES = [
  'maxEntries',
  'maxBytes',
  'ttlMs',
  'policy',
  'highWater',
  'lowWater',
  'maxKeyBytes',
  'maxValueBytes',
  'clock',
  'lockTimeoutMs',
] as const satisfies ReadonlyArray<keyof SharedCacheOptions>;

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
  /** See {@link SharedCacheOptions.lockTimeoutMs}. */
  readonly lockTimeoutMs: number;
}

const MAX_ENTRIES = 1 << 24;
const MAX_BYTES = 1 << 30;
const LOCK_TIMEOUT_MS = 2_000;

export const POLICIES: readonly EvictionPolicy[] = ['sieve', 'lru'];

function isPolicy(value: unknown): value is EvictionPolicy {
  return (POLICIES as readonly unknown[]).includes(value);
}

export function checkTtl(ttlMs: unknown, what: string): number {
  if (ttlMs === undefined || ttlMs === Infinity) return Infinity;
  if (typeof ttlMs !== 'number' || Number.isNaN(ttlMs) || ttlMs <= 0) {
    throw new InvalidArgumentError(`${what} must be a number > 0 (or Infinity for no expiry), got ${describeValue(ttlMs)}`);
  }
  return ttlMs;
}

/** Validates {@link SharedCacheOptions}, reading each option once; throws InvalidArgumentError naming the bad one. */
export function checkOptions(options: unknown): CacheConfig {
  // readOptions would read undefined as {}; the cache has required options, so it needs an object.
  if (typeof options !== 'object' || options === null) {
    throw new InvalidArgumentError(`SharedCache.create() needs an options object, got ${describeValue(options)}`);
  }
  const o = readOptions(options, OPTION_NAMES, 'options');
  const maxEntries = checkInteger(o.maxEntries, 'maxEntries', 1, MAX_ENTRIES);
  const maxBytes = checkInteger(o.maxBytes, 'maxBytes', 1, MAX_BYTES);
  const ttlMs = checkTtl(o.ttlMs, 'ttlMs');
  const policy = o.policy === undefined ? 'sieve' : o.policy;
  if (!isPolicy(policy)) {
    throw new InvalidArgumentError(`policy must be one of ${POLICIES.map((p) => `'${p}'`).join(', ')}, got ${describeValue(policy)}`);
  }
  if ((o.highWater === undefined) !== (o.lowWater === undefined)) {
    throw new InvalidArgumentError('highWater and lowWater go together: give both or neither');
  }
  const highWater = o.highWater === undefined ? maxEntries : checkInteger(o.highWater, 'highWater', 2, maxEntries);
  const lowWater = o.lowWater === undefined ? maxEntries : checkInteger(o.lowWater, 'lowWater', 1, highWater - 1);
  const maxKeyBytes = checkInteger(o.maxKeyBytes === undefined ? 1024 : o.maxKeyBytes, 'maxKeyBytes', 1, 65_536);
  const maxValueBytes = checkInteger(o.maxValueBytes === undefined ? Math.min(maxBytes, 1 << 20) : o.maxValueBytes, 'maxValueBytes', 0, maxBytes);
  const clock = o.clock;
  if (clock !== undefined && !(clock instanceof ManualClock)) {
    throw new InvalidArgumentError(`clock must be a ManualClock, got ${describeValue(clock)}`);
  }
  const lockTimeoutMs = o.lockTimeoutMs === undefined ? LOCK_TIMEOUT_MS : o.lockTimeoutMs;
  if (typeof lockTimeoutMs !== 'number' || Number.isNaN(lockTimeoutMs) || lockTimeoutMs <= 0) {
    throw new InvalidArgumentError(`lockTimeoutMs must be a number > 0 (or Infinity), got ${describeValue(lockTimeoutMs)}`);
  }
  const stripes = Math.min(64, nextPowerOfTwo(maxEntries));
  const buckets = Math.max(stripes, nextPowerOfTwo(Math.ceil(maxEntries * 1.5)));
  // Enough chunks that any set the byte budget allows finds them (see layout.ts).
  const chunks = Math.ceil(maxBytes / CHUNK_PAYLOAD) + maxEntries;
  return { maxEntries, maxBytes, ttlMs, policy, highWater, lowWater, maxKeyBytes, maxValueBytes, stripes, buckets, chunks, clock, lockTimeoutMs };
}
