/**
 * The cache's shared structures and the operations on them. SharedCache (shared-cache.ts) owns
 * the locking protocol; this module owns the memory. The protocol, in short:
 *
 * - Index stripes. Bucket b belongs to stripe b % stripes. Everything reachable from a stripe's
 *   buckets (their chains, the entry records, the entries' chunks) is written only by a thread
 *   holding that stripe's mutex, between two increments of the stripe's seqlock word (odd while
 *   writing).
 * - The structure mutex guards what all stripes share: the size and byte counters, the free
 *   lists of slots and chunks, and the eviction queue. Lock order: a stripe mutex, then the
 *   structure mutex. While holding the structure mutex a thread may take another stripe's mutex
 *   only with tryLock, so no cycle of waits can form.
 * - Readers take no lock: they read a stripe's seqlock word, walk and copy, and read the word
 *   again; if it changed (or was odd) they retry, and after a few retries they take the stripe
 *   mutex. Memory a reader might be reading can only be reused after its stripe freed it, which
 *   bumps that stripe's seqlock word, so the reader's validation fails. A reader may still read
 *   garbage before it validates, so every walk here is bounded and bounds-checked and returns
 *   INCONSISTENT instead of throwing.
 */
import { Mutex } from '../shared/mutex.js';
import { SELF_TAG } from '../shared/thread.js';
import { faultPoint } from '../shared/fault-points.js';
import type { ReadScratch } from './codec.js';
import { MARKER_BYTES } from './single-flight.js';
import { Counter, StripedCounters } from './stats.js';
import {
  CHUNK_BYTES,
  CHUNK_PAYLOAD,
  type CacheLayout,
  FLAG_LIVE,
  FLAG_VISITED,
  GLOBAL,
  HEADER,
  SLOT,
  SLOT_WORDS,
  STRIPE,
  chunksFor,
  layoutOf,
} from './layout.js';

/** A key's bytes as Int32 words (zero-padded to a multiple of 4), for word-wise comparison. Int32Array reads the platform's byte order, as the shared memory does. */
export function keyWordsOf(key: Uint8Array): Int32Array {
  const padded = new Uint8Array(Math.ceil(key.length / 4) * 4);
  padded.set(key);
  return new Int32Array(padded.buffer);
}

/** A lookup that read inconsistent memory (a writer was active); the caller retries. */
export const INCONSISTENT = -2;

/** A stored entry, copied out. */
export interface EntryCopy {
  readonly slot: number;
  readonly tag: number;
  readonly value: Uint8Array;
  readonly expiry: number;
}

/** The shape of the memory, read from the header. */
export interface StoreShape {
  readonly maxEntries: number;
  readonly maxBytes: number;
  readonly buckets: number;
  readonly stripes: number;
  readonly chunks: number;
  readonly maxKeyBytes: number;
  readonly maxValueBytes: number;
  readonly lruPolicy: boolean;
  readonly highWater: number;
  readonly lowWater: number;
  readonly ttlMs: number;
  /** The longest wait for one of the cache's locks, in ms (Infinity: no bound). */
  readonly lockTimeoutMs: number;
}

export function readShape(buffer: SharedArrayBuffer): StoreShape {
  const i32 = new Int32Array(buffer, 0, 16);
  const f64 = new Float64Array(buffer, 0, 8);
  return {
    maxEntries: i32[HEADER.MAX_ENTRIES]!,
    maxBytes: i32[HEADER.MAX_BYTES]!,
    buckets: i32[HEADER.BUCKETS]!,
    stripes: i32[HEADER.STRIPES]!,
    chunks: i32[HEADER.CHUNKS]!,
    maxKeyBytes: i32[HEADER.MAX_KEY_BYTES]!,
    maxValueBytes: i32[HEADER.MAX_VALUE_BYTES]!,
    lruPolicy: i32[HEADER.POLICY] === 1,
    highWater: i32[HEADER.HIGH_WATER]!,
    lowWater: i32[HEADER.LOW_WATER]!,
    ttlMs: f64[HEADER.TTL_F64]!,
    lockTimeoutMs: i32[HEADER.LOCK_TIMEOUT_MS]! < 0 ? Infinity : i32[HEADER.LOCK_TIMEOUT_MS]!,
  };
}

export class Store {
  readonly shape: StoreShape;
  readonly layout: CacheLayout;
  readonly i32: Int32Array;
  readonly f64: Float64Array;
  readonly u8: Uint8Array;
  readonly structure: Mutex;
  readonly stripeLocks: readonly Mutex[];
  readonly stats: StripedCounters;
  readonly #slotBase: number;
  readonly #slotF64Base: number;
  readonly #bucketBase: number;
  readonly #stripeBase: number;
  /** The longest value a record may hold: maxValueBytes, or a getOrCompute marker if that is longer. */
  readonly #valueBound: number;

  constructor(buffer: SharedArrayBuffer, shape: StoreShape, fresh: boolean) {
    this.shape = shape;
    this.layout = layoutOf({ maxEntries: shape.maxEntries, stripes: shape.stripes, buckets: shape.buckets, chunks: shape.chunks });
    this.i32 = new Int32Array(buffer);
    this.f64 = new Float64Array(buffer);
    this.u8 = new Uint8Array(buffer);
    this.#slotBase = this.layout.slots >> 2;
    this.#slotF64Base = this.layout.slots >> 3;
    this.#bucketBase = this.layout.buckets >> 2;
    this.#stripeBase = this.layout.stripes >> 2;
    this.#valueBound = Math.max(shape.maxValueBytes, MARKER_BYTES);
    const place = (byteOffset: number): Mutex =>
      fresh ? Mutex.create({ buffer, byteOffset }) : Mutex.attach({ kind: 'sabre/mutex', layout: 1, buffer, byteOffset });
    this.structure = place(GLOBAL.MUTEX_BYTE_OFFSET);
    this.stripeLocks = Array.from({ length: shape.stripes }, (_, s) => place(this.layout.stripes + s * 64));
    this.stats = new StripedCounters(buffer, this.layout.stats);
    if (fresh) this.#initFreeLists();
  }

  #initFreeLists(): void {
    const { maxEntries, chunks } = this.shape;
    for (let slot = 0; slot < maxEntries; slot++) this.i32[this.slotWord(slot) + SLOT.NEXT] = slot + 2 <= maxEntries ? slot + 2 : 0;
    this.i32[GLOBAL.FREE_SLOT] = maxEntries > 0 ? 1 : 0;
    for (let chunk = 0; chunk < chunks; chunk++) this.i32[this.chunkWord(chunk)] = chunk + 2 <= chunks ? chunk + 2 : 0;
    this.i32[GLOBAL.FREE_CHUNK] = chunks > 0 ? 1 : 0;
    this.i32[GLOBAL.FREE_CHUNKS] = chunks;
  }

  // ---- addressing --------------------------------------------------------------------------

  slotWord(slot: number): number {
    return this.#slotBase + slot * SLOT_WORDS;
  }

  chunkWord(chunk: number): number {
    return (this.layout.chunks + chunk * CHUNK_BYTES) >> 2;
  }

  bucketWord(bucket: number): number {
    return this.#bucketBase + bucket;
  }

  stripeOf(bucket: number): number {
    return bucket & (this.shape.stripes - 1);
  }

  seqWord(stripe: number): number {
    return this.#stripeBase + stripe * 16 + STRIPE.SEQ;
  }

  /** Word `word` (a STRIPE index) of a stripe's line. */
  stripeWord(stripe: number, word: number): number {
    return this.#stripeBase + stripe * 16 + word;
  }

  expiryOf(slot: number): number {
    return this.f64[this.#slotF64Base + slot * (SLOT_WORDS / 2) + SLOT.EXPIRY_F64]!;
  }

  setExpiry(slot: number, expiry: number): void {
    this.f64[this.#slotF64Base + slot * (SLOT_WORDS / 2) + SLOT.EXPIRY_F64] = expiry;
  }

  // ---- reads (callable without a lock: bounded, never throw) ----------------------------------

  /**
   * The slot of `key` in `bucket`, -1 if absent, or INCONSISTENT if the chain is not sane.
   * `keyWords` is the key's bytes as little-endian Int32 words (see {@link keyWordsOf}).
   */
  find(bucket: number, hash: number, key: Uint8Array, keyWords: Int32Array): number {
    const i32 = this.i32;
    const max = this.shape.maxEntries;
    let link = i32[this.bucketWord(bucket)]!;
    for (let steps = 0; link !== 0; steps++) {
      const slot = link - 1;
      if (slot < 0 || slot >= max || steps > max) return INCONSISTENT;
      const w = this.slotWord(slot);
      if (i32[w + SLOT.HASH] === hash >> 0 && i32[w + SLOT.KEY_LEN] === key.length) {
        const same = this.#keyEquals(w, key, keyWords);
        if (same === 1) return slot;
        if (same === INCONSISTENT) return INCONSISTENT;
      }
      link = i32[w + SLOT.NEXT]!;
    }
    return -1;
  }

  /** Compares the stored key with `key`, four bytes at a time (chunk payloads are 4-byte aligned), the last 0-3 bytes one by one. */
  #keyEquals(w: number, key: Uint8Array, keyWords: Int32Array): number {
    const i32 = this.i32;
    const u8 = this.u8;
    let chunk = i32[w + SLOT.CHUNK]! - 1;
    let offset = 0;
    while (offset < key.length) {
      if (chunk < 0 || chunk >= this.shape.chunks) return INCONSISTENT;
      const base = this.layout.chunks + chunk * CHUNK_BYTES + 4;
      const n = Math.min(CHUNK_PAYLOAD, key.length - offset);
      const whole = n >> 2;
      const baseWord = base >> 2;
      const firstWord = offset >> 2;
      for (let i = 0; i < whole; i++) if (i32[baseWord + i] !== keyWords[firstWord + i]) return 0;
      for (let i = whole << 2; i < n; i++) if (u8[base + i] !== key[offset + i]) return 0;
      offset += n;
      chunk = i32[(base - 4) >> 2]! - 1;
    }
    return 1;
  }

  /** Copies `length` bytes starting `skip` bytes into the slot's chain; null if the chain is not sane. */
  copyBytes(slot: number, skip: number, length: number): Uint8Array | null {
    const u8 = this.u8;
    const out = new Uint8Array(length);
    let chunk = this.i32[this.slotWord(slot) + SLOT.CHUNK]! - 1;
    let position = 0; // bytes of the chain passed so far
    let copied = 0;
    const end = skip + length;
    while (position < end) {
      if (chunk < 0 || chunk >= this.shape.chunks) return null;
      const base = this.layout.chunks + chunk * CHUNK_BYTES + 4;
      const from = Math.max(skip, position) - position;
      const to = Math.min(end, position + CHUNK_PAYLOAD) - position;
      // A byte loop: at most 60 bytes per chunk, where subarray()+set() would cost more in
      // allocating the view than in copying.
      for (let i = from; i < to; i++) out[copied++] = u8[base + i]!;
      position += CHUNK_PAYLOAD;
      chunk = this.i32[(base - 4) >> 2]! - 1;
    }
    return out;
  }

  /**
   * Copies the value bytes of `slot` into `scratch` (no allocation). Returns the value length,
   * or -1 if the chain is not sane (a lock-free reader then retries).
   */
  copyValueInto(slot: number, scratch: ReadScratch): number {
    const i32 = this.i32;
    const u8 = this.u8;
    const w = this.slotWord(slot);
    const keyLength = i32[w + SLOT.KEY_LEN]!;
    const length = i32[w + SLOT.VALUE_LEN]!;
    if (keyLength < 0 || length < 0 || keyLength > this.shape.maxKeyBytes || length > this.#valueBound) return -1;
    const out = scratch.reserve(length);
    let chunk = i32[w + SLOT.CHUNK]! - 1;
    let position = 0;
    let copied = 0;
    const end = keyLength + length;
    while (position < end) {
      if (chunk < 0 || chunk >= this.shape.chunks) return -1;
      const base = this.layout.chunks + chunk * CHUNK_BYTES + 4;
      const from = Math.max(keyLength, position) - position;
      const to = Math.min(end, position + CHUNK_PAYLOAD) - position;
      for (let i = from; i < to; i++) out[copied++] = u8[base + i]!;
      position += CHUNK_PAYLOAD;
      chunk = i32[(base - 4) >> 2]! - 1;
    }
    return length;
  }

  tagOf(slot: number): number {
    return this.i32[this.slotWord(slot) + SLOT.TAG]!;
  }

  /** Copies the entry of `slot`: tag, value bytes, expiry; null if inconsistent. */
  copyEntry(slot: number): EntryCopy | null {
    const w = this.slotWord(slot);
    const i32 = this.i32;
    const keyLength = i32[w + SLOT.KEY_LEN]!;
    const valueLength = i32[w + SLOT.VALUE_LEN]!;
    if (keyLength < 0 || valueLength < 0 || keyLength > this.shape.maxKeyBytes || valueLength > this.#valueBound) return null;
    const value = this.copyBytes(slot, keyLength, valueLength);
    return value === null ? null : { slot, tag: i32[w + SLOT.TAG]!, value, expiry: this.expiryOf(slot) };
  }

  /** The key bytes of `slot` (under its stripe lock). */
  keyOf(slot: number): Uint8Array {
    return this.copyBytes(slot, 0, this.i32[this.slotWord(slot) + SLOT.KEY_LEN]!)!;
  }

  /** Sets the recency bit, writing only if it is not already set (a hit costs no shared write twice). */
  markVisited(slot: number): void {
    const w = this.slotWord(slot) + SLOT.FLAGS;
    if ((this.i32[w]! & FLAG_VISITED) === 0) Atomics.or(this.i32, w, FLAG_VISITED);
  }

  /** The hand epoch (layout.ts HEADER.HAND_EPOCH); a plain read: it only decides whether to look at a bit again. */
  handEpoch(): number {
    return this.i32[HEADER.HAND_EPOCH]!;
  }

  // ---- stripe write sections ----------------------------------------------------------------

  /** Marks the stripe as being written (odd): lock-free readers will retry. Holder of the stripe mutex only. */
  beginWrite(stripe: number): void {
    // seq-cst RMW: orders the odd mark before every write of the section.
    Atomics.add(this.i32, this.seqWord(stripe), 1);
  }

  endWrite(stripe: number): void {
    // seq-cst RMW: every write of the section is ordered before the even mark.
    Atomics.add(this.i32, this.seqWord(stripe), 1);
  }

  // ---- structure (caller holds the structure mutex) ------------------------------------------

  get size(): number {
    return Atomics.load(this.i32, GLOBAL.SIZE);
  }

  get bytes(): number {
    return Atomics.load(this.i32, GLOBAL.BYTES);
  }

  addBytes(delta: number): void {
    Atomics.add(this.i32, GLOBAL.BYTES, delta);
  }

  freeChunkCount(): number {
    return this.i32[GLOBAL.FREE_CHUNKS]!;
  }

  /** Takes a free slot and makes it the newest entry of the eviction queue. Structure mutex held; a slot is free (size < maxEntries). */
  allocSlot(): number {
    const i32 = this.i32;
    const slot = i32[GLOBAL.FREE_SLOT]! - 1;
    const w = this.slotWord(slot);
    this.beginSlotChange(slot); // the caller ends the change once the entry is filled and linked
    i32[GLOBAL.FREE_SLOT] = i32[w + SLOT.NEXT]!;
    i32[w + SLOT.NEXT] = 0;
    i32[w + SLOT.FLAGS] = FLAG_LIVE;
    i32[w + SLOT.INSERTED] = ++i32[GLOBAL.INSERTS]!;
    this.#pushNewest(slot);
    Atomics.add(i32, GLOBAL.SIZE, 1);
    this.stats.bump(Counter.inserts);
    return slot;
  }

  /**
   * Returns a slot (already unlinked from its bucket) and its chunks, and counts the removal in
   * `removal` (one of stats.ts REMOVALS), with the size. Structure mutex held.
   */
  freeSlot(slot: number, removal: number): void {
    const i32 = this.i32;
    const w = this.slotWord(slot);
    this.#unlinkFromQueue(slot);
    this.freeChunks(i32[w + SLOT.CHUNK]!);
    this.addBytes(-(i32[w + SLOT.KEY_LEN]! + i32[w + SLOT.VALUE_LEN]!));
    this.clearRecord(slot);
    i32[w + SLOT.NEXT] = i32[GLOBAL.FREE_SLOT]!;
    i32[GLOBAL.FREE_SLOT] = slot + 1;
    Atomics.sub(i32, GLOBAL.SIZE, 1);
    this.stats.bump(removal);
  }

  /**
   * Resets a slot's record to free: no chain, no lengths, not live, a new generation, no change
   * in progress. The caller has already given its chunks back (or is rebuilding the chunk list).
   */
  clearRecord(slot: number): void {
    const i32 = this.i32;
    const w = this.slotWord(slot);
    i32[w + SLOT.CHUNK] = 0;
    i32[w + SLOT.CHUNKS] = 0;
    i32[w + SLOT.KEY_LEN] = 0;
    i32[w + SLOT.VALUE_LEN] = 0;
    // A lock-free reader's late Atomics.or may still set VISITED on the free slot: harmless,
    // allocSlot overwrites the flags.
    i32[w + SLOT.FLAGS] = 0;
    i32[w + SLOT.GENERATION]!++;
    this.endSlotChange(slot);
  }

  /**
   * Marks a slot as being changed by this thread (layout.ts SLOT.IN_FLUX holds its tag, so
   * recovery drops only what the dead thread was changing). A plain store is enough: only the
   * holder of the slot's stripe mutex writes the word, and crash recovery reads it only after
   * taking over that mutex from the dead holder (the CAS orders it after every store the dead
   * thread made).
   */
  beginSlotChange(slot: number): void {
    this.i32[this.slotWord(slot) + SLOT.IN_FLUX] = SELF_TAG;
  }

  endSlotChange(slot: number): void {
    this.i32[this.slotWord(slot) + SLOT.IN_FLUX] = 0;
  }

  /** Takes `count` chunks (structure mutex held; the byte budget guarantees they exist). Returns the first + 1. */
  allocChunks(count: number): number {
    const i32 = this.i32;
    // The byte budget makes this impossible (layout.ts); fail loudly rather than corrupt memory if it ever is not.
    if (i32[GLOBAL.FREE_CHUNKS]! < count)
      throw new Error(`sabre: chunk pool exhausted (${i32[GLOBAL.FREE_CHUNKS]} free, ${count} needed): an internal invariant is broken`);
    const head = i32[GLOBAL.FREE_CHUNK]!;
    let last = head - 1;
    for (let i = 1; i < count; i++) last = i32[this.chunkWord(last)]! - 1;
    i32[GLOBAL.FREE_CHUNK] = i32[this.chunkWord(last)]!;
    i32[this.chunkWord(last)] = 0;
    i32[GLOBAL.FREE_CHUNKS]! -= count;
    return head;
  }

  /** Returns a chain of chunks (first + 1) to the free list. Structure mutex held. */
  freeChunks(head: number): void {
    if (head === 0) return;
    const i32 = this.i32;
    let count = 1;
    let last = head - 1;
    for (let next = i32[this.chunkWord(last)]!; next !== 0; next = i32[this.chunkWord(last)]!) {
      last = next - 1;
      count++;
    }
    i32[this.chunkWord(last)] = i32[GLOBAL.FREE_CHUNK]!;
    i32[GLOBAL.FREE_CHUNK] = head;
    i32[GLOBAL.FREE_CHUNKS]! += count;
  }

  /** Writes `bytes` into the slot's chain starting `skip` bytes in (stripe write section open). */
  writeAt(slot: number, skip: number, bytes: Uint8Array): void {
    const i32 = this.i32;
    const u8 = this.u8;
    let chunk = i32[this.slotWord(slot) + SLOT.CHUNK]! - 1;
    let position = 0; // chain bytes passed so far
    let written = 0;
    const end = skip + bytes.length;
    while (position < end) {
      const base = this.layout.chunks + chunk * CHUNK_BYTES + 4;
      const from = Math.max(skip, position) - position;
      const to = Math.min(end, position + CHUNK_PAYLOAD) - position;
      // A byte loop: a chunk holds at most 60 bytes, where subarray()+set() costs more in views than in copying.
      for (let i = from; i < to; i++) u8[base + i] = bytes[written++]!;
      position += CHUNK_PAYLOAD;
      chunk = i32[(base - 4) >> 2]! - 1;
    }
  }

  /** Gives `slot` a fresh chain for `key` + `value` (old chain freed first) and records lengths and tag. Both locks held, stripe write section open. */
  fill(slot: number, key: Uint8Array, tag: number, value: Uint8Array, expiry: number): void {
    const i32 = this.i32;
    const w = this.slotWord(slot);
    const oldBytes = i32[w + SLOT.KEY_LEN]! + i32[w + SLOT.VALUE_LEN]!;
    const count = chunksFor(key.length + value.length);
    if (i32[w + SLOT.CHUNKS] !== count) {
      this.freeChunks(i32[w + SLOT.CHUNK]!);
      i32[w + SLOT.CHUNK] = this.allocChunks(count);
      i32[w + SLOT.CHUNKS] = count;
    }
    i32[w + SLOT.KEY_LEN] = key.length;
    i32[w + SLOT.VALUE_LEN] = value.length;
    i32[w + SLOT.TAG] = tag;
    this.setExpiry(slot, expiry);
    this.writeAt(slot, 0, key);
    this.writeAt(slot, key.length, value);
    this.addBytes(key.length + value.length - oldBytes);
  }

  /** Rewrites the value of `slot` in its current chain (same chunk count, not larger); the key stays. Stripe write section open. */
  overwrite(slot: number, keyLength: number, tag: number, value: Uint8Array, expiry: number): void {
    const w = this.slotWord(slot);
    this.beginSlotChange(slot);
    this.i32[w + SLOT.TAG] = tag;
    this.setExpiry(slot, expiry);
    faultPoint('put:in-place');
    this.writeAt(slot, keyLength, value);
    this.endSlotChange(slot);
  }

  /**
   * Whether the value can be rewritten in place: the same length. Any change of length goes
   * through the structure mutex, so the byte counter changes only under it: crash recovery,
   * which holds that mutex, can then recount it exactly while other stripes keep working.
   */
  fitsInPlace(slot: number, valueLength: number): boolean {
    return valueLength === this.i32[this.slotWord(slot) + SLOT.VALUE_LEN]!;
  }

  /** Links a filled slot at the head of its bucket chain (stripe write section open). */
  linkIntoBucket(slot: number, bucket: number, hash: number): void {
    const w = this.slotWord(slot);
    this.i32[w + SLOT.HASH] = hash >> 0;
    this.i32[w + SLOT.NEXT] = this.i32[this.bucketWord(bucket)]!;
    this.i32[this.bucketWord(bucket)] = slot + 1;
  }

  /** Unlinks a slot from its bucket chain (stripe write section open). */
  unlinkFromBucket(slot: number): void {
    const i32 = this.i32;
    const w = this.slotWord(slot);
    const bucket = (i32[w + SLOT.HASH]! >>> 0) & (this.shape.buckets - 1);
    let at = this.bucketWord(bucket);
    for (let link = i32[at]!; link !== 0; link = i32[at]!) {
      if (link === slot + 1) {
        i32[at] = i32[w + SLOT.NEXT]!;
        return;
      }
      at = this.slotWord(link - 1) + SLOT.NEXT;
    }
  }

  bucketOfSlot(slot: number): number {
    return (this.i32[this.slotWord(slot) + SLOT.HASH]! >>> 0) & (this.shape.buckets - 1);
  }

  // ---- eviction queue (structure mutex held) ---------------------------------------------------

  #pushNewest(slot: number): void {
    const i32 = this.i32;
    const w = this.slotWord(slot);
    const head = i32[GLOBAL.LIST_HEAD]!;
    i32[w + SLOT.PREV] = head;
    i32[w + SLOT.NEWER] = 0;
    if (head !== 0) i32[this.slotWord(head - 1) + SLOT.NEWER] = slot + 1;
    else i32[GLOBAL.LIST_TAIL] = slot + 1;
    i32[GLOBAL.LIST_HEAD] = slot + 1;
  }

  #unlinkFromQueue(slot: number): void {
    const i32 = this.i32;
    const w = this.slotWord(slot);
    const older = i32[w + SLOT.PREV]!;
    const newer = i32[w + SLOT.NEWER]!;
    if (older !== 0) i32[this.slotWord(older - 1) + SLOT.NEWER] = newer;
    else i32[GLOBAL.LIST_TAIL] = newer;
    if (newer !== 0) i32[this.slotWord(newer - 1) + SLOT.PREV] = older;
    else i32[GLOBAL.LIST_HEAD] = older;
    if (i32[GLOBAL.HAND] === slot + 1) i32[GLOBAL.HAND] = newer;
    if (i32[GLOBAL.SWEEP] === slot + 1) i32[GLOBAL.SWEEP] = newer;
  }

  /**
   * Chooses and claims the next eviction victim, moving the hand from the oldest entry towards
   * the newest (wrapping). SIEVE: a visited entry loses its bit and stays where it is. CLOCK
   * ('lru'): it loses its bit and moves to the head, as if re-inserted. After `limit` entries
   * passed over (bounded work) the entry under the hand is taken whatever its bit. `claim(slot)`
   * is asked only about the entry chosen; it returns false if that entry cannot be evicted now
   * (excluded, or its stripe is busy), and the hand moves on. Returns -1 if nothing was claimed.
   */
  nextVictim(claim: (slot: number) => boolean, limit: number): number {
    const i32 = this.i32;
    const size = this.size;
    let link = i32[GLOBAL.HAND] || i32[GLOBAL.LIST_TAIL]!;
    let cleared = false;
    for (let passed = 0; passed < size * 2 + 1 && link !== 0; passed++) {
      const slot = link - 1;
      const w = this.slotWord(slot);
      const next = i32[w + SLOT.NEWER] || i32[GLOBAL.LIST_TAIL]!;
      const visited = (i32[w + SLOT.FLAGS]! & FLAG_VISITED) !== 0;
      if ((!visited || passed >= limit) && claim(slot)) {
        i32[GLOBAL.HAND] = next === link ? 0 : next;
        return slot;
      }
      if (visited) {
        if (!cleared) {
          // Before the first bit this pass clears: threads that remember "visited" must look again.
          Atomics.add(i32, HEADER.HAND_EPOCH, 1);
          cleared = true;
        }
        Atomics.and(i32, w + SLOT.FLAGS, ~FLAG_VISITED);
        if (this.shape.lruPolicy && i32[GLOBAL.LIST_HEAD] !== link) {
          this.#unlinkFromQueue(slot);
          this.#pushNewest(slot);
          i32[w + SLOT.INSERTED] = ++i32[GLOBAL.INSERTS]!; // keeps the queue ordered by INSERTED
        }
      }
      link = next;
    }
    return -1;
  }

  /** The next entry for the TTL sweep to look at (round-robin over the queue). */
  nextSweep(): number {
    const i32 = this.i32;
    const link = i32[GLOBAL.SWEEP] || i32[GLOBAL.LIST_TAIL]!;
    if (link === 0) return -1;
    i32[GLOBAL.SWEEP] = i32[this.slotWord(link - 1) + SLOT.NEWER]!;
    return link - 1;
  }

  /**
   * Checks every shared structure against every other and returns what is wrong (empty when the
   * cache is consistent). The caller holds every stripe mutex and the structure mutex. Every walk
   * is bounded, so a corrupt structure is reported, never looped on.
   */
  integrityProblems(): string[] {
    const problems: string[] = [];
    const i32 = this.i32;
    const { maxEntries, buckets, chunks, stripes } = this.shape;
    const isLive = (slot: number): boolean => (i32[this.slotWord(slot) + SLOT.FLAGS]! & FLAG_LIVE) !== 0;
    // Bucket chains: every entry once, live, in the bucket its hash names.
    const inBuckets = new Set<number>();
    for (let bucket = 0; bucket < buckets; bucket++) {
      for (let link = i32[this.bucketWord(bucket)]!, steps = 0; link !== 0; link = i32[this.slotWord(link - 1) + SLOT.NEXT]!, steps++) {
        const slot = link - 1;
        if (slot < 0 || slot >= maxEntries || steps > maxEntries) {
          problems.push(`bucket ${bucket}: chain leaves the slot range or loops`);
          break;
        }
        if (inBuckets.has(slot)) problems.push(`slot ${slot} is linked twice in the index`);
        inBuckets.add(slot);
        if (!isLive(slot)) problems.push(`slot ${slot} is in bucket ${bucket} but not live`);
        if (this.bucketOfSlot(slot) !== bucket) problems.push(`slot ${slot} is in bucket ${bucket} but hashes to ${this.bucketOfSlot(slot)}`);
      }
    }
    // The eviction queue: the same entries, linked both ways.
    const queued = new Set<number>();
    let previous = 0;
    for (let link = i32[GLOBAL.LIST_TAIL]!, steps = 0; link !== 0; link = i32[this.slotWord(link - 1) + SLOT.NEWER]!, steps++) {
      const slot = link - 1;
      if (slot < 0 || slot >= maxEntries || steps > maxEntries || queued.has(slot)) {
        problems.push('the eviction queue leaves the slot range or loops');
        break;
      }
      queued.add(slot);
      if (i32[this.slotWord(slot) + SLOT.PREV] !== previous) problems.push(`slot ${slot}: its older link does not point back`);
      previous = link;
    }
    if (i32[GLOBAL.LIST_HEAD] !== previous) problems.push('the queue head is not the newest entry');
    if (queued.size !== inBuckets.size || [...queued].some((slot) => !inBuckets.has(slot))) problems.push('the queue and the index hold different entries');
    // Free slots: the rest, none live.
    let freeSlots = 0;
    for (let link = i32[GLOBAL.FREE_SLOT]!; link !== 0 && freeSlots <= maxEntries; link = i32[this.slotWord(link - 1) + SLOT.NEXT]!) {
      if (isLive(link - 1)) problems.push(`slot ${link - 1} is free and live`);
      freeSlots++;
    }
    if (freeSlots + inBuckets.size !== maxEntries) problems.push(`${inBuckets.size} live + ${freeSlots} free slots != ${maxEntries}`);
    if (this.size !== inBuckets.size) problems.push(`size says ${this.size}, the index holds ${inBuckets.size}`);
    // Chunks: each live chain has its count, no chunk is used twice, the rest is free.
    const used = new Uint8Array(chunks);
    let bytes = 0;
    for (const slot of inBuckets) {
      const w = this.slotWord(slot);
      bytes += i32[w + SLOT.KEY_LEN]! + i32[w + SLOT.VALUE_LEN]!;
      let count = 0;
      for (let link = i32[w + SLOT.CHUNK]!; link !== 0 && count <= chunks; link = i32[this.chunkWord(link - 1)]!, count++) {
        if (link - 1 >= chunks || used[link - 1] === 1) {
          problems.push(`slot ${slot}: chunk ${link - 1} out of range or shared`);
          break;
        }
        used[link - 1] = 1;
      }
      if (count !== i32[w + SLOT.CHUNKS]) problems.push(`slot ${slot}: ${count} chunks in its chain, ${i32[w + SLOT.CHUNKS]} recorded`);
      if (count * CHUNK_PAYLOAD < i32[w + SLOT.KEY_LEN]! + i32[w + SLOT.VALUE_LEN]!) problems.push(`slot ${slot}: its chain is too short for its bytes`);
    }
    let freeChunks = 0;
    for (let link = i32[GLOBAL.FREE_CHUNK]!; link !== 0 && freeChunks <= chunks; link = i32[this.chunkWord(link - 1)]!) {
      if (used[link - 1] === 1) problems.push(`chunk ${link - 1} is both free and used`);
      freeChunks++;
    }
    const usedChunks = used.reduce((sum, u) => sum + u, 0);
    if (freeChunks !== i32[GLOBAL.FREE_CHUNKS]) problems.push(`${freeChunks} chunks on the free list, ${i32[GLOBAL.FREE_CHUNKS]} counted`);
    if (freeChunks + usedChunks !== chunks) problems.push(`${usedChunks} used + ${freeChunks} free chunks != ${chunks}`);
    if (this.bytes !== bytes) problems.push(`bytes says ${this.bytes}, the entries hold ${bytes}`);
    if (this.size > maxEntries || this.bytes > this.shape.maxBytes) problems.push('a bound is exceeded');
    const accounted = this.stats.accountedSize();
    if (accounted !== this.size) problems.push(`size is ${this.size}, but inserts - removals (stats) is ${accounted}`);
    for (let stripe = 0; stripe < stripes; stripe++) if ((i32[this.seqWord(stripe)]! & 1) !== 0) problems.push(`stripe ${stripe} has a write section open`);
    return problems;
  }

  /** Oldest-first list of live slots (structure mutex held): for tests and snapshots in queue order. */
  queueOrder(): number[] {
    const order: number[] = [];
    for (let link = this.i32[GLOBAL.LIST_TAIL]!; link !== 0; link = this.i32[this.slotWord(link - 1) + SLOT.NEWER]!) order.push(link - 1);
    return order;
  }
}
