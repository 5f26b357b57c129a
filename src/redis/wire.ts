/**
 * Keys and values as Redis strings, built on SharedCache's codec (src/cache/codec.ts) so that the
 * same values round-trip exactly in both caches.
 *
 * A value is one Redis string: the codec's tag byte, then its payload. One deliberate difference:
 * every bigint is stored as BIGSTR (decimal digits) rather than BIGINT (int64 little-endian),
 * because the increment script (scripts.ts) must read a bigint counter exactly, and Lua's
 * numbers are doubles. Both decode to the same bigint.
 *
 * A key is the cache's prefix, then the codec's key bytes (UTF-8 for a string, so keys stay
 * readable in redis-cli). The keys the cache keeps for itself use a byte UTF-8 never contains
 * and the codec never starts a key with (0xFD: a getOrCompute lease; 0xFC: the fencing counter),
 * so no user key can collide with them.
 */
import { InvalidArgumentError } from '../errors.js';
import { type CacheKey, Tag, decodeValue, encodeValue, keyBytes, keyFromBytes, utf8 } from '../cache/codec.js';
import { describeValue } from '../shared/validate.js';

const LEASE = 0xfd;
const META = 0xfc;

/** The Redis keys of one cache (one prefix). */
export class KeySpace {
  readonly #prefix: Buffer;

  constructor(prefix: string) {
    this.#prefix = Buffer.from(utf8(prefix));
  }

  /** The Redis key holding the value of `key`; refuses a key that is not a string or a number (NaN included). */
  value(key: CacheKey): Buffer {
    if (typeof key !== 'string' && (typeof key !== 'number' || Number.isNaN(key))) {
      throw new InvalidArgumentError(`key must be a string or a number (not NaN), got ${describeValue(key)}`);
    }
    return Buffer.concat([this.#prefix, keyBytes(key)]);
  }

  /** The cache key whose value key this is. */
  keyOf(valueKey: Buffer): CacheKey {
    return keyFromBytes(valueKey.subarray(this.#prefix.length));
  }

  /** The Redis key of the getOrCompute lease of the value key `valueKey`. */
  lease(valueKey: Buffer): Buffer {
    return Buffer.concat([this.#prefix, Buffer.of(LEASE), valueKey.subarray(this.#prefix.length)]);
  }

  /** The counter that numbers leases (their fencing tokens). */
  get fence(): Buffer {
    return Buffer.concat([this.#prefix, Buffer.of(META), Buffer.from('fence')]);
  }

  /** The pub/sub channel on which writes are announced to the local tiers of TieredCaches (the message: the value key). */
  get invalidations(): string {
    return `${this.#prefix.toString()}sabre:invalidate`;
  }

  /** The pub/sub channel on which ended flights are announced (the message: the value key). */
  get flights(): string {
    // Channels are a namespace of their own: no key can collide with it.
    return `${this.#prefix.toString()}sabre:flights`;
  }
}

/** A value as one Redis string: tag byte, payload (bigints as decimal). Throws InvalidArgumentError for a value sabre cannot store. */
export function encodeForRedis(value: unknown): Buffer {
  if (typeof value === 'bigint') return Buffer.concat([Buffer.of(Tag.BIGSTR), Buffer.from(value.toString())]);
  const { tag, bytes } = encodeValue(value);
  return Buffer.concat([Buffer.of(tag), bytes]);
}

/** The value a Redis string written by {@link encodeForRedis} (or by the scripts) holds. */
export function decodeFromRedis(raw: Buffer): unknown {
  const tag = raw[0];
  if (tag === undefined) throw new Error('sabre/redis: an empty value (not written by sabre)');
  // A copy into a plain Uint8Array: the reply may be a slice of a larger buffer, and a BYTES value
  // must come back as a Uint8Array of its own (the codec makes a Buffer of it for BUFFER).
  return decodeValue(tag, new Uint8Array(raw.subarray(1)));
}

/** Whether a stored value is a structured clone (whose encoding is not canonical: compareAndSet then compares decoded values). */
export function isClone(raw: Buffer): boolean {
  return raw[0] === Tag.CLONE;
}
