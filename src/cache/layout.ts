/**
 * The shared-memory layout of a SharedCache: one SharedArrayBuffer, sized at creation.
 *
 *   offset            section          contents
 *   0                 header   (64 B)  magic/kind/version, the configuration (see HEADER)
 *   64                globals  (64 B)  the structure mutex, size, bytes, free lists, SIEVE list ends
 *                                      and hand (see GLOBAL): written only under the structure mutex
 *   128               stats   (S×128+64) 64-bit counters: a block of two 64-byte lines per thread,
 *                                      then a line naming each block's owner (stats.ts)
 *   …                 stripes  (K×64)  per index stripe: its mutex (16 B) and seqlock word
 *   …                 buckets  (B×4)   bucket heads: slot index + 1 of the first entry, 0 = empty
 *   …                 slots    (N×64)  entry records, one 64-byte line each (see SLOT)
 *   …                 flights  (64×1K) outcomes of failed getOrCompute flights (single-flight.ts)
 *   …                 chunks   (C×64)  value storage: word 0 = next chunk + 1, bytes 4..63 payload
 *
 * An entry's key and value bytes are stored back to back in a chain of 64-byte chunks. Every
 * chunk is the same size, so any freed chunk serves any entry: there is no fragmentation, and
 * with C = ceil(maxBytes / 60) + maxEntries chunks an allocation that the byte budget allows
 * can never fail. Sections start on 64-byte boundaries, so no two stripes, stat stripes or slots
 * share a cache line.
 */

export const LINE = 64;
export const CHUNK_BYTES = 64;
export const CHUNK_PAYLOAD = CHUNK_BYTES - 4;
export const SLOT_WORDS = 16;
export const STAT_STRIPES = 16;

/** Header words (Int32 indexes from the start of the buffer). */
export const HEADER = {
  MAGIC: 0,
  MAX_ENTRIES: 1,
  MAX_BYTES: 2,
  BUCKETS: 3,
  STRIPES: 4,
  CHUNKS: 5,
  MAX_KEY_BYTES: 6,
  MAX_VALUE_BYTES: 7,
  POLICY: 8,
  HIGH_WATER: 9,
  LOW_WATER: 10,
  /**
   * Bumped by the eviction hand before it clears visited bits. It lives in the header line, which
   * nothing else writes after creation, so every reader keeps it cached: a thread that saw an
   * entry's visited bit set under an unchanged epoch knows it is still set without reading it.
   */
  HAND_EPOCH: 11,
  /** 1 while a memory guard has closed the cache to new keys (updates of existing keys go on). */
  ADMISSION_CLOSED: 14,
  /** The `lockTimeoutMs` option: the longest wait for an internal lock, in ms; -1 = no bound. */
  LOCK_TIMEOUT_MS: 15,
  /** float64 index (HEADER_TTL_F64): default TTL in ms, Infinity = none. */
  TTL_F64: 6, // Float64Array index 6 = bytes 48..55
} as const;

/** Global words (Int32 indexes from the start of the buffer; line 1). */
export const GLOBAL = {
  /** The structure mutex occupies words 16..19 (Mutex.BYTES = 16). */
  MUTEX_BYTE_OFFSET: 64,
  SIZE: 20,
  BYTES: 21,
  FREE_SLOT: 22, // slot index + 1 of the first free slot
  FREE_CHUNK: 23, // chunk index + 1 of the first free chunk
  FREE_CHUNKS: 24, // free chunks count
  LIST_HEAD: 25, // newest entry (slot + 1)
  LIST_TAIL: 26, // oldest entry (slot + 1)
  HAND: 27, // SIEVE hand (slot + 1), 0 = start at the tail
  INSERTS: 28, // insertion counter
  SWEEP: 29, // TTL sweep cursor (slot + 1), 0 = start at the tail
  FLIGHTS: 30, // getOrCompute flights started so far (flight ids)
} as const;

/** Slot words (relative to the slot's first word). */
export const SLOT = {
  HASH: 0,
  NEXT: 1, // next slot + 1 in the bucket chain (or in the free list)
  FLAGS: 2, // bit 0 VISITED, bit 1 LIVE
  KEY_LEN: 3,
  TAG: 4,
  VALUE_LEN: 5,
  CHUNK: 6, // first chunk + 1
  CHUNKS: 7, // chunks in the chain
  EXPIRY_F64: 4, // float64 index within the slot (bytes 32..39): absolute expiry, Infinity = none
  PREV: 10, // SIEVE list: towards the tail (older), slot + 1
  NEWER: 11, // SIEVE list: towards the head (newer), slot + 1
  GENERATION: 12, // bumped each time the slot is freed
  INSERTED: 13, // insertion number (CLOCK's second chance renumbers it: the queue is ordered by it)
  /**
   * The tag (threadId + 1) of the thread changing this slot (allocating, filling, rewriting,
   * freeing it); 0 at rest. Written only by the holder of the slot's stripe mutex. If that thread dies, the slot is
   * dropped by crash recovery (recovery.ts): an interrupted change is rolled back to absent, an
   * interrupted removal is completed, and nothing is ever left half-written.
   */
  IN_FLUX: 14,
  /**
   * Bumped (inside the stripe's write section) by every change of the entry a reader may have
   * remembered: its value, tag or expiry, and its freeing. A thread that remembers a value read
   * at version v still has the stored value while the word holds v, even after writes to other
   * entries of the stripe moved the stripe's seqlock word (reader.ts stillSeen).
   */
  VERSION: 15,
} as const;

export const FLAG_VISITED = 1;
export const FLAG_LIVE = 2;

declare const slotBrand: unique symbol;
declare const linkBrand: unique symbol;
declare const chunkBrand: unique symbol;
declare const chunkLinkBrand: unique symbol;

/**
 * An entry record's index, 0 to maxEntries - 1. Branded (as lru-cache brands its `Index`), like
 * the three types below, so that the compiler refuses to mix an index with a stored reference:
 * `slot + 1` is a plain number, not a Link, and only {@link linkOf} makes one.
 */
export type Slot = number & { readonly [slotBrand]: true };
/**
 * A reference to a slot as shared memory stores it: slot + 1, so that 0 ({@link NO_LINK}) means
 * none. Bucket heads, SLOT.NEXT/PREV/NEWER, GLOBAL.FREE_SLOT/LIST_HEAD/LIST_TAIL/HAND/SWEEP hold links.
 */
export type Link = number & { readonly [linkBrand]: true };
/** A chunk's index, 0 to chunks - 1. */
export type Chunk = number & { readonly [chunkBrand]: true };
/** A reference to a chunk as stored (chunk + 1, 0 = none): SLOT.CHUNK, a chunk's word 0, GLOBAL.FREE_CHUNK. */
export type ChunkLink = number & { readonly [chunkLinkBrand]: true };

/** No slot: what a lookup returns for an absent key (a Link of NO_LINK names none either). */
export const NO_SLOT = -1;
export type NoSlot = typeof NO_SLOT;

export const NO_LINK = 0 as Link;
export const NO_CHUNK = 0 as ChunkLink;

export function linkOf(slot: Slot): Link {
  return (slot + 1) as Link;
}

/** The slot a link names; the caller has checked it is not NO_LINK. */
export function slotOf(link: Link): Slot {
  return (link - 1) as Slot;
}

export function chunkLinkOf(chunk: Chunk): ChunkLink {
  return (chunk + 1) as ChunkLink;
}

export function chunkOf(link: ChunkLink): Chunk {
  return (link - 1) as Chunk;
}

/** Stripe words (relative to the stripe's first word; the mutex occupies words 0..3). */
export const STRIPE = {
  SEQ: 4,
  /** Bumped (and notified) whenever a getOrCompute flight of this stripe ends; waiters park on it. */
  FLIGHT: 5,
} as const;

/** Failed-flight outcome records: FLIGHT_RECORDS records of FLIGHT_RECORD_BYTES each. */
export const FLIGHT_RECORDS = 64;
export const FLIGHT_RECORD_BYTES = 1024;

/** Byte offsets of each section and the total size. */
export interface CacheLayout {
  readonly stats: number;
  readonly stripes: number;
  readonly buckets: number;
  readonly slots: number;
  readonly flights: number;
  readonly chunks: number;
  readonly totalBytes: number;
}

function alignLine(n: number): number {
  return Math.ceil(n / LINE) * LINE;
}

export function nextPowerOfTwo(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

export function chunksFor(bytes: number): number {
  return Math.max(1, Math.ceil(bytes / CHUNK_PAYLOAD));
}

/**
 * The counts a layout is computed from. Declared here rather than taken from options.ts's
 * CacheConfig: options.ts derives these counts from the layout's constants, so importing its type
 * back would make the two modules import each other.
 */
export interface LayoutCounts {
  readonly maxEntries: number;
  readonly stripes: number;
  readonly buckets: number;
  readonly chunks: number;
}

export function layoutOf(config: LayoutCounts): CacheLayout {
  const stats = 2 * LINE;
  const stripes = stats + STAT_STRIPES * 2 * LINE + LINE; // the blocks, then their owners line (stats.ts)
  const buckets = stripes + config.stripes * LINE;
  const slots = alignLine(buckets + config.buckets * 4);
  const flights = slots + config.maxEntries * SLOT_WORDS * 4;
  const chunks = flights + FLIGHT_RECORDS * FLIGHT_RECORD_BYTES;
  return { stats, stripes, buckets, slots, flights, chunks, totalBytes: chunks + config.chunks * CHUNK_BYTES };
}
