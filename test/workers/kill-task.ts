/**
 * The pool task of the kill rounds (test/support/kill-rounds.ts): mixed cache and lock operations
 * on the pool's cache and its named 'mutex' and 'rwlock', for `durationMs`, as writer `writer`.
 * It may be aborted or time out anywhere; the board says how far it got.
 */
import { threadId } from 'node:worker_threads';
import type { Mutex, RwLock } from '../../src/index.js';
import { cache, primitives } from '../../src/pool/worker.js';
import { mixSeed, seededRandom } from '../../src/stress/random.js';
import { type OpsReport, STATE, WORD, WORDS_PER_WRITER, runOps } from './kill-ops.js';

export interface KillTaskJob {
  board: SharedArrayBuffer;
  writer: number;
  seed: number;
  durationMs: number;
}

export default async function task(job: KillTaskJob): Promise<OpsReport> {
  const board = new Int32Array(job.board);
  const base = job.writer * WORDS_PER_WRITER;
  Atomics.store(board, base + WORD.THREAD, threadId);
  Atomics.store(board, base + WORD.STATE, STATE.RUNNING);
  const endAt = performance.now() + job.durationMs;
  const report = await runOps({
    cache: cache!,
    mutex: primitives.mutex as Mutex,
    rwlock: primitives.rwlock as RwLock,
    board,
    writer: job.writer,
    random: seededRandom(mixSeed(job.seed, job.writer)),
    mix: 'worker',
    main: false,
    going: () => performance.now() < endAt,
  });
  Atomics.store(board, base + WORD.STATE, STATE.DONE);
  return report;
}
