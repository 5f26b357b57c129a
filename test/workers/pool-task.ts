/** The task module of the pool tests: it uses `sabre/worker` exactly as a user's module would. */
import { setTimeout as sleep } from 'node:timers/promises';
import { threadId } from 'node:worker_threads';
import type { Barrier, Latch } from '../../src/index.js';
import { cache, primitives, workerData } from '../../src/pool/worker.js';

interface Job {
  op: 'writeThenReadAll' | 'get' | 'sleep' | 'spin' | 'threadId' | 'workerData';
  ms?: number;
  key?: string;
}

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
  }
}
