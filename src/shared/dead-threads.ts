/**
 * When a thread dies: recovering what it left behind in shared memory.
 *
 * A terminated thread runs no more JavaScript, so nothing in shared memory changes when it dies:
 * a lock it held still names it, a wake-up it was being handed is gone with it. Only another
 * thread that learns of the death (from the Worker's `'exit'` event, which comes after the dead
 * thread's last instruction) can put that right. `sabre/pool` does it for its workers; users of
 * plain `worker_threads` call {@link recoverOnExit} (or {@link recoverDeadThread}) themselves.
 */
import type { Worker } from 'node:worker_threads';
import { IllegalStateError, LockUnavailableError } from '../errors.js';

/** Something a dead thread may have left held or half-woken: every sabre primitive, and SharedCache. */
export interface Recoverable {
  /** See `SharedCache.recoverDeadThread` and `Mutex.recoverDeadThread`. */
  recoverDeadThread(threadId: number): unknown;
}

/** How long {@link recoverDeadThread} keeps retrying a target whose locks stay busy. */
const RETRY_FOR_MS = 10_000;
const RETRY_EVERY_MS = 10;

/**
 * Recovers every one of `targets` from the death of thread `threadId` (which must have exited),
 * and resolves to what each one's `recoverDeadThread` returned, in order. A target that cannot
 * take its own locks yet ({@link LockUnavailableError}: another thread is in the middle of
 * something) is tried again every 10 ms, for up to 10 s, without blocking the event loop.
 */
export async function recoverDeadThread<const T extends readonly Recoverable[]>(
  threadId: number,
  targets: T,
): Promise<{ -readonly [I in keyof T]: ReturnType<T[I]['recoverDeadThread']> }> {
  const results: unknown[] = [];
  for (const target of targets) {
    const giveUpAt = Date.now() + RETRY_FOR_MS;
    for (;;) {
      try {
        results.push(target.recoverDeadThread(threadId));
        break;
      } catch (error) {
        if (!(error instanceof LockUnavailableError) || Date.now() > giveUpAt) throw error;
        await new Promise((resolve) => setTimeout(resolve, RETRY_EVERY_MS));
      }
    }
  }
  return results as { -readonly [I in keyof T]: ReturnType<T[I]['recoverDeadThread']> };
}

/**
 * Recovers `targets` once `worker` has exited, whatever ended it (`terminate()`, an uncaught
 * error, `process.exit`, a normal end). Call it right after creating the worker: it reads the
 * worker's threadId now, since a stopped Worker reports -1. Resolves, after the exit, to the
 * targets' results (see {@link recoverDeadThread}).
 *
 * @example
 * ```ts
 * const worker = new Worker(file, { workerData: { cache: cache.handle, mutex: mutex.handle } });
 * void recoverOnExit(worker, [cache, mutex]);
 * ```
 */
export function recoverOnExit<const T extends readonly Recoverable[]>(
  worker: Worker,
  targets: T,
): Promise<{ -readonly [I in keyof T]: ReturnType<T[I]['recoverDeadThread']> }> {
  const threadId = worker.threadId;
  if (threadId < 0)
    return Promise.reject(
      new IllegalStateError('recoverOnExit(): the worker has already stopped; call recoverDeadThread(threadId, targets) with the threadId read while it ran'),
    );
  return new Promise((resolve, reject) => {
    worker.once('exit', () => recoverDeadThread(threadId, targets).then(resolve, reject));
  });
}
