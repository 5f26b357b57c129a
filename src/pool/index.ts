/** `sabre/pool`: the coordinator. */
export { createPool, SabrePool, type RunOptions, type ControlResult, type RecoveryEvent, type PoolEvents } from './pool.js';
export type { PoolOptions, MemoryOptions } from './options.js';
export type { MemoryEvent, MemorySample, MemoryState } from './memory-guard.js';
export type { PrimitiveSpec, AnyPrimitive } from './named.js';
export type { WorkerControl, WorkerStats } from './control.js';
