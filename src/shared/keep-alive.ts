/**
 * Keeps the event loop alive while async waits are pending.
 *
 * A pending `Atomics.waitAsync` does not hold the event loop open: a program whose only pending
 * work is a lock acquisition would simply exit. One shared interval timer, ref'ed while at least
 * one wait is pending and unref'ed otherwise, fixes that at the cost of one timer per thread.
 */

let pendingWaits = 0;
let timer: NodeJS.Timeout | undefined;

function noop(): void {}

/** Marks one more async wait as pending. Pair every call with {@link releaseEventLoop}. */
export function holdEventLoop(): void {
  if (pendingWaits++ === 0) {
    timer ??= setInterval(noop, 0x4000_0000);
    timer.ref();
  }
}

/** Marks one pending async wait as finished. */
export function releaseEventLoop(): void {
  if (--pendingWaits === 0) timer?.unref();
}

/** How many async waits this thread has pending (for diagnostics and tests). */
export function pendingAsyncWaits(): number {
  return pendingWaits;
}
