/**
 * The cache's shared structures and the operations on them: this module owns the memory, the
 * write protocol (writer.ts) owns the locking. The protocol, in short:
 *
 * - Index stripes. Bucket b belongs to stripe b % stripes. Everything reachable from a stripe's
 *   buckets (their chains, the entry records, the entries' chunks) is written only by a thread
 *   holding that stripe's mutex, between two increments of the stripe's seqlock word (odd while
 *   writing): `@guardedBy stripe(k) write-section`.
 * - The structure mutex guards what all stripes share: the size and byte counters, the free
 *   lists of slots and chunks, and the eviction queue (eviction.ts): `@guardedBy structure-mutex`.
 *   Lock order: a stripe mutex, then the structure mutex. While holding the structure mutex a
 *   thread may take another stripe's mutex only with tryLock, so no cycle of waits can form.
 * - Readers take no lock (`@guardedBy none (seqlock)`): they read a stripe's seqlock word, walk
 *   and copy, and read the word again; if it changed (or was odd) they retry, and after a few
 *   retries they take the stripe mutex (reader.ts). Memory a reader might be reading can only be
 *   reused after its stripe freed it, which bumps that stripe's seqlock word, so the reader's
 *   validation fails. A reader may still read garbage before it validates, so every walk here
 *   that a reader uses is bounded and bounds-checked and returns INCONSISTENT instead of throwing.
 *
 * The notation `@guardedBy …` is defined in DESIGN.md ("Which lock a member needs").
 */
import { MUTEX_STATE_WORD, Mutex, releaseWordFast, tryAcquireWord } from '../shared/mutex.js';
import { SELF_TAG } from '../shared/thread.js';
import { faultPoint } from '../shared/fault-points.js';
import type { CacheTime } from './clock.js';
import { type ReadScratch, Tag } from './codec.js';
import { CLOCK, EvictionQueue, SIEVE } from './eviction.js';
import { MARKER_BYTES } from './flight-records.js';
import { type StoreShape, readShape } from './header.js';
import { Counter, StripedCounters } from './stats.js';
import {
  CHUNK_BYTES,
  CHUNK_PAYLOAD,
  type CacheLayout,
  type ChunkLink,
  FLAG_LIVE,
  FLAG_VISITED,
  GLOBAL,
  HEADER,
  type Link,
  NO_CHUNK,
  NO_LINK,
  NO_SLOT,
  type NoSlot,
  SLOT,
  SLOT_WORDS,
  STRIPE,
  type Slot,
  chunksFor,
  layoutOf,
  linkOf,
  slotOf,
} from './layout.js';

export { type StoreShape, readShape };

/**
 * What a lookup needs of a key, prepared once per thread (reader.ts PreparedKeys). The key's
 * bytes are kept as Int32 words (zero-padded to a multiple of 4) at `at` in `words`, an arena
 * shared by many keys: comparing a key costs no typed-array object per key to reach (a cache
 * miss each), only the arena line. Int32Array reads the platform's byte order, as the shared
 * memory does.
 */
export interface KeyWords {
  /** The key's hash as an int32 (SLOT.HASH holds it so). */
  readonly hash: number;
  readonly bucket: number;
  /** The key's length in bytes. */
  readonly length: number;
  readonly words: Int32Array;
  readonly at: number;
}

/**
 * TAIL_MASK[r]: the bits of an Int32 word that hold its first r bytes (r = 1..3), in the
 * platform's byte order, for comparing a key's last partial word.
 */
const TAIL_MASK = [0, 1, 2, 3].map((r) => {
  const bytes = new Uint8Array(4);
  bytes.fill(0xff, 0, r);
  return new Int32Array(bytes.buffer)[0]!;
});

/** A lookup that read inconsistent memory (a writer was active); the caller retries. */
export const INCONSISTENT = -2;

/** A stored entry, copied out. */
export interface EntryCopy {
  readonly slot: Slot;
  readonly tag: number;
  readonly value: Uint8Array;
  readonly expiry: number;
}

/**
 * The seqlock write mark. On x86 (TSO: stores become visible in program order, and V8 keeps
 * stores to shared memory in program order), a plain store of the odd value before the
 * section's plain writes, and of the even value after them, is all a seqlock writer needs: the
 * same reasoning as Linux's write_seqcount_begin, whose smp_wmb is only a compiler barrier on
 * x86. The stripe mutex's CAS (before) and its release CAS (after) are full barriers besides.
 * Elsewhere readers take the stripe mutex instead of validating (reader.ts LOCK_FREE_READS), and
 * the RMW is kept so that a remembered value is checked against a word moved atomically.
 */
const PLAIN_SEQLOCK_STORES = process.arch === 'x64' || process.arch === 'ia32';

/** What {@link Store.rewriteIfHeld} did: rewrote the value, found the entry changed (nothing done), or found the stripe locked (nothing done). */
export type InPlaceOutcome = typeof IN_PLACE_DONE | typeof IN_PLACE_NOT_HELD | typeof IN_PLACE_BUSY;
export const IN_PLACE_DONE = 1;
export const IN_PLACE_NOT_HELD = 0;
export const IN_PLACE_BUSY = -1;

export class Store {
  readonly shape: StoreShape;
  readonly layout: CacheLayout;
  readonly i32: Int32Array;
  readonly f64: Float64Array;
  readonly u8: Uint8Array;
  readonly structure: Mutex;
  readonly stripeLocks: readonly Mutex[];
  readonly stats: StripedCounters;
  /** @guardedBy structure-mutex */
  readonly queue: EvictionQueue;
  readonly #slotBase: number;
  readonly #slotF64Base: number;
  readonly #bucketBase: number;
  readonly #stripeBase: number;
  readonly #chunkBase: number;
  /** The longest value a record may hold: maxValueBytes, or a getOrCompute marker if that is longer. */
  readonly #valueBound: number;

  constructor(buffer: SharedArrayBuffer, shape: StoreShape, fresh: boolean) {
    this.shape = shape;
    this.layout = layoutOf(shape);
    this.i32 = new Int32Array(buffer);
    this.f64 = new Float64Array(buffer);
    this.u8 = new Uint8Array(buffer);
    this.#slotBase = this.layout.slots >> 2;
    this.#slotF64Base = this.layout.slots >> 3;
    this.#bucketBase = this.layout.buckets >> 2;
    this.#stripeBase = this.layout.stripes >> 2;
    this.#chunkBase = this.layout.chunks;
    this.#valueBound = Math.max(shape.maxValueBytes, MARKER_BYTES);
    const place = (byteOffset: number): Mutex =>
      fresh ? Mutex.create({ buffer, byteOffset }) : Mutex.attach({ kind: 'sabre/mutex', layout: 1, buffer, byteOffset });
    this.structure = place(GLOBAL.MUTEX_BYTE_OFFSET);
    this.stripeLocks = Array.from({ length: shape.stripes }, (_, s) => place(this.layout.stripes + s * 64));
    this.stats = new StripedCounters(buffer, this.layout.stats);
    this.queue = new EvictionQueue(this, shape.lruPolicy ? CLOCK : SIEVE);
    if (fresh) this.#initFreeLists();
  }

  #initFreeLists(): void {
    const { maxEntries, chunks } = this.shape;
    for (let slot = 0; slot < maxEntries; slot++) this.i32[this.slotWord(slot as Slot) + SLOT.NEXT] = slot + 2 <= maxEntries ? slot + 2 : 0;
    this.i32[GLOBAL.FREE_SLOT] = maxEntries > 0 ? 1 : 0;
    for (let chunk = 0; chunk < chunks; chunk++) this.i32[this.chunkWord((chunk + 1) as ChunkLink)] = chunk + 2 <= chunks ? chunk + 2 : 0;
    this.i32[GLOBAL.FREE_CHUNK] = chunks > 0 ? 1 : 0;
    this.i32[GLOBAL.FREE_CHUNKS] = chunks;
  }

  // ---- addressing --------------------------------------------------------------------------

  slotWord(slot: Slot): number {
    return this.#slotBase + slot * SLOT_WORDS;
  }

  /** The word of a chunk: its next link (word 0); its payload follows. */
  chunkWord(link: ChunkLink): number {
    return (this.#chunkBase + (link - 1) * CHUNK_BYTES) >> 2;
  }

  /** Whether a stored chunk link names a chunk (a lock-free reader may read garbage). */
  #chunkInRange(link: ChunkLink): boolean {
    return link >= 1 && link <= this.shape.chunks;
  }

  bucketWord(bucket: number): number {
    return this.#bucketBase + bucket;
  }

  stripeOf(bucket: number): number {
    return bucket & (this.shape.stripes - 1);
  }

  bucketOfSlot(slot: Slot): number {
    return (this.i32[this.slotWord(slot) + SLOT.HASH]! >>> 0) & (this.shape.buckets - 1);
  }

  /** The stripe whose mutex guards `slot` (the stripe of its key's bucket). */
  stripeOfSlot(slot: Slot): number {
    return this.stripeOf(this.bucketOfSlot(slot));
  }

  seqWord(stripe: number): number {
    return this.#stripeBase + stripe * 16 + STRIPE.SEQ;
  }

  /** Word `word` (a STRIPE index) of a stripe's line. */
  stripeWord(stripe: number, word: number): number {
    return this.#stripeBase + stripe * 16 + word;
  }

  /** The link stored at word `at`: a bucket head, or a slot's NEXT. */
  linkAt(at: number): Link {
    return this.i32[at]! as Link;
  }

  // ---- one slot's record ---------------------------------------------------------------------

  isLive(slot: Slot): boolean {
    return (this.i32[this.slotWord(slot) + SLOT.FLAGS]! & FLAG_LIVE) !== 0;
  }

  tagOf(slot: Slot): number {
    return this.i32[this.slotWord(slot) + SLOT.TAG]!;
  }

  /** Key + value bytes the entry holds (what it counts against maxBytes). */
  bytesOf(slot: Slot): number {
    const w = this.slotWord(slot);
    return this.i32[w + SLOT.KEY_LEN]! + this.i32[w + SLOT.VALUE_LEN]!;
  }

  expiryOf(slot: Slot): number {
    return this.f64[this.#slotF64Base + slot * (SLOT_WORDS / 2) + SLOT.EXPIRY_F64]!;
  }

  /** @guardedBy stripe(k) write-section */
  setExpiry(slot: Slot, expiry: number): void {
    this.#bumpVersion(this.slotWord(slot));
    this.f64[this.#slotF64Base + slot * (SLOT_WORDS / 2) + SLOT.EXPIRY_F64] = expiry;
  }

  // ---- reads (callable without a lock: bounded, never throw) ----------------------------------

  /**
   * The slot of key `k`, NO_SLOT, or INCONSISTENT if the chain is not sane.
   * @guardedBy none (seqlock): validated by the caller
   */
  find(k: KeyWords): Slot | NoSlot | typeof INCONSISTENT {
    const i32 = this.i32;
    const max = this.shape.maxEntries;
    const hash = k.hash;
    let link = this.linkAt(this.bucketWord(k.bucket));
    for (let steps = 0; link !== NO_LINK; steps++) {
      const slot = slotOf(link);
      if (slot < 0 || slot >= max || steps > max) return INCONSISTENT;
      const w = this.slotWord(slot);
      if (i32[w + SLOT.HASH] === hash && i32[w + SLOT.KEY_LEN] === k.length) {
        const same = this.#keyEquals(w, k);
        if (same === 1) return slot;
        if (same === INCONSISTENT) return INCONSISTENT;
      }
      link = this.linkAt(w + SLOT.NEXT);
    }
    return NO_SLOT;
  }

  /**
   * Whether `slot` (live, its stripe locked by the caller) still holds the entry this thread
   * found there under generation `generation`: a slot keeps its key until it is freed, and
   * freeing it bumps SLOT.GENERATION. Lets a writer skip the bucket walk for a key it wrote
   * before. @guardedBy stripe(k)
   */
  stillHolds(slot: Slot, generation: number): boolean {
    return this.i32[this.slotWord(slot) + SLOT.GENERATION] === generation && this.isLive(slot);
  }

  /** SLOT.VERSION (layout.ts). @guardedBy none (seqlock): validated by the caller */
  versionOf(slot: Slot): number {
    return this.i32[this.slotWord(slot) + SLOT.VERSION]!;
  }

  /** A change of the entry a reader may remember (layout.ts SLOT.VERSION). @guardedBy stripe(k) write-section */
  #bumpVersion(w: number): void {
    this.i32[w + SLOT.VERSION] = (this.i32[w + SLOT.VERSION]! + 1) | 0;
  }

  generationOf(slot: Slot): number {
    return this.i32[this.slotWord(slot) + SLOT.GENERATION]!;
  }

  /**
   * Compares the stored key with `k`, a word at a time (chunk payloads are 4-byte aligned): the
   * last partial word under a mask, since the bytes after the key in a chunk are the value's.
   */
  #keyEquals(w: number, k: KeyWords): number {
    const i32 = this.i32;
    const words = k.words;
    const length = k.length;
    let chunk = i32[w + SLOT.CHUNK]! as ChunkLink;
    for (let offset = 0; offset < length; offset += CHUNK_PAYLOAD) {
      if (!this.#chunkInRange(chunk)) return INCONSISTENT;
      const next = this.chunkWord(chunk);
      const n = Math.min(CHUNK_PAYLOAD, length - offset);
      const whole = n >> 2;
      const first = k.at + (offset >> 2);
      for (let i = 0; i < whole; i++) if (i32[next + 1 + i] !== words[first + i]) return 0;
      const tail = n & 3;
      if (tail !== 0 && ((i32[next + 1 + whole]! ^ words[first + whole]!) & TAIL_MASK[tail]!) !== 0) return 0;
      chunk = i32[next]! as ChunkLink;
    }
    return 1;
  }

  /**
   * The one walk of a slot's chunk chain that moves bytes: copies `length` bytes starting `skip`
   * bytes into the chain into `out` (from: true), or from `bytes` into the chain (from: false).
   * Returns false if the chain is not sane (a lock-free reader then retries). A byte loop: at
   * most 60 bytes per chunk, where subarray()+set() would cost more in views than in copying.
   */
  #moveChain(slot: Slot, skip: number, length: number, bytes: Uint8Array, fromChain: boolean): boolean {
    const u8 = this.u8;
    let chunk = this.i32[this.slotWord(slot) + SLOT.CHUNK]! as ChunkLink;
    let position = 0; // chain bytes passed so far
    let moved = 0;
    const end = skip + length;
    while (position < end) {
      if (!this.#chunkInRange(chunk)) return false;
      const next = this.chunkWord(chunk);
      const base = (next + 1) << 2;
      const from = Math.max(skip, position) - position;
      const to = Math.min(end, position + CHUNK_PAYLOAD) - position;
      if (fromChain) for (let i = from; i < to; i++) bytes[moved++] = u8[base + i]!;
      else for (let i = from; i < to; i++) u8[base + i] = bytes[moved++]!;
      position += CHUNK_PAYLOAD;
      chunk = this.i32[next]! as ChunkLink;
    }
    return true;
  }

  /** Checks the lengths a lock-free reader read: -1 if they cannot be a record's (torn), else the value length. */
  #saneValueLength(w: number): number {
    const keyLength = this.i32[w + SLOT.KEY_LEN]!;
    const length = this.i32[w + SLOT.VALUE_LEN]!;
    if (keyLength < 0 || length < 0 || keyLength > this.shape.maxKeyBytes || length > this.#valueBound) return -1;
    return length;
  }

  /**
   * Copies the value bytes of `slot` into `scratch` (no allocation). Returns the value length,
   * or -1 if the record or chain is not sane (a lock-free reader then retries).
   * @guardedBy none (seqlock): validated by the caller
   */
  copyValueInto(slot: Slot, scratch: ReadScratch): number {
    const w = this.slotWord(slot);
    const length = this.#saneValueLength(w);
    if (length < 0) return -1;
    return this.#moveChain(slot, this.i32[w + SLOT.KEY_LEN]!, length, scratch.reserve(length), true) ? length : -1;
  }

  /** Copies the entry of `slot`: tag, value bytes, expiry; null if inconsistent. @guardedBy stripe(k) */
  copyEntry(slot: Slot): EntryCopy | null {
    const w = this.slotWord(slot);
    const length = this.#saneValueLength(w);
    if (length < 0) return null;
    const value = new Uint8Array(length);
    if (!this.#moveChain(slot, this.i32[w + SLOT.KEY_LEN]!, length, value, true)) return null;
    return { slot, tag: this.i32[w + SLOT.TAG]!, value, expiry: this.expiryOf(slot) };
  }

  /** The key bytes of `slot`. @guardedBy stripe(k) */
  keyOf(slot: Slot): Uint8Array {
    const key = new Uint8Array(this.i32[this.slotWord(slot) + SLOT.KEY_LEN]!);
    this.#moveChain(slot, 0, key.length, key, true);
    return key;
  }

  /**
   * Sets the recency bit, writing only if it is not already set (a hit costs no shared write
   * twice). An RMW: the hand may be clearing the bit, and a lost update would only cost a
   * second chance, but a plain store could also undo LIVE being cleared by a remover.
   * @guardedBy none
   */
  markVisited(slot: Slot): void {
    const w = this.slotWord(slot) + SLOT.FLAGS;
    if ((this.i32[w]! & FLAG_VISITED) === 0) Atomics.or(this.i32, w, FLAG_VISITED);
  }

  /** The hand epoch (layout.ts HEADER.HAND_EPOCH); a plain read: it only decides whether to look at a bit again. */
  handEpoch(): number {
    return this.i32[HEADER.HAND_EPOCH]!;
  }

  // ---- stripe write sections ----------------------------------------------------------------

  /** Marks the stripe as being written (odd): lock-free readers will retry. @guardedBy stripe(k) */
  beginWrite(stripe: number): void {
    const seq = this.seqWord(stripe);
    // See PLAIN_SEQLOCK_STORES. Elsewhere, a seq-cst RMW orders the odd mark before every write of the section.
    if (PLAIN_SEQLOCK_STORES) this.i32[seq] = this.i32[seq]! + 1;
    else Atomics.add(this.i32, seq, 1);
  }

  /** Closes the stripe's write section (even again). @guardedBy stripe(k) write-section */
  endWrite(stripe: number): void {
    const seq = this.seqWord(stripe);
    // See PLAIN_SEQLOCK_STORES. Elsewhere, a seq-cst RMW orders every write of the section before the even mark.
    if (PLAIN_SEQLOCK_STORES) this.i32[seq] = this.i32[seq]! + 1;
    else Atomics.add(this.i32, seq, 1);
  }

  /**
   * Wakes the getOrCompute waiters of a stripe (single-flight.ts: a flight of it ended, one way
   * or another). seq-cst RMW then notify: a waiter that read the old value before parking is
   * either woken or finds the word moved when it parks.
   */
  wakeFlightWaiters(stripe: number): void {
    const word = this.stripeWord(stripe, STRIPE.FLIGHT);
    Atomics.add(this.i32, word, 1);
    Atomics.notify(this.i32, word);
  }

  // ---- structure --------------------------------------------------------------------------------

  /** Entries now. Atomics.load: read without the structure mutex by `size` and the bounds checks. */
  get size(): number {
    return Atomics.load(this.i32, GLOBAL.SIZE);
  }

  get bytes(): number {
    return Atomics.load(this.i32, GLOBAL.BYTES);
  }

  /** @guardedBy structure-mutex (an RMW all the same: readers of `bytes` take no lock) */
  addBytes(delta: number): void {
    Atomics.add(this.i32, GLOBAL.BYTES, delta);
  }

  /**
   * Takes a free slot and makes it the newest entry of the eviction queue. A slot is free (the
   * caller made room: size < maxEntries).
   * @guardedBy stripe(k), structure-mutex
   */
  allocSlot(): Slot {
    const i32 = this.i32;
    const slot = slotOf(i32[GLOBAL.FREE_SLOT]! as Link);
    const w = this.slotWord(slot);
    this.beginSlotChange(slot); // the caller ends the change once the entry is filled and linked
    i32[GLOBAL.FREE_SLOT] = i32[w + SLOT.NEXT]!;
    i32[w + SLOT.NEXT] = NO_LINK;
    i32[w + SLOT.FLAGS] = FLAG_LIVE;
    this.queue.push(slot);
    Atomics.add(i32, GLOBAL.SIZE, 1); // an RMW for the lock-free readers of `size`
    this.stats.bump(Counter.inserts);
    return slot;
  }

  /**
   * Returns a slot (already unlinked from its bucket) and its chunks, and counts the removal in
   * `removal` (one of stats.ts REMOVALS), with the size.
   * @guardedBy stripe(k) write-section, structure-mutex
   */
  freeSlot(slot: Slot, removal: number): void {
    const i32 = this.i32;
    const w = this.slotWord(slot);
    this.queue.unlink(slot);
    this.freeChunks(i32[w + SLOT.CHUNK]! as ChunkLink);
    this.addBytes(-this.bytesOf(slot));
    this.clearRecord(slot);
    i32[w + SLOT.NEXT] = i32[GLOBAL.FREE_SLOT]!;
    i32[GLOBAL.FREE_SLOT] = linkOf(slot);
    Atomics.sub(i32, GLOBAL.SIZE, 1);
    this.stats.bump(removal);
  }

  /**
   * Resets a slot's record to free: no chain, no lengths, not live, a new generation, no change
   * in progress. The caller has already given its chunks back (or is rebuilding the chunk list).
   * @guardedBy structure-mutex
   */
  clearRecord(slot: Slot): void {
    const i32 = this.i32;
    const w = this.slotWord(slot);
    i32[w + SLOT.CHUNK] = NO_CHUNK;
    i32[w + SLOT.CHUNKS] = 0;
    i32[w + SLOT.KEY_LEN] = 0;
    i32[w + SLOT.VALUE_LEN] = 0;
    // A lock-free reader's late Atomics.or may still set VISITED on the free slot: harmless,
    // allocSlot overwrites the flags.
    i32[w + SLOT.FLAGS] = 0;
    this.#bumpVersion(w);
    i32[w + SLOT.GENERATION]!++;
    this.endSlotChange(slot);
  }

  /**
   * Marks a slot as being changed by this thread (layout.ts SLOT.IN_FLUX holds its tag, so
   * recovery drops only what the dead thread was changing). A plain store is enough: only the
   * holder of the slot's stripe mutex writes the word, and crash recovery reads it only after
   * taking over that mutex from the dead holder (the CAS orders it after every store the dead
   * thread made).
   * @guardedBy stripe(k)
   */
  beginSlotChange(slot: Slot): void {
    this.i32[this.slotWord(slot) + SLOT.IN_FLUX] = SELF_TAG;
  }

  /** @guardedBy stripe(k) */
  endSlotChange(slot: Slot): void {
    this.i32[this.slotWord(slot) + SLOT.IN_FLUX] = 0;
  }

  /** Takes `count` chunks (the byte budget guarantees they exist). Returns the first. @guardedBy structure-mutex */
  allocChunks(count: number): ChunkLink {
    const i32 = this.i32;
    // The byte budget makes this impossible (layout.ts); fail loudly rather than corrupt memory if it ever is not.
    if (i32[GLOBAL.FREE_CHUNKS]! < count)
      throw new Error(`sabre: chunk pool exhausted (${i32[GLOBAL.FREE_CHUNKS]} free, ${count} needed): an internal invariant is broken`);
    const head = i32[GLOBAL.FREE_CHUNK]! as ChunkLink;
    let last = head;
    for (let i = 1; i < count; i++) last = i32[this.chunkWord(last)]! as ChunkLink;
    i32[GLOBAL.FREE_CHUNK] = i32[this.chunkWord(last)]!;
    i32[this.chunkWord(last)] = NO_CHUNK;
    i32[GLOBAL.FREE_CHUNKS]! -= count;
    return head;
  }

  /** Returns a chain of chunks to the free list. @guardedBy structure-mutex */
  freeChunks(head: ChunkLink): void {
    if (head === NO_CHUNK) return;
    const i32 = this.i32;
    let count = 1;
    let last = head;
    for (let next = i32[this.chunkWord(last)]! as ChunkLink; next !== NO_CHUNK; next = i32[this.chunkWord(last)]! as ChunkLink) {
      last = next;
      count++;
    }
    i32[this.chunkWord(last)] = i32[GLOBAL.FREE_CHUNK]!;
    i32[GLOBAL.FREE_CHUNK] = head;
    i32[GLOBAL.FREE_CHUNKS]! += count;
  }

  /**
   * Gives `slot` a fresh chain for `key` + `value` (old chain freed first) and records lengths and tag.
   * @guardedBy stripe(k) write-section, structure-mutex
   */
  fill(slot: Slot, key: Uint8Array, tag: number, value: Uint8Array, valueLength: number, expiry: number): void {
    const i32 = this.i32;
    const w = this.slotWord(slot);
    const oldBytes = this.bytesOf(slot);
    const count = chunksFor(key.length + valueLength);
    if (i32[w + SLOT.CHUNKS] !== count) {
      this.freeChunks(i32[w + SLOT.CHUNK]! as ChunkLink);
      i32[w + SLOT.CHUNK] = this.allocChunks(count);
      i32[w + SLOT.CHUNKS] = count;
    }
    i32[w + SLOT.KEY_LEN] = key.length;
    i32[w + SLOT.VALUE_LEN] = valueLength;
    i32[w + SLOT.TAG] = tag;
    this.setExpiry(slot, expiry);
    this.#moveChain(slot, 0, key.length, key, false);
    this.#moveChain(slot, key.length, valueLength, value, false);
    this.addBytes(key.length + valueLength - oldBytes);
  }

  /**
   * Rewrites the value of `slot` in its current chain (the same length: see fitsInPlace); the key stays.
   * @guardedBy stripe(k) write-section
   */
  overwrite(slot: Slot, tag: number, value: Uint8Array, valueLength: number, expiry: number): void {
    const w = this.slotWord(slot);
    this.beginSlotChange(slot);
    this.i32[w + SLOT.TAG] = tag;
    this.setExpiry(slot, expiry);
    faultPoint('put:in-place');
    this.#moveChain(slot, this.i32[w + SLOT.KEY_LEN]!, valueLength, value, false);
    this.endSlotChange(slot);
  }

  /**
   * set()'s common case whole, in one flat function (writer.ts setInPlace): take the stripe
   * mutex by its fast path (unless `locked`: the caller already waited for it), check in one
   * read of the slot's line that `slot` still holds the entry this thread found there under
   * `generation` (see stillHolds), live, a value (not a getOrCompute placeholder) of `length`
   * bytes, not expired; if so rewrite tag, expiry and value in place inside the stripe's write
   * section; release (unless `locked`). {@link IN_PLACE_BUSY}, having done nothing, when the
   * stripe mutex is taken: the caller then waits for it like any write and calls again with
   * `locked`. `expiry[0]` is the new absolute expiry (a typed array: a double passed to a call
   * that is not inlined is boxed, one allocation per set).
   *
   * Why one function: the fast path is memory-bound, and as a chain of small calls (lockStripe,
   * the Mutex, the slot check, the rewrite, unlock), each compiled on its own because TurboFan's
   * inlining budget ran out, the calls and their argument checks cost a third of a set's
   * instructions (DESIGN.md, "The cost of a set"). Nothing here throws in practice (typed-array
   * accesses, the clock; a fault point ends the thread), but a call can still overflow the stack,
   * so the section is closed and the mutex released in `finally` blocks, as every write does.
   *
   * The writes keep overwrite's order, and the seqlock marks are the same stores as
   * beginWrite/endWrite's (see PLAIN_SEQLOCK_STORES): odd mark, IN_FLUX, tag, VERSION, expiry,
   * value, IN_FLUX cleared, even mark. `valueWords`, if given, views the same bytes as `value`
   * as Int32 words (from `value`'s first byte, in the platform's byte order like the shared
   * memory). A value that fits the first chunk after the key (every short one) is copied with
   * one loop and no chain walk.
   */
  rewriteIfHeld(
    stripe: number,
    slot: Slot,
    generation: number,
    tag: number,
    value: Uint8Array,
    valueWords: Int32Array | null,
    length: number,
    expiry: Float64Array,
    time: CacheTime,
    locked: boolean,
  ): InPlaceOutcome {
    const i32 = this.i32;
    const lockWord = this.stripeWord(stripe, MUTEX_STATE_WORD); // the stripe mutex sits at the start of the stripe's line
    if (!locked && !tryAcquireWord(i32, lockWord)) return IN_PLACE_BUSY;
    // @guardedBy stripe(k) from here on
    const w = this.slotWord(slot);
    const expiryIndex = this.#slotF64Base + slot * (SLOT_WORDS / 2) + SLOT.EXPIRY_F64;
    let held = false;
    try {
      held =
        i32[w + SLOT.GENERATION] === generation &&
        (i32[w + SLOT.FLAGS]! & FLAG_LIVE) !== 0 &&
        i32[w + SLOT.TAG] !== Tag.PENDING &&
        i32[w + SLOT.VALUE_LEN] === length;
      if (held) {
        const old = this.f64[expiryIndex]!;
        held = old === Infinity || time.live(old);
      }
      if (held) {
        faultPoint('write:locked');
        this.beginWrite(stripe);
        try {
          i32[w + SLOT.IN_FLUX] = SELF_TAG; // beginSlotChange
          i32[w + SLOT.TAG] = tag;
          i32[w + SLOT.VERSION] = (i32[w + SLOT.VERSION]! + 1) | 0; // #bumpVersion: a reader that remembers the old value drops it
          this.f64[expiryIndex] = expiry[0]!;
          faultPoint('put:in-place');
          const keyLength = i32[w + SLOT.KEY_LEN]!;
          if (keyLength + length <= CHUNK_PAYLOAD) {
            // The whole value is in the first chunk, right after the key (under the lock the chain is sane).
            const u8 = this.u8;
            const base = ((this.chunkWord(i32[w + SLOT.CHUNK]! as ChunkLink) + 1) << 2) + keyLength;
            let i = 0;
            if (valueWords !== null && (keyLength & 3) === 0) {
              // Word-aligned in the chunk (a key of a multiple of 4 bytes): whole words first, a
              // quarter of the bounds and map checks of a byte loop; the last 1-3 bytes below.
              const at = base >> 2;
              const whole = length >> 2;
              for (let j = 0; j < whole; j++) i32[at + j] = valueWords[j]!;
              i = whole << 2;
            }
            for (; i < length; i++) u8[base + i] = value[i]!;
          } else this.#moveChain(slot, keyLength, length, value, false);
          i32[w + SLOT.IN_FLUX] = 0; // endSlotChange
        } finally {
          this.endWrite(stripe);
        }
      }
    } finally {
      // The release's fast path, or (a waiter announced itself) the mutex's own unlock, which wakes it.
      if (!locked && !releaseWordFast(i32, lockWord)) this.stripeLocks[stripe]!.unlock();
    }
    if (!held) return IN_PLACE_NOT_HELD;
    this.stats.bump(Counter.sets);
    return IN_PLACE_DONE;
  }

  /**
   * Whether the value can be rewritten in place: the same length. Any change of length goes
   * through the structure mutex, so the byte counter changes only under it: crash recovery,
   * which holds that mutex, can then recount it exactly while other stripes keep working.
   */
  fitsInPlace(slot: Slot, valueLength: number): boolean {
    return valueLength === this.i32[this.slotWord(slot) + SLOT.VALUE_LEN]!;
  }

  /** Links a filled slot at the head of its bucket chain. @guardedBy stripe(k) write-section */
  linkIntoBucket(slot: Slot, bucket: number, hash: number): void {
    const w = this.slotWord(slot);
    this.i32[w + SLOT.HASH] = hash >> 0;
    this.i32[w + SLOT.NEXT] = this.i32[this.bucketWord(bucket)]!;
    this.i32[this.bucketWord(bucket)] = linkOf(slot);
  }

  /** Unlinks a slot from its bucket chain. @guardedBy stripe(k) write-section */
  unlinkFromBucket(slot: Slot): void {
    const i32 = this.i32;
    const w = this.slotWord(slot);
    const target = linkOf(slot);
    let at = this.bucketWord(this.bucketOfSlot(slot));
    for (let link = this.linkAt(at); link !== NO_LINK; link = this.linkAt(at)) {
      if (link === target) {
        i32[at] = i32[w + SLOT.NEXT]!;
        return;
      }
      at = this.slotWord(slotOf(link)) + SLOT.NEXT;
    }
  }

  /** The live slots of a stripe, bucket by bucket. @guardedBy stripe(k) */
  slotsOfStripe(stripe: number): Slot[] {
    const slots: Slot[] = [];
    const { buckets, stripes } = this.shape;
    for (let bucket = stripe; bucket < buckets; bucket += stripes) {
      for (let link = this.linkAt(this.bucketWord(bucket)); link !== NO_LINK; link = this.linkAt(this.slotWord(slotOf(link)) + SLOT.NEXT))
        slots.push(slotOf(link));
    }
    return slots;
  }
}
