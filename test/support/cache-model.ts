/**
 * A plain sequential model of SharedCache's single-thread semantics (README "SharedCache"): a Map
 * and a clock. test/cache-model.test.ts runs random command sequences against the real cache and
 * this model side by side.
 *
 * The model needs no eviction policy (the tests size the cache so that nothing is ever evicted
 * for capacity or bytes). Expired entries are kept in the map until a write replaces them or
 * clear() removes them, because the cache removes them lazily: `size` may count them, so the
 * model gives bounds for it (live entries <= size <= live + expired-not-yet-replaced) and checks
 * the counters' invariant instead of counting TTL evictions itself.
 */
import { isDeepStrictEqual } from 'node:util';

export type Key = string | number;

/** What an operation should do: return `value`, or throw an error of class `error`. */
export type Outcome = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: 'InvalidArgumentError' | 'IllegalStateError' };

export interface ModelEntry {
  /** The key as the cache gives it back (-0 as 0). */
  readonly key: Key;
  readonly value: unknown;
  /** Absolute expiry in ms; Infinity for none. Live while now < expiry. */
  readonly expiry: number;
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const OPTION_NAMES = ['ttlMs'];

/** One string per distinct key: 0 and -0 are one key, 1 and '1' two. */
export function canonicalKey(key: Key): string {
  return typeof key === 'number' ? `n:${key === 0 ? 0 : key}` : `s:${key}`;
}

/** Whether `key` is a key the cache accepts (ignoring its byte length, which the caller checks). */
export function isKeyShaped(key: unknown): key is Key {
  return typeof key === 'string' || (typeof key === 'number' && !Number.isNaN(key));
}

/** Whether the cache can store `value` (README: undefined, functions and symbols are refused). */
export function isStorable(value: unknown): boolean {
  switch (typeof value) {
    case 'string':
    case 'number':
    case 'boolean':
    case 'bigint':
      return true;
    case 'object':
      return value === null || isPlainData(value);
    default:
      return false;
  }
}

/** Uint8Arrays, and arrays / plain objects of storable leaves (what the tests generate). */
function isPlainData(value: object): boolean {
  if (value instanceof Uint8Array) return true;
  if (Array.isArray(value)) return value.every((v) => v === undefined || isStorable(v));
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return false;
  return Object.values(value).every((v) => v === undefined || isStorable(v));
}

/**
 * Equality as the cache compares values (compareAndSet, compareAndDelete): primitives by value
 * (SameValue: NaN equals NaN, -0 differs from 0, 1 differs from 1n), Uint8Array and Buffer by
 * content (a Buffer never equals a Uint8Array: it comes back as a Buffer),
 * objects structurally. It is also how read results are compared with the model.
 */
export function sameValue(a: unknown, b: unknown): boolean {
  return isDeepStrictEqual(a, b);
}

/** The time to live a write asks for: a number, or the marker that it gave none. */
export type TtlArg = { readonly given: false } | { readonly given: true; readonly value: unknown };

export interface ModelStats {
  hits: number;
  misses: number;
  sets: number;
  deletes: number;
  /** Writes that created a new entry, at least (a write over an expired, not yet removed entry may or may not count). */
  insertsMin: number;
  /** ... and at most. */
  insertsMax: number;
  /** Entries clear() may have removed (an upper bound: expired ones may already be gone). */
  clearedMax: number;
}

export interface ModelConfig {
  /** The cache's default ttlMs (Infinity = none). */
  readonly ttlMs: number;
  readonly maxKeyBytes: number;
  readonly maxValueBytes: number;
}

export class CacheModel {
  readonly #entries = new Map<string, ModelEntry>();
  now: number;
  readonly stats: ModelStats = { hits: 0, misses: 0, sets: 0, deletes: 0, insertsMin: 0, insertsMax: 0, clearedMax: 0 };

  constructor(
    readonly config: ModelConfig,
    startMs: number,
  ) {
    this.now = startMs;
  }

  // ---- queries of the model's state ----

  #live(key: Key): ModelEntry | undefined {
    const entry = this.#entries.get(canonicalKey(key));
    return entry !== undefined && entry.expiry > this.now ? entry : undefined;
  }

  /** The live entries, by canonical key. */
  liveEntries(): Map<string, ModelEntry> {
    const live = new Map<string, ModelEntry>();
    for (const [canon, entry] of this.#entries) if (entry.expiry > this.now) live.set(canon, entry);
    return live;
  }

  /** Fewest and most entries the cache may count (expired ones may not have been removed yet). */
  sizeBounds(): { min: number; max: number } {
    return { min: this.liveEntries().size, max: this.#entries.size };
  }

  // ---- validation (each throws the Outcome the cache must throw; none changes the model) ----

  #checkKey(key: unknown): asserts key is Key {
    if (!isKeyShaped(key) || utf8Length(key) > this.config.maxKeyBytes) throw invalid;
  }

  #checkValue(value: unknown): void {
    if (!isStorable(value)) throw invalid;
    if (encodedLength(value) > this.config.maxValueBytes) throw invalid;
  }

  /**
   * compareAndSet / compareAndDelete's `expected` is only compared, never stored, so it must be a
   * storable kind of value but is not held to maxValueBytes (one that big just never matches).
   */
  #checkExpected(expected: unknown): void {
    if (!isStorable(expected)) throw invalid;
  }

  /** The ttl to apply, Infinity for none, undefined for "the cache's default" (no option given). */
  #ttlFromOptions(options: unknown, optionsGiven: boolean): number | undefined {
    if (!optionsGiven || options === undefined) return undefined;
    if (typeof options !== 'object' || options === null || Array.isArray(options)) throw invalid;
    for (const name of Object.keys(options)) if (!OPTION_NAMES.includes(name)) throw invalid;
    const ttl = (options as { ttlMs?: unknown }).ttlMs;
    return ttl === undefined ? undefined : this.#checkTtl(ttl);
  }

  #checkTtl(ttl: unknown): number {
    if (ttl === Infinity) return Infinity;
    if (typeof ttl !== 'number' || Number.isNaN(ttl) || ttl <= 0) throw invalid;
    return ttl;
  }

  #expiryAfter(ttl: number): number {
    return ttl === Infinity ? Infinity : this.now + ttl;
  }

  /** Stores an entry; counts the insert if the key had no entry (bounds: an expired one may or may not count). */
  #store(key: Key, value: unknown, expiry: number): void {
    const canon = canonicalKey(key);
    const old = this.#entries.get(canon);
    if (old === undefined) {
      this.stats.insertsMin++;
      this.stats.insertsMax++;
    } else if (old.expiry <= this.now) {
      this.stats.insertsMax++;
    }
    this.#entries.set(canon, { key: typeof key === 'number' && key === 0 ? 0 : key, value, expiry });
  }

  // ---- the operations ----

  /** Runs an operation on the model; a thrown Outcome leaves the model as it was. */
  run(fn: () => unknown): Outcome {
    try {
      return { ok: true, value: fn() };
    } catch (error) {
      if (error === invalid) return { ok: false, error: 'InvalidArgumentError' };
      if (error === illegal) return { ok: false, error: 'IllegalStateError' };
      throw error;
    }
  }

  get(key: unknown): unknown {
    this.#checkKey(key);
    const entry = this.#live(key);
    if (entry === undefined) this.stats.misses++;
    else this.stats.hits++;
    return entry?.value;
  }

  peek(key: unknown): unknown {
    this.#checkKey(key);
    return this.#live(key)?.value;
  }

  has(key: unknown): boolean {
    this.#checkKey(key);
    return this.#live(key) !== undefined;
  }

  ttl(key: unknown): number | undefined {
    this.#checkKey(key);
    const entry = this.#live(key);
    return entry === undefined ? undefined : entry.expiry === Infinity ? Infinity : entry.expiry - this.now;
  }

  /** set returns the cache itself; the runner checks that, the model returns a marker. */
  set(key: unknown, value: unknown, options: unknown, optionsGiven: boolean): typeof THIS {
    this.#checkKey(key);
    this.#checkValue(value);
    const ttl = this.#ttlFromOptions(options, optionsGiven) ?? this.config.ttlMs;
    this.#store(key, value, this.#expiryAfter(ttl));
    this.stats.sets++;
    return THIS;
  }

  setIfAbsent(key: unknown, value: unknown, options: unknown, optionsGiven: boolean): boolean {
    this.#checkKey(key);
    this.#checkValue(value);
    const ttl = this.#ttlFromOptions(options, optionsGiven) ?? this.config.ttlMs;
    if (this.#live(key) !== undefined) return false;
    this.#store(key, value, this.#expiryAfter(ttl));
    this.stats.sets++;
    return true;
  }

  compareAndSet(key: unknown, expected: unknown, next: unknown, options: unknown, optionsGiven: boolean): boolean {
    this.#checkKey(key);
    this.#checkExpected(expected);
    this.#checkValue(next);
    const ttl = this.#ttlFromOptions(options, optionsGiven);
    const entry = this.#live(key);
    if (entry === undefined || !sameValue(entry.value, expected)) return false;
    this.#store(key, next, ttl === undefined ? entry.expiry : this.#expiryAfter(ttl));
    this.stats.sets++;
    return true;
  }

  compareAndDelete(key: unknown, expected: unknown): boolean {
    this.#checkKey(key);
    this.#checkExpected(expected);
    const entry = this.#live(key);
    if (entry === undefined || !sameValue(entry.value, expected)) return false;
    this.#entries.delete(canonicalKey(key));
    this.stats.deletes++;
    return true;
  }

  /** `deltaGiven` false: called as increment(key), delta 1. */
  increment(key: unknown, delta: unknown, deltaGiven: boolean): number | bigint {
    this.#checkKey(key);
    const d = deltaGiven ? delta : 1;
    const validDelta = typeof d === 'number' ? Number.isSafeInteger(d) : typeof d === 'bigint' && d >= INT64_MIN && d <= INT64_MAX;
    if (!validDelta) throw invalid;
    const entry = this.#live(key);
    const current: unknown = entry === undefined ? (typeof d === 'bigint' ? 0n : 0) : entry.value;
    const next = addInteger(current, d as number | bigint);
    this.#store(key, next, entry === undefined ? this.#expiryAfter(this.config.ttlMs) : entry.expiry);
    this.stats.sets++;
    return next;
  }

  /** `ttlGiven` false: called as expire(key), which is an InvalidArgumentError. */
  expire(key: unknown, ttlMs: unknown, ttlGiven: boolean): boolean {
    this.#checkKey(key);
    if (!ttlGiven) throw invalid;
    const ttl = this.#checkTtl(ttlMs);
    const entry = this.#live(key);
    if (entry === undefined) return false;
    this.#entries.set(canonicalKey(key), { ...entry, expiry: this.#expiryAfter(ttl) });
    return true;
  }

  delete(key: unknown): boolean {
    this.#checkKey(key);
    if (this.#live(key) === undefined) return false;
    this.#entries.delete(canonicalKey(key));
    this.stats.deletes++;
    return true;
  }

  clear(): undefined {
    this.stats.clearedMax += this.#entries.size;
    this.#entries.clear();
    return undefined;
  }

  advance(ms: number): undefined {
    this.now += ms;
    return undefined;
  }
}

/** What the model's set returns: the runner checks that the real set returned the cache. */
export const THIS = Symbol('the cache itself');

const invalid = Symbol('InvalidArgumentError');
const illegal = Symbol('IllegalStateError');

/**
 * Counter arithmetic: a number counter stays a safe integer, a bigint counter stays int64, and the
 * result has the counter's type (a bigint delta on a number counter gives a number, as Redis has
 * one integer type; a missing key takes the delta's type). Anything else is IllegalStateError.
 */
function addInteger(current: unknown, delta: number | bigint): number | bigint {
  if (typeof current === 'bigint') {
    const next = current + BigInt(delta);
    if (next < INT64_MIN || next > INT64_MAX) throw illegal;
    return next;
  }
  if (typeof current === 'number' && Number.isSafeInteger(current)) {
    const next = typeof delta === 'bigint' ? BigInt(current) + delta : current + delta;
    if (typeof next === 'bigint' ? next < BigInt(Number.MIN_SAFE_INTEGER) || next > BigInt(Number.MAX_SAFE_INTEGER) : !Number.isSafeInteger(next))
      throw illegal;
    return typeof next === 'number' ? next : Number(next);
  }
  throw illegal;
}

/** UTF-8 length of a key as README counts it (a lone surrogate counts as 3 bytes, as in WTF-8). */
export function utf8Length(key: Key): number {
  if (typeof key === 'number') return 9;
  let n = 0;
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < key.length && key.charCodeAt(i + 1) >= 0xdc00 && key.charCodeAt(i + 1) <= 0xdfff) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

/**
 * A value's encoded length, roughly: the tests keep every generated value far below maxValueBytes
 * and make the ones meant to be too big far above it, so only strings and bytes need measuring.
 */
function encodedLength(value: unknown): number {
  if (typeof value === 'string') return utf8Length(value);
  if (value instanceof Uint8Array) return value.length;
  return 8;
}
