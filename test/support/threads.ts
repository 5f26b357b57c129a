/** Starts the test actor (test/workers/actor.ts, built to dist/) on real worker threads. */
import { Worker } from 'node:worker_threads';

const ACTORS = {
  primitives: new URL('../../dist/test/workers/actor.js', import.meta.url),
  cache: new URL('../../dist/test/workers/cache-actor.js', import.meta.url),
};

/** A running actor: its worker and the promise of its result. */
export interface RunningActor<R> {
  readonly worker: Worker;
  readonly result: Promise<R>;
}

/** Starts one actor playing `role` with `data`; the result promise rejects if the worker throws or exits without answering. */
export function startActor<R>(role: string, data: Record<string, unknown> = {}, script: keyof typeof ACTORS = 'primitives'): RunningActor<R> {
  // `env` in data becomes the worker's environment (on top of this process's).
  const env = data.env === undefined ? process.env : { ...process.env, ...(data.env as Record<string, string>) };
  const worker = new Worker(ACTORS[script], { workerData: { role, ...data }, env });
  const result = new Promise<R>((resolve, reject) => {
    let answered = false;
    worker.once('message', (value: R) => {
      answered = true;
      resolve(value);
    });
    worker.once('error', reject);
    worker.once('exit', (code) => {
      if (!answered) reject(new Error(`actor ${role} exited with code ${code} before answering`));
    });
  });
  return { worker, result };
}

/** Starts `count` actors playing `role`; `data(i)` gives each its data (its index is added as `index`). */
export function runActors<R>(
  role: string,
  count: number,
  data: (index: number) => Record<string, unknown>,
  script: keyof typeof ACTORS = 'primitives',
): Promise<R[]> {
  return Promise.all(Array.from({ length: count }, (_, index) => startActor<R>(role, { index, ...data(index) }, script).result));
}

/** Starts a cache actor (test/workers/cache-actor.ts). */
export function startCacheActor<R>(role: string, data: Record<string, unknown>): RunningActor<R> {
  return startActor<R>(role, data, 'cache');
}

/** Starts `count` cache actors. */
export function runCacheActors<R>(role: string, count: number, data: (index: number) => Record<string, unknown>): Promise<R[]> {
  return runActors<R>(role, count, data, 'cache');
}

/** A copy of every byte of `buffer`, to prove an operation left shared memory unchanged. */
export function snapshot(buffer: SharedArrayBuffer): Uint8Array {
  return new Uint8Array(buffer).slice();
}

/** Resolves once `predicate` holds, polling every millisecond (for states another thread reaches). */
export async function until(predicate: () => boolean, what: string, limitMs = 30_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`gave up waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

/** The raw state word (word 1) of a primitive, for tests that check which waiting bits are set. */
export function stateWord(handle: { buffer: SharedArrayBuffer; byteOffset: number }): number {
  return Atomics.load(new Int32Array(handle.buffer, handle.byteOffset, 2), 1);
}

/** Lets a thread that has just announced itself (set a waiting bit) reach its Atomics.wait. */
export function settle(ms = 50): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
