/**
 * SharedCache semantics, one behaviour per test (lru-cache style), with the audits' numbers where
 * they exist (../shared/AUDITS.md D and E). Concurrency is in cache-threads.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { HandleError, InvalidArgumentError, IllegalStateError, ManualClock, Mutex, SharedCache } from '../src/index.js';
import { hashBytes, utf8 } from '../src/cache/codec.js';
import { checkIntegrity } from '../src/cache/shared-cache.js';
import { snapshot, startCacheActor } from './support/threads.js';

const small = () => SharedCache.create({ maxEntries: 100, maxBytes: 100_000 });
const keysOf = (cache: SharedCache) => [...cache.keys()];
const numbered = (cache: SharedCache, prefix: string) =>
  keysOf(cache)
    .map((k) => Number(String(k).slice(prefix.length)))
    .sort((a, b) => a - b);

describe('values come back as they went in, as copies', () => {
  it.each([
    ['a string', 'héllo wörld ✓'],
    ['an empty string', ''],
    ['a long string', 'x'.repeat(5_000)],
    ['a number', 42.5],
    ['NaN', NaN],
    ['-0', -0],
    ['true', true],
    ['false', false],
    ['null', null],
    ['an int64 bigint', -(2n ** 63n)],
    ['a huge bigint', 2n ** 200n],
    ['an object', { a: [1, 2, { b: 'x' }], when: new Date(0), map: new Map([[1, 'one']]) }],
    ['an array', [1, 'two', null]],
  ])('%s', (_, value) => {
    const cache = small();
    cache.set('k', value);
    expect(cache.get('k')).toEqual(value);
  });

  it('bytes: a Uint8Array comes back as a Uint8Array, a Buffer as a Buffer, both copies', () => {
    const cache = small();
    const bytes = new Uint8Array([1, 2, 3]);
    cache.set('u8', bytes);
    cache.set('buf', Buffer.from('hi'));
    const got = cache.get('u8') as Uint8Array;
    expect(got).toEqual(bytes);
    expect(Buffer.isBuffer(got)).toBe(false);
    expect(Buffer.isBuffer(cache.get('buf'))).toBe(true);
    got[0] = 99;
    expect((cache.get('u8') as Uint8Array)[0]).toBe(1); // the caller's copy is its own
  });

  it('an object read back is a copy: mutating it changes nothing in the cache', () => {
    const cache = small();
    cache.set('o', { n: 1 });
    (cache.get('o') as { n: number }).n = 2;
    expect(cache.get('o')).toEqual({ n: 1 });
  });
});

describe('keys', () => {
  it('strings and numbers are keys; 1 and "1" are two keys; -0 and 0 are one', () => {
    const cache = small();
    cache.set(1, 'number one').set('1', 'string one').set(-0, 'zero').set(2.5, 'two and a half').set('', 'empty');
    expect(cache.get(1)).toBe('number one');
    expect(cache.get('1')).toBe('string one');
    expect(cache.get(0)).toBe('zero');
    expect(cache.get(2.5)).toBe('two and a half');
    expect(cache.get('')).toBe('empty');
    expect(new Set(keysOf(cache))).toEqual(new Set([1, '1', 0, 2.5, '']));
    expect(cache.increment(7)).toBe(1);
    expect(() => cache.set(NaN, 1)).toThrow(/not NaN/);
  });
});

describe('reads', () => {
  it('get, peek and has; a miss is undefined; peek and has count nothing', () => {
    const cache = small();
    expect(cache.get('nope')).toBeUndefined();
    cache.set('k', 1);
    expect(cache.peek('k')).toBe(1);
    expect(cache.has('k')).toBe(true);
    expect(cache.has('nope')).toBe(false);
    expect(cache.stats()).toMatchObject({ hits: 0, misses: 1 });
    cache.get('k');
    expect(cache.stats()).toMatchObject({ hits: 1, misses: 1, sets: 1 });
  });

  it('delete and clear', () => {
    const cache = small();
    cache.set('a', 1).set('b', 2).set('c', 3);
    expect(cache.delete('a')).toBe(true);
    expect(cache.delete('a')).toBe(false);
    expect(cache.size).toBe(2);
    cache.clear();
    expect(cache.size).toBe(0);
    expect(cache.bytes).toBe(0);
    expect(keysOf(cache)).toEqual([]);
    cache.set('again', 1); // the freed memory is usable again
    expect(cache.get('again')).toBe(1);
    expect(cache[checkIntegrity]()).toEqual([]);
  });

  it('the integrity check finds a structure that does not add up (so it can fail)', () => {
    const cache = small();
    cache.set('a', 1).set('b', 'two');
    expect(cache[checkIntegrity]()).toEqual([]);
    const words = new Int32Array(cache.handle.buffer);
    words[20]! += 1; // the size counter (layout.ts GLOBAL.SIZE)
    expect(cache[checkIntegrity]()).toContain('size says 3, the index holds 2');
    words[20]! -= 1;
    words[21]! += 5; // the byte counter
    expect(cache[checkIntegrity]().some((p) => p.startsWith('bytes says'))).toBe(true);
  });

  it('bytes counts UTF-8 key bytes plus encoded value bytes', () => {
    const cache = small();
    cache.set('ké', 'é'); // 3 + 2
    cache.set('n', 1); // 1 + 8
    expect(cache.bytes).toBe(14);
    cache.set('ké', 'abc'); // grows by one byte
    expect(cache.bytes).toBe(15);
  });
});

describe('bounds and eviction (audits D and E)', () => {
  it('1,100 inserts into 1,000 evict exactly the 100 oldest', () => {
    const cache = SharedCache.create({ maxEntries: 1_000, maxBytes: 1 << 20 });
    for (let i = 0; i < 1_100; i++) cache.set(`conversation:${i}`, i);
    expect(cache.size).toBe(1_000);
    expect(numbered(cache, 'conversation:')).toEqual(Array.from({ length: 1_000 }, (_, i) => i + 100));
    expect(cache.stats().evictions.capacity).toBe(100);
    expect(cache[checkIntegrity]()).toEqual([]);
  });

  it('SIEVE: a visited entry survives the next eviction, without being moved', () => {
    const cache = SharedCache.create({ maxEntries: 3, maxBytes: 1_000 });
    cache.set('a', 1).set('b', 2).set('c', 3);
    cache.get('a');
    cache.set('d', 4); // the hand passes a (clearing its bit) and evicts b
    expect(keysOf(cache).sort()).toEqual(['a', 'c', 'd']);
    cache.set('e', 5); // a is no longer visited, but the hand has moved past it: c goes
    expect(keysOf(cache).sort()).toEqual(['a', 'd', 'e']);
  });

  it('a remembered hit after an eviction pass cleared the bit marks the entry again', () => {
    // 2 entries make 2 stripes (stripe = hash & 1): `a` gets a stripe of its own, so no write to
    // the others invalidates what this thread remembers of it, and its hits take the remembered path.
    const stripeOf = (key: string) => hashBytes(utf8(key)) & 1;
    const candidates = Array.from({ length: 64 }, (_, i) => `key${i}`);
    const a = candidates.find((k) => stripeOf(k) === 0)!;
    const [b, c, d] = candidates.filter((k) => stripeOf(k) === 1);
    const cache = SharedCache.create({ maxEntries: 2, maxBytes: 1_000 });
    cache.set(a, 1).set(b!, 2);
    cache.get(a);
    cache.get(a); // remembered by this thread from now on
    cache.set(c!, 3); // the hand clears a's bit, evicts b and wraps round to a
    expect(keysOf(cache).sort()).toEqual([a, c].sort());
    cache.get(a); // a remembered hit: must set the bit again
    cache.set(d!, 4); // the hand finds a visited again, so c goes
    expect(keysOf(cache).sort()).toEqual([a, d].sort());
  });

  it("'lru' (CLOCK): a visited entry gets a second chance at the head of the queue", () => {
    const cache = SharedCache.create({ maxEntries: 3, maxBytes: 1_000, policy: 'lru' });
    cache.set('a', 1).set('b', 2).set('c', 3);
    cache.get('a');
    cache.set('d', 4); // a moves to the head; b goes
    cache.set('e', 5); // c is now the oldest
    expect(keysOf(cache).sort()).toEqual(['a', 'd', 'e']);
  });

  it('the byte budget evicts as well, and a value can grow and shrink in place', () => {
    const cache = SharedCache.create({ maxEntries: 100, maxBytes: 100 });
    for (let i = 0; i < 10; i++) cache.set(`k${i}`, 'x'.repeat(18)); // 20 bytes each
    expect(cache.bytes).toBeLessThanOrEqual(100);
    expect(cache.size).toBe(5);
    expect(cache.stats().evictions.bytes).toBe(5);
    cache.set('k9', 'y'.repeat(50)); // grows: needs room
    expect(cache.bytes).toBeLessThanOrEqual(100);
    expect(cache.get('k9')).toBe('y'.repeat(50));
    expect(cache[checkIntegrity]()).toEqual([]);
  });

  it('watermarks 80/50: no eviction up to 80, at exactly 81 the cache falls to the 50 most recent', () => {
    const cache = SharedCache.create({ maxEntries: 1_000, maxBytes: 1 << 20, highWater: 80, lowWater: 50 });
    for (let i = 0; i < 80; i++) cache.set(`analysis:${i}`, i);
    expect(cache.size).toBe(80);
    expect(cache.stats().evictions.burst).toBe(0);
    cache.set('analysis:80', 80);
    expect(cache.size).toBe(50);
    expect(numbered(cache, 'analysis:')).toEqual(Array.from({ length: 50 }, (_, i) => i + 31));
    expect(cache.stats().evictions.burst).toBe(31);
  });

  it('a hit on a valid entry is a hit, and burst eviction keeps the recently used', () => {
    const cache = SharedCache.create({ maxEntries: 1_000, maxBytes: 1 << 20, highWater: 80, lowWater: 50 });
    for (let i = 0; i < 80; i++) cache.set(`a:${i}`, i);
    expect(cache.get('a:0')).toBe(0);
    expect(cache.stats().hits).toBe(1);
    cache.set('a:80', 80);
    expect(cache.has('a:0')).toBe(true); // visited: survived the burst
  });

  it('a burst of many times the capacity never passes the bound', () => {
    const cache = SharedCache.create({ maxEntries: 100, maxBytes: 1 << 20, highWater: 80, lowWater: 50 });
    let max = 0;
    for (let i = 0; i < 10_000; i++) {
      cache.set(`burst:${i}`, i);
      max = Math.max(max, cache.size);
    }
    expect(max).toBeLessThanOrEqual(80);
    expect(cache[checkIntegrity]()).toEqual([]);
  });

  it('onEvict reports what this thread evicted, with the reason, after the operation', () => {
    const cache = SharedCache.create({ maxEntries: 2, maxBytes: 1_000 });
    const seen: unknown[] = [];
    const off = cache.onEvict((key, value, reason) => seen.push([key, value, reason, cache.size]));
    cache.set('a', 1).set('b', 2).set('c', 3);
    expect(seen).toEqual([['a', 1, 'capacity', 2]]);
    off();
    cache.set('d', 4);
    expect(seen).toHaveLength(1);
  });
});

describe('TTL with a shared, injected clock (audit E)', () => {
  it('expires after ttlMs; ttl() tells missing from no-expiry; expire() changes it', () => {
    const clock = ManualClock.create(1_000);
    const cache = SharedCache.create({ maxEntries: 10, maxBytes: 1_000, ttlMs: 3_600_000, clock });
    cache.set('a', 1);
    cache.set('forever', 2, { ttlMs: Infinity });
    expect(cache.ttl('a')).toBe(3_600_000);
    expect(cache.ttl('forever')).toBe(Infinity);
    expect(cache.ttl('missing')).toBeUndefined();
    clock.advance(3_600_000 - 1);
    expect(cache.get('a')).toBe(1);
    clock.advance(1);
    expect(cache.get('a')).toBeUndefined();
    expect(cache.has('a')).toBe(false);
    expect(cache.stats().expirations).toBe(1);
    expect(cache.expire('forever', 10)).toBe(true);
    expect(cache.ttl('forever')).toBe(10);
    expect(cache.expire('missing', 10)).toBe(false);
    clock.advance(10);
    expect(keysOf(cache)).toEqual([]);
  });

  it('expired entries are removed by later writes (lazily and by a bounded sweep), counted as ttl evictions', () => {
    const clock = ManualClock.create();
    const cache = SharedCache.create({ maxEntries: 100, maxBytes: 10_000, ttlMs: 10, clock });
    for (let i = 0; i < 10; i++) cache.set(`old:${i}`, i);
    clock.advance(10);
    for (let i = 0; i < 10; i++) cache.set(`new:${i}`, i, { ttlMs: Infinity });
    expect(cache.size).toBe(10);
    expect(cache.stats().evictions.ttl).toBe(10);
    expect(cache[checkIntegrity]()).toEqual([]);
  });

  it('a worker attached to the cache sees the same clock', async () => {
    const clock = ManualClock.create();
    const cache = SharedCache.create({ maxEntries: 10, maxBytes: 1_000, clock });
    cache.set('k0', 'v', { ttlMs: 5 });
    clock.advance(5);
    const stop = new SharedArrayBuffer(4);
    Atomics.store(new Int32Array(stop), 0, 1);
    const result = await startCacheActor<{ reads: number; hits: number }>('verifyReads', { cache: cache.handle, stop, keys: 1, seed: 1, index: 0 }).result;
    expect(result.hits).toBe(0);
  });
});

describe('atomic operations', () => {
  it('increment: a missing key counts as 0; numbers stay numbers, bigints stay bigints; the TTL is kept', () => {
    const clock = ManualClock.create();
    const cache = SharedCache.create({ maxEntries: 10, maxBytes: 1_000, clock });
    expect(cache.increment('n')).toBe(1);
    expect(cache.increment('n', 41)).toBe(42);
    expect(cache.increment('n', -50)).toBe(-8);
    expect(cache.increment('b', 2n ** 62n)).toBe(2n ** 62n);
    expect(cache.increment('b', 1)).toBe(2n ** 62n + 1n);
    cache.set('t', 5, { ttlMs: 100 });
    clock.advance(40);
    cache.increment('t');
    expect(cache.ttl('t')).toBe(60);
  });

  it('increment refuses overflow and non-integers, changing nothing', () => {
    const cache = small();
    cache.set('max', Number.MAX_SAFE_INTEGER);
    cache.set('big', 2n ** 63n - 1n);
    cache.set('text', 'ten');
    cache.set('float', 1.5);
    const before = snapshot(cache.handle.buffer);
    expect(() => cache.increment('max')).toThrow(IllegalStateError);
    expect(() => cache.increment('big', 1n)).toThrow(/int64/);
    expect(() => cache.increment('text')).toThrow(/not an integer/);
    expect(() => cache.increment('float')).toThrow(/not an integer/);
    expect(() => cache.increment('new', 1.5)).toThrow(InvalidArgumentError);
    expect(snapshot(cache.handle.buffer)).toEqual(before);
  });

  it('setIfAbsent: first writer wins, later ones see false; an expired entry counts as absent', () => {
    const clock = ManualClock.create();
    const cache = SharedCache.create({ maxEntries: 10, maxBytes: 1_000, clock });
    expect(cache.setIfAbsent('panic_start_ts', 'first', { ttlMs: 86_400_000 })).toBe(true);
    expect(cache.setIfAbsent('panic_start_ts', 'second')).toBe(false);
    expect(cache.get('panic_start_ts')).toBe('first');
    expect(cache.expire('panic_start_ts', 86_400_000)).toBe(true); // the dead man's switch refresh
    clock.advance(86_400_000);
    expect(cache.setIfAbsent('panic_start_ts', 'third')).toBe(true);
  });

  it('compareAndSet / compareAndDelete compare by value, bytes by content, objects by their encoding', () => {
    const cache = small();
    cache.set('s', 'a');
    expect(cache.compareAndSet('s', 'b', 'c')).toBe(false);
    expect(cache.compareAndSet('s', 'a', 'c')).toBe(true);
    expect(cache.get('s')).toBe('c');
    cache.set('bytes', new Uint8Array([1, 2]));
    expect(cache.compareAndSet('bytes', new Uint8Array([1, 2]), 'replaced')).toBe(true);
    cache.set('o', { x: 1 });
    expect(cache.compareAndDelete('o', { x: 2 })).toBe(false);
    expect(cache.compareAndDelete('o', { x: 1 })).toBe(true);
    expect(cache.has('o')).toBe(false);
    expect(cache.compareAndSet('missing', 'x', 1)).toBe(false);
    expect(() => cache.compareAndSet('s', undefined, 1)).toThrow(InvalidArgumentError); // undefined is no storable value
  });

  it('compareAndSet with an object read back from the cache succeeds (V8 serializes a read-back array differently; found by stress scenario D)', () => {
    const cache = small();
    cache.set('list', [{ seq: 1 }]);
    const read = cache.get('list') as Array<{ seq: number }>;
    expect(cache.compareAndSet('list', read, [...read, { seq: 2 }])).toBe(true);
    expect(cache.compareAndSet('list', read, [])).toBe(false); // no longer the stored value
    expect(cache.get('list')).toEqual([{ seq: 1 }, { seq: 2 }]);
  });
});

describe('handles and bad input: typed errors, the cache unchanged', () => {
  it('a worker attaches the same cache from its handle; other handles are refused', async () => {
    const cache = small();
    cache.set('k0', 'shared');
    expect(SharedCache.attach(structuredClone(cache.handle)).get('k0')).toBe('shared');
    expect(() => SharedCache.attach(Mutex.create().handle as never)).toThrow(HandleError);
    expect(() => SharedCache.attach({ ...cache.handle, layout: 2 } as never)).toThrow(/layout version 2/);
    expect(() => SharedCache.attach(undefined as never)).toThrow(HandleError);
  });

  it('bad options fail at create with a clear message', () => {
    const bad: Array<[Record<string, unknown>, RegExp]> = [
      [{ maxEntries: 0, maxBytes: 10 }, /maxEntries must be an integer/],
      [{ maxEntries: NaN, maxBytes: 10 }, /maxEntries/],
      [{ maxEntries: 10, maxBytes: -1 }, /maxBytes/],
      [{ maxEntries: 10, maxBytes: 10, ttlMs: 0 }, /ttlMs must be a number > 0/],
      [{ maxEntries: 10, maxBytes: 10, ttlMs: NaN }, /ttlMs/],
      [{ maxEntries: 10, maxBytes: 10, policy: 'fifo' }, /policy must be one of/],
      [{ maxEntries: 10, maxBytes: 10, highWater: 8 }, /give both or neither/],
      [{ maxEntries: 10, maxBytes: 10, highWater: 8, lowWater: 8 }, /lowWater/],
      [{ maxEntries: 10, maxBytes: 10, highWater: 11, lowWater: 5 }, /highWater/],
      [{ maxEntries: 10, maxBytes: 10, maxKeyBytes: 0 }, /maxKeyBytes/],
      [{ maxEntries: 10, maxBytes: 10, maxValueBytes: 11 }, /maxValueBytes/],
      [{ maxEntries: 10, maxBytes: 10, clock: () => 0 }, /ManualClock/],
    ];
    for (const [options, message] of bad) expect(() => SharedCache.create(options as never)).toThrow(message);
    expect(() => SharedCache.create(undefined as never)).toThrow(InvalidArgumentError);
  });

  it('bad keys, values, TTLs and deltas change nothing, not even the counters', () => {
    const cache = SharedCache.create({ maxEntries: 10, maxBytes: 1_000, maxKeyBytes: 8, maxValueBytes: 100 });
    cache.set('k', 'v');
    const before = snapshot(cache.handle.buffer);
    const attempts: Array<() => unknown> = [
      () => cache.set({} as never, 'v'),
      () => cache.set(NaN, 'v'),
      () => cache.set(true as never, 'v'),
      () => cache.set('toolongkey', 'v'),
      () => cache.set('k', 'x'.repeat(101)),
      () => cache.set('k', undefined),
      () => cache.set('k', () => 1),
      () => cache.set('k', Symbol('s')),
      () => cache.set('k', { f() {} }),
      () => cache.set('k', 'v', { ttlMs: -5 }),
      () => cache.set('k', 'v', { ttlMs: NaN }),
      () => cache.set('k', 'v', 'soon' as never),
      () => cache.setIfAbsent('k2', undefined),
      () => cache.compareAndSet('k', 'v', () => 2),
      () => cache.increment('k', NaN),
      () => cache.increment('k', '1' as never),
      () => cache.expire('k', -1),
      () => cache.get(null as never),
      () => cache.delete({} as never),
      () => cache.onEvict('nope' as never),
    ];
    for (const attempt of attempts) expect(attempt).toThrow(InvalidArgumentError);
    expect(snapshot(cache.handle.buffer)).toEqual(before);
    expect(cache.get('k')).toBe('v');
  });

  it('getOrCompute: bad arguments reject; a value that cannot be stored rejects every caller and caches nothing', async () => {
    const cache = small();
    await expect(cache.getOrCompute('k', 'not a function' as never)).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(cache.getOrCompute('k', () => 1, { leaseMs: 0 })).rejects.toThrow(/leaseMs/);
    const callers = [cache.getOrCompute('k', () => Symbol('unstorable')), cache.getOrCompute('k', () => 'unused')];
    const settled = await Promise.allSettled(callers);
    expect(settled.map((s) => s.status)).toEqual(['rejected', 'rejected']);
    expect(cache.has('k')).toBe(false);
    expect(cache.size).toBe(0);
  });
});

describe('a remembered read is never stale', () => {
  // Each attachment keeps its own prepared keys and remembered values, exactly as each thread does.
  function twoViews(options: Partial<Parameters<typeof SharedCache.create>[0]> = {}) {
    const writer = SharedCache.create({ maxEntries: 4, maxBytes: 1_000, ...options });
    return { writer, reader: SharedCache.attach(writer.handle) };
  }

  it('after a set, a delete, an eviction, an expire and a clear by someone else', () => {
    const clock = ManualClock.create();
    const { writer, reader } = twoViews({ clock });
    writer.set('k', 'v1');
    expect(reader.get('k')).toBe('v1');
    expect(reader.get('k')).toBe('v1'); // now remembered
    writer.set('k', 'v2');
    expect(reader.get('k')).toBe('v2');
    writer.delete('k');
    expect(reader.get('k')).toBeUndefined();
    writer.set('k', 'v3');
    expect(reader.peek('k')).toBe('v3');
    for (let i = 0; i < 4; i++) writer.set(`other${i}`, i); // evicts k
    expect(writer.has('k')).toBe(false);
    expect(reader.get('k')).toBeUndefined();
    writer.set('t', 1);
    expect(reader.get('t')).toBe(1);
    writer.expire('t', 5);
    clock.advance(5);
    expect(reader.get('t')).toBeUndefined();
    writer.set('c', 'before clear');
    expect(reader.get('c')).toBe('before clear');
    writer.clear();
    expect(reader.get('c')).toBeUndefined();
    expect(reader.has('c')).toBe(false);
  });

  it('objects and bytes are never remembered: every read is a fresh copy', () => {
    const { writer, reader } = twoViews();
    writer.set('o', { n: 1 });
    const first = reader.get('o');
    expect(reader.get('o')).not.toBe(first);
    expect(reader.get('o')).toEqual({ n: 1 });
  });
});
