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
 *
 * On a Redis Cluster, the keys of one entry must share a slot: getOrCompute's scripts touch the
 * value, its lease and the fencing counter at once, and a script may only touch keys of one
 * slot. So there every key of an entry starts with the prefix and a hash tag, `{n}` with n the
 * key's hash modulo 16,384 in decimal: Redis hashes only the tag, so the value, the lease and the
 * fencing counter of one entry land in one slot, and different entries spread over every master.
 * (A tag from the key's own bytes would not do: a key holding `}` would cut it short.) The
 * fencing counter is then one per tag (at most 16,384 per prefix), not one per server.
 */
import { InvalidArgumentError } from '../errors.js';
import { type CacheKey, Tag, decodeValue, encodeValue, hashBytes, keyBytes, keyFromBytes, utf8 } from '../cache/codec.js';
import { describeValue } from '../shared/validate.js';
import { StoreReplyError } from './errors.js';

const LEASE = 0xfd;
const META = 0xfc;
const CLOSE_TAG = 0x7d; // '}'
/** How many hash tags a clustered cache spreads its entries over (one per slot of a cluster, on average). */
const TAGS = 16_384;

/** The Redis keys of one cache (one prefix; hash-tagged on a cluster). */
export class KeySpace {
  readonly #prefix: Buffer;
  readonly #tagged: boolean;

  /** `tagged`: the keys are a cluster's, each entry's keys sharing a hash tag (the prefix then holds no braces: options.ts). */
  constructor(prefix: string, tagged = false) {
    this.#prefix = Buffer.from(utf8(prefix));
    this.#tagged = tagged;
  }

  /** The Redis key holding the value of `key`; refuses a key that is not a string or a number (NaN included). */
  value(key: CacheKey): Buffer {
    if (typeof key !== 'string' && (typeof key !== 'number' || Number.isNaN(key))) {
      throw new InvalidArgumentError(`key must be a string or a number (not NaN), got ${describeValue(key)}`);
    }
    const bytes = keyBytes(key);
    if (!this.#tagged) return Buffer.concat([this.#prefix, bytes]);
    return Buffer.concat([this.#prefix, Buffer.from(`{${hashBytes(bytes) % TAGS}}`), bytes]);
  }

  /** The cache key whose value key this is. */
  keyOf(valueKey: Buffer): CacheKey {
    return keyFromBytes(valueKey.subarray(this.#headLength(valueKey)));
  }

  /** The Redis key of the getOrCompute lease of the value key `valueKey` (in its slot). */
  lease(valueKey: Buffer): Buffer {
    const head = this.#headLength(valueKey);
    return Buffer.concat([valueKey.subarray(0, head), Buffer.of(LEASE), valueKey.subarray(head)]);
  }

  /** The counter that numbers the leases of `valueKey` (their fencing tokens): the server's, or on a cluster its tag's. */
  fence(valueKey: Buffer): Buffer {
    return Buffer.concat([valueKey.subarray(0, this.#headLength(valueKey)), Buffer.of(META), Buffer.from('fence')]);
  }

  /** Where the key's own bytes start in a value key: after the prefix, and the tag on a cluster. */
  #headLength(valueKey: Buffer): number {
    return this.#tagged ? valueKey.indexOf(CLOSE_TAG, this.#prefix.length) + 1 : this.#prefix.length;
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

/**
 * The cluster slot of a Redis key, as Redis computes it: CRC16 (XMODEM) of the key's hash tag
 * (what lies between its first `{` and the next `}`, when not empty) or of the whole key, modulo
 * 16,384. Used to tell which master a call went to (connection.ts), not to route it.
 */
export function keySlot(key: Uint8Array): number {
  const open = key.indexOf(0x7b);
  const close = open === -1 ? -1 : key.indexOf(CLOSE_TAG, open + 1);
  const hashed = close > open + 1 ? key.subarray(open + 1, close) : key;
  let crc = 0;
  for (const byte of hashed) {
    crc ^= byte << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc % TAGS;
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
  if (tag === undefined) throw new StoreReplyError('an empty value under a sabre key: not written by sabre');
  // A copy into a plain Uint8Array: the reply may be a slice of a larger buffer, and a BYTES value
  // must come back as a Uint8Array of its own (the codec makes a Buffer of it for BUFFER).
  try {
    return decodeValue(tag, new Uint8Array(raw.subarray(1)));
  } catch (error) {
    throw new StoreReplyError(`a value under a sabre key that sabre did not write (${(error as Error).message})`, { cause: error });
  }
}

/** Whether a stored value is a structured clone (whose encoding is not canonical: compareAndSet then compares decoded values). */
export function isClone(raw: Buffer): boolean {
  return raw[0] === Tag.CLONE;
}
