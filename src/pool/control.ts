/**
 * The control plane between the coordinator and its workers: comlink over a BroadcastChannel per
 * worker, named after the pool and the worker's threadId (so exactly two ends share each name).
 * Workers announce themselves on the pool's hello channel once their control object is exposed.
 * Only control calls go this way (stats, pause, resume, diagnostics); data goes through shared memory.
 */

/** What the coordinator can ask one worker. */
export interface WorkerControl {
  /** Answers with the worker's threadId (liveness). */
  ping(): number;
  /** The worker's own view: threadId, tasks running, paused or not, memory. */
  stats(): WorkerStats;
  /** New tasks wait (they are not lost) until resume(); tasks already running go on. */
  pause(): void;
  resume(): void;
}

export interface WorkerStats {
  readonly threadId: number;
  readonly running: number;
  readonly completed: number;
  readonly paused: boolean;
  readonly heapUsedBytes: number;
}

/** What every worker of a pool receives under workerData.sabre. */
export interface WorkerSetup {
  readonly pool: string;
  readonly filename: string;
  readonly cache: unknown;
  readonly primitives: Record<string, unknown>;
  readonly userData: unknown;
}

export const controlChannelName = (pool: string, threadId: number): string => `sabre:${pool}:control:${threadId}`;
export const helloChannelName = (pool: string): string => `sabre:${pool}:hello`;
