/**
 * The actor processes of a process run, seen from the parent: one forked Node process per actor
 * (child.ts), spoken to by IPC. Every wait here is bounded:
 *
 * - a call that gets no answer within its deadline rejects with a {@link HarnessOutcome} `hang`
 *   (naming the actors that did not answer and what they were asked);
 * - an actor that exits rejects every call to it with `threw ActorExited: …` (its exit code or
 *   signal, and the last lines it wrote to stderr);
 * - a handler that throws in the actor comes back as `threw Name: message`.
 *
 * close() asks each actor to close its connections and exit, and kills (SIGKILL) those that have
 * not within a second; every actor is also killed if this process exits first (exit-guard.ts).
 * The actors run in their own process group (and ignore SIGINT), so that a Ctrl-C in a terminal
 * reaches only the parent, which stops at the next trial and closes them itself.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Params, Variant } from '../scenario.js';
import { killOnExit } from './exit-guard.js';

const CHILD = fileURLToPath(new URL('./child.js', import.meta.url));
/** How long an actor may take to close its connections and exit before it is killed. */
const CLOSE_MS = 1_000;
/** The stderr an actor keeps for the report of its death. */
const STDERR_TAIL = 2_000;

/** A trial that ended with one of the harness's outcomes (`hang`, `threw …`): the runner counts it and ends the run. */
export class HarnessOutcome extends Error {
  readonly outcome: string;
  readonly detail: string;

  constructor(outcome: string, detail: string) {
    super(`${outcome}: ${detail}`);
    this.outcome = outcome;
    this.detail = detail;
  }
}

/** What an actor process is told first (child.ts). */
export interface ChildInit {
  readonly scenario: string;
  readonly variant: Variant;
  readonly params: Params;
  readonly actor: number;
  readonly actors: number;
  readonly url: string;
  readonly prefix: string;
  readonly seed: number;
}

/** Messages from an actor process. */
export type ChildMessage =
  | { readonly kind: 'ready' }
  | { readonly kind: 'reply'; readonly id: number; readonly value: unknown }
  | { readonly kind: 'error'; readonly id: number; readonly outcome: string }
  | { readonly kind: 'event'; readonly value: unknown };

/** A message to an actor process. */
export type ParentMessage =
  | { readonly kind: 'init'; readonly init: ChildInit }
  | { readonly kind: 'call'; readonly id: number; readonly op: string; readonly payload: unknown }
  | { readonly kind: 'close' };

interface Pending {
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: HarnessOutcome) => void;
}

class Actor {
  readonly pending = new Map<number, Pending>();
  stderr = '';
  exited: string | undefined;
  latest: unknown;
  readonly release: () => void;

  constructor(
    readonly index: number,
    readonly child: ChildProcess,
  ) {
    this.release = killOnExit(child);
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (text: string) => {
      this.stderr = (this.stderr + text).slice(-STDERR_TAIL);
    });
  }

  /** The actor's death as an outcome: every waiting call fails with it. */
  died(code: number | null, signal: NodeJS.Signals | null): void {
    const how = signal !== null ? `killed by ${signal}` : `exited with code ${code}`;
    const tail = this.stderr.trim().split('\n').slice(-3).join(' | ');
    this.exited = `threw ActorExited: actor ${this.index} ${how}${tail ? `: ${tail}` : ''}`;
    for (const { reject } of this.pending.values()) reject(new HarnessOutcome(this.exited, `actor process ${this.child.pid} ${how}`));
    this.pending.clear();
  }
}

/** The actor processes of one variant's run (see the module comment). */
export class ProcessActors {
  readonly #actors: Actor[];
  #nextId = 0;
  #closed = false;

  private constructor(actors: Actor[]) {
    this.#actors = actors;
  }

  /** How many actors there are. */
  get count(): number {
    return this.#actors.length;
  }

  /** Forks `count` actors and waits (at most `deadlineMs`) until every one has connected and said it is ready. */
  static async start(count: number, init: (actor: number) => ChildInit, deadlineMs: number): Promise<ProcessActors> {
    const actors: Actor[] = [];
    const ready: Promise<void>[] = [];
    for (let i = 0; i < count; i++) {
      // execArgv: [] — the actors run compiled JavaScript, without the loaders the parent may run under.
      // detached: their own process group, so that a Ctrl-C in the terminal (sent to sabre's group)
      // cannot kill an actor still loading; they leave when the parent's IPC channel closes.
      const child = fork(CHILD, [], { execArgv: [], stdio: ['ignore', 'ignore', 'pipe', 'ipc'], serialization: 'advanced', detached: true });
      const actor = new Actor(i, child);
      actors.push(actor);
      ready.push(
        new Promise<void>((resolve, reject) => {
          child.on('message', (message: ChildMessage) => {
            if (message.kind === 'ready') resolve();
          });
          child.once('exit', (code, signal) =>
            reject(new HarnessOutcome(`threw ActorExited: actor ${i} ${signal ?? `exited with code ${code}`}`, actor.stderr.trim())),
          );
          child.once('error', (error) => reject(new HarnessOutcome(`threw ActorExited: actor ${i} could not start`, error.message)));
        }),
      );
      child.send({ kind: 'init', init: init(i) } satisfies ParentMessage);
    }
    const processes = new ProcessActors(actors);
    for (const actor of actors) processes.#listen(actor);
    try {
      await withDeadline(Promise.all(ready), deadlineMs, () => {
        const late = actors.filter((a) => a.exited === undefined).map((a) => a.index);
        return new HarnessOutcome('hang', `actors ${late.join(', ')} were not ready within ${deadlineMs} ms`);
      });
    } catch (error) {
      await processes.close();
      throw error;
    }
    return processes;
  }

  /** Calls `op` on one actor; its answer, or a HarnessOutcome (hang, death, a throw). */
  call(actor: number, op: string, payload: unknown, deadlineMs: number): Promise<unknown> {
    const a = this.#actors[actor]!;
    if (a.exited !== undefined) return Promise.reject(new HarnessOutcome(a.exited, 'the actor process is gone'));
    if (this.#closed) return Promise.reject(new HarnessOutcome('threw IllegalStateError: the actors are closed', op));
    const id = this.#nextId++;
    const answer = new Promise<unknown>((resolve, reject) => a.pending.set(id, { resolve, reject }));
    // With a callback, a closed channel is reported here rather than as an 'error' event (which,
    // with the start-up listener gone, would crash the parent): the call fails as a dead actor's.
    a.child.send({ kind: 'call', id, op, payload } satisfies ParentMessage, (error) => {
      if (error === null || error === undefined) return;
      a.pending.get(id)?.reject(new HarnessOutcome(`threw ActorExited: actor ${actor} cannot be reached`, error.message));
      a.pending.delete(id);
    });
    return withDeadline(answer, deadlineMs, () => {
      a.pending.delete(id);
      return new HarnessOutcome('hang', `actor ${actor} did not answer '${op}' within ${deadlineMs} ms`);
    });
  }

  /**
   * Calls `op` on every actor, sending all the calls before awaiting any answer (the release of a
   * barrier: every actor was armed, and all are told to go in one loop). The first failure (a
   * hang, a death, a throw) rejects, after every answer or deadline is in.
   */
  async all(op: string, payload: unknown | ((actor: number) => unknown), deadlineMs: number): Promise<unknown[]> {
    const calls = this.#actors.map((a) =>
      this.call(a.index, op, typeof payload === 'function' ? (payload as (actor: number) => unknown)(a.index) : payload, deadlineMs),
    );
    const settled = await Promise.allSettled(calls);
    const failed = settled.find((s) => s.status === 'rejected');
    if (failed !== undefined) throw (failed as PromiseRejectedResult).reason;
    return settled.map((s) => (s as PromiseFulfilledResult<unknown>).value);
  }

  /** The last value each actor emitted (ChildContext.emit), undefined before its first. */
  latest(actor: number): unknown {
    return this.#actors[actor]!.latest;
  }

  /** Waits until `condition` holds (checked every 5 ms), at most `deadlineMs`: past it, a `hang` saying what was awaited. */
  async waitUntil(condition: () => boolean, deadlineMs: number, what: string): Promise<void> {
    const deadline = Date.now() + deadlineMs;
    while (!condition()) {
      const dead = this.#actors.find((a) => a.exited !== undefined);
      if (dead !== undefined) throw new HarnessOutcome(dead.exited!, `while waiting until ${what}`);
      if (Date.now() > deadline) throw new HarnessOutcome('hang', `waited ${deadlineMs} ms until ${what}`);
      await sleep(5);
    }
  }

  /** Asks every actor to close and exit; kills those still running after CLOSE_MS. Bounded, and safe to call twice. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const gone = this.#actors.map((a) =>
      a.child.exitCode !== null || a.child.signalCode !== null ? Promise.resolve() : new Promise<void>((resolve) => a.child.once('exit', () => resolve())),
    );
    for (const a of this.#actors) {
      try {
        if (a.child.connected) a.child.send({ kind: 'close' } satisfies ParentMessage, () => {}); // a closed channel: killed below
      } catch {
        // the channel closed meanwhile: it is killed below
      }
    }
    await Promise.race([Promise.all(gone), sleep(CLOSE_MS, undefined, { ref: false })]);
    for (const a of this.#actors) {
      if (a.child.exitCode === null && a.child.signalCode === null) a.child.kill('SIGKILL');
    }
    await Promise.race([Promise.all(gone), sleep(5_000, undefined, { ref: false })]);
    for (const a of this.#actors) a.release();
  }

  #listen(actor: Actor): void {
    actor.child.on('message', (message: ChildMessage) => {
      if (message.kind === 'event') actor.latest = message.value;
      else if (message.kind === 'reply' || message.kind === 'error') {
        const pending = actor.pending.get(message.id);
        actor.pending.delete(message.id);
        if (message.kind === 'reply') pending?.resolve(message.value);
        else pending?.reject(new HarnessOutcome(message.outcome, `actor ${actor.index}`));
      }
    });
    actor.child.once('exit', (code, signal) => {
      if (!this.#closed) actor.died(code, signal);
      else actor.exited = 'threw ActorExited: closed';
    });
  }
}

/** `promise`, or the error `late()` makes once `ms` have passed. */
async function withDeadline<T>(promise: Promise<T>, ms: number, late: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(late()), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
