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

/** Who holds a lock: the holder's `threadId` and the lock's acquisition count when it was taken. */
export interface Holder {
  readonly threadId: number;
  readonly epoch: number;
}

/**
 * Package-internal: release a lock whose holder thread has died (the coordinator calls it when a
 * worker exits). Not exported from the package: releasing a live thread's lock would break it.
 */
export const releaseForDeadHolder: unique symbol = Symbol('sabre.releaseForDeadHolder');
