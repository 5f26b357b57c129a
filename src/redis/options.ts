/**
 * The options of RedisCache.connect, validated one by one up front: each bad one is refused with an
 * InvalidArgumentError naming it, before any connection is opened.
 */
import { InvalidArgumentError } from '../errors.js';
import { describeValue, readOptions } from '../shared/validate.js';

/**
 * A Redis Cluster to connect to: some of its nodes, from which the client learns the others and
 * which node serves which slot.
 */
export interface RedisClusterOptions {
  /**
   * URLs of one or more of the cluster's nodes (`redis://host:port`, `rediss://…` for TLS; user
   * and password, if any, apply to every node). One reachable node is enough to discover the rest.
   */
  rootNodes: readonly string[];
}

/** Where the cache lives: one server (`url`), or a Redis Cluster (`cluster`). Exactly one of the two. */
export type RedisTarget =
  | {
      /** The server, as `redis://[[user]:password@]host[:port][/db]` or `rediss://…` (TLS). */
      url: string;
      cluster?: never;
    }
  | {
      /**
       * A Redis Cluster: keys are spread over its masters by slot. Every operation that touches
       * more than one key (getOrCompute's lease, its fencing counter and the value) keeps its keys
       * in one slot with a hash tag, so the prefix must not contain `{` or `}`.
       */
      cluster: RedisClusterOptions;
      url?: never;
    };

/** Options of {@link RedisCache.connect}: where (`url` or `cluster`), and how. */
export type RedisCacheOptions = RedisTarget & RedisCacheSettings;

/** The settings of a RedisCache, whichever the target. */
export interface RedisCacheSettings {
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
  /**
   * The longest a getOrCompute computation keeps its lease, in ms (> 0, or Infinity). Past it the
   * lease is no longer renewed: it lapses within `leaseMs` and a waiter takes over, so that a
   * computation that never settles cannot hold every other process's callers for good (its value,
   * if it ever comes, goes to its own caller and is not stored). Default 300,000 (5 minutes).
   */
  maxComputeMs?: number;
}

/** The validated target: one server, or a cluster's root nodes. */
export type TargetConfig = { readonly kind: 'server'; readonly url: string } | { readonly kind: 'cluster'; readonly rootNodes: readonly string[] };

/** The validated configuration. */
export interface RedisCacheConfig {
  readonly target: TargetConfig;
  readonly prefix: string;
  readonly ttlMs: number;
  readonly commandTimeoutMs: number;
  readonly connectTimeoutMs: number;
  readonly graceMs: number;
  readonly maxGraceEntries: number;
  readonly leaseMs: number;
  readonly maxComputeMs: number;
}

const NAMES = ['url', 'cluster', 'prefix', 'ttlMs', 'commandTimeoutMs', 'connectTimeoutMs', 'graceMs', 'maxGraceEntries', 'leaseMs', 'maxComputeMs'] as const;

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
    throw new InvalidArgumentError(`RedisCache.connect() needs an options object with a url or a cluster, got ${describeValue(options)}`);
  }
  const o = readOptions(options, NAMES, 'options');
  const target = checkTarget(o.url, o.cluster);
  if (o.prefix !== undefined && typeof o.prefix !== 'string') throw new InvalidArgumentError(`options.prefix must be a string, got ${describeValue(o.prefix)}`);
  if (target.kind === 'cluster' && /[{}]/.test(o.prefix ?? '')) {
    // The cache puts a hash tag after the prefix (wire.ts); a brace in the prefix would move or empty it.
    throw new InvalidArgumentError(
      `options.prefix must not contain '{' or '}' on a cluster (the cache places its own hash tags), got ${describeValue(o.prefix)}`,
    );
  }
  const graceMs = o.graceMs === undefined || o.graceMs === 0 ? 0 : checkPositiveMs(o.graceMs, 'options.graceMs', true);
  const maxGraceEntries = o.maxGraceEntries ?? 10_000;
  if (typeof maxGraceEntries !== 'number' || !Number.isSafeInteger(maxGraceEntries) || maxGraceEntries < 0) {
    throw new InvalidArgumentError(`options.maxGraceEntries must be an integer >= 0, got ${describeValue(maxGraceEntries)}`);
  }
  return {
    target,
    prefix: o.prefix ?? 'sabre:',
    ttlMs: checkTtl(o.ttlMs, 'options.ttlMs', Infinity),
    commandTimeoutMs: o.commandTimeoutMs === undefined ? 2_000 : checkPositiveMs(o.commandTimeoutMs, 'options.commandTimeoutMs', false),
    connectTimeoutMs: o.connectTimeoutMs === undefined ? 5_000 : checkPositiveMs(o.connectTimeoutMs, 'options.connectTimeoutMs', false),
    graceMs,
    maxGraceEntries,
    leaseMs: o.leaseMs === undefined ? 30_000 : checkPositiveMs(o.leaseMs, 'options.leaseMs', false),
    maxComputeMs: o.maxComputeMs === undefined ? 300_000 : checkPositiveMs(o.maxComputeMs, 'options.maxComputeMs', true),
  };
}

function checkUrl(url: unknown, what: string): string {
  if (typeof url !== 'string' || !/^(redis|rediss):\/\/./.test(url)) {
    throw new InvalidArgumentError(`${what} must be a redis:// or rediss:// URL, got ${describeValue(url)}`);
  }
  return url;
}

/** Exactly one of `url` and `cluster`; a cluster's root nodes a non-empty list of URLs. */
function checkTarget(url: unknown, cluster: unknown): TargetConfig {
  if (url !== undefined && cluster !== undefined)
    throw new InvalidArgumentError('options: give either url (one server) or cluster (a Redis Cluster), not both');
  if (cluster === undefined) {
    if (url === undefined) throw new InvalidArgumentError('options: url (one server) or cluster (a Redis Cluster) is required');
    return { kind: 'server', url: checkUrl(url, 'options.url') };
  }
  const { rootNodes } = readOptions(cluster, ['rootNodes'], 'options.cluster');
  if (!Array.isArray(rootNodes) || rootNodes.length === 0) {
    throw new InvalidArgumentError(`options.cluster.rootNodes must be a non-empty array of redis:// URLs, got ${describeValue(rootNodes)}`);
  }
  return { kind: 'cluster', rootNodes: Object.freeze(rootNodes.map((node, i) => checkUrl(node, `options.cluster.rootNodes[${i}]`))) };
}

/** The target as messages show it: URLs without their passwords. */
export function describeTarget(target: TargetConfig): string {
  return target.kind === 'server' ? redact(target.url) : `the cluster of ${target.rootNodes.map(redact).join(', ')}`;
}

/** The URL without its password, for messages. */
function redact(url: string): string {
  return url.replace(/\/\/([^@/]*):[^@/]*@/, '//$1:***@');
}
