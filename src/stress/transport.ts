/**
 * How a scenario's state crosses to the actor threads. State is built on the main thread and
 * structured-cloned into every actor's task; SharedArrayBuffers inside it are shared, not copied.
 * sabre's own objects (a SharedCache, a Mutex, a CondVar…) are not clonable as objects, so they
 * travel as their handles and arrive attached: the actors see a live `Mutex` where the state held
 * one, with nothing to attach by hand.
 *
 * The same walk also names the primitives in the state by their path (`state.forks[1]`), on both
 * sides, in the same order: a stuck actor's wait is reported by that name (watch-board.ts).
 */
import { SharedCache } from '../cache/shared-cache.js';
import { Barrier } from '../shared/barrier.js';
import { CondVar } from '../shared/condvar.js';
import { Latch } from '../shared/latch.js';
import { Mutex } from '../shared/mutex.js';
import { RwLock } from '../shared/rwlock.js';
import { Semaphore } from '../shared/semaphore.js';

/** The key that marks a packed sabre object (a string: symbols do not survive structured clone). */
const PACKED = '__sabreHandle';

/** Deeper than this, state is passed as it is (and its primitives go unnamed). */
const MAX_DEPTH = 8;

interface SabreHandle {
  readonly kind: string;
  readonly buffer: SharedArrayBuffer;
  readonly byteOffset: number;
}

// biome-ignore lint/suspicious/noExplicitAny: each attach takes its own handle type; the kind picks the right one.
const ATTACH: Readonly<Record<string, (handle: any) => unknown>> = {
  'sabre/mutex': (h) => Mutex.attach(h),
  'sabre/rwlock': (h) => RwLock.attach(h),
  'sabre/semaphore': (h) => Semaphore.attach(h),
  'sabre/barrier': (h) => Barrier.attach(h),
  'sabre/condvar': (h) => CondVar.attach(h),
  'sabre/latch': (h) => Latch.attach(h),
  'sabre/cache': (h) => SharedCache.attach(h),
};

function isHandle(value: unknown): value is SabreHandle {
  if (typeof value !== 'object' || value === null) return false;
  const { kind, buffer, byteOffset } = value as Partial<SabreHandle>;
  return typeof kind === 'string' && kind in ATTACH && buffer instanceof SharedArrayBuffer && typeof byteOffset === 'number';
}

/** The handle of a live sabre object (duck-typed: a second copy of sabre makes instanceof useless). */
function handleOfLive(value: object): SabreHandle | undefined {
  if (isHandle(value)) return undefined;
  try {
    const handle = (value as { handle?: unknown }).handle;
    return isHandle(handle) ? handle : undefined;
  } catch {
    return undefined; // a getter that throws is not a sabre object
  }
}

function isPlain(value: object): boolean {
  if (Array.isArray(value)) return true;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** `value` with every live sabre object replaced by its packed handle (main thread, before sending). */
export function packState(value: unknown, depth = 0): unknown {
  if (typeof value !== 'object' || value === null || depth > MAX_DEPTH) return value;
  const handle = handleOfLive(value);
  if (handle !== undefined) return { [PACKED]: handle };
  if (!isPlain(value)) return value;
  if (Array.isArray(value)) return value.map((v) => packState(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) out[key] = packState(v, depth + 1);
  return out;
}

/** `value` with every packed handle attached again (actor thread, after receiving). */
export function unpackState(value: unknown, depth = 0): unknown {
  if (typeof value !== 'object' || value === null || depth > MAX_DEPTH || !isPlain(value)) return value;
  if (Array.isArray(value)) return value.map((v) => unpackState(v, depth + 1));
  const packed = (value as Record<string, unknown>)[PACKED];
  if (isHandle(packed)) return ATTACH[packed.kind]!(packed);
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) out[key] = unpackState(v, depth + 1);
  return out;
}

/** A sabre object found in state, by path. */
export interface PrimitiveRef {
  readonly path: string;
  readonly kind: string;
  readonly buffer: SharedArrayBuffer;
  readonly byteOffset: number;
}

/**
 * The sabre objects in `value` (live ones, or plain handles as hook-form scenarios pass them), in
 * walk order, named from `prefix`. The main thread's original and an actor's unpacked copy give
 * the same list.
 */
export function primitiveRefs(value: unknown, prefix: string, into: PrimitiveRef[] = [], depth = 0): PrimitiveRef[] {
  if (typeof value !== 'object' || value === null || depth > MAX_DEPTH) return into;
  const handle = isHandle(value) ? value : handleOfLive(value);
  if (handle !== undefined) {
    into.push({ path: prefix, kind: handle.kind, buffer: handle.buffer, byteOffset: handle.byteOffset });
    return into;
  }
  if (!isPlain(value)) return into;
  if (Array.isArray(value)) value.forEach((v, i) => primitiveRefs(v, `${prefix}[${i}]`, into, depth + 1));
  else
    for (const [key, v] of Object.entries(value))
      primitiveRefs(v, /^[A-Za-z_$][\w$]*$/.test(key) ? `${prefix}.${key}` : `${prefix}[${JSON.stringify(key)}]`, into, depth + 1);
  return into;
}
