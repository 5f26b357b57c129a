/**
 * The integrity oracle: checks every shared structure against every other, and the entry
 * accounting against the size. The dual of recovery.ts, beside it: recovery rebuilds from the
 * live records exactly what this checks (bucket chains, the eviction queue, the free lists, the
 * byte count, `size = inserts - removals`), so a structure added to one belongs in the other.
 *
 * The caller holds every stripe mutex and the structure mutex (`@guardedBy every stripe,
 * structure-mutex`): nothing can change under the check. Every walk is bounded, so a corrupt
 * structure is reported, never looped on.
 */
import { CHUNK_PAYLOAD, type ChunkLink, GLOBAL, type Link, NO_CHUNK, NO_LINK, SLOT, type Slot, chunkOf, slotOf } from './layout.js';
import type { Store } from './store.js';

/** What is inconsistent in the cache's memory; empty when it is consistent. */
export function integrityProblems(store: Store): string[] {
  const problems: string[] = [];
  const inBuckets = checkBuckets(store, problems);
  checkQueue(store, inBuckets, problems);
  checkFreeSlots(store, inBuckets, problems);
  checkChunks(store, inBuckets, problems);
  const { maxEntries, maxBytes, stripes } = store.shape;
  if (store.size > maxEntries || store.bytes > maxBytes) problems.push('a bound is exceeded');
  const accounted = store.stats.accountedSize();
  if (accounted !== store.size) problems.push(`size is ${store.size}, but inserts - removals (stats) is ${accounted}`);
  for (let stripe = 0; stripe < stripes; stripe++)
    if ((store.i32[store.seqWord(stripe)]! & 1) !== 0) problems.push(`stripe ${stripe} has a write section open`);
  return problems;
}

/** Whether a stored link names a slot. */
function inRange(store: Store, link: Link): boolean {
  return link >= 1 && link <= store.shape.maxEntries;
}

/** Bucket chains: every entry once, live, in the bucket its hash names. Returns the entries. */
function checkBuckets(store: Store, problems: string[]): Set<Slot> {
  const { maxEntries, buckets } = store.shape;
  const inBuckets = new Set<Slot>();
  for (let bucket = 0; bucket < buckets; bucket++) {
    let steps = 0;
    for (let link = store.linkAt(store.bucketWord(bucket)); link !== NO_LINK; link = store.linkAt(store.slotWord(slotOf(link)) + SLOT.NEXT), steps++) {
      if (!inRange(store, link) || steps > maxEntries) {
        problems.push(`bucket ${bucket}: chain leaves the slot range or loops`);
        break;
      }
      const slot = slotOf(link);
      if (inBuckets.has(slot)) problems.push(`slot ${slot} is linked twice in the index`);
      inBuckets.add(slot);
      if (!store.isLive(slot)) problems.push(`slot ${slot} is in bucket ${bucket} but not live`);
      if (store.bucketOfSlot(slot) !== bucket) problems.push(`slot ${slot} is in bucket ${bucket} but hashes to ${store.bucketOfSlot(slot)}`);
    }
  }
  if (store.size !== inBuckets.size) problems.push(`size says ${store.size}, the index holds ${inBuckets.size}`);
  return inBuckets;
}

/** The eviction queue: the same entries as the index, linked both ways. */
function checkQueue(store: Store, inBuckets: ReadonlySet<Slot>, problems: string[]): void {
  const i32 = store.i32;
  const queued = new Set<Slot>();
  let previous = NO_LINK;
  for (let link = i32[GLOBAL.LIST_TAIL]! as Link; link !== NO_LINK; link = store.linkAt(store.slotWord(slotOf(link)) + SLOT.NEWER)) {
    if (!inRange(store, link) || queued.has(slotOf(link))) {
      problems.push('the eviction queue leaves the slot range or loops');
      break;
    }
    const slot = slotOf(link);
    queued.add(slot);
    if (i32[store.slotWord(slot) + SLOT.PREV] !== previous) problems.push(`slot ${slot}: its older link does not point back`);
    previous = link;
  }
  if (i32[GLOBAL.LIST_HEAD] !== previous) problems.push('the queue head is not the newest entry');
  if (queued.size !== inBuckets.size || [...queued].some((slot) => !inBuckets.has(slot))) problems.push('the queue and the index hold different entries');
}

/** Free slots: the rest, none live. */
function checkFreeSlots(store: Store, inBuckets: ReadonlySet<Slot>, problems: string[]): void {
  const { maxEntries } = store.shape;
  let freeSlots = 0;
  for (let link = store.linkAt(GLOBAL.FREE_SLOT); link !== NO_LINK && freeSlots <= maxEntries; link = store.linkAt(store.slotWord(slotOf(link)) + SLOT.NEXT)) {
    if (!inRange(store, link)) {
      problems.push('the free slot list leaves the slot range');
      break;
    }
    if (store.isLive(slotOf(link))) problems.push(`slot ${slotOf(link)} is free and live`);
    freeSlots++;
  }
  if (freeSlots + inBuckets.size !== maxEntries) problems.push(`${inBuckets.size} live + ${freeSlots} free slots != ${maxEntries}`);
}

/** Chunks: each live chain has its recorded count, no chunk is used twice, the rest is free; the byte count adds up. */
function checkChunks(store: Store, inBuckets: ReadonlySet<Slot>, problems: string[]): void {
  const i32 = store.i32;
  const { chunks } = store.shape;
  const used = new Uint8Array(chunks);
  let bytes = 0;
  for (const slot of inBuckets) {
    const w = store.slotWord(slot);
    bytes += store.bytesOf(slot);
    let count = 0;
    for (let link = i32[w + SLOT.CHUNK]! as ChunkLink; link !== NO_CHUNK && count <= chunks; link = i32[store.chunkWord(link)]! as ChunkLink, count++) {
      if (link < 1 || link > chunks || used[chunkOf(link)] === 1) {
        problems.push(`slot ${slot}: chunk ${chunkOf(link)} out of range or shared`);
        break;
      }
      used[chunkOf(link)] = 1;
    }
    if (count !== i32[w + SLOT.CHUNKS]) problems.push(`slot ${slot}: ${count} chunks in its chain, ${i32[w + SLOT.CHUNKS]} recorded`);
    if (count * CHUNK_PAYLOAD < store.bytesOf(slot)) problems.push(`slot ${slot}: its chain is too short for its bytes`);
  }
  let freeChunks = 0;
  for (let link = i32[GLOBAL.FREE_CHUNK]! as ChunkLink; link !== NO_CHUNK && freeChunks <= chunks; link = i32[store.chunkWord(link)]! as ChunkLink) {
    if (link < 1 || link > chunks) {
      problems.push('the free chunk list leaves the chunk range');
      break;
    }
    if (used[chunkOf(link)] === 1) problems.push(`chunk ${chunkOf(link)} is both free and used`);
    freeChunks++;
  }
  const usedChunks = used.reduce((sum, u) => sum + u, 0);
  if (freeChunks !== i32[GLOBAL.FREE_CHUNKS]) problems.push(`${freeChunks} chunks on the free list, ${i32[GLOBAL.FREE_CHUNKS]} counted`);
  if (freeChunks + usedChunks !== chunks) problems.push(`${usedChunks} used + ${freeChunks} free chunks != ${chunks}`);
  if (store.bytes !== bytes) problems.push(`bytes says ${store.bytes}, the entries hold ${bytes}`);
}
