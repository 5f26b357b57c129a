/** `sabre/pool`: the coordinator. */
export { createPool, SabrePool, type RunOptions, type ControlResult } from './pool.js';
export type { PoolOptions } from './options.js';
export type { PrimitiveSpec, AnyPrimitive } from './named.js';
export type { WorkerControl, WorkerStats } from './control.js';
