/** The task module of the pool tests: it uses `sabre/worker` exactly as a user's module would. */
import { setTimeout as sleep } from 'node:timers/promises';
import { threadId } from 'node:worker_threads';
import { type Barrier, type Latch, Mutex, type RwLock, RwLock as RwLockClass } from '../../src/index.js';
import { cache, primitives, workerData } from '../../src/pool/worker.js';
import { type FaultPoint, armFaultPoint } from '../../src/shared/fault-points.js';

interface Job {
  op:
    | 'writeThenReadAll'
    | 'get'
    | 'sleep'
    | 'spin'
    | 'threadId'
    | 'workerData'
    | 'hold'
    | 'lockAndHang'
    | 'holdWordLock'
    | 'churn'
    | 'crashAt'
    | 'computeAndHang';
  byteOffset?: number;
  point?: FaultPoint;
  /** crashAt: die the nth time the point is reached (default: the first). */
  nth?: number;
  action?: 'set' | 'setNew' | 'delete' | 'clear';
  ms?: number;
  key?: string;
  mb?: number;
  latch?: string;
}

const held: Buffer[] = [];

export default async function task(job: Job): Promise<unknown> {
  switch (job.op) {
    case 'writeThenReadAll': {
      // Every task holds its worker until all have written: each runs on its own thread.
      cache!.set(`from:${threadId}`, threadId);
      (primitives.start as Barrier).arriveAndWait(30_000);
      return { threadId, keys: [...cache!.keys()].sort() };
    }
    case 'get':
      return cache!.get(job.key!);
    case 'sleep':
      await sleep(job.ms);
      return threadId;
    case 'spin':
      (primitives.spinning as Latch | undefined)?.countDown();
      for (;;); // never returns: only an abort ends it
    case 'threadId':
      return threadId;
    case 'workerData':
      return workerData;
    case 'holdWordLock': {
      // Take the mutex at byteOffset of the cache's buffer (a test names one of the cache's own
      // locks), say so, and never let go: a holder that will die holding it.
      Mutex.attach({ kind: 'sabre/mutex', layout: 1, buffer: cache!.handle.buffer, byteOffset: job.byteOffset! }).lock();
      (primitives[job.latch!] as Latch).countDown();
      for (;;) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1_000);
    }
    case 'lockAndHang': {
      // Take a named lock (a mutex, or an rwlock's write side), say so, and never let go.
      const lock = primitives[job.key!] as Mutex | RwLock;
      if (lock instanceof RwLockClass) lock.writeLock();
      else (lock as Mutex).lock();
      (primitives[job.latch!] as Latch).countDown();
      for (;;) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1_000);
    }
    case 'churn': {
      // Write, rewrite, read and delete this thread's own keys until the main thread sets 'stop'.
      // Every value names its key, so a torn or misplaced value is caught here.
      (primitives.churning as Latch).countDown();
      let ops = 0;
      for (let n = 0; !cache!.has('stop'); n++, ops++) {
        const key = `churn:${threadId}:${n % 40}`;
        if (n % 7 === 3) cache!.delete(key);
        else cache!.set(key, { key, n, pad: 'x'.repeat(n % 90) });
        const read = cache!.get(key) as { key: string } | undefined;
        if (read !== undefined && read.key !== key) throw new Error(`read ${JSON.stringify(read)} under ${key}`);
      }
      return ops;
    }
    case 'computeAndHang':
      // Own a getOrCompute flight whose computation never ends; only termination ends it.
      return cache!.getOrCompute(
        job.key!,
        () => {
          (primitives[job.latch!] as Latch).countDown();
          return new Promise(() => {});
        },
        { leaseMs: 3_600_000 },
      );
    case 'crashAt': {
      // Arm a fault point, then do what reaches it: the thread exits there, holding its locks.
      armFaultPoint(job.point!, job.nth ?? 1);
      for (let n = 0; n < 1_000; n++) {
        if (job.action === 'set') cache!.set('crash:key', 'new-value');
        else if (job.action === 'setNew') cache!.set(`crash:new:${n}`, `new-value:${n}`);
        else if (job.action === 'delete') cache!.delete('crash:key');
        else cache!.clear();
      }
      return 'survived'; // the point was never reached: the test fails on this
    }
    case 'hold': {
      // Make `mb` MiB resident (filled, so every page is touched), say so, and keep it until this
      // worker is terminated (the test aborts the task to free the memory at once).
      held.push(Buffer.alloc(job.mb! * 1024 * 1024, 1));
      (primitives[job.latch!] as Latch).countDown();
      for (;;) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1_000);
    }
  }
}
