/**
 * Keys and values as bytes in shared memory.
 *
 * Keys are strings, stored as UTF-8, or numbers, stored as 0xFF (a byte UTF-8 never contains)
 * and the float64. Values carry a one-byte tag (in the entry record, not in
 * the bytes) and a payload:
 *
 *   tag        payload
 *   STRING     UTF-8
 *   NUMBER     8 bytes, float64 little-endian
 *   TRUE/FALSE/NULL  nothing
 *   BIGINT     8 bytes, int64 little-endian (values outside int64 use BIGSTR: decimal UTF-8)
 *   BYTES      the bytes of a Uint8Array, returned as a Uint8Array
 *   BUFFER     the bytes of a Buffer, returned as a Buffer
 *   CLONE      node:v8 structured-clone serialization (plain objects, arrays, Maps, Dates, …)
 *   PENDING    not a value: a getOrCompute flight marker, invisible to every read
 *
 * Short ASCII strings (the common key) skip TextEncoder/TextDecoder, whose call overhead
 * dominates below a few dozen characters.
 */
import { isDeepStrictEqual } from 'node:util';
import { deserialize, serialize } from 'node:v8';
import { InvalidArgumentError } from '../errors.js';
import { describeValue } from '../shared/validate.js';

export const Tag = {
  STRING: 1,
  NUMBER: 2,
  TRUE: 3,
  FALSE: 4,
  NULL: 5,
  BIGINT: 6,
  BIGSTR: 7,
  BYTES: 8,
  BUFFER: 9,
  CLONE: 10,
  /** Not a value: getOrCompute's marker that a computation is in flight (see single-flight.ts). */
  PENDING: 11,
} as const;

/** A value as it is stored: its tag and payload bytes. */
export interface Encoded {
  readonly tag: number;
  readonly bytes: Uint8Array;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const EMPTY = new Uint8Array(0);
const SHORT = 64;

/** UTF-8 bytes of a string; an ASCII loop for short strings. */
export function utf8(text: string): Uint8Array {
  const n = text.length;
  if (n <= SHORT) {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      const c = text.charCodeAt(i);
      if (c > 0x7f) return encoder.encode(text);
      out[i] = c;
    }
    return out;
  }
  return encoder.encode(text);
}

/** The string of UTF-8 bytes; String.fromCharCode for short ASCII ones. */
export function fromUtf8(bytes: Uint8Array): string {
  const n = bytes.length;
  if (n <= SHORT) {
    for (let i = 0; i < n; i++) if (bytes[i]! > 0x7f) return decoder.decode(bytes);
    return String.fromCharCode.apply(null, bytes as unknown as number[]);
  }
  return decoder.decode(bytes);
}

/** A cache key: a string, or a number (numbers and strings never collide: 1 and '1' are two keys). */
export type CacheKey = string | number;

const NUMBER_KEY = 0xff; // a byte UTF-8 never contains: marks a number key

/** The stored bytes of a key: UTF-8 for a string; 0xFF and the float64 for a number (-0 stored as 0). */
export function keyBytes(key: CacheKey): Uint8Array {
  if (typeof key === 'string') return utf8(key);
  const bytes = new Uint8Array(9);
  bytes[0] = NUMBER_KEY;
  new DataView(bytes.buffer).setFloat64(1, key === 0 ? 0 : key, true);
  return bytes;
}

/** The key whose stored bytes these are. */
export function keyFromBytes(bytes: Uint8Array): CacheKey {
  if (bytes.length === 9 && bytes[0] === NUMBER_KEY) return new DataView(bytes.buffer, bytes.byteOffset, 9).getFloat64(1, true);
  return fromUtf8(bytes);
}

/** FNV-1a over the key bytes: cheap, and the same in every thread. */
export function hashBytes(bytes: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193);
  return h >>> 0;
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

function fixed8(write: (view: DataView) => void): Uint8Array {
  const bytes = new Uint8Array(8);
  write(new DataView(bytes.buffer));
  return bytes;
}

/** Encodes a value, or throws InvalidArgumentError if it cannot be stored. */
export function encodeValue(value: unknown): Encoded {
  switch (typeof value) {
    case 'string':
      return { tag: Tag.STRING, bytes: utf8(value) };
    case 'number':
      return { tag: Tag.NUMBER, bytes: fixed8((v) => v.setFloat64(0, value, true)) };
    case 'boolean':
      return { tag: value ? Tag.TRUE : Tag.FALSE, bytes: EMPTY };
    case 'bigint':
      return value >= INT64_MIN && value <= INT64_MAX
        ? { tag: Tag.BIGINT, bytes: fixed8((v) => v.setBigInt64(0, value, true)) }
        : { tag: Tag.BIGSTR, bytes: utf8(value.toString()) };
    case 'object': {
      if (value === null) return { tag: Tag.NULL, bytes: EMPTY };
      if (Buffer.isBuffer(value)) return { tag: Tag.BUFFER, bytes: value };
      if (value instanceof Uint8Array) return { tag: Tag.BYTES, bytes: value };
      try {
        return { tag: Tag.CLONE, bytes: serialize(value) };
      } catch (error) {
        throw new InvalidArgumentError(`value cannot be encoded: ${(error as Error).message}`);
      }
    }
    default:
      throw new InvalidArgumentError(
        `value must be a string, number, boolean, null, bigint, Uint8Array/Buffer, or a structured-clonable object; got ${describeValue(value)}`,
      );
  }
}

/** Decodes a stored value; `bytes` is a private copy the result may keep. */
export function decodeValue(tag: number, bytes: Uint8Array): unknown {
  switch (tag) {
    case Tag.STRING:
      return fromUtf8(bytes);
    case Tag.NUMBER:
      return new DataView(bytes.buffer, bytes.byteOffset, 8).getFloat64(0, true);
    case Tag.TRUE:
      return true;
    case Tag.FALSE:
      return false;
    case Tag.NULL:
      return null;
    case Tag.BIGINT:
      return new DataView(bytes.buffer, bytes.byteOffset, 8).getBigInt64(0, true);
    case Tag.BIGSTR:
      return BigInt(fromUtf8(bytes));
    case Tag.BYTES:
      return bytes;
    case Tag.BUFFER:
      return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
    case Tag.CLONE:
      return deserialize(bytes);
    default:
      throw new Error(`sabre: unknown value tag ${tag} (corrupt entry)`);
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Whether two encoded values are the same value (compare-and-set compares encodings). */
export function sameEncoding(tag: number, bytes: Uint8Array, other: Encoded): boolean {
  if (tag !== other.tag) return false;
  if (bytes.length === other.bytes.length && sameBytes(bytes, other.bytes)) return true;
  // V8's serialization is not canonical: an array read back from the cache (dense when stored)
  // serializes differently from the literal it came from. Equal structured clones are equal values.
  return tag === Tag.CLONE && isDeepStrictEqual(deserialize(bytes), deserialize(other.bytes));
}

/**
 * A thread's scratch space for reads: a hit is copied here (no allocation), validated, then
 * decoded straight from here. Only values that must come back as fresh bytes or objects
 * (BYTES, BUFFER, CLONE) allocate, because the caller keeps them.
 */
export class ReadScratch {
  bytes = new Uint8Array(256);
  #data = new DataView(this.bytes.buffer);
  /** A plain array per length, for String.fromCharCode.apply (several times faster with a plain array than with a typed one). */
  #chars: number[][] = [];

  /** Makes room for `length` bytes. */
  reserve(length: number): Uint8Array {
    if (length > this.bytes.length) {
      this.bytes = new Uint8Array(Math.max(length, this.bytes.length * 2));
      this.#data = new DataView(this.bytes.buffer);
    }
    return this.bytes;
  }

  /** Decodes the first `length` bytes as a value of `tag`. */
  decode(tag: number, length: number): unknown {
    if (tag === Tag.STRING) return this.#string(length);
    if (tag === Tag.NUMBER) return this.#data.getFloat64(0, true);
    // Booleans, null and int64 bigints keep nothing of the bytes; the rest must own a copy.
    return decodeValue(tag, tag <= Tag.BIGINT ? this.bytes : this.bytes.slice(0, length));
  }

  #string(length: number): string {
    const bytes = this.bytes;
    if (length > SHORT) return decoder.decode(bytes.subarray(0, length));
    const chars = (this.#chars[length] ??= new Array<number>(length).fill(0));
    for (let i = 0; i < length; i++) {
      const c = bytes[i]!;
      if (c > 0x7f) return decoder.decode(bytes.subarray(0, length));
      chars[i] = c;
    }
    return String.fromCharCode.apply(null, chars);
  }
}
