/**
 * RedisCache: the cache API over Redis, for caches shared by many processes (and machines).
 *
 * Values are encoded as SharedCache encodes them (wire.ts), so the same values round-trip exactly;
 * keys are the same strings and numbers, under a prefix. Every call is one round trip (a command
 * or a Lua script, atomic on the server) and has a timeout (`commandTimeoutMs`).
 *
 * Fail-safe: when Redis cannot be reached, a read is answered with the last value Redis confirmed
 * to this process, if that was within `graceMs` (fail-safe.ts), and otherwise fails with a
 * StoreUnavailableError; a write always fails (it is never reported as done when it was not).
 * Both are counted in stats(). The 'unavailable' and 'available' events mark the changes of
 * state (never each call); when Redis is back, the remembered values are dropped.
 */
import { isDeepStrictEqual } from 'node:util';
import type { CacheKey } from '../cache/codec.js';
import { IllegalStateError, InvalidArgumentError } from '../errors.js';
import { checkFunction, describeValue, readOptions } from '../shared/validate.js';
import type { AsyncCache, AsyncComputeOptions, AsyncSetOptions } from '../async-cache.js';
import { AtomicOps, ttlArg } from './atomic.js';
import { type Availability, Connection, isErrorReply } from './connection.js';
import { type AvailabilityListener, FailSafe } from './fail-safe.js';
import { type RedisCacheConfig, type RedisCacheOptions, checkPositiveMs, checkRedisOptions, checkTtl } from './options.js';
import { type FlightCounters, SingleFlight } from './single-flight.js';
import { KeySpace, decodeFromRedis, encodeForRedis, isClone } from './wire.js';

/** Package-internal (TieredCache): the connection and key space of a RedisCache. Not exported from the package. */
export const internals: unique symbol = Symbol('sabre.redis.internals');

/** What one RedisCache (this process's connection) counted since it connected. */
export interface RedisCacheStats {
  readonly hits: number;
  readonly misses: number;
  /** Writes that stored a value: set, a winning setIfAbsent, a successful compareAndSet, increment, a getOrCompute that stored. */
  readonly sets: number;
  /** Entries removed by delete and compareAndDelete. */
  readonly deletes: number;
  /** getOrCompute computations this process ran. */
  readonly computes: number;
  /** getOrCompute calls that waited for another caller's computation (in any process). */
  readonly singleFlightWaits: number;
  /** Computations this process took over after waiting (the previous computer's lease ran out). */
  readonly leaseTakeovers: number;
  /** Values computed but not stored: the lease was lost, or Redis went away before the store. */
  readonly unstoredComputes: number;
  /** Reads answered from the fail-safe's last-known values (Redis unavailable, or a compute failed). */
  readonly graceServed: number;
  /** Calls that failed with StoreUnavailableError. */
  readonly unavailableErrors: number;
  /** Redis calls that got no reply within commandTimeoutMs. */
  readonly timeouts: number;
  /** Times Redis became unavailable. */
  readonly outages: number;
}

/**
 * A cache in Redis with the API of {@link SharedCache}, asynchronous: it implements
 * {@link AsyncCache}, as `asyncCache(sharedCache)` does, so an application moves from one
 * process to many by configuration.
 *
 * @example
 * ```ts
 * import { RedisCache } from 'sabre/redis';
 * const cache = await RedisCache.connect<{ name: string }>({ url: 'redis://127.0.0.1:6379', prefix: 'app:', graceMs: 60_000 });
 * await cache.set('user:1', { name: 'Ada' }, { ttlMs: 60_000 });
 * const user = await cache.getOrCompute('user:2', () => loadUser(2)); // computed once across every process
 * await cache.close();
 * ```
 */
export class RedisCache<V = unknown> implements AsyncCache<V> {
  readonly #config: RedisCacheConfig;
  readonly #connection: Connection;
  readonly #atomic: AtomicOps;
  readonly #keys: KeySpace;
  readonly #failSafe: FailSafe;
  readonly #flights: SingleFlight;
  readonly #counters = { hits: 0, misses: 0, sets: 0, deletes: 0, unstoredComputes: 0 };
  readonly #flightCounters: FlightCounters = { computes: 0, singleFlightWaits: 0, leaseTakeovers: 0 };

  private constructor(config: RedisCacheConfig, connection: Connection, serverVersion: string, onState: { handler: (s: Availability, c: unknown) => void }) {
    this.#config = config;
    this.#connection = connection;
    this.#atomic = new AtomicOps(connection, serverVersion);
    this.#keys = new KeySpace(config.prefix, config.target.kind === 'cluster');
    this.#failSafe = new FailSafe(config.graceMs, config.maxGraceEntries);
    this.#flights = new SingleFlight(connection, this.#keys, this.#flightCounters, config.maxComputeMs);
    onState.handler = (state, cause) => this.#failSafe.stateChanged(state, cause);
  }

  /**
   * Connects to Redis: one server (`{ url }`) or a Redis Cluster (`{ cluster: { rootNodes } }`).
   * Options are validated first (InvalidArgumentError naming the bad one); a server or cluster
   * that cannot be reached within `connectTimeoutMs` is a StoreUnavailableError.
   */
  static async connect<V = unknown>(options: RedisCacheOptions): Promise<RedisCache<V>> {
    const config = checkRedisOptions(options);
    // The connection reports state changes from its first moment; the cache takes them over once built.
    const onState = { handler: (_state: Availability, _cause: unknown) => {} };
    const connection = await Connection.open(config, (state, cause) => onState.handler(state, cause));
    try {
      const info = String(await connection.call<Buffer>(['INFO', 'server']));
      const version = /redis_version:([\d.]+)/.exec(info)?.[1] ?? '0.0.0';
      return new RedisCache<V>(config, connection, version, onState);
    } catch (error) {
      await connection.close();
      throw error;
    }
  }

  /** Whether Redis answered the last call ('available') or could not be reached ('unavailable'). */
  get state(): Availability {
    return this.#connection.state;
  }

  /** Whether compare-and-set and compare-and-delete use Redis 8.4's SET IFEQ / DELEX (true) or Lua scripts. */
  get nativeCompareAndSet(): boolean {
    return this.#atomic.native;
  }

  // ---- reads ---------------------------------------------------------------------------------

  /** The value of `key` (a copy), or undefined. Counted as a hit or a miss. */
  async get(key: CacheKey): Promise<V | undefined> {
    const value = await this.#read(this.#keys.value(key));
    this.#counters[value === undefined ? 'misses' : 'hits']++;
    return value;
  }

  /** Like get, without counting a hit or a miss. */
  async peek(key: CacheKey): Promise<V | undefined> {
    return this.#read(this.#keys.value(key));
  }

  /** Whether `key` holds an entry. */
  async has(key: CacheKey): Promise<boolean> {
    const k = this.#keys.value(key);
    try {
      return (await this.#connection.call<number>(['EXISTS', k], k)) === 1;
    } catch (error) {
      return this.#failSafe.rescue(k, error, false) !== undefined;
    }
  }

  /** Remaining time to live of `key` in ms: Infinity if it never expires, undefined if there is no such entry. */
  async ttl(key: CacheKey): Promise<number | undefined> {
    const k = this.#keys.value(key);
    const pttl = await this.#failSafe.counted(this.#connection.call<number>(['PTTL', k], k));
    return pttl === -2 ? undefined : pttl === -1 ? Infinity : pttl;
  }

  // ---- writes --------------------------------------------------------------------------------

  /** Stores `value` under `key`, with `options.ttlMs` (default: the cache's `ttlMs`). */
  async set(key: CacheKey, value: V, options?: AsyncSetOptions): Promise<this> {
    const k = this.#keys.value(key);
    const raw = encodeForRedis(value);
    const ttl = this.#ttlFrom(options);
    await this.#failSafe.write(k, this.#connection.call(['SET', k, raw, ...(ttl === Infinity ? [] : ['PX', String(Math.ceil(ttl))])], k));
    this.#counters.sets++;
    this.#failSafe.confirm(k, raw);
    return this;
  }

  /** Stores `value` only if `key` holds no entry (SET NX). Exactly one of any number of racing callers, in any processes, gets true. */
  async setIfAbsent(key: CacheKey, value: V, options?: AsyncSetOptions): Promise<boolean> {
    const k = this.#keys.value(key);
    const raw = encodeForRedis(value);
    const ttl = this.#ttlFrom(options);
    const reply = await this.#failSafe.write(k, this.#connection.call(['SET', k, raw, 'NX', ...(ttl === Infinity ? [] : ['PX', String(Math.ceil(ttl))])], k));
    if (reply === null) return false;
    this.#counters.sets++;
    this.#failSafe.confirm(k, raw);
    return true;
  }

  /**
   * Replaces the value of `key` with `next` if it currently equals `expected` (compared as
   * SharedCache compares: by encoding, and structured clones by value). Keeps the entry's expiry
   * unless `options.ttlMs` is given. Atomic on the server.
   */
  async compareAndSet(key: CacheKey, expected: V, next: V, options?: AsyncSetOptions): Promise<boolean> {
    const k = this.#keys.value(key);
    const want = encodeForRedis(expected);
    const raw = encodeForRedis(next);
    const { ttlMs } = readOptions(options, ['ttlMs'], 'options');
    const ttl = ttlArg(ttlMs === undefined ? undefined : checkTtl(ttlMs, 'options.ttlMs', Infinity));
    const done = await this.#failSafe.write(
      k,
      this.#compared(k, want, (stored) => this.#atomic.compareAndSet(k, stored, raw, ttl)),
    );
    if (done) {
      this.#counters.sets++;
      this.#failSafe.confirm(k, raw);
    }
    return done;
  }

  /** Deletes `key` if its value currently equals `expected` (compared as in compareAndSet). */
  async compareAndDelete(key: CacheKey, expected: V): Promise<boolean> {
    const k = this.#keys.value(key);
    const want = encodeForRedis(expected);
    const done = await this.#failSafe.write(
      k,
      this.#compared(k, want, (stored) => this.#atomic.compareAndDelete(k, stored)),
    );
    if (done) {
      this.#counters.deletes++;
      this.#failSafe.confirm(k, undefined);
    }
    return done;
  }

  /**
   * Adds `delta` (default 1) to the integer under `key` and returns the new value, with
   * SharedCache.increment's rules: a missing key counts as 0 and gets the default TTL, an existing
   * entry keeps its expiry; number counters stay safe integers, bigint counters int64; a result
   * out of range, or a value that is not an integer, throws IllegalStateError and changes nothing.
   * The result has the counter's type (a new counter takes the delta's).
   */
  increment(key: CacheKey, delta?: number): Promise<number>;
  increment(key: CacheKey, delta: bigint): Promise<bigint>;
  async increment(key: CacheKey, delta: number | bigint = 1): Promise<number | bigint> {
    const k = this.#keys.value(key);
    if (typeof delta === 'number' ? !Number.isSafeInteger(delta) : typeof delta !== 'bigint' || BigInt.asIntN(64, delta) !== delta) {
      throw new InvalidArgumentError(`delta must be a safe integer or an int64 bigint, got ${describeValue(delta)}`);
    }
    let reply: [Buffer, Buffer];
    try {
      reply = await this.#failSafe.write(k, this.#atomic.increment(k, delta, ttlArg(this.#config.ttlMs)));
    } catch (error) {
      // The script's refusals (Redis may put its own error code before them).
      const refused = isErrorReply(error) ? /SABRE_(NOT_INTEGER|RANGE) ?(.*)/.exec(error.message) : null;
      if (refused !== null) {
        const why = refused[1] === 'RANGE' ? refused[2] : 'the value is not an integer';
        throw new IllegalStateError(`increment(${JSON.stringify(key)}): ${why}`);
      }
      throw error;
    }
    const digits = reply[1].toString();
    const result = reply[0].toString() === 'b' ? BigInt(digits) : Number(digits);
    this.#counters.sets++;
    this.#failSafe.confirm(k, encodeForRedis(result));
    return result;
  }

  /** Sets the time to live of `key` from now (`Infinity` removes its expiry). False if there is no such entry. */
  async expire(key: CacheKey, ttlMs: number): Promise<boolean> {
    const k = this.#keys.value(key);
    if (ttlMs === undefined) throw new InvalidArgumentError('expire(key, ttlMs): ttlMs is required (Infinity removes the expiry)');
    const ttl = checkPositiveMs(ttlMs, 'ttlMs', true);
    const done = ttl === Infinity ? this.#atomic.persist(k) : this.#connection.call<number>(['PEXPIRE', k, String(Math.ceil(ttl))], k).then((n) => n === 1);
    return this.#failSafe.counted(done);
  }

  /** Deletes `key`; true if it held an entry. */
  async delete(key: CacheKey): Promise<boolean> {
    const k = this.#keys.value(key);
    const removed = (await this.#failSafe.write(k, this.#connection.call<number>(['DEL', k], k))) === 1;
    if (removed) this.#counters.deletes++;
    this.#failSafe.confirm(k, undefined);
    return removed;
  }

  // ---- single flight ---------------------------------------------------------------------------

  /**
   * The value of `key`, computing it if missing, with one computation at a time across every
   * process that shares the Redis prefix (a lease, single-flight.ts): the others wait for its
   * value. A computer that dies stops renewing its lease, which runs out after `leaseMs`; a
   * waiter then takes over (as it does from a computer still running after `maxComputeMs`). An error from `compute` rejects its own caller (then a waiter computes
   * in its turn); `undefined` stores nothing. With `graceMs`, a failing compute or an unreachable
   * Redis is answered with the last value known within the grace period, if any.
   */
  async getOrCompute<T extends V | undefined>(key: CacheKey, compute: () => T | PromiseLike<T>, options?: AsyncComputeOptions): Promise<T> {
    const k = this.#keys.value(key);
    checkFunction(compute, 'compute');
    const { ttlMs, leaseMs } = readOptions(options, ['ttlMs', 'leaseMs'], 'options');
    const ttl = ttlArg(checkTtl(ttlMs, 'options.ttlMs', this.#config.ttlMs));
    const lease = leaseMs === undefined ? this.#config.leaseMs : checkPositiveMs(leaseMs, 'options.leaseMs', false);
    let computeFailed = false;
    const tracked = async () => {
      try {
        return await compute();
      } catch (error) {
        computeFailed = true;
        throw error;
      }
    };
    try {
      const result = await this.#flights.run(k, tracked, (value) => encodeForRedis(value), ttl, lease);
      if ('found' in result) {
        this.#counters.hits++;
        this.#failSafe.confirm(k, result.found);
        return decodeFromRedis(result.found) as T;
      }
      this.#counters.misses++;
      if (result.stored !== undefined) {
        this.#counters.sets++;
        this.#failSafe.confirm(k, result.stored);
      } else if (result.computed !== undefined) this.#counters.unstoredComputes++;
      return result.computed;
    } catch (error) {
      // Redis unavailable, or the compute failed: the grace value, if there is one.
      return decodeFromRedis(this.#failSafe.rescue(k, error, computeFailed)) as T;
    }
  }

  // ---- state, stats, events ----------------------------------------------------------------------

  /** This process's counters (a snapshot). */
  async stats(): Promise<RedisCacheStats> {
    return {
      ...this.#counters,
      ...this.#flightCounters,
      ...this.#failSafe.counters,
      timeouts: this.#connection.timeouts,
    };
  }

  /**
   * Calls `listener` when Redis becomes unreachable ('unavailable') or reachable again
   * ('available'): once per change of state, never per call. Returns an unsubscribe function.
   */
  on(event: Availability, listener: AvailabilityListener): () => void {
    return this.#failSafe.on(event, listener);
  }

  /** Package-internal: what TieredCache builds its invalidations on. */
  [internals](): { readonly connection: Connection; readonly keys: KeySpace; readonly failSafe: { readonly graceServed: number } } {
    return { connection: this.#connection, keys: this.#keys, failSafe: this.#failSafe.counters };
  }

  /** Closes the connections. Calls made afterwards throw IllegalStateError; waiting getOrCompute calls end. */
  async close(): Promise<void> {
    this.#flights.close();
    await this.#connection.close();
  }

  // ---- internals -------------------------------------------------------------------------------

  #ttlFrom(options: AsyncSetOptions | undefined): number {
    const { ttlMs } = readOptions(options, ['ttlMs'], 'options');
    return checkTtl(ttlMs, 'options.ttlMs', this.#config.ttlMs);
  }

  /** GET with the fail-safe. */
  async #read(k: Buffer): Promise<V | undefined> {
    const raw = await this.#failSafe.read(k, this.#connection.call<Buffer | null>(['GET', k], k));
    return raw === null ? undefined : (decodeFromRedis(raw) as V);
  }

  /**
   * Runs a conditional write against the exact stored bytes of a value equal to `want`. Bytes are
   * compared first; a structured clone may be stored under other bytes for an equal value (V8's
   * serialization is not canonical), so then the stored value is read, compared by value, and the
   * write retried against its bytes, until it succeeds or the value differs.
   */
  async #compared(k: Buffer, want: Buffer, attempt: (stored: Buffer) => Promise<boolean>): Promise<boolean> {
    if (await attempt(want)) return true;
    if (!isClone(want)) return false;
    const expected = decodeFromRedis(want);
    for (;;) {
      const stored = await this.#connection.call<Buffer | null>(['GET', k], k);
      if (stored === null || !isClone(stored) || !isDeepStrictEqual(decodeFromRedis(stored), expected)) return false;
      if (await attempt(stored)) return true;
    }
  }
}
