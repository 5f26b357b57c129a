/**
 * The pool's task queue: tasks of SabrePool.run() wait here until a worker is free, then are
 * handed to piscina, at most one per worker thread.
 *
 * Tasks wait in sabre's own queue, not piscina's: each task queued in piscina costs an
 * AsyncResource, and failing it an Error with a stack, so a million of them take seconds to
 * fail, past any shutdown deadline; this queue fails them in one cheap pass. It also owns what
 * follows from dispatching: aborts and timeouts, the shutdown deadline for running tasks, and
 * the tasks a worker that failed to load the task module leaves stranded.
 */
import type { Piscina } from 'piscina';
import { IllegalStateError, TimeoutError } from '../errors.js';
import { describeThrown } from '../shared/validate.js';
import { Fifo } from './fifo.js';

/**
 * One task of {@link TaskQueue.run}, from the call until it settles. It waits in the queue until
 * a worker is free, then is handed to piscina.
 */
class Job {
  /**
   * Set when the job is handed to piscina, if it may have to be taken back (see #dispatch):
   * aborting it cancels the task there. A job with a signal or a timeout always gets one.
   */
  controller: AbortController | undefined;
  #settled = false;
  readonly #resolve: (value: unknown) => void;
  readonly #reject: (error: unknown) => void;
  #onAbort: (() => void) | undefined;

  constructor(
    readonly task: unknown,
    /** The caller's signal, if any. */
    readonly signal: AbortSignal | undefined,
    /** The timeout's signal, if the task has a timeout. */
    readonly timeout: AbortSignal | undefined,
    readonly timeoutMs: number | undefined,
    resolve: (value: unknown) => void,
    reject: (error: unknown) => void,
  ) {
    this.#resolve = resolve;
    this.#reject = reject;
  }

  get settled(): boolean {
    return this.#settled;
  }

  /** Calls `onAbort` once when the caller's signal or the timeout fires, until the job settles. */
  listen(onAbort: () => void): void {
    if (!this.signal && !this.timeout) return;
    this.#onAbort = onAbort;
    this.signal?.addEventListener('abort', onAbort, { once: true });
    this.timeout?.addEventListener('abort', onAbort, { once: true });
  }

  resolve(value: unknown): void {
    if (this.#settle()) this.#resolve(value);
  }

  reject(error: unknown): void {
    if (this.#settle()) this.#reject(error);
  }

  #settle(): boolean {
    if (this.#settled) return false;
    this.#settled = true;
    if (this.#onAbort) {
      this.signal?.removeEventListener('abort', this.#onAbort);
      this.timeout?.removeEventListener('abort', this.#onAbort);
      this.#onAbort = undefined;
    }
    return true;
  }
}

/** Attaches `cause` the way `new Error(message, { cause })` does (sabre's error classes take a message only). */
function withCause<E extends Error>(error: E, cause: unknown): E {
  Object.defineProperty(error, 'cause', { value: cause, writable: true, configurable: true, enumerable: false });
  return error;
}

/** What an aborted task that never reached a worker rejects with: the shape of piscina's AbortError. */
function abortedBeforeStart(reason: unknown): Error {
  const error = new Error('The task has been aborted before it started', { cause: reason });
  error.name = 'AbortError';
  return error;
}

/** What a {@link TaskQueue} needs to know about its pool. */
export interface TaskQueueOptions {
  /** Tasks handed to piscina at once: the pool's thread count, so none waits in piscina's queue. */
  readonly capacity: number;
  /** The task module, named in the errors of tasks it failed to load for. */
  readonly filename: string;
}

/**
 * The queue of tasks waiting for a worker, and their dispatch to a piscina instance.
 *
 * The pool owns piscina and its workers; it tells the queue what it sees of them: a worker that
 * died before loading the task module ({@link noteLoadFailure}), a worker that exited
 * ({@link workerExited}).
 */
export class TaskQueue {
  readonly #piscina: Piscina;
  readonly #capacity: number;
  readonly #filename: string;
  /** Tasks waiting for a worker (settled ones are skipped when shifted), and how many are live. */
  readonly #queue = new Fifo<Job>();
  #queued = 0;
  /** Tasks handed to piscina and not yet settled by it (at most #capacity). */
  readonly #inFlight = new Set<Job>();
  #whenIdle: (() => void) | undefined;
  /** Errors with which a worker that never loaded the task module died, and that worker's threadId. */
  readonly #loadFailures = new WeakMap<object, number>();
  #lastLoadFailure: { threadId: number; error: unknown } | undefined;
  #stopping = false;

  constructor(piscina: Piscina, options: TaskQueueOptions) {
    this.#piscina = piscina;
    this.#capacity = options.capacity;
    this.#filename = options.filename;
  }

  /** True once {@link close} was called: no task is dispatched any more. */
  get stopping(): boolean {
    return this.#stopping;
  }

  /**
   * Queues `task` (or hands it to piscina at once if a worker is free and none waits) and
   * settles with its outcome. Options are already checked; rejections are described in
   * SabrePool.run().
   */
  run<R>(task: unknown, signal: AbortSignal | undefined, timeoutMs: number | undefined): Promise<R> {
    const timeout = timeoutMs === undefined ? undefined : AbortSignal.timeout(timeoutMs);
    return new Promise<R>((resolve, reject) => {
      const job = new Job(task, signal, timeout, timeoutMs, resolve as (value: unknown) => void, reject);
      if (signal?.aborted) return job.reject(abortedBeforeStart(signal.reason));
      job.listen(() => this.#onAbort(job));
      if (this.#inFlight.size < this.#capacity && this.#queued === 0) {
        this.#dispatch(job);
      } else {
        this.#queue.push(job);
        this.#queued++;
      }
    });
  }

  /** Hands `job` to piscina; when it settles, the next queued job follows. */
  #dispatch(job: Job): void {
    // A job may have to be taken back if its caller can abort it, or if no worker is idle: then
    // it waits in piscina's queue, where a failure to load the task module can strand it (see
    // #failWaiting). Others go without a signal: one costs piscina an abort listener per task,
    // a third of the throughput of tiny tasks.
    if (job.signal || job.timeout || this.#piscina.idleThreads === 0) job.controller = new AbortController();
    this.#inFlight.add(job);
    this.#piscina.run(job.task, job.controller ? { signal: job.controller.signal } : {}).then(
      (value: unknown) => {
        job.resolve(value);
        this.#finished(job);
      },
      (error: unknown) => {
        // A job the queue already failed (close's deadline, no worker left) stays as it was.
        if (!job.settled) job.reject(this.#explain(job, error));
        this.#finished(job);
      },
    );
  }

  #finished(job: Job): void {
    this.#inFlight.delete(job);
    if (this.#inFlight.size === 0) this.#whenIdle?.();
    this.#pump();
  }

  /** Hands queued jobs to piscina while a worker is free. */
  #pump(): void {
    while (!this.#stopping && this.#inFlight.size < this.#capacity && this.#queued > 0) {
      const job = this.#queue.shift()!;
      if (job.settled) continue; // aborted while it waited: #onAbort counted it out
      this.#queued--;
      this.#dispatch(job);
    }
  }

  /** The caller's signal or the timeout fired. */
  #onAbort(job: Job): void {
    if (job.settled) return;
    if (job.controller) {
      // Handed to piscina (a job with a signal always gets a controller then): piscina drops the
      // task from its queue, or terminates the worker running it.
      job.controller.abort(job.signal?.aborted ? job.signal.reason : job.timeout?.reason);
      return;
    }
    this.#queued--; // its queue slot is skipped when shifted
    if (job.timeout?.aborted && !job.signal?.aborted) job.reject(new TimeoutError(`SabrePool.run(): the task did not start within ${job.timeoutMs} ms`));
    else job.reject(abortedBeforeStart(job.signal?.reason));
  }

  /** The error a task handed to piscina rejects with. */
  #explain(job: Job, error: unknown): unknown {
    if (job.timeout?.aborted && !job.signal?.aborted) {
      return new TimeoutError(`SabrePool.run(): the task did not finish within ${job.timeoutMs} ms; its worker was replaced`);
    }
    return this.loadError(error) ?? error;
  }

  /**
   * Records that worker `threadId` died with `error` before loading the task module, so that the
   * tasks it fails reject with an error naming the module (see {@link loadError}). Must run before
   * piscina hears of the death (the pool listens first), since piscina rejects tasks with `error`.
   */
  noteLoadFailure(threadId: number, error: unknown): void {
    this.#lastLoadFailure = { threadId, error };
    if (typeof error === 'object' && error !== null) this.#loadFailures.set(error, threadId);
  }

  /**
   * If `error` is one a worker died with before loading the task module, the IllegalStateError
   * that names the module and the worker (with `error` as its cause); otherwise undefined.
   */
  loadError(error: unknown): IllegalStateError | undefined {
    const threadId = typeof error === 'object' && error !== null ? this.#loadFailures.get(error) : undefined;
    if (threadId === undefined) return undefined;
    return withCause(
      new IllegalStateError(`SabrePool: the task module ${this.#filename} failed to load in worker ${threadId}: ${describeThrown(error)}`),
      error,
    );
  }

  /** A worker of the pool exited (the thread has stopped). */
  workerExited(): void {
    // piscina stops replacing workers once one has failed to load the task module; with none
    // left, the tasks waiting for one would wait forever. Checked once piscina has settled the
    // tasks of the worker that exited (it may reject them in this same 'exit' event).
    setImmediate(() => {
      if (!this.#stopping && this.#piscina.threads.length === 0 && (this.#inFlight.size > 0 || this.#queued > 0)) this.#failWaiting();
    });
  }

  /** No worker is left to run waiting tasks: fail them all. A later run() starts a worker again. */
  #failWaiting(): void {
    const failure = this.#lastLoadFailure;
    const message = failure
      ? `SabrePool.run(): no worker could load the task module ${this.#filename} (${describeThrown(failure.error)}); this task never started`
      : 'SabrePool.run(): every worker of the pool died and none is being started; this task never started';
    const error = withCause(new IllegalStateError(message), failure?.error);
    // Every task still handed to piscina is in its queue (there is no worker to run it), and was
    // given a controller (no worker was idle when it was handed over): fail it here, then cancel
    // it there.
    for (const job of this.#inFlight) {
      job.reject(error);
      job.controller?.abort();
    }
    this.#rejectQueued(error);
  }

  /**
   * Fails every queued task with `error`, one instance for all of them (as the operations sharing
   * an AbortSignal all reject with its one reason): an Error apiece costs ~5 µs with the garbage
   * it makes, seconds for a million tasks, past any shutdown deadline.
   */
  #rejectQueued(error: Error): void {
    const jobs = this.#queue.drain();
    this.#queued = 0;
    for (const job of jobs) job.reject(error); // a settled job ignores it
  }

  /**
   * Stops dispatching and settles every task within `deadlineMs`, counted from this call: queued
   * tasks reject at once with one shared IllegalStateError; running ones may finish until the
   * deadline, past which they reject with TimeoutError. Resolves then; terminating the workers
   * still running them is the caller's part (it destroys piscina). Call it once.
   */
  async close(deadlineMs: number): Promise<void> {
    this.#stopping = true;
    // The deadline runs from the call: failing a deep queue below counts against it.
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'late'>((resolve) => (timer = setTimeout(resolve, deadlineMs, 'late')));
    this.#rejectQueued(new IllegalStateError('SabrePool.close(): the pool closed before this task started'));
    const idle = new Promise<'idle'>((resolve) => {
      if (this.#inFlight.size === 0) resolve('idle');
      else this.#whenIdle = () => resolve('idle');
    });
    const outcome = await Promise.race([idle, deadline]);
    clearTimeout(timer);
    this.#whenIdle = undefined;
    if (outcome === 'late') {
      for (const job of this.#inFlight) {
        job.reject(new TimeoutError(`SabrePool.close(): the task did not finish within the shutdown deadline of ${deadlineMs} ms; its worker was terminated`));
      }
    }
  }
}
