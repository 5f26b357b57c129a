/**
 * The task module of scenario L's inner pool: take the named lock, then write to the cache with a
 * fault point armed, so that the worker dies inside the cache mutation while holding the lock.
 */
import { armFaultPoint, type FaultPoint } from '../../shared/fault-points.js';
import type { Mutex } from '../../shared/mutex.js';
import { cache, primitives } from '../../pool/worker.js';

export interface VictimJob {
  readonly point: FaultPoint;
}

/** What the victim does to reach each fault point (the cache is full, so new keys evict). */
function reach(point: FaultPoint, n: number): void {
  if (point === 'clear:halfway') cache!.clear();
  else if (point === 'delete:unlinked') cache!.delete(`key:${n % 64}`);
  else if (point === 'put:in-place' || point === 'write:locked')
    cache!.set(`key:${n % 64}`, 'rewritten'); // the same length as 'value:xyz'
  else cache!.set(`new:${n}:${Math.random()}`, 'longer than the old values');
}

export default function victim(job: VictimJob): string {
  (primitives.lock as Mutex).lock();
  armFaultPoint(job.point);
  for (let n = 0; n < 10_000; n++) reach(job.point, n);
  return 'survived';
}
