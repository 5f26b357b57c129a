/**
 * Pool options, checked before anything starts (piscina-style): a bad configuration throws an
 * InvalidArgumentError from createPool and no thread is created.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { InvalidArgumentError } from '../errors.js';
import type { SharedCacheOptions } from '../cache/options.js';
import { checkInteger, describeValue } from '../shared/validate.js';
import type { PrimitiveSpec } from './named.js';

/** Options of {@link createPool}. */
export interface PoolOptions {
  /** The task module (path or file: URL). Its default export (or `handler`) runs each task: `(task) => result`. */
  filename: string | URL;
  /** Worker threads (integer >= 1). Default: the number of cores. */
  threads?: number;
  /** Options of the SharedCache every worker sees (`cache` from 'sabre/worker'). Default: no cache. */
  cache?: SharedCacheOptions;
  /** Named primitives, created here and attached by name in every worker (`primitives` from 'sabre/worker'). */
  primitives?: Record<string, PrimitiveSpec>;
  /** Default per-task timeout in ms; a task that runs longer is aborted (its worker is replaced). Default: none. */
  taskTimeoutMs?: number;
  /** Close the pool on SIGINT and SIGTERM, then exit with code 0 (a second signal forces the exit). Default: true. */
  signals?: boolean;
  /** How long close() (and a signal) lets running tasks finish before terminating their workers, in ms. Default: 10,000. */
  shutdownDeadlineMs?: number;
  /** Data every worker receives (`workerData` from 'sabre/worker'); structured-clonable. */
  workerData?: unknown;
  /** The memory guard: watch the process's resident memory against a limit. Default: off. */
  memory?: MemoryOptions;
}

/** Options of the pool's memory guard. */
export interface MemoryOptions {
  /** The limit, in MiB of resident memory for the whole process (> 0). */
  limitMb: number;
  /** A 'warning' event at this fraction of the limit (0 < warnRatio < 1). Default 0.8. */
  warnRatio?: number;
  /** At the limit: 'reject' refuses new tasks and new cache keys (MemoryLimitError); 'evict' sheds cache entries. Default 'reject'. */
  onLimit?: 'reject' | 'evict';
  /** How often to sample, in ms (default 250). */
  intervalMs?: number;
}

/** The validated options. */
export interface PoolConfig {
  readonly filename: string;
  readonly threads: number;
  readonly cache: SharedCacheOptions | undefined;
  readonly primitives: Record<string, PrimitiveSpec>;
  readonly taskTimeoutMs: number | undefined;
  readonly shutdownDeadlineMs: number;
  readonly signals: boolean;
  readonly workerData: unknown;
  readonly memory: { limitBytes: number; warnRatio: number; onLimit: 'reject' | 'evict'; intervalMs: number } | undefined;
}

function checkMemory(memory: unknown): PoolConfig['memory'] {
  if (memory === undefined) return undefined;
  if (typeof memory !== 'object' || memory === null) throw new InvalidArgumentError(`memory must be an object, got ${describeValue(memory)}`);
  const m = memory as MemoryOptions;
  if (typeof m.limitMb !== 'number' || !(m.limitMb > 0) || !Number.isFinite(m.limitMb)) {
    throw new InvalidArgumentError(`memory.limitMb must be a number > 0, got ${describeValue(m.limitMb)}`);
  }
  const warnRatio = m.warnRatio ?? 0.8;
  if (typeof warnRatio !== 'number' || !(warnRatio > 0 && warnRatio < 1)) {
    throw new InvalidArgumentError(`memory.warnRatio must be a number between 0 and 1, got ${describeValue(m.warnRatio)}`);
  }
  const onLimit = m.onLimit ?? 'reject';
  if (onLimit !== 'reject' && onLimit !== 'evict') throw new InvalidArgumentError(`memory.onLimit must be 'reject' or 'evict', got ${describeValue(m.onLimit)}`);
  const intervalMs = m.intervalMs ?? 250;
  if (typeof intervalMs !== 'number' || !(intervalMs > 0)) throw new InvalidArgumentError(`memory.intervalMs must be a number > 0, got ${describeValue(m.intervalMs)}`);
  return { limitBytes: m.limitMb * 1024 * 1024, warnRatio, onLimit, intervalMs };
}

function checkFilename(filename: unknown): string {
  let path: string;
  if (filename instanceof URL) path = fileURLToPath(filename);
  else if (typeof filename === 'string' && filename.startsWith('file:')) path = fileURLToPath(filename);
  else if (typeof filename === 'string' && filename.length > 0) path = filename;
  else throw new InvalidArgumentError(`filename must be a path or a file: URL of the task module, got ${describeValue(filename)}`);
  if (!existsSync(path)) throw new InvalidArgumentError(`filename: no task module at ${path}`);
  return path;
}

export function checkPoolOptions(options: unknown, cores: number): PoolConfig {
  if (typeof options !== 'object' || options === null) throw new InvalidArgumentError(`createPool() needs an options object, got ${describeValue(options)}`);
  const o = options as PoolOptions;
  const threads = checkInteger(o.threads ?? cores, 'threads', 1, 1024);
  const taskTimeoutMs = o.taskTimeoutMs === undefined ? undefined : o.taskTimeoutMs;
  if (taskTimeoutMs !== undefined && (typeof taskTimeoutMs !== 'number' || !(taskTimeoutMs > 0))) {
    throw new InvalidArgumentError(`taskTimeoutMs must be a number > 0, got ${describeValue(taskTimeoutMs)}`);
  }
  const shutdownDeadlineMs = o.shutdownDeadlineMs ?? 10_000;
  if (typeof shutdownDeadlineMs !== 'number' || !(shutdownDeadlineMs >= 0) || !Number.isFinite(shutdownDeadlineMs)) {
    throw new InvalidArgumentError(`shutdownDeadlineMs must be a finite number >= 0, got ${describeValue(shutdownDeadlineMs)}`);
  }
  if (o.signals !== undefined && typeof o.signals !== 'boolean') throw new InvalidArgumentError(`signals must be a boolean, got ${describeValue(o.signals)}`);
  if (o.primitives !== undefined && (typeof o.primitives !== 'object' || o.primitives === null)) {
    throw new InvalidArgumentError(`primitives must be an object of name: spec, got ${describeValue(o.primitives)}`);
  }
  return {
    filename: checkFilename(o.filename),
    threads,
    cache: o.cache,
    primitives: o.primitives ?? {},
    taskTimeoutMs,
    shutdownDeadlineMs,
    signals: o.signals ?? true,
    workerData: o.workerData,
    memory: checkMemory(o.memory),
  };
}
