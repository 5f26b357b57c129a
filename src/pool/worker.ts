/**
 * `sabre/worker`: what a task module sees inside a pool's worker, with no boilerplate:
 *
 * ```js
 * import { cache, primitives } from 'sabre/worker';
 * export default function task(job) { return cache.increment(job.key); }
 * ```
 *
 * Outside a sabre pool's worker, `cache` is undefined and `primitives` is empty.
 */
import { workerData as rawWorkerData } from 'node:worker_threads';
import { SharedCache, type SharedCacheHandle } from '../cache/shared-cache.js';
import type { PrimitiveHandle } from '../shared/region.js';
import type { WorkerSetup } from './control.js';
import { type AnyPrimitive, attachPrimitive } from './named.js';

const setup = (rawWorkerData as { sabre?: WorkerSetup } | undefined)?.sabre;

/** The pool's SharedCache, attached in this worker (undefined if the pool has none). */
export const cache: SharedCache | undefined = setup?.cache ? SharedCache.attach(setup.cache as SharedCacheHandle) : undefined;

/** The pool's named primitives, attached in this worker. */
export const primitives: Readonly<Record<string, AnyPrimitive>> = Object.freeze(
  Object.fromEntries(Object.entries(setup?.primitives ?? {}).map(([name, handle]) => [name, attachPrimitive(handle as PrimitiveHandle)])),
);

/** The pool's `workerData` option. */
export const workerData: unknown = setup?.userData;
