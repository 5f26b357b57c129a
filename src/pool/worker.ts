/**
 * `sabre/worker`: what a task module sees inside a pool's worker, with no boilerplate:
 *
 * ```js
 * import { cache, primitives } from 'sabre/worker';
 * export default function task(job) { return cache.increment(job.key); }
 * ```
 *
 * `cache` is typed as present: in a worker of a pool created without `cache` options (or outside
 * a sabre pool's worker), any use of it throws IllegalStateError. There `primitives` is empty.
 */
import { workerData as rawWorkerData } from 'node:worker_threads';
import { SharedCache, type SharedCacheHandle } from '../cache/shared-cache.js';
import { IllegalStateError } from '../errors.js';
import type { PrimitiveHandle } from '../shared/region.js';
import type { WorkerSetup } from './control.js';
import { type AnyPrimitive, attachPrimitive } from './named.js';

const setup = (rawWorkerData as { sabre?: WorkerSetup } | undefined)?.sabre;

/** Why there is no cache here, as the error every use of the missing cache throws. */
function noCache(): IllegalStateError {
  return new IllegalStateError(
    setup === undefined
      ? "sabre/worker: `cache` is only available in a task module running in a sabre pool's worker (createPool from 'sabre/pool')"
      : 'sabre/worker: this pool has no cache: pass `cache` options to createPool',
  );
}

/** What `util.inspect` (console.log) shows for the missing cache; it reads the target, not the proxy. */
class MissingSharedCache {}

/**
 * The missing cache: an object every use of which (a method, a property, `in`, `Object.keys`, a
 * write) throws IllegalStateError. It is truthy, so test for a cache with `hasCache`.
 */
function missingCache(): SharedCache {
  const fail = (): never => {
    throw noCache();
  };
  return new Proxy(Object.freeze(new MissingSharedCache()), {
    get: fail,
    set: fail,
    has: fail,
    deleteProperty: fail,
    defineProperty: fail,
    ownKeys: fail,
    getOwnPropertyDescriptor: fail,
  }) as unknown as SharedCache;
}

/** Whether this worker's pool has a cache (`cache` options passed to createPool). */
export const hasCache: boolean = Boolean(setup?.cache);

/**
 * The pool's SharedCache, attached in this worker. Typed as present: if the pool has none (no
 * `cache` options to createPool), any use of it throws IllegalStateError. Its values are
 * `unknown`; {@link cacheOf} gives the same cache with a value type.
 */
export const cache: SharedCache = hasCache ? SharedCache.attach(setup!.cache as SharedCacheHandle) : missingCache();

/**
 * The pool's cache (the same object as `cache`) typed as a cache of `V` values: a promise the
 * caller makes, unchecked at run time (see SharedCache). Throws IllegalStateError at once if the
 * pool has no cache.
 *
 * @example
 * ```ts
 * const counters = cacheOf<number>();
 * counters.get('visits'); // number | undefined
 * ```
 */
export function cacheOf<V = unknown>(): SharedCache<V> {
  if (!hasCache) throw noCache();
  return cache as SharedCache<V>;
}

/** The pool's named primitives, attached in this worker. */
export const primitives: Readonly<Record<string, AnyPrimitive>> = Object.freeze(
  Object.fromEntries(Object.entries(setup?.primitives ?? {}).map(([name, handle]) => [name, attachPrimitive(handle as PrimitiveHandle)])),
);

/** The pool's `workerData` option. */
export const workerData: unknown = setup?.userData;
