/**
 * The coordinator: a piscina pool whose workers all see the same SharedCache and named
 * primitives, with a comlink control plane to each worker and a clean shutdown.
 *
 * piscina runs with `atomics: 'disabled'`: its default parks idle workers in Atomics.wait, which
 * freezes their event loops, and sabre's workers need theirs between tasks (the control plane,
 * getOrCompute waiters, timers).
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { availableParallelism } from 'node:os';
import { BroadcastChannel } from 'node:worker_threads';
import * as Comlink from 'comlink';
import { Piscina } from 'piscina';
import { type CacheRecovery, SharedCache, recoverFromDeadThread, setAdmission, shedEntries } from '../cache/shared-cache.js';
import { IllegalStateError, InvalidArgumentError, MemoryLimitError, TimeoutError } from '../errors.js';
import { describeValue } from '../shared/validate.js';
import { type WorkerControl, type WorkerSetup, controlChannelName, helloChannelName } from './control.js';
import { releaseForDeadHolder } from '../shared/holder.js';
import { Mutex } from '../shared/mutex.js';
import { RwLock } from '../shared/rwlock.js';
import { type MemoryEvent, MemoryGuard, type MemorySample } from './memory-guard.js';
import { type AnyPrimitive, createPrimitive } from './named.js';
import { type PoolOptions, checkPoolOptions } from './options.js';
import { closeOnSignals, forgetOnSignals } from './shutdown.js';

const WORKER_ENTRY = new URL('../../workers/pool-worker.js', import.meta.url).href;

/** Per-task options of {@link SabrePool.run}. */
export interface RunOptions {
  /** Abort the task; a running task's worker is terminated and replaced. */
  signal?: AbortSignal;
  /** Abort the task after this many ms (default: the pool's taskTimeoutMs); rejects with TimeoutError. */
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

/** What a control method answers. */
export type ControlResult<K extends keyof WorkerControl> = Awaited<ReturnType<WorkerControl[K]>>;

/**
 * A pool of worker threads sharing one cache and a set of named primitives.
 *
 * Events: `'memory'` ({@link MemoryEvent}) on every memory-guard state transition;
 * `'recovered'` ({@link RecoveryEvent}) when a lock held by a worker that died was released.
 */
export class SabrePool extends EventEmitter {
  readonly #piscina: Piscina;
  readonly #id = randomUUID();
  readonly #taskTimeoutMs: number | undefined;
  readonly #shutdownDeadlineMs: number;
  readonly #controls = new Map<number, { channel: BroadcastChannel; remote: Remote }>();
  readonly #hello: BroadcastChannel;
  readonly #ready = new Set<number>();
  #readyWaiters: Array<() => void> = [];
  #closing: Promise<void> | undefined;
  #signals: boolean;
  readonly #guard: MemoryGuard | undefined;
  readonly #rejectAtLimit: boolean;

  /** The cache every worker sees (this is the main thread's view of it), if the pool has one. */
  readonly cache: SharedCache | undefined;
  /** The named primitives, as the main thread sees them. */
  readonly primitives: Readonly<Record<string, AnyPrimitive>>;

  /** @internal use {@link createPool}. */
  constructor(options: PoolOptions) {
    super();
    const config = checkPoolOptions(options, availableParallelism());
    this.cache = config.cache ? SharedCache.create(config.cache) : undefined;
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
    // Recovery must wait until the thread has really stopped: piscina's 'workerDestroy' fires as
    // soon as it asks for termination, when the thread may still be running inside a critical
    // section. The Worker's own 'exit' event comes after its last instruction.
    this.#piscina.on('workerCreate', (created: { id: number }) => {
      const threadId = created.id; // read now: a stopped Worker's threadId reads -1
      this.#piscina.threads.find((w) => w.threadId === threadId)?.once('exit', () => this.#forget(threadId));
    });
    this.#signals = config.signals;
    if (this.#signals) closeOnSignals(this);
    this.#rejectAtLimit = config.memory?.onLimit !== 'evict';
    this.#guard = config.memory
      ? new MemoryGuard(config.memory, () => this.#memorySample(), (event) => this.#onMemory(event), () => this.#atLimit())
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

  /** Runs `task` on a worker: the task module's function receives it and its result comes back. */
  run<R = unknown>(task: unknown, options: RunOptions = {}): Promise<R> {
    if (this.#closing) return Promise.reject(new IllegalStateError('SabrePool.run(): the pool is closing'));
    if (this.#rejectAtLimit && this.#guard?.state === 'limit') {
      return Promise.reject(new MemoryLimitError('SabrePool.run(): the memory guard is at its limit and refuses new tasks until memory falls'));
    }
    if (typeof options !== 'object' || options === null) return Promise.reject(new InvalidArgumentError(`options must be an object, got ${describeValue(options)}`));
    const timeoutMs = options.timeoutMs ?? this.#taskTimeoutMs;
    if (timeoutMs !== undefined && !(typeof timeoutMs === 'number' && timeoutMs > 0)) {
      return Promise.reject(new InvalidArgumentError(`timeoutMs must be a number > 0, got ${describeValue(timeoutMs)}`));
    }
    const timeout = timeoutMs === undefined ? undefined : AbortSignal.timeout(timeoutMs);
    const signals = [options.signal, timeout].filter((s): s is AbortSignal => s !== undefined);
    const signal = signals.length === 0 ? undefined : signals.length === 1 ? signals[0] : AbortSignal.any(signals);
    return this.#piscina.run(task, signal ? { signal } : {}).catch((error: unknown) => {
      if (timeout?.aborted && !options.signal?.aborted) throw new TimeoutError(`SabrePool.run(): the task did not finish within ${timeoutMs} ms; its worker was replaced`);
      throw error;
    }) as Promise<R>;
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
   * Stops taking tasks, lets running ones finish within `deadlineMs` (default 30 s), then
   * terminates every worker, finished or not. Resolves when no worker is left.
   */
  close(options: { deadlineMs?: number } = {}): Promise<void> {
    this.#closing ??= this.#shutdown(options.deadlineMs ?? this.#shutdownDeadlineMs);
    return this.#closing;
  }

  async #shutdown(deadlineMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'late'>((resolve) => (timer = setTimeout(resolve, deadlineMs, 'late')));
    const outcome = await Promise.race([this.#piscina.close().then(() => 'done' as const), deadline]);
    clearTimeout(timer);
    if (outcome === 'late') await this.#piscina.destroy();
    for (const { channel, remote } of this.#controls.values()) {
      remote[Comlink.releaseProxy]();
      channel.close();
    }
    this.#controls.clear();
    this.#hello.close();
    this.#guard?.stop();
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
    const repaired = this.cache?.[recoverFromDeadThread](threadId);
    if (repaired) this.emit('recovered', { threadId, name: 'cache', kind: 'cache', cache: repaired } satisfies RecoveryEvent);
    for (const [name, primitive] of Object.entries(this.primitives)) {
      if ((primitive instanceof Mutex || primitive instanceof RwLock) && primitive[releaseForDeadHolder](threadId)) {
        const event: RecoveryEvent = { threadId, name, kind: primitive instanceof Mutex ? 'mutex' : 'rwlock' };
        this.emit('recovered', event);
      }
    }
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
 */
export function createPool(options: PoolOptions): SabrePool {
  return new SabrePool(options);
}
