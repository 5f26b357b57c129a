/**
 * sabre: shared-memory primitives for Node.js worker threads.
 *
 * Every primitive lives in a SharedArrayBuffer, is created on any thread with `X.create(…)`,
 * travels to other threads as `x.handle`, and is attached there with `X.attach(handle)`.
 * Workers use the blocking forms; the main thread uses the `…Async` forms.
 */
export { Mutex, type MutexHandle } from './shared/mutex.js';
export type { Holder } from './shared/holder.js';
export { RwLock, type RwLockHandle } from './shared/rwlock.js';
export { Semaphore, type SemaphoreHandle, type SemaphoreOptions } from './shared/semaphore.js';
export { Barrier, type BarrierHandle, type BarrierOptions, type BarrierArrival } from './shared/barrier.js';
export { CondVar, type CondVarHandle } from './shared/condvar.js';
export { Latch, type LatchHandle, type LatchOptions } from './shared/latch.js';
export {
  SharedCache,
  type SharedCacheHandle,
  type SetOptions,
  type ComputeOptions,
  type CacheStats,
  type EvictionReason,
  type EvictionListener,
  type CacheKey,
  type CacheRecovery,
} from './cache/shared-cache.js';
export { recoverOnExit, recoverDeadThread, type Recoverable } from './shared/dead-threads.js';
export type { SharedCacheOptions, EvictionPolicy } from './cache/options.js';
export { ManualClock, type ManualClockHandle } from './cache/clock.js';
export type { Placement, PrimitiveHandle } from './shared/region.js';
export type { AsyncWaitOptions } from './shared/validate.js';
export { pendingAsyncWaits } from './shared/keep-alive.js';
export {
  SabreError,
  InvalidArgumentError,
  HandleError,
  NotOwnerError,
  IllegalStateError,
  MainThreadBlockingError,
  TimeoutError,
  BarrierBrokenError,
  MemoryLimitError,
  LockUnavailableError,
  TypeScriptUnavailableError,
} from './errors.js';
export { asyncCache, type AsyncCache, type AsyncCacheStats, type AsyncSetOptions, type AsyncComputeOptions } from './async-cache.js';
