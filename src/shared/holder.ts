/**
 * Who holds a lock. Mutex and RwLock keep the holder's tag in their lock word (so taking the lock
 * and recording the holder are one CAS) and count acquisitions in an epoch word: together they
 * say which thread holds the lock and which acquisition of it this is.
 */

/** A lock's holder: its `threadId` and the lock's acquisition count when it was taken (a fencing token). */
export interface Holder {
  readonly threadId: number;
  readonly epoch: number;
}

/**
 * Counts one more acquisition in the lock's epoch word. Called only by the thread that has just
 * taken the lock, so there is one writer at a time, and the lock's own CAS orders each holder's
 * write before the next holder's read. That makes a plain store enough (an Atomics.store is a
 * full fence on x86 and costs about as much as the rest of lock+unlock together). A reader on
 * another thread (holder()) gets a value that cannot be torn (ECMAScript guarantees that for
 * aligned Int32Array accesses) but may be one acquisition stale: holder() is a snapshot anyway.
 */
export function stampEpoch(view: Int32Array, index: number): void {
  view[index] = (view[index]! + 1) | 0;
}

/**
 * Package-internal: take over, as the calling thread, a lock whose holder thread has died, so
 * that the caller can repair what the lock guards before anyone else sees it (the cache's crash
 * recovery does). Counted as a holder death like a release.
 */
export const adoptFromDeadHolder: unique symbol = Symbol('sabre.adoptFromDeadHolder');

/** How one kind of lock word reads and releases a hold (see {@link releaseDeadHold}). */
export interface DeadHoldRelease {
  /** Whether the lock word names `tag` as its (write) holder. */
  heldBy(state: number, tag: number): boolean;
  /** The word once the hold is released (waiting bits kept as the lock needs them). */
  released(state: number): number;
  /** Wakes whoever the release lets in. */
  wake(state: number): void;
}

/**
 * Releases a hold of `threadId` on the lock word `words[stateIndex]`, counting it in
 * `words[deathsIndex]` first so that whoever takes the lock next can see the death. Retries if
 * waiters change the word meanwhile. True if there was such a hold.
 */
export function releaseDeadHold(words: Int32Array, stateIndex: number, deathsIndex: number, threadId: number, kind: DeadHoldRelease): boolean {
  const tag = threadId + 1;
  for (;;) {
    const state = Atomics.load(words, stateIndex);
    if (!kind.heldBy(state, tag)) return false;
    Atomics.add(words, deathsIndex, 1);
    if (Atomics.compareExchange(words, stateIndex, state, kind.released(state)) === state) {
      kind.wake(state);
      return true;
    }
    Atomics.sub(words, deathsIndex, 1); // the word changed (a waiter announced itself): look again
  }
}
