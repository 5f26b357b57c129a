/**
 * Fault points: named places where a worker thread can be made to die on purpose. The cache's
 * mutation path has ten, to prove that crash recovery (cache/recovery.ts) leaves the cache
 * consistent wherever a thread dies; the wait core has one, to prove that a waiter that dies the
 * moment it is woken strands nobody (wait.ts). A test arms one point in one worker (SABRE_FAULT_POINT=name[:n] in its
 * environment, or {@link armFaultPoint}); the n-th time (default: first) that thread reaches the
 * point it exits at once, holding whatever locks it holds there. Never armed in production: the
 * cost is one comparison per point.
 */
import { isMainThread } from 'node:worker_threads';

/** Every fault point, in the order a write meets them. */
export const FAULT_POINTS = [
  'write:locked', // stripe mutex held, nothing changed yet (the write section opens at the first change)
  'put:in-place', // an in-place rewrite half done (tag and expiry written, value not yet)
  'put:structure', // structure mutex held too, before eviction
  'evict:claimed', // a victim in another stripe claimed (its stripe mutex taken), not removed
  'remove:unlinked', // a victim unlinked from its bucket, not yet freed
  'put:allocated', // a new slot taken from the free list, not filled
  'put:filled', // the entry filled, not linked into its bucket
  'put:linked', // linked, the structure mutex not yet released
  'delete:unlinked', // a deleted entry unlinked, not freed
  'clear:halfway', // clear() with every lock held, half the entries removed
] as const;

/** The wait core's fault point: a blocking waiter just woken by a notify, before it acts on it. */
export const WAIT_FAULT_POINTS = ['park:woken'] as const;

export type FaultPoint = (typeof FAULT_POINTS)[number] | (typeof WAIT_FAULT_POINTS)[number];

const ALL_POINTS: readonly string[] = [...FAULT_POINTS, ...WAIT_FAULT_POINTS];

let armed: string | null = null;
let hitsLeft = 0;

/** Arms `point` in this thread: the `nth` time it is reached, the thread exits. Worker threads only. */
export function armFaultPoint(point: FaultPoint, nth = 1): void {
  if (isMainThread) throw new Error('fault points kill their thread: arm them in a worker only');
  armed = point;
  hitsLeft = nth;
}

const fromEnv = process.env.SABRE_FAULT_POINT;
if (fromEnv !== undefined && fromEnv !== '' && !isMainThread) {
  // NAME or NAME:N; names contain a colon themselves ('write:locked'), so N is a trailing number.
  const match = /^(.*?)(?::(\d+))?$/.exec(fromEnv)!;
  if (ALL_POINTS.includes(match[1]!)) armFaultPoint(match[1] as FaultPoint, match[2] === undefined ? 1 : Number(match[2]));
}

/** Exits this thread here if `point` is armed and due. */
export function faultPoint(point: FaultPoint): void {
  // `armed !== null` first: compared with null, TurboFan emits one pointer comparison, where
  // `armed === point` alone compiled to a call of the generic StrictEqual builtin on every point
  // a set passes (two per set, unarmed).
  if (armed !== null && armed === point && --hitsLeft === 0) {
    // process.exit() in a worker stops its JavaScript at once: no finally block runs, so every
    // lock held here stays held, exactly as if the thread had crashed.
    process.exit(86);
  }
}
