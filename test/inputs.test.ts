/**
 * Inputs that used to be mishandled silently: strings with lone surrogates, values whose getters
 * throw non-Errors, placements over a live primitive, and misspelt or null options. Each is now
 * either handled exactly or refused with a typed error that leaves shared memory unchanged.
 */
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, Mutex, RwLock, SharedCache } from '../src/index.js';
import { Tag, decodeValue, encodeValue, keyBytes, keyFromBytes } from '../src/cache/codec.js';
import { snapshot } from './support/threads.js';

const CODE = 'ERR_SABRE_INVALID_ARGUMENT';
const small = () => SharedCache.create({ maxEntries: 100, maxBytes: 100_000 });

/** Runs `attempt` and returns what it threw, failing the test if it threw nothing. */
function thrownBy(attempt: () => unknown): unknown {
  try {
    attempt();
  } catch (thrown) {
    return thrown;
  }
  throw new Error('expected the call to throw');
}

/** Asserts `attempt` throws an InvalidArgumentError (class and code) whose message matches `message`. */
function expectInvalid(attempt: () => unknown, message: RegExp): void {
  const thrown = thrownBy(attempt);
  expect(thrown).toBeInstanceOf(InvalidArgumentError);
  expect((thrown as InvalidArgumentError).code).toBe(CODE);
  expect((thrown as Error).message).toMatch(message);
}

describe('strings with lone surrogates round-trip exactly, as keys and as values', () => {
  const lone = ['\uD800', '\uDFFF', 'a\uD800', '\uDC00\uD800', '\uFFFD'];
  // Past 64 code units the codec leaves its short-string loop: both paths must keep surrogates.
  const long = (s: string) => `${'x'.repeat(70)}${s}${'y'.repeat(10)}`;

  it.each([
    ['short', (s: string) => s],
    ['long', long],
  ])('%s: five keys that UTF-8 would merge into U+FFFD stay five keys with their own values', (_, shape) => {
    const cache = small();
    const keys = lone.map(shape);
    keys.forEach((key, i) => cache.set(key, i));
    expect(cache.size).toBe(keys.length);
    keys.forEach((key, i) => expect(cache.get(key)).toBe(i));
    const listed = [...cache.keys()];
    expect(listed).toHaveLength(keys.length);
    expect(new Set(listed)).toEqual(new Set(keys));
  });

  it.each([
    ['short', (s: string) => s],
    ['long', long],
  ])('%s: values with lone surrogates come back the same from get, peek and entries()', (_, shape) => {
    const cache = small();
    const values = ['a\uD800b', '\uDFFF', '\uDC00\uD800', 'é\uD83D', '\uD83D\uDE00 ok \uDE00'].map(shape);
    values.forEach((value, i) => cache.set(`k${i}`, value));
    values.forEach((value, i) => {
      expect(cache.get(`k${i}`)).toBe(value);
      expect(cache.get(`k${i}`)).toBe(value); // again: a remembered or re-decoded value is the same string
      expect(cache.peek(`k${i}`)).toBe(value);
    });
    expect(new Map(cache.entries())).toEqual(new Map(values.map((value, i) => [`k${i}`, value])));
  });

  it('a string key and value with lone surrogates live together', () => {
    const cache = small();
    cache.set('\uD800', '\uDFFF').set('\uDFFF', '\uD800');
    expect(cache.get('\uD800')).toBe('\uDFFF');
    expect(cache.get('\uDFFF')).toBe('\uD800');
    expect(cache.get('\uFFFD')).toBeUndefined();
  });

  it.each([
    ['short', (s: string) => s],
    ['long', long],
  ])('%s: compareAndSet matches only the exact string', (_, shape) => {
    const cache = small();
    cache.set('k', shape('\uDFFF'));
    expect(cache.compareAndSet('k', shape('\uD800'), 'x')).toBe(false);
    expect(cache.compareAndSet('k', shape('\uFFFD'), 'x')).toBe(false);
    expect(cache.get('k')).toBe(shape('\uDFFF'));
    expect(cache.compareAndSet('k', shape('\uDFFF'), 'x')).toBe(true);
    expect(cache.get('k')).toBe('x');
    // And the other way round: a stored U+FFFD is not a lone surrogate.
    cache.set('r', '\uFFFD');
    expect(cache.compareAndSet('r', '\uD800', 'y')).toBe(false);
    expect(cache.compareAndSet('r', '\uFFFD', 'y')).toBe(true);
  });

  it('the codec: keyFromBytes inverts keyBytes, and ill-formed strings never share an encoding with well-formed ones', () => {
    const strings = [...lone, ...lone.map(long), '', 'ascii', 'héllo ✓', '\uD83D\uDE00'];
    for (const key of [...strings, 0, 1.5, -Infinity]) expect(keyFromBytes(keyBytes(key))).toBe(key);
    const encodings = strings.map((s) => Buffer.from(keyBytes(s)).toString('hex'));
    expect(new Set(encodings).size).toBe(strings.length);
    for (const s of strings) {
      const { tag, bytes } = encodeValue(s);
      expect(tag).toBe(s.isWellFormed() ? Tag.STRING : Tag.STRING16);
      expect(decodeValue(tag, bytes.slice())).toBe(s);
    }
  });
});

describe('a value that cannot be encoded says what was thrown', () => {
  const throwing = (thrown: unknown) => ({
    get boom(): never {
      throw thrown;
    },
  });

  it.each([
    ['an Error', new Error('getter failed'), /value cannot be encoded: Error: getter failed/],
    ['a number', 42, /value cannot be encoded: 42/],
  ])('a getter that throws %s', (_, thrown, message) => {
    expectInvalid(() => encodeValue(throwing(thrown)), message);
    const cache = SharedCache.create({ maxEntries: 4, maxBytes: 1_000 }); // small: the snapshot compare is per byte
    cache.set('k', 'v');
    const before = snapshot(cache.handle.buffer);
    expectInvalid(() => cache.set('k', throwing(thrown)), message);
    expect(snapshot(cache.handle.buffer)).toEqual(before);
    expect(cache.get('k')).toBe('v');
  });
});

describe('a primitive cannot be placed over another one', () => {
  it('a Mutex at 4, 8 or 12 would overlap the live, unlocked Mutex at 0: refused, and the first still works', () => {
    const buffer = new SharedArrayBuffer(256);
    const first = Mutex.create({ buffer, byteOffset: 0 });
    const before = snapshot(buffer);
    for (const byteOffset of [4, 8, 12]) {
      expectInvalid(() => Mutex.create({ buffer, byteOffset }), /overlap the sabre\/mutex at offset 0/);
    }
    expect(snapshot(buffer)).toEqual(before);
    expect(first.tryLock()).toBe(true);
    expect(first.tryLock()).toBe(false);
    first.unlock();
    expect(first.tryLock()).toBe(true);
    first.unlock();
    expect(() => Mutex.create({ buffer, byteOffset: 16 })).not.toThrow();
  });

  it('a RwLock (6 words) at 0 reaches offset 24: a Mutex at 16 is refused, at 24 accepted', () => {
    const buffer = new SharedArrayBuffer(256);
    RwLock.create({ buffer, byteOffset: 0 });
    const before = snapshot(buffer);
    expectInvalid(() => Mutex.create({ buffer, byteOffset: 16 }), /overlap the sabre\/rwlock at offset 0/);
    expect(snapshot(buffer)).toEqual(before);
    expect(() => Mutex.create({ buffer, byteOffset: 24 })).not.toThrow();
  });

  it('a misspelt or null placement option is refused, not ignored', () => {
    const buffer = new SharedArrayBuffer(256);
    const before = snapshot(buffer);
    expectInvalid(() => Mutex.create({ buffer, byteoffset: 64 } as never), /unknown option "byteoffset"/);
    expectInvalid(() => RwLock.create({ buffer, offset: 64 } as never), /unknown option "offset"/);
    expectInvalid(() => Mutex.create({ buffer: null } as never), /buffer must be a SharedArrayBuffer, got null/);
    expectInvalid(() => Mutex.create({ buffer, byteOffset: null } as never), /byteOffset must be .*got null/);
    const throwing = {
      buffer,
      get byteOffset(): number {
        throw 42;
      },
    };
    expectInvalid(() => Mutex.create(throwing), /options\.byteOffset: reading it threw 42/);
    expect(snapshot(buffer)).toEqual(before);
  });
});

describe('SharedCache options: misspelt, throwing or null options are refused', () => {
  const base = { maxEntries: 10, maxBytes: 1_000 };

  it.each([
    ['ttl', { ttl: 1000 }],
    ['maxValueByte', { maxValueByte: 4 }],
    ['lockTimeout', { lockTimeout: 5 }],
  ])('an unknown option %s', (name, extra) => {
    expectInvalid(() => SharedCache.create({ ...base, ...extra } as never), new RegExp(`unknown option "${name}"`));
  });

  it('a getter that throws names the option', () => {
    for (const thrown of [new Error('nope'), 42]) {
      const options = {
        ...base,
        get ttlMs(): number {
          throw thrown;
        },
      };
      expectInvalid(() => SharedCache.create(options), /ttlMs: reading it threw/);
    }
  });

  it.each(['policy', 'ttlMs', 'maxKeyBytes', 'maxValueBytes', 'lockTimeoutMs', 'clock'])('%s: null is not the default', (name) => {
    expectInvalid(() => SharedCache.create({ ...base, [name]: null } as never), new RegExp(`^${name} must .*got null$`));
  });

  it('highWater and lowWater: null is not "neither"', () => {
    expectInvalid(() => SharedCache.create({ ...base, highWater: null, lowWater: null } as never), /^highWater must .*got null$/);
    expectInvalid(() => SharedCache.create({ ...base, highWater: null } as never), /give both or neither/);
  });

  it('lockTimeoutMs: a number > 0 or Infinity', () => {
    for (const bad of [0, -1, NaN, '100', -Infinity]) {
      expectInvalid(() => SharedCache.create({ ...base, lockTimeoutMs: bad } as never), /lockTimeoutMs must be a number > 0/);
    }
    for (const good of [1, 0.5, 2_000, Infinity]) expect(() => SharedCache.create({ ...base, lockTimeoutMs: good })).not.toThrow();
  });
});
