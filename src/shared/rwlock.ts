/**
 * RwLock: many readers or one writer, with writers preferred so a stream of readers cannot starve
 * a writer.
 *
 * Layout (6 words, 24 bytes, 4-byte aligned; 64 keeps it on its own cache line):
 *
 *   word 0  header
 *   word 1  state        bits 0..27  reader count, or the writer's tag (threadId + 1) when WRITE_LOCKED
 *                        bit  28     WRITE_LOCKED
 *                        bit  29     READERS_WAITING: readers are parked on `state`
 *                        bit  30     WRITERS_WAITING: writers are parked on `writerWake`
 *   word 2  writerWake   a sequence number writers park on; bumped before each writer wake-up
 *   word 3  epoch        write acquisitions so far (fencing token of the current write hold)
 *   word 4  deaths       write holds released because their holder thread died
 *   word 5  reserved
 *
 * The design follows the futex rwlock of Rust's standard library: one state word; readers park on
 * it and are woken all at once; writers park on a separate sequence word and are woken one at a
 * time, so waking a writer never stampedes the readers. Writer preference: a reader may enter only
 * while neither WRITE_LOCKED nor either waiting bit is set, so once a writer announces itself the
 * reader count can only fall, and the last reader out wakes it. The writer's tag lives in the
 * state word, as in mutex.ts, so the write holder is known from the same CAS that took the lock.
 *
 * Unlike Rust's, waits here can time out or be aborted: a writer that leaves strands nobody (see
 * #writeContended), and an aborted async writer that is woken passes the wake-up on
 * (#passOnWriterWake). A writer can also be *terminated* while being woken: the unlocker handed
 * it the lock's wake-up and left the readers parked on a free lock (state = READERS_WAITING).
 * Parks are bounded (wait.ts), so a parked writer re-checks and takes the free lock, and a parked
 * reader that finds the lock free with only waiting bits set after a park does the unlocker's job
 * again (#wakeWriterOrReaders): nobody stays parked on a free lock longer than one slice.
 *
 * Memory ordering: all Atomics are sequentially consistent; acquisitions and releases are RMWs
 * on `state`, which orders the critical sections of successive holders.
 */
import { IllegalStateError, NotOwnerError } from '../errors.js';
import { runHeld, runHeldAsync } from './guard.js';
import { SharedPrimitive } from './primitive.js';
import { type Placement, type PrimitiveHandle, attachRegion, claimRegion, defineSpec, publishHeader } from './region.js';
import { OWNER_MASK, SELF_TAG, assertMayBlock, threadIdOfTag } from './thread.js';
import { type AsyncWaitOptions, checkAsyncOptions, deadlineAfter } from './validate.js';
import { type Holder, releaseDeadHold, stampEpoch } from './holder.js';
import { type ParkSteps, SPIN_LIMIT, isGiveUp, parkAsync, parkBlocking } from './wait.js';

const STATE = 1;
const WRITER_WAKE = 2;
const EPOCH = 3;
const DEATHS = 4;

const COUNT_MASK = OWNER_MASK;
const MAX_READERS = COUNT_MASK - 1;
const WRITE_LOCKED = 1 << 28;
const READERS_WAITING = 1 << 29;
const WRITERS_WAITING = 1 << 30;
const WAITING = READERS_WAITING | WRITERS_WAITING;

const SPEC = defineSpec({
  kind: 'sabre/rwlock',
  id: 2,
  layout: 1,
  words: 6,
  // Only a writer is recorded: read holds are a count.
  holderTag: (words) => {
    const state = Atomics.load(words, STATE);
    return (state & WRITE_LOCKED) !== 0 ? state & OWNER_MASK : 0;
  },
});

/** The structured-clonable handle of an {@link RwLock}. */
export type RwLockHandle = PrimitiveHandle<'sabre/rwlock'>;

function isUnlocked(state: number): boolean {
  return (state & (COUNT_MASK | WRITE_LOCKED)) === 0;
}

function isReadLockable(state: number): boolean {
  return (state & (WRITE_LOCKED | WAITING)) === 0 && (state & COUNT_MASK) < MAX_READERS;
}

/**
 * A readers-writer lock in shared memory. Blocking forms for workers, async forms for the main
 * thread; both may contend for the same lock.
 *
 * A thread already holding a read lock (through this object) may take it again without waiting
 * behind a queued writer, so recursive reads cannot deadlock. Write locks are not reentrant.
 */
export class RwLock extends SharedPrimitive<'sabre/rwlock'> {
  /** Bytes the lock occupies inside a caller's buffer. */
  static readonly BYTES = SPEC.words * 4;
  /** Required alignment of its byte offset (64 is better: its own cache line). */
  static readonly ALIGN = 4;

  /** Read holds taken through this object: lets recursive reads skip the writer queue and catches unbalanced unlocks. */
  #readHolds = 0;

  private constructor(words: Int32Array) {
    super(SPEC, words, [STATE, WRITER_WAKE]);
  }

  /** Creates an unlocked rwlock, in a new buffer or at `byteOffset` in a caller's zeroed buffer. */
  static create(placement?: Placement): RwLock {
    const view = claimRegion(SPEC, placement);
    publishHeader(SPEC, view);
    return new RwLock(view);
  }

  /** Attaches to an rwlock created elsewhere from its handle. */
  static attach(handle: RwLockHandle): RwLock {
    return new RwLock(attachRegion(SPEC, handle));
  }

  // ---- read side -------------------------------------------------------------------------------

  /** Takes a read lock if one is available now; never waits. */
  tryReadLock(): boolean {
    return this.#tryRead(this.#readHolds > 0);
  }

  /** Takes a read lock, waiting up to `timeoutMs` (default forever); false on timeout. Workers only. */
  readLock(timeoutMs?: number): boolean {
    const deadline = deadlineAfter(timeoutMs);
    if (timeoutMs !== 0) assertMayBlock('RwLock.readLock()', 'RwLock.readLockAsync()');
    if (this.tryReadLock()) return true;
    if (this.isWriteHeldByCurrentThread()) {
      throw new IllegalStateError('RwLock.readLock(): this thread holds the write lock and would wait for itself forever');
    }
    return this.#counted(parkBlocking(this.words, this.#readContended(), deadline));
  }

  /** Takes a read lock without blocking the event loop; false on timeout, rejects on abort. */
  async readLockAsync(options?: AsyncWaitOptions): Promise<boolean> {
    const { deadline, signal } = checkAsyncOptions(options);
    signal?.throwIfAborted();
    // No writer-queue bypass here: other async tasks of this thread can release while we wait.
    if (this.#tryRead(false)) return true;
    return this.#counted(await parkAsync(this.words, this.#readContended(), deadline, signal));
  }

  /** Releases a read lock taken through this object; {@link NotOwnerError} (nothing changed) if it holds none. */
  readUnlock(): void {
    if (this.#readHolds === 0) {
      throw new NotOwnerError('RwLock.readUnlock(): this thread holds no read lock through this RwLock object');
    }
    this.#readHolds--;
    const state = Atomics.sub(this.words, STATE, 1) - 1;
    // Readers are never parked on a read-locked lock unless a writer is queued too, so only the
    // last reader out, with a writer waiting, has anyone to wake.
    if (isUnlocked(state) && (state & WRITERS_WAITING) !== 0) this.#wakeWriterOrReaders(state);
  }

  /** Runs `fn` under a read lock (blocking form, workers only). */
  withReadLock<T>(fn: () => T, timeoutMs?: number): T {
    return runHeld(
      'RwLock.withReadLock()',
      fn,
      () => this.readLock(timeoutMs),
      () => this.readUnlock(),
      timeoutMs,
    );
  }

  /** Runs `fn` (sync or async) under a read lock taken with {@link readLockAsync}. */
  withReadLockAsync<T>(fn: () => T | PromiseLike<T>, options?: AsyncWaitOptions): Promise<T> {
    return runHeldAsync(
      'RwLock.withReadLockAsync()',
      fn,
      () => this.readLockAsync(options),
      () => this.readUnlock(),
      options?.timeoutMs,
    );
  }

  // ---- write side ------------------------------------------------------------------------------

  /** Takes the write lock if it is free now; never waits. */
  tryWriteLock(): boolean {
    const state = Atomics.load(this.words, STATE);
    if (!isUnlocked(state)) return false;
    return this.#stamped(Atomics.compareExchange(this.words, STATE, state, state | WRITE_LOCKED | SELF_TAG) === state);
  }

  /** Takes the write lock, waiting up to `timeoutMs` (default forever); false on timeout. Workers only. */
  writeLock(timeoutMs?: number): boolean {
    const deadline = deadlineAfter(timeoutMs);
    if (timeoutMs !== 0) assertMayBlock('RwLock.writeLock()', 'RwLock.writeLockAsync()');
    if (this.tryWriteLock()) return true;
    if (this.isWriteHeldByCurrentThread() || this.#readHolds > 0) {
      throw new IllegalStateError('RwLock.writeLock(): this thread already holds this lock (read or write) and would wait for itself forever');
    }
    return this.#stamped(parkBlocking(this.words, this.#writeContended(), deadline));
  }

  /** Takes the write lock without blocking the event loop; false on timeout, rejects on abort. */
  async writeLockAsync(options?: AsyncWaitOptions): Promise<boolean> {
    const { deadline, signal } = checkAsyncOptions(options);
    signal?.throwIfAborted();
    if (this.tryWriteLock()) return true;
    return this.#stamped(await parkAsync(this.words, this.#writeContended(), deadline, signal));
  }

  /** Releases the write lock; {@link NotOwnerError} (nothing changed) if this thread does not hold it. */
  writeUnlock(): void {
    const view = this.words;
    for (;;) {
      const state = Atomics.load(view, STATE);
      if ((state & WRITE_LOCKED) === 0 || (state & COUNT_MASK) !== SELF_TAG) {
        throw new NotOwnerError(
          (state & WRITE_LOCKED) === 0
            ? 'RwLock.writeUnlock(): the lock is not write-locked'
            : `RwLock.writeUnlock(): the write lock is held by thread ${threadIdOfTag(state & COUNT_MASK)}, not by this thread`,
        );
      }
      // Waiting bits may be set concurrently, so release with a CAS that keeps them.
      const waiting = state & WAITING;
      if (Atomics.compareExchange(view, STATE, state, waiting) !== state) continue;
      if (waiting !== 0) this.#wakeWriterOrReaders(waiting);
      return;
    }
  }

  /** Runs `fn` under the write lock (blocking form, workers only). */
  withWriteLock<T>(fn: () => T, timeoutMs?: number): T {
    return runHeld(
      'RwLock.withWriteLock()',
      fn,
      () => this.writeLock(timeoutMs),
      () => this.writeUnlock(),
      timeoutMs,
    );
  }

  /** Runs `fn` (sync or async) under the write lock taken with {@link writeLockAsync}. */
  withWriteLockAsync<T>(fn: () => T | PromiseLike<T>, options?: AsyncWaitOptions): Promise<T> {
    return runHeldAsync(
      'RwLock.withWriteLockAsync()',
      fn,
      () => this.writeLockAsync(options),
      () => this.writeUnlock(),
      options?.timeoutMs,
    );
  }

  // ---- inspection ------------------------------------------------------------------------------

  /** How many read holds are active, all threads together (a snapshot). */
  readerCount(): number {
    const state = Atomics.load(this.words, STATE);
    return (state & WRITE_LOCKED) !== 0 ? 0 : state & COUNT_MASK;
  }

  /** Whether some thread holds the write lock (a snapshot). */
  isWriteLocked(): boolean {
    return (Atomics.load(this.words, STATE) & WRITE_LOCKED) !== 0;
  }

  /** Whether this thread holds the write lock. */
  isWriteHeldByCurrentThread(): boolean {
    const state = Atomics.load(this.words, STATE);
    return (state & WRITE_LOCKED) !== 0 && (state & COUNT_MASK) === SELF_TAG;
  }

  /** The write holder, or null when not write-locked (a snapshot). */
  holder(): Holder | null {
    const state = Atomics.load(this.words, STATE);
    if ((state & WRITE_LOCKED) === 0) return null;
    return { threadId: threadIdOfTag(state & COUNT_MASK), epoch: this.words[EPOCH]! >>> 0 };
  }

  /** Write holds released because their holder thread died (see Mutex.holderDeaths). */
  get holderDeaths(): number {
    return Atomics.load(this.words, DEATHS);
  }

  /**
   * Releases the write lock if `threadId` holds it. Read holds of a dead thread cannot be told
   * apart from live ones (the state word only counts them), so they are not released: a worker
   * must not die holding a read lock (a writer then waits until its own timeout).
   */
  protected override releaseDeadHold(threadId: number): boolean {
    return releaseDeadHold(this.words, STATE, DEATHS, threadId, {
      heldBy: (state, tag) => (state & WRITE_LOCKED) !== 0 && (state & COUNT_MASK) === tag,
      released: (state) => state & WAITING,
      wake: (state) => {
        if ((state & WAITING) !== 0) this.#wakeWriterOrReaders(state & WAITING);
      },
    });
  }

  // ---- internals -------------------------------------------------------------------------------

  #tryRead(bypassQueuedWriters: boolean): boolean {
    const view = this.words;
    let state = Atomics.load(view, STATE);
    for (;;) {
      const lockable = bypassQueuedWriters ? (state & WRITE_LOCKED) === 0 && (state & COUNT_MASK) < MAX_READERS : isReadLockable(state);
      if (!lockable) return false;
      const seen = Atomics.compareExchange(view, STATE, state, state + 1);
      if (seen === state) return this.#counted(true);
      state = seen;
    }
  }

  #counted(acquired: boolean): boolean {
    if (acquired) this.#readHolds++;
    return acquired;
  }

  #stamped(acquired: boolean): boolean {
    if (acquired) stampEpoch(this.words, EPOCH); // see mutex.ts for why a plain store is enough

    return acquired;
  }

  /** Readers are woken all together, so a reader that gives up can never strand another. */
  *#readContended(): ParkSteps<boolean> {
    const view = this.words;
    for (let spin = 0; spin < SPIN_LIMIT; spin++) {
      const state = Atomics.load(view, STATE);
      if (isReadLockable(state) && Atomics.compareExchange(view, STATE, state, state + 1) === state) return true;
    }
    let parked = false;
    for (;;) {
      let state = Atomics.load(view, STATE);
      if (isReadLockable(state)) {
        if (Atomics.compareExchange(view, STATE, state, state + 1) === state) return true;
        continue;
      }
      if (parked && isUnlocked(state)) {
        // Free, with only waiting bits, after this reader slept: whoever had to wake the waiters
        // may have woken a writer that died (see the module note). Hand the lock on again.
        this.#wakeWriterOrReaders(state);
        parked = false;
        continue;
      }
      if ((state & READERS_WAITING) === 0) {
        if (Atomics.compareExchange(view, STATE, state, state | READERS_WAITING) !== state) continue;
        state |= READERS_WAITING;
      }
      if (isGiveUp(yield { index: STATE, value: state })) return false;
      parked = true;
    }
  }

  *#writeContended(): ParkSteps<boolean> {
    const view = this.words;
    for (let spin = 0; spin < SPIN_LIMIT; spin++) {
      const state = Atomics.load(view, STATE);
      if (isUnlocked(state) && Atomics.compareExchange(view, STATE, state, state | WRITE_LOCKED | SELF_TAG) === state) return true;
    }
    // Once this writer has parked, other writers may be parked too: it keeps WRITERS_WAITING set
    // when it takes the lock so that its unlock wakes the next one.
    let keepWaitingBit = 0;
    const passOn = (): void => this.#passOnWriterWake();
    for (;;) {
      let state = Atomics.load(view, STATE);
      if (isUnlocked(state)) {
        if (Atomics.compareExchange(view, STATE, state, state | WRITE_LOCKED | SELF_TAG | keepWaitingBit) === state) return true;
        continue;
      }
      if ((state & WRITERS_WAITING) === 0 && Atomics.compareExchange(view, STATE, state, state | WRITERS_WAITING) !== state) continue;
      keepWaitingBit = WRITERS_WAITING;
      // Read the wake sequence before re-checking the state, so a wake-up issued after the check
      // changes the sequence and the park returns at once instead of sleeping through it.
      const sequence = Atomics.load(view, WRITER_WAKE);
      state = Atomics.load(view, STATE);
      if (isUnlocked(state) || (state & WRITERS_WAITING) === 0) continue;
      // Giving up needs no clean-up: WRITERS_WAITING is only ever set on a held lock, and every
      // unlock that leaves the lock free with a waiting bit runs #wakeWriterOrReaders itself,
      // whose "no writer was parked" fallback lets the readers in.
      if (isGiveUp(yield { index: WRITER_WAKE, value: sequence, passOn })) return false;
    }
  }

  /**
   * An abandoned async writer consumed a writer wake-up. The unlocker that sent it believed a
   * writer would take the lock, so it left parked readers parked (state = READERS_WAITING on a free
   * lock). Wake another writer; failing that, let the readers in.
   */
  #passOnWriterWake(): void {
    if (this.#wakeWriter()) return;
    const state = Atomics.load(this.words, STATE);
    if (isUnlocked(state) && (state & WAITING) !== 0) this.#wakeWriterOrReaders(state);
  }

  #wakeWriter(): boolean {
    Atomics.add(this.words, WRITER_WAKE, 1);
    return Atomics.notify(this.words, WRITER_WAKE, 1) > 0;
  }

  /** Called with an unlocked state that has waiting bits: hand the lock to one writer, else to all readers. */
  #wakeWriterOrReaders(state: number): void {
    const view = this.words;
    if (state === WRITERS_WAITING) {
      const seen = Atomics.compareExchange(view, STATE, state, 0);
      if (seen === state) {
        this.#wakeWriter();
        return;
      }
      state = seen;
    }
    if (state === (READERS_WAITING | WRITERS_WAITING)) {
      // Leave the readers parked and wake one writer; if the lock was taken meanwhile, its
      // holder's unlock takes over this duty.
      if (Atomics.compareExchange(view, STATE, state, READERS_WAITING) !== state) return;
      if (this.#wakeWriter()) return;
      // No writer was parked after all (it timed out): the readers must not wait for nobody.
      state = READERS_WAITING;
    }
    if (state === READERS_WAITING && Atomics.compareExchange(view, STATE, state, 0) === state) {
      Atomics.notify(view, STATE);
    }
  }
}
