import { describe, expect, it } from 'vitest';
import { Barrier, CondVar, HandleError, InvalidArgumentError, Latch, Mutex, RwLock, Semaphore } from '../src/index.js';
import { snapshot, startActor } from './support/threads.js';

const kinds = [
  { name: 'Mutex', type: Mutex, make: (p = {}) => Mutex.create(p) },
  { name: 'RwLock', type: RwLock, make: (p = {}) => RwLock.create(p) },
  { name: 'Semaphore', type: Semaphore, make: (p = {}) => Semaphore.create({ permits: 1, ...p }) },
  { name: 'Barrier', type: Barrier, make: (p = {}) => Barrier.create({ parties: 2, ...p }) },
  { name: 'CondVar', type: CondVar, make: (p = {}) => CondVar.create(p) },
  { name: 'Latch', type: Latch, make: (p = {}) => Latch.create({ count: 1, ...p }) },
] as const;

describe('handles: every primitive travels and is checked on attach', () => {
  it.each(kinds)('$name: the handle is a plain structured-clonable object that attaches to the same memory', ({ type, make }) => {
    const primitive = make();
    const cloned = structuredClone(primitive.handle);
    expect(cloned.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(Object.keys(cloned).sort()).toEqual(['buffer', 'byteOffset', 'kind', 'layout']);
    expect(cloned.kind).toBe(`sabre/${type.name.toLowerCase()}`);
    expect(() => (type as unknown as { attach(h: unknown): unknown }).attach(cloned)).not.toThrow();
    // Attaching validates; it never writes.
    const before = snapshot(primitive.handle.buffer);
    (type as unknown as { attach(h: unknown): unknown }).attach(primitive.handle);
    expect(snapshot(primitive.handle.buffer)).toEqual(before);
  });

  it.each(kinds)('$name: attaching a handle of another kind, another version, or to other memory is a HandleError', ({ name, type, make }) => {
    const attach = (h: unknown) => (type as unknown as { attach(h: unknown): unknown }).attach(h);
    const own = make();
    const other = (name === 'Mutex' ? RwLock.create() : Mutex.create()).handle;
    const before = snapshot(own.handle.buffer);
    expect(() => attach(other)).toThrow(HandleError);
    expect(() => attach(other)).toThrow(/expected a sabre\/\w+ handle, got a sabre\/\w+ handle/);
    expect(() => attach({ ...own.handle, layout: 99 })).toThrow(/layout version 99/);
    // A forged handle whose kind tag claims this kind but whose memory holds another primitive.
    expect(() => attach({ ...other, kind: own.handle.kind })).toThrow(/holds a sabre\/\w+, not a/);
    expect(() => attach({ ...own.handle, buffer: new SharedArrayBuffer(64) })).toThrow(/no initialised/);
    expect(() => attach({ ...own.handle, buffer: new ArrayBuffer(64) })).toThrow(/must be a SharedArrayBuffer/);
    expect(() => attach({ ...own.handle, byteOffset: 2 })).toThrow(/multiple of 4/);
    expect(() => attach({ ...own.handle, byteOffset: 4096 })).toThrow(/needs \d+ bytes at offset 4096/);
    for (const bad of [undefined, null, 42, 'sabre/mutex', []]) expect(() => attach(bad)).toThrow(HandleError);
    expect(snapshot(own.handle.buffer)).toEqual(before);
  });

  it.each(kinds)('$name: bad placements are InvalidArgumentErrors that leave the buffer untouched', ({ make }) => {
    const buffer = new SharedArrayBuffer(128);
    new Uint8Array(buffer).fill(7, 64);
    const before = snapshot(buffer);
    expect(() => make({ buffer, byteOffset: 3 })).toThrow(InvalidArgumentError);
    expect(() => make({ buffer, byteOffset: -4 })).toThrow(/non-negative multiple of 4/);
    expect(() => make({ buffer, byteOffset: 124 + 8 })).toThrow(/needs \d+ bytes/);
    expect(() => make({ buffer, byteOffset: 64 })).toThrow(/not zeroed/);
    expect(() => make({ buffer: new ArrayBuffer(64) as never })).toThrow(/SharedArrayBuffer/);
    expect(snapshot(buffer)).toEqual(before);
  });

  it('a cloned handle reaches the same shared words: a lock taken through it is seen through the original', () => {
    const mutex = Mutex.create();
    const viaClone = Mutex.attach(structuredClone(mutex.handle));
    expect(viaClone.tryLock()).toBe(true);
    expect(mutex.isLocked()).toBe(true);
    expect(mutex.tryLock()).toBe(false);
    viaClone.unlock();
    expect(mutex.isLocked()).toBe(false);
  });

  it('many primitives share one buffer at their own offsets, and a worker attaches each of them', async () => {
    const buffer = new SharedArrayBuffer(64 * 6);
    const mutex = Mutex.create({ buffer, byteOffset: 0 });
    const rwlock = RwLock.create({ buffer, byteOffset: 64 });
    const semaphore = Semaphore.create({ buffer, byteOffset: 128, permits: 2 });
    const held = Latch.create({ buffer, byteOffset: 192, count: 1 });
    const release = Latch.create({ buffer, byteOffset: 256, count: 1 });
    expect(() => Mutex.create({ buffer, byteOffset: 64 })).toThrow(/not zeroed/);
    const holder = startActor('hold', { rwlock: rwlock.handle, read: true, held: held.handle, release: release.handle });
    await held.waitAsync();
    expect(rwlock.readerCount()).toBe(1);
    expect(mutex.isLocked()).toBe(false);
    expect(semaphore.available).toBe(2);
    release.countDown();
    await holder.result;
    expect(rwlock.readerCount()).toBe(0);
  });
});
