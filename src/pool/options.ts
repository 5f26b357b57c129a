/**
 * Pool options, checked before anything starts (piscina-style): a bad configuration throws an
 * InvalidArgumentError from createPool and no thread is created. Each options object is read
 * once (readOptions): an unknown or misspelt name is refused rather than silently ignored, and
 * `null` is a value like any other, never "the default".
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { InvalidArgumentError } from '../errors.js';
import type { SharedCacheOptions } from '../cache/options.js';
import { checkInteger, describeValue, readOptions } from '../shared/validate.js';
import type { PrimitiveSpec } from './named.js';

/** Options of {@link createPool}. */
export interface PoolOptions {
  /**
   * The task module (path or file: URL). Its default export (or `handler`) runs each task: `(task) => result`.
   * JavaScript or TypeScript (`.ts`, `.mts`, `.cts`: on Node before 22.18 with amaro installed).
   */
  filename: string | URL;
  /** Worker threads (integer >= 1). Default: the number of cores. */
  threads?: number;
  /** Options of the SharedCache every worker sees (`cache` from 'sabre/worker'). Default: no cache. */
  cache?: SharedCacheOptions;
  /** Named primitives, created here and attached by name in every worker (`primitives` from 'sabre/worker'). */
  primitives?: Record<string, PrimitiveSpec>;
  /** Default per-task timeout in ms (at most 2^31 - 1, a timer's limit); a task that runs longer is aborted (its worker is replaced). Default: none. */
  taskTimeoutMs?: number;
  /** Close the pool on SIGINT and SIGTERM, then exit with code 0 (a second signal forces the exit). Default: true. */
  signals?: boolean;
  /** How long close() (and a signal) lets running tasks finish before terminating their workers, in ms (0 to 2^31 - 1, a timer's limit). Default: 10,000. */
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
  /** How often to sample, in ms (default 250; at most 2^31 - 1). */
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

/**
 * The longest delay a Node.js timer can wait, in ms (2^31 - 1, about 24.8 days). A longer one
 * fires after 1 ms instead (with only a warning), so every delay option is capped here.
 */
export const MAX_TIMER_MS = 2_147_483_647;

const POOL_OPTIONS = ['filename', 'threads', 'cache', 'primitives', 'taskTimeoutMs', 'signals', 'shutdownDeadlineMs', 'workerData', 'memory'] as const;
const MEMORY_OPTIONS = ['limitMb', 'warnRatio', 'onLimit', 'intervalMs'] as const;

/**
 * A delay in ms for a timer: a number from `min` (exclusive when `exclusive`) to
 * {@link MAX_TIMER_MS}. `what` names the option in the message.
 */
export function checkDelayMs(value: unknown, what: string, min: number, exclusive: boolean): number {
  const low = exclusive ? `> ${min}` : `>= ${min}`;
  if (typeof value !== 'number' || Number.isNaN(value) || (exclusive ? value <= min : value < min) || value > MAX_TIMER_MS) {
    throw new InvalidArgumentError(`${what} must be a number ${low} and at most ${MAX_TIMER_MS} (a timer's limit), got ${describeValue(value)}`);
  }
  return value;
}

function checkMemory(memory: unknown): PoolConfig['memory'] {
  if (memory === undefined) return undefined;
  const m = readOptions(memory, MEMORY_OPTIONS, 'memory');
  if (typeof m.limitMb !== 'number' || !(m.limitMb > 0) || !Number.isFinite(m.limitMb)) {
    throw new InvalidArgumentError(`memory.limitMb must be a number > 0, got ${describeValue(m.limitMb)}`);
  }
  const warnRatio = m.warnRatio === undefined ? 0.8 : m.warnRatio;
  if (typeof warnRatio !== 'number' || !(warnRatio > 0 && warnRatio < 1)) {
    throw new InvalidArgumentError(`memory.warnRatio must be a number between 0 and 1, got ${describeValue(warnRatio)}`);
  }
  const onLimit = m.onLimit === undefined ? 'reject' : m.onLimit;
  if (onLimit !== 'reject' && onLimit !== 'evict') throw new InvalidArgumentError(`memory.onLimit must be 'reject' or 'evict', got ${describeValue(onLimit)}`);
  const intervalMs = m.intervalMs === undefined ? 250 : checkDelayMs(m.intervalMs, 'memory.intervalMs', 0, true);
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

/**
 * Validates {@link PoolOptions}; throws InvalidArgumentError naming the bad option. The nested
 * `cache` options are passed on as given: SharedCache.create validates them.
 */
export function checkPoolOptions(options: unknown, cores: number): PoolConfig {
  // readOptions would read undefined as {}; a pool needs at least its filename.
  if (typeof options !== 'object' || options === null) throw new InvalidArgumentError(`createPool() needs an options object, got ${describeValue(options)}`);
  const o = readOptions(options, POOL_OPTIONS, 'createPool() options');
  const threads = o.threads === undefined ? cores : checkInteger(o.threads, 'threads', 1, 1024);
  const taskTimeoutMs = o.taskTimeoutMs === undefined ? undefined : checkDelayMs(o.taskTimeoutMs, 'taskTimeoutMs', 0, true);
  const shutdownDeadlineMs = o.shutdownDeadlineMs === undefined ? 10_000 : checkDelayMs(o.shutdownDeadlineMs, 'shutdownDeadlineMs', 0, false);
  if (o.signals !== undefined && typeof o.signals !== 'boolean') throw new InvalidArgumentError(`signals must be a boolean, got ${describeValue(o.signals)}`);
  if (o.primitives !== undefined && (typeof o.primitives !== 'object' || o.primitives === null || Array.isArray(o.primitives))) {
    throw new InvalidArgumentError(`primitives must be an object of name: spec, got ${describeValue(o.primitives)}`);
  }
  return {
    filename: checkFilename(o.filename),
    threads,
    cache: o.cache as SharedCacheOptions | undefined,
    primitives: (o.primitives ?? {}) as Record<string, PrimitiveSpec>,
    taskTimeoutMs,
    shutdownDeadlineMs,
    signals: o.signals ?? true,
    workerData: o.workerData,
    memory: checkMemory(o.memory),
  };
}
