/**
 * Keys and values as bytes in shared memory.
 *
 * Keys are strings or numbers. A well-formed string is stored as UTF-8; one with a lone
 * surrogate (which UTF-8 cannot carry: TextEncoder would turn it into U+FFFD, merging distinct
 * keys) as 0xFE and its UTF-16LE code units; a number as 0xFF and the float64. UTF-8 never
 * contains 0xFE or 0xFF, so the three forms never collide. Values carry a one-byte tag (in the
 * entry record, not in the bytes) and a payload:
 *
 *   tag        payload
 *   STRING     UTF-8 (well-formed strings)
 *   STRING16   UTF-16LE code units (strings with a lone surrogate; numbered after PENDING)
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
import { describeThrown, describeValue } from '../shared/validate.js';

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
  /**
   * A string with a lone surrogate, as UTF-16LE code units. An immutable string like STRING,
   * though numbered above BIGSTR: PENDING already held 11 when it was added.
   */
  STRING16: 12,
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

/**
 * UTF-8 bytes of a well-formed string, or undefined if it has a lone surrogate (UTF-8 cannot
 * carry one). An ASCII loop for short strings; the well-formedness check only runs past ASCII.
 */
function wellFormedUtf8(text: string): Uint8Array | undefined {
  const n = text.length;
  if (n <= SHORT) {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      const c = text.charCodeAt(i);
      if (c > 0x7f) return text.isWellFormed() ? encoder.encode(text) : undefined;
      out[i] = c;
    }
    return out;
  }
  return text.isWellFormed() ? encoder.encode(text) : undefined;
}

/**
 * UTF-8 bytes of a string; an ASCII loop for short strings. Lossy for a lone surrogate (it
 * becomes U+FFFD): keys and values go through {@link keyBytes} and {@link encodeValue}, which
 * store such strings as UTF-16 instead.
 */
export function utf8(text: string): Uint8Array {
  return wellFormedUtf8(text) ?? encoder.encode(text);
}

/** The UTF-16LE code units of a string, after `skip` leading bytes left zero for the caller. */
function utf16(text: string, skip: number): Uint8Array {
  const bytes = new Uint8Array(skip + text.length * 2);
  for (let i = 0, at = skip; i < text.length; i++, at += 2) {
    const c = text.charCodeAt(i);
    bytes[at] = c & 0xff;
    bytes[at + 1] = c >>> 8;
  }
  return bytes;
}

/** The string of UTF-16LE code units. Node's utf16le decoder keeps lone surrogates (TextDecoder's would replace them). */
function fromUtf16(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('utf16le');
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
const UTF16_KEY = 0xfe; // another: marks a string key with a lone surrogate, stored as UTF-16LE

/**
 * The stored bytes of a key: UTF-8 for a well-formed string; 0xFE and its UTF-16LE code units
 * for a string with a lone surrogate; 0xFF and the float64 for a number (-0 stored as 0).
 */
export function keyBytes(key: CacheKey): Uint8Array {
  if (typeof key === 'string') {
    const bytes = wellFormedUtf8(key);
    if (bytes !== undefined) return bytes;
    const marked = utf16(key, 1);
    marked[0] = UTF16_KEY;
    return marked;
  }
  const bytes = new Uint8Array(9);
  bytes[0] = NUMBER_KEY;
  new DataView(bytes.buffer).setFloat64(1, key === 0 ? 0 : key, true);
  return bytes;
}

/** The key whose stored bytes these are. */
export function keyFromBytes(bytes: Uint8Array): CacheKey {
  if (bytes.length === 9 && bytes[0] === NUMBER_KEY) return new DataView(bytes.buffer, bytes.byteOffset, 9).getFloat64(1, true);
  if (bytes[0] === UTF16_KEY) return fromUtf16(bytes.subarray(1));
  return fromUtf8(bytes);
}

/** FNV-1a over the key bytes: cheap, and the same in every thread. */
export function hashBytes(bytes: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193);
  return h >>> 0;
}

/** The int64 range: a BIGINT value's, and a bigint counter's (increment). */
export const INT64_MIN = -(2n ** 63n);
export const INT64_MAX = 2n ** 63n - 1n;

function fixed8(write: (view: DataView) => void): Uint8Array {
  const bytes = new Uint8Array(8);
  write(new DataView(bytes.buffer));
  return bytes;
}

/** Encodes a value, or throws InvalidArgumentError if it cannot be stored. */
export function encodeValue(value: unknown): Encoded {
  switch (typeof value) {
    case 'string': {
      const bytes = wellFormedUtf8(value);
      return bytes !== undefined ? { tag: Tag.STRING, bytes } : { tag: Tag.STRING16, bytes: utf16(value, 0) };
    }
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
      } catch (thrown) {
        // serialize() runs getters, and a getter can throw anything, not only an Error.
        throw new InvalidArgumentError(`value cannot be encoded: ${describeThrown(thrown)}`);
      }
    }
    default:
      throw new InvalidArgumentError(
        `value must be a string, number, boolean, null, bigint, Uint8Array/Buffer, or a structured-clonable object; got ${describeValue(value)}`,
      );
  }
}

/**
 * Encodes the commonest values without allocating: a string of up to 64 characters, all ASCII
 * (stored as STRING), or a number (NUMBER), into `out` (at least 64 bytes; `view` over the same
 * bytes). Returns the byte length, or -1 for any other value (encodeValue then encodes it):
 * allocating the bytes of every small value cost more than the rest of the encoding.
 */
export function encodeSmallInto(value: unknown, out: Uint8Array, view: DataView): number {
  if (typeof value === 'number') {
    view.setFloat64(0, value, true);
    return 8;
  }
  if (typeof value !== 'string' || value.length > SHORT) return -1;
  const n = value.length;
  for (let i = 0; i < n; i++) {
    const c = value.charCodeAt(i);
    if (c > 0x7f) return -1;
    out[i] = c;
  }
  return n;
}

/** Decodes a stored value; `bytes` is a private copy the result may keep. */
export function decodeValue(tag: number, bytes: Uint8Array): unknown {
  switch (tag) {
    case Tag.STRING:
      return fromUtf8(bytes);
    case Tag.STRING16:
      return fromUtf16(bytes);
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
    // The string is a copy: decode straight from the scratch.
    if (tag === Tag.STRING16) return fromUtf16(this.bytes.subarray(0, length));
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
