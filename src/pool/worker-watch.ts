/**
 * The process-wide watch over new Worker threads (process 'worker' event), shared by every pool.
 *
 * Pools need it because piscina reports a new worker ('workerCreate') only once it has loaded the
 * task module, so a worker that fails while loading it would otherwise go unseen. Each pool picks
 * out its own workers; one process listener serves them all, installed while any pool watches.
 */
import type { Worker } from 'node:worker_threads';

const workerWatchers = new Set<(worker: Worker) => void>();

function onNewWorker(worker: Worker): void {
  for (const watch of workerWatchers) watch(worker);
}

/**
 * Calls `watch` with every Worker thread created in this process from now on (including ones
 * created earlier in the current tick: process 'worker' fires on the next tick).
 */
export function watchWorkers(watch: (worker: Worker) => void): void {
  if (workerWatchers.size === 0) process.on('worker', onNewWorker);
  workerWatchers.add(watch);
}

/** Stops calling `watch`; removes the process listener once no watcher is left. */
export function unwatchWorkers(watch: (worker: Worker) => void): void {
  if (workerWatchers.delete(watch) && workerWatchers.size === 0) process.off('worker', onNewWorker);
}
