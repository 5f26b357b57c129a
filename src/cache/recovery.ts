/**
 * Crash recovery: repairs a SharedCache after a thread died holding some of its locks.
 *
 * What a dead thread can leave behind, and why rebuilding is exact:
 *
 * - A thread changes an entry's record or chunks only while it holds the entry's stripe mutex,
 *   and marks the slot with its tag in SLOT.IN_FLUX (layout.ts) for the whole change: allocation,
 *   filling, in-place rewrite, removal. So the slots the dead thread was changing are exactly the
 *   slots that carry its tag. They are dropped: an interrupted write is rolled back to absent
 *   (never half-applied) and an interrupted removal is completed.
 * - Accounting (stats.ts REMOVALS): every entry is counted once when it is inserted and once when
 *   it is removed, both under the structure mutex, so `inserts - removals` is the size whenever
 *   that mutex is free. A thread that died holding it may have counted half a step (an insert
 *   whose slot is now dropped, a removal it freed but did not count). Rather than guess which,
 *   recovery counts as 'recovery' evictions exactly the entries the counters still account for
 *   and that are no longer there: `(inserts - removals) - live`. An insert that died before it was
 *   counted is then no entry at all, and every other loss is counted: none is silent.
 * - Everything shared between stripes (free lists, eviction queue, size and byte counters) is
 *   written only under the structure mutex. Chunk chains and the LIVE flag change only under it
 *   too (an in-place rewrite keeps the value's length and chain). Recovery holds that mutex, so
 *   it can rebuild all of these from the live records while threads that hold other stripes go
 *   on rewriting values in place: nothing it reads can change under it.
 * - Bucket chains change only under their stripe's mutex (and the structure mutex). Recovery
 *   rebuilds the chains of the stripes the dead thread held; every other chain is intact.
 *
 * The caller (SharedCache) holds the structure mutex and has adopted every stripe mutex the dead
 * thread held. It never waits for a live thread while holding them (structure holders only
 * tryLock stripes), so recovery cannot deadlock.
 *
 * Its dual, the integrity oracle that checks what this rebuilds, is integrity.ts.
 */
import { adoptFromDeadHolder } from '../shared/holder.js';
import { wakeAll } from '../shared/wait.js';
import type { CacheLocks } from './cache-locks.js';
import { Counter } from './stats.js';
import type { CacheRecovery } from './types.js';
import { type ChunkLink, GLOBAL, NO_CHUNK, STRIPE, NO_LINK, SLOT, type Slot, chunkOf, linkOf, slotOf } from './layout.js';
import type { Store } from './store.js';

/** What one recovery did. */
export interface RepairSummary {
  /** Entries lost: the dead thread's interrupted changes (counted as 'recovery' evictions). */
  readonly droppedEntries: number;
}

/**
 * Rebuilds the shared structures after the death of the thread tagged `deadTag` (the write
 * sections of `deadStripes` may be open).
 * @guardedBy stripe(s) for every s in deadStripes (adopted from the dead thread), structure-mutex
 */
export function repairAfterDeath(store: Store, deadTag: number, deadStripes: readonly number[]): RepairSummary {
  openWriteSections(store, deadStripes);
  dropSlotsInFlux(store, deadTag);
  const live = liveSlots(store);
  const droppedEntries = Math.max(0, store.stats.accountedSize() - live.length);
  if (droppedEntries > 0) store.stats.add(Counter.evictedRecovery, droppedEntries);
  relinkBuckets(store, deadStripes, live);
  relinkQueue(store, live);
  relinkFreeSlots(store);
  relinkFreeChunks(store, live);
  closeWriteSections(store, deadStripes);
  return { droppedEntries };
}

/** Resets every slot the dead thread was changing to free. */
function dropSlotsInFlux(store: Store, deadTag: number): void {
  for (let slot = 0 as Slot; slot < store.shape.maxEntries; slot++) {
    // its chunks return with the rebuilt chunk list
    if (store.i32[store.slotWord(slot) + SLOT.IN_FLUX] === deadTag) store.clearRecord(slot);
  }
}

function liveSlots(store: Store): Slot[] {
  const live: Slot[] = [];
  for (let slot = 0 as Slot; slot < store.shape.maxEntries; slot++) if (store.isLive(slot)) live.push(slot);
  return live;
}

/** Empties the buckets of the dead thread's stripes and links their live entries back in. */
function relinkBuckets(store: Store, deadStripes: readonly number[], live: readonly Slot[]): void {
  const i32 = store.i32;
  const dead = new Set(deadStripes);
  for (let bucket = 0; bucket < store.shape.buckets; bucket++) {
    if (dead.has(store.stripeOf(bucket))) i32[store.bucketWord(bucket)] = NO_LINK;
  }
  for (const slot of live) {
    if (dead.has(store.stripeOfSlot(slot))) store.linkIntoBucket(slot, store.bucketOfSlot(slot), i32[store.slotWord(slot) + SLOT.HASH]!);
  }
}

/** The eviction queue, oldest first by insertion number (CLOCK renumbers a second chance, so this keeps its order too). */
function relinkQueue(store: Store, live: readonly Slot[]): void {
  const i32 = store.i32;
  const order = [...live].sort((a, b) => i32[store.slotWord(a) + SLOT.INSERTED]! - i32[store.slotWord(b) + SLOT.INSERTED]!);
  let older = NO_LINK;
  for (const slot of order) {
    const w = store.slotWord(slot);
    i32[w + SLOT.PREV] = older;
    i32[w + SLOT.NEWER] = NO_LINK;
    if (older !== NO_LINK) i32[store.slotWord(slotOf(older)) + SLOT.NEWER] = linkOf(slot);
    older = linkOf(slot);
  }
  i32[GLOBAL.LIST_TAIL] = order.length > 0 ? linkOf(order[0]!) : NO_LINK;
  i32[GLOBAL.LIST_HEAD] = older;
  i32[GLOBAL.HAND] = NO_LINK;
  i32[GLOBAL.SWEEP] = NO_LINK;
  Atomics.store(i32, GLOBAL.SIZE, order.length);
}

function relinkFreeSlots(store: Store): void {
  const i32 = store.i32;
  let head = NO_LINK;
  for (let slot = (store.shape.maxEntries - 1) as Slot; slot >= 0; slot--) {
    if (store.isLive(slot)) continue;
    i32[store.slotWord(slot) + SLOT.NEXT] = head;
    head = linkOf(slot);
  }
  i32[GLOBAL.FREE_SLOT] = head;
}

/** Marks the chunks of live chains as used, puts every other chunk on the free list, and recounts the bytes. */
function relinkFreeChunks(store: Store, live: readonly Slot[]): void {
  const i32 = store.i32;
  const chunks = store.shape.chunks;
  const used = new Uint8Array(chunks);
  let bytes = 0;
  for (const slot of live) {
    const w = store.slotWord(slot);
    bytes += store.bytesOf(slot);
    let link = i32[w + SLOT.CHUNK]! as ChunkLink;
    for (let n = 0; link !== NO_CHUNK && n < i32[w + SLOT.CHUNKS]!; n++) {
      used[chunkOf(link)] = 1;
      link = i32[store.chunkWord(link)]! as ChunkLink;
    }
  }
  let head = NO_CHUNK;
  let free = 0;
  for (let link = chunks as ChunkLink; link >= 1; link--) {
    if (used[chunkOf(link)] === 1) continue;
    i32[store.chunkWord(link)] = head;
    head = link;
    free++;
  }
  i32[GLOBAL.FREE_CHUNK] = head;
  i32[GLOBAL.FREE_CHUNKS] = free;
  Atomics.store(i32, GLOBAL.BYTES, bytes);
}

/**
 * Makes sure the dead thread's stripes are in a write section (odd seqlock word) while they are
 * repaired: it may have held a stripe without writing (a locked read, a snapshot), and lock-free
 * readers must not trust what they read while the chains are relinked.
 */
function openWriteSections(store: Store, deadStripes: readonly number[]): void {
  for (const stripe of deadStripes) {
    const seq = store.seqWord(stripe);
    // seq-cst RMW: orders the odd mark before every repair write.
    if ((Atomics.load(store.i32, seq) & 1) === 0) Atomics.add(store.i32, seq, 1);
  }
}

/**
 * Closes the write sections and moves every one of its stripes' seqlock words
 * on (to the next even value), so that a lock-free reader that started before the repair and a
 * thread remembering a value read before it both look again. Then wakes getOrCompute waiters of
 * those stripes: a flight marker they wait on may have been dropped.
 */
function closeWriteSections(store: Store, deadStripes: readonly number[]): void {
  const i32 = store.i32;
  for (const stripe of deadStripes) {
    const seq = store.seqWord(stripe);
    // seq-cst RMW (odd to even): every repair write above is ordered before the even mark.
    Atomics.add(i32, seq, 1);
    store.wakeFlightWaiters(stripe);
  }
}

/**
 * SharedCache.recoverDeadThread: takes over the locks the dead thread `threadId` held, repairs
 * what they guarded ({@link repairAfterDeath}), frees its counter block, ends its getOrCompute
 * flights (`endFlightsOf`, single-flight.ts) and wakes every thread parked on the cache.
 */
export function recoverThread(store: Store, locks: CacheLocks, threadId: number, endFlightsOf: (owner: number) => number): CacheRecovery | null {
  const structure = store.structure;
  // The structure mutex first (waiting, bounded, only if the dead thread does not hold it),
  // then the dead thread's stripes, which are taken over without waiting: a timeout leaves
  // nothing taken, and the out-of-order acquisition cannot deadlock since it never waits.
  const heldStructure = structure[adoptFromDeadHolder](threadId);
  if (!heldStructure) locks.lockStructure();
  const held: number[] = [];
  let droppedEntries = 0;
  try {
    store.stripeLocks.forEach((lock, stripe) => {
      if (lock[adoptFromDeadHolder](threadId)) held.push(stripe);
    });
    if (heldStructure || held.length > 0) droppedEntries = repairAfterDeath(store, threadId + 1, held).droppedEntries;
  } finally {
    locks.unlockStructure();
    for (const stripe of held) locks.unlockStripe(stripe);
  }
  // Its counter block goes to a thread to come (its counts stay).
  store.stats.releaseBlockOf(threadId + 1);
  const abandonedFlights = endFlightsOf(threadId + 1);
  // A wake-up the dead thread took with it (it was being woken when it died) is sent again.
  for (const lock of [structure, ...store.stripeLocks]) lock.recoverDeadThread(threadId);
  wakeAll(
    store.i32,
    Array.from({ length: store.shape.stripes }, (_, stripe) => store.stripeWord(stripe, STRIPE.FLIGHT)),
  );
  if (!heldStructure && held.length === 0 && abandonedFlights === 0) return null;
  return { threadId, stripes: held.length, structure: heldStructure, droppedEntries, abandonedFlights };
}
