/**
 * Named primitives: created by the coordinator, attached by name in every worker. A pool's
 * `primitives` option maps names to specs; their handles travel in workerData.
 */
import { InvalidArgumentError } from '../errors.js';
import { Barrier } from '../shared/barrier.js';
import { CondVar } from '../shared/condvar.js';
import { Latch } from '../shared/latch.js';
import { Mutex } from '../shared/mutex.js';
import type { PrimitiveHandle } from '../shared/region.js';
import { RwLock } from '../shared/rwlock.js';
import { Semaphore } from '../shared/semaphore.js';
import { describeValue } from '../shared/validate.js';

/** What a named primitive is: a kind, and the options that kind needs. */
export type PrimitiveSpec =
  | 'mutex'
  | 'rwlock'
  | 'condvar'
  | { kind: 'mutex' | 'rwlock' | 'condvar' }
  | { kind: 'semaphore'; permits: number; maxPermits?: number }
  | { kind: 'barrier'; parties: number }
  | { kind: 'latch'; count: number };

/** Any of sabre's primitives. */
export type AnyPrimitive = Mutex | RwLock | CondVar | Semaphore | Barrier | Latch;

function specKind(spec: unknown): string | undefined {
  return typeof spec === 'string' ? spec : typeof spec === 'object' && spec !== null ? (spec as { kind?: string }).kind : undefined;
}

/** Creates one primitive from its spec; bad specs are InvalidArgumentErrors naming the primitive. */
export function createPrimitive(name: string, spec: PrimitiveSpec): AnyPrimitive {
  const kind = specKind(spec);
  const options = typeof spec === 'object' ? (spec as Record<string, unknown>) : {};
  try {
    switch (kind) {
      case 'mutex':
        return Mutex.create();
      case 'rwlock':
        return RwLock.create();
      case 'condvar':
        return CondVar.create();
      case 'semaphore':
        return Semaphore.create({
          permits: options.permits as number,
          ...(options.maxPermits === undefined ? {} : { maxPermits: options.maxPermits as number }),
        });
      case 'barrier':
        return Barrier.create({ parties: options.parties as number });
      case 'latch':
        return Latch.create({ count: options.count as number });
      default:
        throw new InvalidArgumentError(`kind must be mutex, rwlock, condvar, semaphore, barrier or latch, got ${describeValue(kind)}`);
    }
  } catch (error) {
    if (error instanceof InvalidArgumentError) throw new InvalidArgumentError(`primitives.${name}: ${error.message}`);
    throw error;
  }
}

const ATTACH: Record<string, (handle: never) => AnyPrimitive> = {
  'sabre/mutex': Mutex.attach,
  'sabre/rwlock': RwLock.attach,
  'sabre/condvar': CondVar.attach,
  'sabre/semaphore': Semaphore.attach,
  'sabre/barrier': Barrier.attach,
  'sabre/latch': Latch.attach,
};

/** Attaches a primitive in another thread from its handle, whatever its kind. */
export function attachPrimitive(handle: PrimitiveHandle): AnyPrimitive {
  const attach = ATTACH[handle?.kind];
  if (attach === undefined) throw new InvalidArgumentError(`not a sabre primitive handle: ${describeValue(handle?.kind)}`);
  return attach(handle as never);
}
