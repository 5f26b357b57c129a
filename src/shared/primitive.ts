/**
 * What every shared-memory primitive has in common: its words in a SharedArrayBuffer, the handle
 * other threads attach with, and what to do when a thread that used it has died. Each primitive
 * adds its own algorithm on top.
 */
import { type PrimitiveHandle, type PrimitiveSpec, handleOf } from './region.js';
import { checkInteger } from './validate.js';
import { wakeAll } from './wait.js';

/** The largest threadId a lock word can name (see thread.ts). */
const MAX_THREAD_ID = 0x0fff_fffe;

export abstract class SharedPrimitive<K extends string> {
  /** The primitive's 32-bit words in shared memory; word 0 is the header (region.ts). */
  protected readonly words: Int32Array;
  readonly #spec: PrimitiveSpec<K>;
  /** The words waiters park on. */
  readonly #waitWords: readonly number[];
  #handle: PrimitiveHandle<K> | undefined;

  protected constructor(spec: PrimitiveSpec<K>, words: Int32Array, waitWords: readonly number[]) {
    this.#spec = spec;
    this.words = words;
    this.#waitWords = waitWords;
  }

  /** The structured-clonable handle to send to other threads (postMessage, workerData); `attach` it there. */
  get handle(): PrimitiveHandle<K> {
    return (this.#handle ??= handleOf(this.#spec, this.words));
  }

  /**
   * Call once the thread `threadId` has exited (from its Worker's `'exit'` event; read
   * `worker.threadId` before, it reads -1 there). Releases what this primitive can tell the dead
   * thread held (a Mutex, an RwLock's write lock) and wakes every waiter, so that none stays
   * parked on a wake-up the dead thread took with it. A `sabre/pool` does this by itself.
   * Returns true if it released a hold. Never call it for a thread that is still running: it
   * would take its lock away.
   */
  recoverDeadThread(threadId: number): boolean {
    checkInteger(threadId, 'threadId', 0, MAX_THREAD_ID);
    const released = this.releaseDeadHold(threadId);
    this.wakeWaiters();
    return released;
  }

  /** Wakes every thread parked on this primitive; each re-checks and parks again if it must. */
  protected wakeWaiters(): void {
    wakeAll(this.words, this.#waitWords);
  }

  /** Releases a hold of the dead thread `threadId`, if this kind of primitive records holders. True if it did. */
  protected releaseDeadHold(_threadId: number): boolean {
    return false;
  }
}
