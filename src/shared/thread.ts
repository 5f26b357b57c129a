/**
 * Who is this thread, as shared memory sees it.
 *
 * Locks record their holder as `threadId + 1` so that 0 can mean "nobody". Node's thread ids are
 * unique for the life of the process and never reused, which is what lets a coordinator tell a
 * dead holder from a live one (see the recovery notes in mutex.ts).
 */
import { isMainThread, threadId } from 'node:worker_threads';
import { MainThreadBlockingError } from '../errors.js';

/** The largest owner tag a lock word can hold (bits 0..27). */
export const OWNER_MASK = 0x0fff_ffff;

/** This thread's tag in lock words: its threadId + 1, never 0. */
export const SELF_TAG = threadId + 1;

if (SELF_TAG > OWNER_MASK) {
  // ~268 million threads in one process: not reachable in practice, but fail loudly rather than alias.
  throw new Error(`sabre: threadId ${threadId} does not fit in a lock word`);
}

/** Turns an owner tag read from shared memory back into a threadId. */
export function threadIdOfTag(tag: number): number {
  return tag - 1;
}

/**
 * Blocking waits (`Atomics.wait`) are legal on Node's main thread but freeze its timers and I/O
 * for as long as they wait, so the public blocking forms refuse to run there at all (not only
 * when they would have to wait: a rule that held only under contention would pass tests and
 * fail in production). A zero timeout never waits and is allowed.
 */
export function assertMayBlock(what: string, asyncAlternative: string): void {
  if (isMainThread) throw new MainThreadBlockingError(what, asyncAlternative);
}
