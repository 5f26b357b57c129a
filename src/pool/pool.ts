/**
 * The coordinator: a piscina pool whose workers all see the same SharedCache and named
 * primitives, with a comlink control plane to each worker and a clean shutdown.
 *
 * piscina runs with `atomics: 'disabled'`: its default parks idle workers in Atomics.wait, which
 * freezes their event loops, and sabre's workers need theirs between tasks (the control plane,
 * getOrCompute waiters, timers).
 *
 * This module is the facade: options, the cache and primitives, events, the control plane, the
 * memory guard, and recovery after a worker dies. Tasks wait in sabre's own queue (task-queue.ts),
 * which hands piscina at most one per thread; the pool spots its workers through worker-watch.ts.
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { availableParallelism } from 'node:os';
import { BroadcastChannel, type Worker } from 'node:worker_threads';
import * as Comlink from 'comlink';
import { Piscina } from 'piscina';
import { type CacheRecovery, SharedCache, setAdmission, shedEntries } from '../cache/shared-cache.js';
import type { SharedCacheOptions } from '../cache/options.js';
import { IllegalStateError, InvalidArgumentError, MemoryLimitError, TimeoutError } from '../errors.js';
import { describeThrown, describeValue, readOptions } from '../shared/validate.js';
import { type WorkerControl, type WorkerSetup, controlChannelName, helloChannelName } from './control.js';
import { recoverDeadThread } from '../shared/dead-threads.js';
import { Mutex } from '../shared/mutex.js';
import { RwLock } from '../shared/rwlock.js';
import { type MemoryEvent, MemoryGuard, type MemorySample } from './memory-guard.js';
import { type AnyPrimitive, createPrimitive } from './named.js';
import { type PoolOptions, checkDelayMs, checkPoolOptions } from './options.js';
import { closeOnSignals, forgetOnSignals } from './shutdown.js';
import { TaskQueue } from './task-queue.js';
import { unwatchWorkers, watchWorkers } from './worker-watch.js';

const WORKER_ENTRY = new URL('../../workers/pool-worker.js', import.meta.url).href;

/** Per-task options of {@link SabrePool.run}. */
export interface RunOptions {
  /** Abort the task: a queued task is dropped, a running task's worker is terminated and replaced. */
  signal?: AbortSignal;
  /** Abort the task after this many ms, counted from run() (default: the pool's taskTimeoutMs); rejects with TimeoutError. */
  timeoutMs?: number;
}

type Remote = Comlink.Remote<WorkerControl>;

/**
 * Emitted as `'recovered'` when a worker died holding a lock: a named Mutex or RwLock (released),
 * or the shared cache's locks (taken over, the cache repaired, released; see `cache`).
 */
export interface RecoveryEvent {
  /** The dead worker's threadId. */
  readonly threadId: number;
  /** The named primitive's name, or 'cache'. */
  readonly name: string;
  readonly kind: 'mutex' | 'rwlock' | 'cache';
  /** For the cache: how many of its locks the worker held, and the entries it was changing, dropped. */
  readonly cache?: CacheRecovery;
}

/**
 * The events of a {@link SabrePool} and their arguments: `pool.on('memory', (event) => …)` gets
 * a MemoryEvent, `'recovered'` a RecoveryEvent, `'error'` the failure (unknown, usually an Error).
 */
export interface PoolEvents {
  memory: [event: MemoryEvent];
  recovered: [event: RecoveryEvent];
  error: [error: unknown];
}

/** What a control method answers. */
export type ControlResult<K extends keyof WorkerControl> = Awaited<ReturnType<WorkerControl[K]>>;

/**
 * A pool of worker threads sharing one cache and a set of named primitives.
 *
 * Tasks wait in the pool's own queue and are handed to a worker as one becomes free, so a deep
 * queue costs little, and {@link SabrePool.close} fails every task not yet started at once.
 *
 * Events:
 * - `'memory'` ({@link MemoryEvent}) on every memory-guard state transition;
 * - `'recovered'` ({@link RecoveryEvent}) when a lock held by a worker that died was released;
 * - `'error'` (unknown, usually an Error) when something fails outside any task: a worker that
 *   fails while no task runs on it (typically the task module throwing while it loads, reported
 *   as a SabreError that names the module, with the module's error as `cause`), or a recovery
 *   that could not complete. Listening is optional: without an `'error'` listener none is raised
 *   (the process does not crash); every task a load failure affects still rejects its run() with
 *   it, and any other such failure becomes a process warning. A task's own failure always
 *   rejects its run() and is never an `'error'` event.
 *
 * The events are typed ({@link PoolEvents}): `on`, `once`, `off` and `emit` take only these names,
 * with listeners of their arguments.
 *
 * `C` is the type of {@link SabrePool.cache}: `SharedCache<V>` for a pool created with `cache`
 * options (createPool infers it), `undefined` for one created without, either when unknown.
 */
export class SabrePool<C extends SharedCache<unknown> | undefined = SharedCache | undefined> extends EventEmitter<PoolEvents> {
  readonly #piscina: Piscina;
  readonly #id = randomUUID();
  readonly #tasks: TaskQueue;
  readonly #taskTimeoutMs: number | undefined;
  readonly #shutdownDeadlineMs: number;
  readonly #controls = new Map<number, { channel: BroadcastChannel; remote: Remote }>();
  readonly #hello: BroadcastChannel;
  readonly #ready = new Set<number>();
  #readyWaiters: Array<() => void> = [];
  #closed = false;
  #closing: Promise<void> | undefined;
  #signals: boolean;
  readonly #guard: MemoryGuard | undefined;
  readonly #rejectAtLimit: boolean;
  readonly #watch = (worker: Worker): void => this.#onNewWorker(worker);

  /**
   * The cache every worker sees (this is the main thread's view of it), if the pool has one: the
   * type says which for a pool from `createPool({ cache: … })`, and for one without `cache` options.
   */
  readonly cache: C;
  /** The named primitives, as the main thread sees them. */
  readonly primitives: Readonly<Record<string, AnyPrimitive>>;

  /** @internal use {@link createPool}. */
  constructor(options: PoolOptions) {
    super();
    const config = checkPoolOptions(options, availableParallelism());
    this.cache = (config.cache !== undefined ? SharedCache.create(config.cache) : undefined) as C;
    this.primitives = Object.freeze(Object.fromEntries(Object.entries(config.primitives).map(([name, spec]) => [name, createPrimitive(name, spec)])));
    this.#taskTimeoutMs = config.taskTimeoutMs;
    this.#shutdownDeadlineMs = config.shutdownDeadlineMs;
    const setup: WorkerSetup = {
      pool: this.#id,
      filename: config.filename,
      cache: this.cache?.handle,
      primitives: Object.fromEntries(Object.entries(this.primitives).map(([name, p]) => [name, p.handle])),
      userData: config.workerData,
    };
    this.#hello = new BroadcastChannel(helloChannelName(this.#id));
    this.#hello.onmessage = (event) => this.#onHello((event as { data: number }).data);
    this.#hello.unref();
    this.#piscina = new Piscina({
      filename: WORKER_ENTRY,
      minThreads: config.threads,
      maxThreads: config.threads,
      atomics: 'disabled',
      workerData: { sabre: setup },
    });
    this.#tasks = new TaskQueue(this.#piscina, { capacity: config.threads, filename: config.filename });
    // process 'worker' fires on the next tick, so the workers piscina just started are seen too.
    watchWorkers(this.#watch);
    // piscina emits 'error' for a worker that dies with no task on it; unheard, that would crash
    // the process.
    this.#piscina.on('error', (error: unknown) => this.#onPiscinaError(error));
    this.#signals = config.signals;
    if (this.#signals) closeOnSignals(this);
    this.#rejectAtLimit = config.memory?.onLimit !== 'evict';
    this.#guard = config.memory
      ? new MemoryGuard(
          config.memory,
          () => this.#memorySample(),
          (event) => this.#onMemory(event),
          () => this.#atLimit(),
        )
      : undefined;
  }

  /** The memory guard's state ('normal' without a guard). */
  get memoryState(): 'normal' | 'warning' | 'limit' {
    return this.#guard?.state ?? 'normal';
  }

  /** Samples memory now (and reports a transition, if any), rather than at the next interval. */
  checkMemory(): MemorySample {
    return this.#guard ? this.#guard.check() : this.#memorySample();
  }

  #memorySample(): MemorySample {
    const usage = process.memoryUsage();
    return { rssBytes: usage.rss, heapUsedBytes: usage.heapUsed, cacheBytes: this.cache?.bytes ?? 0 };
  }

  #onMemory(event: MemoryEvent): void {
    // At the limit in 'reject' mode, the cache refuses new keys in every thread; it opens again below.
    if (this.#rejectAtLimit) this.cache?.[setAdmission](event.state !== 'limit');
    this.emit('memory', event);
  }

  #atLimit(): void {
    // 'evict': shed a tenth of the cache per sample while at the limit.
    if (!this.#rejectAtLimit && this.cache) this.cache[shedEntries](Math.max(1, Math.ceil(this.cache.size / 10)));
  }

  /** Worker threads the pool runs. */
  get threads(): number {
    return this.#piscina.threads.length;
  }

  /** threadIds of the workers that have announced themselves. */
  get workerIds(): number[] {
    return this.#piscina.threads.map((w) => w.threadId).filter((id) => this.#ready.has(id));
  }

  /**
   * Runs `task` on a worker: the task module's function receives it and its result comes back.
   * The task waits in the pool's queue until a worker is free.
   *
   * Rejects with: the task's own error; TimeoutError past `timeoutMs`; an AbortError when
   * `signal` aborts; MemoryLimitError while the memory guard is at its limit ('reject' mode);
   * IllegalStateError when the pool is closing, when it closed before the task started, or when
   * no worker could load the task module (the message names the module, `cause` is its error);
   * TimeoutError when close()'s deadline terminated the task's worker; InvalidArgumentError for
   * bad options.
   */
  run<R = unknown>(task: unknown, options?: RunOptions): Promise<R> {
    if (this.#tasks.stopping) return Promise.reject(new IllegalStateError('SabrePool.run(): the pool is closing'));
    if (this.#rejectAtLimit && this.#guard?.state === 'limit') {
      return Promise.reject(new MemoryLimitError('SabrePool.run(): the memory guard is at its limit and refuses new tasks until memory falls'));
    }
    let signal: AbortSignal | undefined;
    let timeoutMs: number | undefined;
    try {
      const o = readOptions(options, ['signal', 'timeoutMs'], 'SabrePool.run() options');
      if (o.signal !== undefined && !(o.signal instanceof AbortSignal)) {
        throw new InvalidArgumentError(`SabrePool.run() options.signal must be an AbortSignal, got ${describeValue(o.signal)}`);
      }
      signal = o.signal;
      timeoutMs = o.timeoutMs === undefined ? this.#taskTimeoutMs : checkDelayMs(o.timeoutMs, 'SabrePool.run() options.timeoutMs', 0, true);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#tasks.run<R>(task, signal, timeoutMs);
  }

  #onNewWorker(worker: Worker): void {
    if (!this.#piscina.threads.includes(worker)) return; // another pool's, or another library's
    const threadId = worker.threadId; // read now: a stopped Worker's threadId reads -1
    // Before piscina's own listener, so the failure is known when piscina rejects the task or
    // emits 'error' with it.
    worker.prependOnceListener('error', (error: unknown) => this.#onWorkerError(threadId, error));
    // Recovery must wait until the thread has really stopped: piscina's 'workerDestroy' fires as
    // soon as it asks for termination, when the thread may still be running inside a critical
    // section. The Worker's own 'exit' event comes after its last instruction.
    worker.once('exit', () => this.#onWorkerExit(threadId));
  }

  #onWorkerError(threadId: number, error: unknown): void {
    // A worker announces itself once the task module has loaded; dying before that, it failed to load it.
    if (!this.#ready.has(threadId)) this.#tasks.noteLoadFailure(threadId, error);
  }

  #onWorkerExit(threadId: number): void {
    this.#forget(threadId);
    this.#tasks.workerExited(); // fails the waiting tasks if no worker is left to run them
  }

  /** piscina's 'error': a worker died with no task on it (see the class's doc). */
  #onPiscinaError(error: unknown): void {
    if (this.#closed) return;
    const loadError = this.#tasks.loadError(error);
    if (this.listenerCount('error') > 0) this.emit('error', loadError ?? error);
    // A failure to load the task module also rejects every task it affects; any other failure
    // here reaches no run(), so it must not pass in silence.
    else if (loadError === undefined)
      process.emitWarning(`sabre pool: a worker died with no task running: ${describeThrown(error)}`, { code: 'SABRE_WORKER_ERROR' });
  }

  /**
   * Calls `method` on one worker's control object (control plane, not data). Rejects with
   * TimeoutError if the worker does not answer within `timeoutMs` (default 10 s).
   */
  call<K extends keyof WorkerControl>(threadId: number, method: K, options: { timeoutMs?: number } = {}): Promise<ControlResult<K>> {
    return this.#within(options.timeoutMs, `worker ${threadId} did not answer ${String(method)}()`, async (): Promise<ControlResult<K>> => {
      await this.#whenReady(threadId);
      const remoteMethod = this.#remote(threadId)[method] as unknown as () => Promise<ControlResult<K>>;
      return await remoteMethod();
    });
  }

  /** Calls `method` on every worker; resolves to one answer per worker (TimeoutError as for {@link call}). */
  broadcast<K extends keyof WorkerControl>(method: K, options: { timeoutMs?: number } = {}): Promise<Array<ControlResult<K>>> {
    return this.#within(options.timeoutMs, `not every worker answered ${String(method)}()`, async (): Promise<Array<ControlResult<K>>> => {
      await this.#allReady();
      return Promise.all(this.#piscina.threads.map((w) => this.call(w.threadId, method, options)));
    });
  }

  #within<T>(timeoutMs: number | undefined, what: string, work: () => Promise<T>): Promise<T> {
    const limit = timeoutMs ?? 10_000;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new TimeoutError(`SabrePool: ${what} within ${limit} ms`)), limit);
    });
    return Promise.race([work(), late]).finally(() => clearTimeout(timer));
  }

  /**
   * Stops taking tasks and closes the pool within `deadlineMs` (default: the pool's
   * `shutdownDeadlineMs` option, 10 s unless set; from 0 to 2^31 - 1 ms, a timer's limit):
   *
   * - tasks not yet started reject at once with IllegalStateError ("the pool closed before this
   *   task started"), one instance shared by all of them;
   * - running tasks may finish until the deadline; past it their workers are terminated and
   *   they reject with TimeoutError;
   * - then every worker is stopped. Resolves when none is left.
   *
   * Calling it again returns the same promise. Bad options reject with InvalidArgumentError.
   */
  close(options?: { deadlineMs?: number }): Promise<void> {
    let deadlineMs: number;
    try {
      const o = readOptions(options, ['deadlineMs'], 'SabrePool.close() options');
      deadlineMs = o.deadlineMs === undefined ? this.#shutdownDeadlineMs : checkDelayMs(o.deadlineMs, 'SabrePool.close() options.deadlineMs', 0, false);
    } catch (error) {
      return Promise.reject(error);
    }
    this.#closing ??= this.#shutdown(deadlineMs);
    return this.#closing;
  }

  async #shutdown(deadlineMs: number): Promise<void> {
    // Stops dispatching and fails queued tasks now (synchronously, so the deadline runs from
    // close()), then waits for running tasks until the deadline and fails those still running.
    await this.#tasks.close(deadlineMs);
    // piscina's own close() is not used: it would run queued tasks on, and after its own
    // timeout (a fixed 30 s) emit 'error' and terminate tasks whatever the deadline.
    await this.#piscina.destroy();
    for (const { channel, remote } of this.#controls.values()) {
      remote[Comlink.releaseProxy]();
      channel.close();
    }
    this.#controls.clear();
    this.#hello.close();
    this.#guard?.stop();
    unwatchWorkers(this.#watch);
    this.#closed = true;
    if (this.#signals) forgetOnSignals(this);
  }

  #onHello(threadId: number): void {
    this.#ready.add(threadId);
    const waiters = this.#readyWaiters;
    this.#readyWaiters = [];
    for (const wake of waiters) wake();
  }

  /**
   * A worker is gone (finished, crashed or terminated): repair the cache if it died inside a
   * cache mutation, and release every named lock it held. Lock words name their holder, so this
   * is exact; it runs as soon as the thread's exit is reported.
   */
  #forget(threadId: number): void {
    const named = Object.entries(this.primitives);
    const targets = [...(this.cache ? [this.cache] : []), ...named.map(([, primitive]) => primitive)];
    recoverDeadThread(threadId, targets).then(
      (results) => {
        const repaired = this.cache ? (results.shift() as CacheRecovery | null) : null;
        if (repaired) this.emit('recovered', { threadId, name: 'cache', kind: 'cache', cache: repaired } satisfies RecoveryEvent);
        results.forEach((released, n) => {
          const [name, primitive] = named[n]!;
          if (released === true && (primitive instanceof Mutex || primitive instanceof RwLock)) {
            this.emit('recovered', { threadId, name, kind: primitive instanceof Mutex ? 'mutex' : 'rwlock' } satisfies RecoveryEvent);
          }
        });
      },
      (error: unknown) => {
        // The cache's structure lock stayed busy for 10 s: nothing was repaired; say so loudly.
        if (this.listenerCount('error') > 0) this.emit('error', error);
        else process.emitWarning(`sabre pool: recovery after worker ${threadId} died failed: ${String(error)}`, { code: 'SABRE_RECOVERY_FAILED' });
      },
    );
    this.#ready.delete(threadId);
    const control = this.#controls.get(threadId);
    if (control) {
      control.remote[Comlink.releaseProxy]();
      control.channel.close();
      this.#controls.delete(threadId);
    }
  }

  async #whenReady(threadId: number): Promise<void> {
    while (!this.#ready.has(threadId)) {
      if (!this.#piscina.threads.some((w) => w.threadId === threadId)) throw new InvalidArgumentError(`no worker with threadId ${threadId} in this pool`);
      await new Promise<void>((resolve) => this.#readyWaiters.push(resolve));
    }
  }

  async #allReady(): Promise<void> {
    while (this.#piscina.threads.some((w) => !this.#ready.has(w.threadId))) {
      await new Promise<void>((resolve) => this.#readyWaiters.push(resolve));
    }
  }

  #remote(threadId: number): Remote {
    let control = this.#controls.get(threadId);
    if (!control) {
      const channel = new BroadcastChannel(controlChannelName(this.#id, threadId));
      channel.unref();
      control = { channel, remote: Comlink.wrap<WorkerControl>(channel as unknown as Comlink.Endpoint) };
      this.#controls.set(threadId, control);
    }
    return control.remote;
  }
}

/**
 * Starts a pool of `threads` workers running the task module `filename`, all sharing one
 * SharedCache (`cache` options) and the named `primitives`. Bad options throw at once.
 *
 * With `cache` options the pool's `cache` is typed `SharedCache<V>` (present; `V`, default
 * `unknown`, is the value type, unchecked at run time: see SharedCache); without, `undefined`.
 */
export function createPool<V = unknown>(options: PoolOptions & { cache: SharedCacheOptions }): SabrePool<SharedCache<V>>;
export function createPool(options: PoolOptions & { cache?: undefined }): SabrePool<undefined>;
export function createPool(options: PoolOptions): SabrePool;
export function createPool(options: PoolOptions): SabrePool {
  return new SabrePool(options);
}
