/**
 * The eviction queue and the policies that pick victims from it.
 *
 * Every live entry is in one queue, a doubly linked list through its slot record, oldest at the
 * tail (layout.ts):
 *
 *   GLOBAL.LIST_TAIL                                              GLOBAL.LIST_HEAD
 *        │                                                              │
 *        ▼      SLOT.NEWER ──►          SLOT.NEWER ──►                  ▼
 *     [oldest] ◄── SLOT.PREV  [  …  ] ◄── SLOT.PREV  [  …  ]  …  [newest]
 *                     ▲
 *                GLOBAL.HAND (the next entry the hand looks at; NO_LINK = start at the tail)
 *
 * A hit only sets the entry's visited bit (store.ts markVisited): the queue itself changes only
 * under the structure mutex, never on a read. The hand walks from the tail towards the head,
 * wrapping; what it does with a visited entry is the policy ({@link EvictionPolicy}): SIEVE
 * leaves it where it is, CLOCK moves it to the head.
 *
 * Every member of {@link EvictionQueue} is `@guardedBy structure-mutex`.
 */
import { FLAG_VISITED, GLOBAL, HEADER, type Link, NO_LINK, NO_SLOT, type NoSlot, SLOT, type Slot, linkOf, slotOf } from './layout.js';

/** What the queue needs of the store: the words, and where a slot's record is. */
export interface SlotMemory {
  readonly i32: Int32Array;
  slotWord(slot: Slot): number;
}

/**
 * An eviction policy: what the hand does with a visited entry it passes, once it has cleared
 * that entry's visited bit. Installed once per cache from the header (`policy` option).
 */
export interface EvictionPolicy {
  readonly name: 'sieve' | 'lru';
  secondChance(queue: EvictionQueue, slot: Slot): void;
}

/** SIEVE (the default): a visited entry stays where it is; new entries never pass old survivors. */
export const SIEVE: EvictionPolicy = {
  name: 'sieve',
  secondChance() {},
};

/** CLOCK (`policy: 'lru'`), the classic LRU approximation: a visited entry goes to the head, as if re-inserted. */
export const CLOCK: EvictionPolicy = {
  name: 'lru',
  secondChance(queue, slot) {
    queue.reinsert(slot);
  },
};

/** @guardedBy structure-mutex (every member) */
export class EvictionQueue {
  readonly #memory: SlotMemory;
  readonly #i32: Int32Array;
  readonly policy: EvictionPolicy;

  constructor(memory: SlotMemory, policy: EvictionPolicy) {
    this.#memory = memory;
    this.#i32 = memory.i32;
    this.policy = policy;
  }

  #word(link: Link): number {
    return this.#memory.slotWord(slotOf(link));
  }

  /** Makes `slot` the newest entry and numbers it (recovery rebuilds the queue in that order). */
  push(slot: Slot): void {
    const i32 = this.#i32;
    const w = this.#memory.slotWord(slot);
    const head = i32[GLOBAL.LIST_HEAD]! as Link;
    i32[w + SLOT.PREV] = head;
    i32[w + SLOT.NEWER] = NO_LINK;
    if (head !== NO_LINK) i32[this.#word(head) + SLOT.NEWER] = linkOf(slot);
    else i32[GLOBAL.LIST_TAIL] = linkOf(slot);
    i32[GLOBAL.LIST_HEAD] = linkOf(slot);
    i32[w + SLOT.INSERTED] = ++i32[GLOBAL.INSERTS]!;
  }

  /** Takes `slot` out of the queue; the hand and the TTL sweep move past it. */
  unlink(slot: Slot): void {
    const i32 = this.#i32;
    const w = this.#memory.slotWord(slot);
    const older = i32[w + SLOT.PREV]! as Link;
    const newer = i32[w + SLOT.NEWER]! as Link;
    if (older !== NO_LINK) i32[this.#word(older) + SLOT.NEWER] = newer;
    else i32[GLOBAL.LIST_TAIL] = newer;
    if (newer !== NO_LINK) i32[this.#word(newer) + SLOT.PREV] = older;
    else i32[GLOBAL.LIST_HEAD] = older;
    const link = linkOf(slot);
    if (i32[GLOBAL.HAND] === link) i32[GLOBAL.HAND] = newer;
    if (i32[GLOBAL.SWEEP] === link) i32[GLOBAL.SWEEP] = newer;
  }

  /** Moves `slot` to the head (CLOCK's second chance), renumbered so that the queue stays ordered by SLOT.INSERTED. */
  reinsert(slot: Slot): void {
    if (this.#i32[GLOBAL.LIST_HEAD] === linkOf(slot)) return;
    this.unlink(slot);
    this.push(slot);
  }

  /**
   * Chooses and claims the next eviction victim, moving the hand from the oldest entry towards
   * the newest (wrapping). A visited entry loses its bit and gets the policy's second chance.
   * After `limit` entries passed over (bounded work) the entry under the hand is taken whatever
   * its bit. `claim(slot)` is asked only about the entry chosen; it returns false if that entry
   * cannot be evicted now (excluded, or its stripe is busy), and the hand moves on. Returns the
   * victim, or NO_SLOT if nothing was claimed.
   */
  nextVictim(size: number, claim: (slot: Slot) => boolean, limit: number): Slot | NoSlot {
    const i32 = this.#i32;
    let link = (i32[GLOBAL.HAND] || i32[GLOBAL.LIST_TAIL]!) as Link;
    let cleared = false;
    for (let passed = 0; passed < size * 2 + 1 && link !== NO_LINK; passed++) {
      const slot = slotOf(link);
      const w = this.#memory.slotWord(slot);
      const next = (i32[w + SLOT.NEWER] || i32[GLOBAL.LIST_TAIL]!) as Link;
      const visited = (i32[w + SLOT.FLAGS]! & FLAG_VISITED) !== 0;
      if ((!visited || passed >= limit) && claim(slot)) {
        i32[GLOBAL.HAND] = next === link ? NO_LINK : next;
        return slot;
      }
      if (visited) {
        if (!cleared) {
          // Before the first bit this pass clears: threads that remember "visited" must look
          // again (reader.ts). seq-cst RMW: the epoch moves before any bit is cleared.
          Atomics.add(i32, HEADER.HAND_EPOCH, 1);
          cleared = true;
        }
        // An RMW, not a store: a lock-free reader may be setting the same word's bit with Atomics.or.
        Atomics.and(i32, w + SLOT.FLAGS, ~FLAG_VISITED);
        this.policy.secondChance(this, slot);
      }
      link = next;
    }
    return NO_SLOT;
  }

  /** The next entry for the TTL sweep to look at (round-robin over the queue), or NO_SLOT if the queue is empty. */
  nextSweep(): Slot | NoSlot {
    const i32 = this.#i32;
    const link = (i32[GLOBAL.SWEEP] || i32[GLOBAL.LIST_TAIL]!) as Link;
    if (link === NO_LINK) return NO_SLOT;
    i32[GLOBAL.SWEEP] = i32[this.#word(link) + SLOT.NEWER]!;
    return slotOf(link);
  }

  /** Oldest-first list of the queued slots: for clear() and snapshots in queue order. */
  order(): Slot[] {
    const order: Slot[] = [];
    for (let link = this.#i32[GLOBAL.LIST_TAIL]! as Link; link !== NO_LINK; link = this.#i32[this.#word(link) + SLOT.NEWER]! as Link) order.push(slotOf(link));
    return order;
  }
}
