/**
 * The options of RedisCache.connect, validated one by one up front: each bad one is refused with an
 * InvalidArgumentError naming it, before any connection is opened.
 */
import { InvalidArgumentError } from '../errors.js';
import { describeValue, readOptions } from '../shared/validate.js';

/** Options of {@link RedisCache.connect}. */
export interface RedisCacheOptions {
  /** The server, as `redis://[[user]:password@]host[:port][/db]` or `rediss://…` (TLS). */
  url: string;
  /** Prepended to every key this cache writes, so that caches sharing a server stay apart. Default `'sabre:'`. */
  prefix?: string;
  /** Time to live of entries written without `ttlMs`, in ms (> 0, or Infinity). Default Infinity. */
  ttlMs?: number;
  /** How long one Redis call may take before it fails as unavailable, in ms. Default 2,000. */
  commandTimeoutMs?: number;
  /** How long connecting may take, in ms (connect and each reconnection attempt). Default 5,000. */
  connectTimeoutMs?: number;
  /**
   * Fail-safe: for how long after Redis last confirmed a value (by a read or a write of this
   * process) that value may be served when Redis is unreachable or a getOrCompute's compute fails,
   * in ms (>= 0, or Infinity). Default 0: no fail-safe, such calls throw StoreUnavailableError.
   */
  graceMs?: number;
  /** Most last-known values kept for the fail-safe (the least recently confirmed go first). Default 10,000. */
  maxGraceEntries?: number;
  /** getOrCompute's default lease, in ms: how long a computing process may be silent before a waiter takes over. Default 30,000. */
  leaseMs?: number;
}

/** The validated configuration. */
export interface RedisCacheConfig {
  readonly url: string;
  readonly prefix: string;
  readonly ttlMs: number;
  readonly commandTimeoutMs: number;
  readonly connectTimeoutMs: number;
  readonly graceMs: number;
  readonly maxGraceEntries: number;
  readonly leaseMs: number;
}

const NAMES = ['url', 'prefix', 'ttlMs', 'commandTimeoutMs', 'connectTimeoutMs', 'graceMs', 'maxGraceEntries', 'leaseMs'] as const;

/** A duration > 0 in ms; Infinity only where `infinite` allows it. */
export function checkPositiveMs(value: unknown, what: string, infinite: boolean): number {
  const ok = typeof value === 'number' && value > 0 && (Number.isFinite(value) || (infinite && value === Infinity));
  if (!ok) throw new InvalidArgumentError(`${what} must be a number > 0${infinite ? ' (or Infinity)' : ' and finite'}, got ${describeValue(value)}`);
  return value;
}

/** A TTL as sabre takes it: undefined (the default), Infinity (none) or a number > 0. */
export function checkTtl(value: unknown, what: string, fallback: number): number {
  return value === undefined ? fallback : checkPositiveMs(value, what, true);
}

/** Validates {@link RedisCacheOptions}; throws InvalidArgumentError naming the first bad option. */
export function checkRedisOptions(options: unknown): RedisCacheConfig {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidArgumentError(`RedisCache.connect() needs an options object with a url, got ${describeValue(options)}`);
  }
  const o = readOptions(options, NAMES, 'options');
  if (typeof o.url !== 'string' || !/^(redis|rediss):\/\/./.test(o.url)) {
    throw new InvalidArgumentError(`options.url must be a redis:// or rediss:// URL, got ${describeValue(o.url)}`);
  }
  if (o.prefix !== undefined && typeof o.prefix !== 'string') throw new InvalidArgumentError(`options.prefix must be a string, got ${describeValue(o.prefix)}`);
  const graceMs = o.graceMs === undefined || o.graceMs === 0 ? 0 : checkPositiveMs(o.graceMs, 'options.graceMs', true);
  const maxGraceEntries = o.maxGraceEntries ?? 10_000;
  if (typeof maxGraceEntries !== 'number' || !Number.isSafeInteger(maxGraceEntries) || maxGraceEntries < 0) {
    throw new InvalidArgumentError(`options.maxGraceEntries must be an integer >= 0, got ${describeValue(maxGraceEntries)}`);
  }
  return {
    url: o.url,
    prefix: o.prefix ?? 'sabre:',
    ttlMs: checkTtl(o.ttlMs, 'options.ttlMs', Infinity),
    commandTimeoutMs: o.commandTimeoutMs === undefined ? 2_000 : checkPositiveMs(o.commandTimeoutMs, 'options.commandTimeoutMs', false),
    connectTimeoutMs: o.connectTimeoutMs === undefined ? 5_000 : checkPositiveMs(o.connectTimeoutMs, 'options.connectTimeoutMs', false),
    graceMs,
    maxGraceEntries,
    leaseMs: o.leaseMs === undefined ? 30_000 : checkPositiveMs(o.leaseMs, 'options.leaseMs', false),
  };
}
