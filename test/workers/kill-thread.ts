/**
 * A plain worker_threads worker of the kill rounds (test/support/kill-rounds.ts): the same mixed
 * operations as a pool task, on a cache, mutex and rwlock attached from their handles. It posts
 * its report when done, unless the main thread terminates it first.
 */
import { parentPort, threadId, workerData } from 'node:worker_threads';
import { Mutex, type MutexHandle, RwLock, type RwLockHandle, SharedCache, type SharedCacheHandle } from '../../src/index.js';
import { mixSeed, seededRandom } from '../../src/stress/random.js';
import { STATE, WORD, WORDS_PER_WRITER, runOps } from './kill-ops.js';

const data = workerData as {
  cache: SharedCacheHandle;
  mutex: MutexHandle;
  rwlock: RwLockHandle;
  board: SharedArrayBuffer;
  writer: number;
  seed: number;
  durationMs: number;
};
const board = new Int32Array(data.board);
const base = data.writer * WORDS_PER_WRITER;
const cache = SharedCache.attach(data.cache);
const mutex = Mutex.attach(data.mutex);
const rwlock = RwLock.attach(data.rwlock);
Atomics.store(board, base + WORD.THREAD, threadId);
Atomics.store(board, base + WORD.STATE, STATE.RUNNING);
const endAt = performance.now() + data.durationMs;
const report = await runOps({
  cache,
  mutex,
  rwlock,
  board,
  writer: data.writer,
  random: seededRandom(mixSeed(data.seed, data.writer)),
  mix: 'worker',
  main: false,
  going: () => performance.now() < endAt,
});
Atomics.store(board, base + WORD.STATE, STATE.DONE);
parentPort!.postMessage(report);
