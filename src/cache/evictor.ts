/**
 * Eviction, as the write protocol (writer.ts) runs it: making room before an insert, burst
 * eviction past highWater, the incremental TTL sweep, shedding for the memory guard, and the
 * onEvict listeners. The queue and the policy that choose a victim are eviction.ts's; this module
 * claims the victim's stripe and removes it.
 *
 * Every method runs `@guardedBy structure-mutex`, the caller's own stripe held too when it is a
 * write's. A victim in another stripe is claimed with tryLock only (lock order), so eviction
 * never waits while it holds the structure mutex; a busy victim is skipped for the next one, and
 * if none can be claimed the write is retried from scratch ({@link Busy}). Listeners run only
 * after the write has released every lock (notifyEvictions).
 */
import { faultPoint } from '../shared/fault-points.js';
import { describeThrown } from '../shared/validate.js';
import type { CacheLocks } from './cache-locks.js';
import type { CacheTime } from './clock.js';
import { type CacheKey, Tag, decodeValue, keyFromBytes } from './codec.js';
import { NO_SLOT, type NoSlot, type Slot } from './layout.js';
import { Counter } from './stats.js';
import type { Store } from './store.js';
import type { EvictionListener, EvictionReason } from './types.js';

/** Most entries one operation may pass over or evict (bounded work; the rest is done by later operations). */
export const WORK_LIMIT = 1_000;
/** Entries a structural write checks for expiry (the incremental TTL sweep). */
const SWEEP_BATCH = 2;

const REASON_COUNTER: Record<EvictionReason, number> = {
  capacity: Counter.evictedCapacity,
  bytes: Counter.evictedBytes,
  burst: Counter.evictedBurst,
  ttl: Counter.evictedTtl,
  memory: Counter.evictedMemory,
  recovery: Counter.evictedRecovery,
};

/** Thrown inside a write when eviction found every candidate busy; the write is retried from scratch. */
export class Busy extends Error {}

/** The running write's write sections (writer.ts): eviction in the write's own stripe opens its section through it. */
export interface WriteSections {
  openSection(stripe: number): void;
}

/** Eviction for one thread over one cache. */
export class Evictor<V> {
  readonly #store: Store;
  readonly #locks: CacheLocks;
  readonly #time: CacheTime;
  readonly #sections: WriteSections;
  readonly #listeners: ReadonlySet<EvictionListener<never>>;
  /** Evictions this thread's running operation made, reported once its locks are released. */
  #evicted: Array<[CacheKey, V, EvictionReason]> = [];

  constructor(store: Store, locks: CacheLocks, time: CacheTime, sections: WriteSections, listeners: ReadonlySet<EvictionListener<never>>) {
    this.#store = store;
    this.#locks = locks;
    this.#time = time;
    this.#sections = sections;
    this.#listeners = listeners;
  }

  /** Evicts up to `count` entries (at most WORK_LIMIT) by the policy, for the memory guard. Returns how many. */
  shed(count: number): number {
    let evicted = 0;
    this.#locks.withStructure(() => {
      while (evicted < Math.min(count, WORK_LIMIT) && this.evictOne(-1, -1, 'memory')) evicted++;
    });
    this.notifyEvictions();
    return evicted;
  }

  /** Evicts until one more entry of `bytes` more bytes fits; throws Busy if no candidate can be claimed. @guardedBy stripe(k), structure-mutex */
  makeRoom(ownStripe: number, exclude: Slot | NoSlot, slots: number, bytes: number): void {
    const store = this.#store;
    const { maxEntries, maxBytes } = store.shape;
    while (store.size + slots > maxEntries || store.bytes + bytes > maxBytes) {
      const reason: EvictionReason = store.size + slots > maxEntries ? 'capacity' : 'bytes';
      if (!this.evictOne(ownStripe, exclude, reason)) throw new Busy();
    }
  }

  /** Burst eviction down to lowWater, then a small TTL sweep. @guardedBy stripe(k), structure-mutex */
  afterInsert(ownStripe: number, inserted: Slot): void {
    const store = this.#store;
    const { highWater, lowWater } = store.shape;
    if (store.size > highWater) {
      for (let n = 0; n < WORK_LIMIT && store.size > lowWater; n++) {
        if (!this.evictOne(ownStripe, inserted, 'burst')) break;
      }
    }
    const now = this.#time.now();
    for (let n = 0; n < SWEEP_BATCH; n++) {
      const slot = store.queue.nextSweep();
      if (slot === NO_SLOT) break;
      if (slot !== inserted && store.expiryOf(slot) <= now) this.#claimAndRemove(slot, ownStripe, 'ttl');
    }
  }

  /** Chooses a victim by the policy, claims its stripe and removes it. @guardedBy structure-mutex */
  evictOne(ownStripe: number, exclude: Slot | NoSlot, reason: EvictionReason): boolean {
    const store = this.#store;
    let claimed = -1;
    const victim = store.queue.nextVictim(
      store.size,
      (slot) => {
        if (slot === exclude) return false;
        const stripe = store.stripeOfSlot(slot);
        if (stripe !== ownStripe && !this.#locks.tryLockStripe(stripe)) return false;
        claimed = stripe;
        return true;
      },
      WORK_LIMIT,
    );
    if (victim === NO_SLOT) return false;
    if (claimed !== ownStripe) faultPoint('evict:claimed');
    this.removeClaimed(victim, claimed, ownStripe, reason);
    return true;
  }

  /** @guardedBy structure-mutex */
  #claimAndRemove(slot: Slot, ownStripe: number, reason: EvictionReason): void {
    const stripe = this.#store.stripeOfSlot(slot);
    if (stripe !== ownStripe && !this.#locks.tryLockStripe(stripe)) return;
    this.removeClaimed(slot, stripe, ownStripe, reason);
  }

  /** Removes `slot`, whose stripe this thread holds (its own, or just claimed). @guardedBy stripe(slot), structure-mutex */
  removeClaimed(slot: Slot, stripe: number, ownStripe: number, reason: EvictionReason): void {
    const store = this.#store;
    if (stripe === ownStripe) {
      this.#sections.openSection(ownStripe);
      this.#evict(slot, reason);
      return;
    }
    store.beginWrite(stripe);
    try {
      this.#evict(slot, reason);
    } finally {
      store.endWrite(stripe);
      this.#locks.unlockStripe(stripe);
    }
  }

  /** Evicts `slot`. @guardedBy stripe(slot) write-section, structure-mutex */
  #evict(slot: Slot, reason: EvictionReason): void {
    const store = this.#store;
    if (!store.isLive(slot)) return;
    const marker = store.tagOf(slot) === Tag.PENDING;
    const stripe = store.stripeOfSlot(slot);
    if (!marker && this.#listeners.size > 0) {
      const copy = store.copyEntry(slot)!;
      this.#evicted.push([keyFromBytes(store.keyOf(slot)), decodeValue(copy.tag, copy.value) as V, reason]);
    }
    store.beginSlotChange(slot);
    store.unlinkFromBucket(slot);
    faultPoint('remove:unlinked');
    store.freeSlot(slot, REASON_COUNTER[reason]);
    if (marker) store.wakeFlightWaiters(stripe);
  }

  /** Calls the eviction listeners (locks released). A listener's error is reported, never thrown into the write. */
  notifyEvictions(): void {
    if (this.#evicted.length === 0) return;
    const evicted = this.#evicted;
    this.#evicted = [];
    for (const [key, value, reason] of evicted) {
      for (const listener of this.#listeners) {
        try {
          listener(key, value as never, reason);
        } catch (error) {
          process.emitWarning(`an onEvict listener threw ${describeThrown(error)}; the write that evicted succeeded`, { code: 'SABRE_EVICT_LISTENER' });
        }
      }
    }
  }
}
