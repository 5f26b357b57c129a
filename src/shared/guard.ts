/**
 * The scoped forms (`withLock`, `withReadLock`, `withPermits`…) of every primitive: acquire, run,
 * always release. One implementation, so their error and timeout behaviour is the same everywhere.
 */
import { TimeoutError } from '../errors.js';
import { checkFunction } from './validate.js';

/** Runs `fn` between a blocking `acquire` and `release`; a failed acquisition throws {@link TimeoutError}. */
export function runHeld<T>(what: string, fn: () => T, acquire: () => boolean, release: () => void, timeoutMs?: number): T {
  checkFunction(fn, 'fn');
  if (!acquire()) throw new TimeoutError(`${what}: not acquired within ${timeoutMs} ms`);
  try {
    return fn();
  } finally {
    release();
  }
}

/** Runs `fn` (sync or async) between an async `acquire` and `release`; a failed acquisition throws {@link TimeoutError}. */
export async function runHeldAsync<T>(
  what: string,
  fn: () => T | PromiseLike<T>,
  acquire: () => Promise<boolean>,
  release: () => void,
  timeoutMs?: number,
): Promise<T> {
  checkFunction(fn, 'fn');
  if (!(await acquire())) throw new TimeoutError(`${what}: not acquired within ${timeoutMs} ms`);
  try {
    return await fn();
  } finally {
    release();
  }
}
