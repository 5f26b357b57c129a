/**
 * The write protocol: how a write takes its locks, changes the memory (store.ts) and evicts.
 *
 * - A write locks the key's stripe (`@guardedBy stripe(k)`) and opens the stripe's write section
 *   (odd seqlock word) at its first change, never before: a write that changes nothing (a failed
 *   compare-and-set, a refused increment) leaves even the seqlock word as it was.
 * - Rewriting a value in place (the same length) needs nothing more. Anything that changes the
 *   size, the bytes or the eviction queue also takes the structure mutex (`@guardedBy
 *   structure-mutex`): it evicts *before* inserting, in a loop, under the same lock as the
 *   insert, so `size <= maxEntries` and `bytes <= maxBytes` hold at every instant.
 * - Victims in other stripes are claimed with tryLock (lock order: stripe, then structure, then
 *   only tryLock), so eviction never deadlocks; a busy victim is skipped for the next candidate.
 *   If every candidate is busy the write is retried from scratch (Busy), locks released.
 * - Every lock a write needs is taken before its first change, so a write that gives up (a lock
 *   timeout, a refusal) has changed nothing.
 * - Every slot a write changes carries the writer's tag while it changes (SLOT.IN_FLUX), so if
 *   the writer dies the coordinator can repair the cache exactly (recovery.ts).
 * - User code (onEvict listeners) never runs under a lock: evictions are collected and reported
 *   once the write has released everything. Eviction itself is evictor.ts's.
 *
 * What one set costs, step by step: an overwrite of the same size from a worker, each step timed
 * alone by bench/support/set-steps.ts (best of 5 × 1,000,000; a loaded 2-vCPU host, so read the
 * rows against each other; DESIGN.md "The cost of a set" has the whole table):
 *
 *   step                                   before               after
 *   key preparation (Map lookup)            44 ns                44 ns
 *   encode the value                        82 ns (allocates)    51 ns (stage: scratch)
 *   find the entry                         111 ns (bucket walk)  39 ns (remembered slot)
 *   read options + expiry                   37 ns                 0 (no options: skipped)
 *   stripe lock + unlock (2 CAS)            29 ns                29 ns
 *   seqlock marks                           25 ns (2 RMW)        11 ns (2 plain stores, x86)
 *   counter                                 35 ns (RMW)          14 ns (own block, plain)
 *   record update + value copy             119 ns               119 ns (slot + chunk lines)
 *   whole set (lru-cache set: ~125 ns)   1,919 ns               542 ns
 *
 * Only the two CASes of the stripe mutex are atomic read-modify-writes now. A second pass
 * (DESIGN.md "Instructions, not nanoseconds") counted instructions with callgrind instead of
 * timing on a host too loaded to time: 2,755 per set on main, 1,924 now (lru-cache's set: 497),
 * by making the in-place path two flat store functions that TurboFan compiles whole, instead of
 * a dozen small calls that used up its inlining budget. A third pass made it one
 * (store.rewriteIfHeld: the stripe mutex's CAS fast paths, the slot check and the rewrite;
 * the expiry in a typed array, not a boxed double) and moved set's slow path out of its code:
 * 1,762 (DESIGN.md "The set, third pass"). What is left is memory (the prepared key, the value
 * string, the slot's line and the chunk's line) and the two CAS builtins (about 120
 * instructions each: V8 does not inline them).
 */
import { IllegalStateError, InvalidArgumentError, MemoryLimitError } from '../errors.js';
import { faultPoint } from '../shared/fault-points.js';
import type { CacheLocks } from './cache-locks.js';
import type { CacheTime } from './clock.js';
import { type Encoded, Tag, decodeValue, encodeSmallInto, encodeValue, sameEncoding } from './codec.js';
import { Busy, Evictor } from './evictor.js';
import { HEADER, NO_SLOT, type NoSlot, type Slot } from './layout.js';
import type { KeyRef } from './reader.js';
import { Counter } from './stats.js';
import { INCONSISTENT, IN_PLACE_BUSY, IN_PLACE_NOT_HELD, type InPlaceOutcome, type Store } from './store.js';
import type { EvictionListener } from './types.js';

/** Attempts of a write whose eviction found every candidate busy. */
const WRITE_RETRIES = 1_000;
/** What a counter's value takes encoded: a float64, or an int64 bigint. */
export const COUNTER_BYTES = 8;

/**
 * A value ready to store: its tag and its bytes, `bytes[0..length)`. From {@link Writer.stage}
 * the bytes are the writer's scratch, valid until its next stage: stage last, right before the
 * write that stores it (nothing in between runs user code).
 */
export interface Staged {
  readonly tag: number;
  readonly bytes: Uint8Array;
  readonly length: number;
}

/** A value encoded on its own bytes (safe to keep), as a Staged. */
export function staged(encoded: Encoded): Staged {
  return { tag: encoded.tag, bytes: encoded.bytes, length: encoded.bytes.length };
}

const BACKOFF = new Int32Array(new SharedArrayBuffer(4));

/** The write protocol of one thread over one cache. */
export class Writer<V> {
  readonly #store: Store;
  readonly #locks: CacheLocks;
  readonly #time: CacheTime;
  readonly evictor: Evictor<V>;
  /** Where {@link stage} encodes small values. */
  readonly #scratch = new Uint8Array(64);
  readonly #scratchView = new DataView(this.#scratch.buffer);
  /** The expiry handed to store.rewriteIfHeld: a double argument to a call that is not inlined is boxed (an allocation per set); a typed array element is not. */
  readonly #expiry = new Float64Array(1);
  /** The scratch as words, for copying it into a word-aligned value (store.rewriteIfHeld). */
  readonly #scratchWords = new Int32Array(this.#scratch.buffer);
  /** The stripe whose write section the running write has opened, or -1. */
  #sectionStripe = -1;

  constructor(store: Store, locks: CacheLocks, time: CacheTime, listeners: ReadonlySet<EvictionListener<never>>) {
    this.#store = store;
    this.#locks = locks;
    this.#time = time;
    this.evictor = new Evictor<V>(store, locks, time, this, listeners);
  }

  // ---- values --------------------------------------------------------------------------------

  /** Encodes a value to store under `k` on bytes of its own, refusing (before anything is touched) one the limits can never hold. */
  encode(k: KeyRef, value: unknown): Staged {
    const encoded = encodeValue(value);
    this.#checkValue(k, encoded.bytes.length);
    return staged(encoded);
  }

  /**
   * Like {@link encode}, but a short ASCII string or a number is encoded into this writer's
   * scratch, without allocating (see {@link Staged} for how long it stays valid).
   */
  stage(k: KeyRef, value: unknown): Staged {
    const length = encodeSmallInto(value, this.#scratch, this.#scratchView);
    if (length < 0) return this.encode(k, value);
    this.#checkValue(k, length);
    return { tag: typeof value === 'number' ? Tag.NUMBER : Tag.STRING, bytes: this.#scratch, length };
  }

  #checkValue(k: KeyRef, length: number): void {
    const { maxValueBytes } = this.#store.shape;
    if (length > maxValueBytes) throw new InvalidArgumentError(`value is ${length} bytes encoded; maxValueBytes is ${maxValueBytes}`);
    this.checkFits(k, length);
  }

  /** Refuses up front an entry of `k` and `valueBytes` that could never fit, however much were evicted. */
  checkFits(k: KeyRef, valueBytes: number): void {
    const { maxBytes, maxValueBytes } = this.#store.shape;
    if (valueBytes === COUNTER_BYTES && valueBytes > maxValueBytes) {
      throw new InvalidArgumentError(`a counter takes ${COUNTER_BYTES} bytes; maxValueBytes is ${maxValueBytes}`);
    }
    if (k.length + valueBytes > maxBytes) {
      throw new InvalidArgumentError(`key + value is ${k.length + valueBytes} bytes; maxBytes is ${maxBytes}`);
    }
  }

  /** Whether `slot` holds a getOrCompute placeholder. @guardedBy stripe(k) */
  isMarker(slot: Slot): boolean {
    return this.#store.tagOf(slot) === Tag.PENDING;
  }

  /** Whether the value in `slot` encodes the same value as `want`. @guardedBy stripe(k) */
  holds(slot: Slot, want: Encoded): boolean {
    const copy = this.#store.copyEntry(slot)!;
    return sameEncoding(copy.tag, copy.value, want);
  }

  /** The decoded value in `slot`. @guardedBy stripe(k) */
  valueOf(slot: Slot): unknown {
    const copy = this.#store.copyEntry(slot)!;
    return decodeValue(copy.tag, copy.value);
  }

  // ---- one write ----------------------------------------------------------------------------------

  /**
   * Runs `body` with the key's stripe locked. `body` gets the slot of the key's live entry, or -1
   * (an expired entry is removed first). Every change opens the stripe's write section first
   * ({@link openSection}); it is closed before the lock is released. Retries from scratch if an
   * eviction found every candidate busy. Eviction listeners run after the locks are released.
   */
  write<T>(k: KeyRef, body: (slot: Slot | NoSlot) => T): T {
    for (let attempt = 0; ; attempt++) {
      const contended = this.#locks.lockStripe(k.stripe); // throws having taken nothing
      if (contended) this.#store.stats.bump(Counter.lockContention);
      try {
        faultPoint('write:locked');
        return body(this.#liveSlot(k));
      } catch (error) {
        if (!(error instanceof Busy) || attempt >= WRITE_RETRIES) {
          if (error instanceof Busy) throw new IllegalStateError('SharedCache: could not make room; every eviction candidate stayed busy');
          throw error;
        }
      } finally {
        this.closeSection();
        this.#locks.unlockStripe(k.stripe);
        this.evictor.notifyEvictions();
      }
      // Busy: every candidate's stripe was locked by writers that may be waiting for the structure
      // mutex we just released. Let them finish, then try again.
      Atomics.wait(BACKOFF, 0, 0, 0.05 * Math.min(attempt + 1, 20));
    }
  }

  /**
   * set()'s common case in one piece: a value that {@link stage} would put in the scratch (a
   * short ASCII string, a number), `k`'s entry where this thread last found it, live, not a
   * placeholder, and of that length, so the value is rewritten in place under the stripe lock
   * alone (store.rewriteIfHeld: no closure, no retry loop, no structure mutex, no Staged
   * object). Returns false, having changed nothing, when any of that does not hold: the caller
   * then stages the value and runs the general write. The value limits need no check here: the
   * entry it replaces held a value of the same length under the same key, which passed them.
   */
  setInPlace(k: KeyRef, value: unknown, expiry: number): boolean {
    const slot = k.heldSlot;
    if (slot === NO_SLOT) return false;
    const length = encodeSmallInto(value, this.#scratch, this.#scratchView);
    if (length < 0) return false;
    const tag = typeof value === 'number' ? Tag.NUMBER : Tag.STRING;
    this.#expiry[0] = expiry;
    let outcome = this.#store.rewriteIfHeld(k.stripe, slot, k.heldGeneration, tag, this.#scratch, this.#scratchWords, length, this.#expiry, this.#time, false);
    if (outcome === IN_PLACE_BUSY) outcome = this.#rewriteWaiting(k, slot, tag, length);
    return outcome !== IN_PLACE_NOT_HELD;
  }

  /** {@link setInPlace} when the stripe mutex was taken: waits for it as every write does (bounded; contention counted). */
  #rewriteWaiting(k: KeyRef, slot: Slot, tag: number, length: number): InPlaceOutcome {
    const store = this.#store;
    if (this.#locks.lockStripe(k.stripe)) store.stats.bump(Counter.lockContention);
    try {
      return store.rewriteIfHeld(k.stripe, slot, k.heldGeneration, tag, this.#scratch, this.#scratchWords, length, this.#expiry, this.#time, true);
    } finally {
      this.#locks.unlockStripe(k.stripe);
    }
  }

  /** The slot of `k`'s entry, or NO_SLOT; an expired one is removed first. @guardedBy stripe(k) */
  #liveSlot(k: KeyRef): Slot | NoSlot {
    const store = this.#store;
    let slot = k.heldSlot;
    // The slot this thread last found the key in, if it still holds it: no bucket walk.
    if (slot === NO_SLOT || !store.stillHolds(slot, k.heldGeneration)) {
      const found = store.find(k);
      if (found === NO_SLOT || found === INCONSISTENT) return NO_SLOT; // (never INCONSISTENT under the lock)
      slot = found;
      this.#hold(k, slot);
    }
    if (this.#time.live(store.expiryOf(slot))) return slot;
    const expired = slot;
    this.#locks.withStructure(() => this.evictor.removeClaimed(expired, k.stripe, k.stripe, 'ttl'));
    return NO_SLOT;
  }

  /** Remembers where `k`'s entry is (see #liveSlot). @guardedBy stripe(k) */
  #hold(k: KeyRef, slot: Slot): void {
    k.heldSlot = slot;
    k.heldGeneration = this.#store.generationOf(slot);
  }

  /** Runs `fn` holding `stripe`'s mutex, as a write (its section closed and evictions reported after). */
  inStripe<T>(stripe: number, fn: () => T): T {
    this.#locks.lockStripe(stripe);
    try {
      return fn();
    } finally {
      this.closeSection();
      this.#locks.unlockStripe(stripe);
      this.evictor.notifyEvictions();
    }
  }

  /** Opens `stripe`'s write section (odd seqlock word) unless the running write has already. @guardedBy stripe(k) */
  openSection(stripe: number): void {
    if (this.#sectionStripe === stripe) return;
    this.#store.beginWrite(stripe);
    this.#sectionStripe = stripe;
  }

  /** @guardedBy stripe(k) */
  closeSection(): void {
    if (this.#sectionStripe < 0) return;
    this.#store.endWrite(this.#sectionStripe);
    this.#sectionStripe = -1;
  }

  /** Stores a value (not a flight marker) and counts the set. @guardedBy stripe(k) */
  storeValue(k: KeyRef, slot: Slot | NoSlot, encoded: Staged, expiry: number): void {
    this.put(k, slot, encoded, expiry);
    this.#store.stats.bump(Counter.sets);
  }

  /**
   * Stores the encoded value for `k` in `slot` (or a new slot if -1). Every lock it needs is
   * taken before the first change, so a refusal changes nothing.
   * @guardedBy stripe(k)
   */
  put(k: KeyRef, slot: Slot | NoSlot, encoded: Staged, expiry: number): void {
    const store = this.#store;
    if (slot === NO_SLOT && Atomics.load(store.i32, HEADER.ADMISSION_CLOSED) !== 0) {
      store.stats.bump(Counter.admissionsRefused);
      throw new MemoryLimitError('SharedCache: the memory guard is at its limit and refuses new keys (existing keys can still be updated)');
    }
    const length = encoded.length;
    const endsFlight = slot !== NO_SLOT && this.isMarker(slot) && encoded.tag !== Tag.PENDING;
    if (slot !== NO_SLOT && store.fitsInPlace(slot, length)) {
      this.openSection(k.stripe);
      store.overwrite(slot, encoded.tag, encoded.bytes, length, expiry);
    } else {
      this.#locks.withStructure(() => this.#putStructural(k, slot, encoded, expiry));
    }
    // The value is in: the flight whose placeholder it replaced has ended; wake its waiters.
    if (endsFlight) store.wakeFlightWaiters(k.stripe);
  }

  /** A put that changes the size, the bytes or the queue. @guardedBy stripe(k), structure-mutex */
  #putStructural(k: KeyRef, slot: Slot | NoSlot, encoded: Staged, expiry: number): void {
    const store = this.#store;
    faultPoint('put:structure');
    const oldBytes = slot !== NO_SLOT ? store.bytesOf(slot) : 0;
    this.evictor.makeRoom(k.stripe, slot, slot === NO_SLOT ? 1 : 0, k.length + encoded.length - oldBytes);
    this.openSection(k.stripe);
    // allocSlot marks a new slot as changing; an existing one is marked here. Either way the
    // mark stays until the entry is whole and linked (recovery.ts drops marked slots).
    if (slot !== NO_SLOT) store.beginSlotChange(slot);
    const target = slot !== NO_SLOT ? slot : store.allocSlot();
    faultPoint('put:allocated');
    store.fill(target, k.bytes, encoded.tag, encoded.bytes, encoded.length, expiry);
    faultPoint('put:filled');
    if (slot === NO_SLOT) {
      store.linkIntoBucket(target, k.bucket, k.hash);
      this.#hold(k, target);
    }
    faultPoint('put:linked');
    store.endSlotChange(target);
    this.evictor.afterInsert(k.stripe, target);
  }

  /**
   * Removes an entry of the caller's own stripe (delete, compareAndDelete, an abandoned flight),
   * counted in `removal` (one of stats.ts REMOVALS).
   * @guardedBy stripe(k)
   */
  removeOwn(slot: Slot, removal: number): void {
    const store = this.#store;
    const stripe = store.stripeOfSlot(slot);
    const marker = this.isMarker(slot);
    this.#locks.withStructure(() => {
      this.openSection(stripe);
      store.beginSlotChange(slot);
      store.unlinkFromBucket(slot);
      faultPoint('delete:unlinked');
      store.freeSlot(slot, removal);
    });
    if (marker) store.wakeFlightWaiters(stripe);
  }

  /**
   * Removes every entry, each counted as a delete; wakes the waiters of the flights whose
   * placeholders went (they park until the stripe's flight word moves).
   * @guardedBy every stripe
   */
  removeAll(): void {
    const store = this.#store;
    const stripes = store.shape.stripes;
    const flightStripes = new Set<number>();
    this.#locks.withStructure(() => {
      for (let stripe = 0; stripe < stripes; stripe++) store.beginWrite(stripe);
      try {
        const order = store.queue.order();
        order.forEach((slot, n) => {
          if (n === order.length >> 1) faultPoint('clear:halfway');
          if (this.isMarker(slot)) flightStripes.add(store.stripeOfSlot(slot));
          store.beginSlotChange(slot);
          store.unlinkFromBucket(slot);
          store.freeSlot(slot, Counter.deletes);
        });
      } finally {
        for (let stripe = 0; stripe < stripes; stripe++) store.endWrite(stripe);
      }
    });
    for (const stripe of flightStripes) store.wakeFlightWaiters(stripe);
  }
}
