/**
 * One pool of actor threads running strides of one variant, watched from the main thread.
 *
 * The pool is sabre's own (src/pool): one worker per actor, plus one for the monitor. A stride
 * sends every actor the same task (and, for scenarios with per-trial state, a stride's worth of
 * states, made here). While it runs, the main thread reads the watch board every few
 * milliseconds; it never waits on an actor without a bound. When the board stops moving for the
 * trial deadline, the stride ends as `stalled` with a diagnosis, and the caller destroys this
 * run (terminating its threads: a stuck thread cannot be unstuck) and starts a fresh one.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { createPool } from '../pool/pool.js';
import { Barrier } from '../shared/barrier.js';
import { type Diagnosis, diagnose } from './diagnosis.js';
import { HistoryLog } from './history.js';
import { type Grade, type Params, type ScenarioEntry, type Variant, labelOf } from './scenario.js';
import type { StrideResult, StrideTask } from './stride.js';
import { packState, primitiveRefs } from './transport.js';
import { TRIAL_GATE_WORDS } from './trial-gate.js';
import { type ActorSnapshot, Phase, STOP_REQUEST, boardBytes, progressMark, readBoard, readOutcomeCounts } from './watch-board.js';

const STRESS_TASK = new URL('../../workers/stress-task.js', import.meta.url);

/** How long actors may take to start a stride (load the module, run prepare) before it is a hang. */
const STARTUP_DEADLINE_MS = 60_000;
/** How long a monitor may take to notice it is to stop. */
const MONITOR_STOP_MS = 5_000;
/** How long a run may take to get its workers up. */
const POOL_START_TIMEOUT_MS = 60_000;

export type StrideOutcome =
  | { readonly kind: 'done'; readonly results: readonly StrideResult[] }
  | {
      readonly kind: 'stalled';
      readonly trial: number;
      readonly diagnosis: Diagnosis;
      /** The arbiter's outcomes of the stride's trials before the stalled one, by spec (their threads are gone). */
      readonly judged: ReadonlyArray<{ readonly label: string; readonly grade: Grade; readonly count: number }>;
    };

type Base = Omit<StrideTask, 'role' | 'actor' | 'firstTrial' | 'trials' | 'states' | 'replayTrial'>;

/** Errors of the other actors that only echo the root cause. */
const ECHO = /another actor failed|did not arrive within/;

export class VariantRun {
  readonly #entry: ScenarioEntry;
  readonly #variant: Variant;
  readonly #params: Params;
  readonly #actors: number;
  readonly #pool: ReturnType<typeof createPool>;
  readonly #base: Base;
  /** The shared state as made here (the originals: the board names their primitives). */
  readonly #shared: unknown;
  readonly #monitor: Promise<StrideResult> | undefined;

  private constructor(
    entry: ScenarioEntry,
    variant: Variant,
    params: Params,
    actors: number,
    pool: ReturnType<typeof createPool>,
    base: Base,
    shared: unknown,
  ) {
    this.#entry = entry;
    this.#variant = variant;
    this.#params = params;
    this.#actors = actors;
    this.#pool = pool;
    this.#base = base;
    this.#shared = shared;
    if (entry.scenario.monitor !== undefined) {
      this.#monitor = pool.run<StrideResult>({
        ...base,
        role: 'monitor',
        actor: -1,
        firstTrial: 0,
        trials: 0,
        states: undefined,
        replayTrial: undefined,
      } satisfies StrideTask);
      this.#monitor.catch(() => {}); // read in close(); a monitor that failed has nothing to add
    }
  }

  /** A fresh pool with every worker up; its trial gate counts from `gateBase`. */
  static async start(entry: ScenarioEntry, variant: Variant, params: Params, seed: number, gateBase: number): Promise<VariantRun> {
    const { scenario, module } = entry;
    const actors = scenario.actors(params);
    if (!Number.isInteger(actors) || actors < 1) throw new RangeError(`${scenario.id}: actors must be an integer >= 1, got ${actors}`);
    const monitor = scenario.monitor !== undefined;
    const cache = scenario.cache?.(params, variant);
    const shared = scenario.shared?.(params, variant);
    const pool = createPool({ filename: STRESS_TASK, threads: actors + (monitor ? 1 : 0), signals: false, ...(cache ? { cache } : {}) });
    const base: Base = {
      module,
      scenario: scenario.id,
      variant,
      params,
      shared: packState(shared),
      actors,
      gateBase,
      seed,
      barrier: Barrier.create({ parties: actors }).handle,
      history: HistoryLog.create(actors, scenario.historyCapacity ?? 4_096),
      monitorWords: new SharedArrayBuffer(64),
      stop: new SharedArrayBuffer(4 * TRIAL_GATE_WORDS),
      board: new SharedArrayBuffer(boardBytes(actors)),
    };
    try {
      await pool.broadcast('ping', { timeoutMs: POOL_START_TIMEOUT_MS }); // every worker is up
    } catch (error) {
      await pool.close({ deadlineMs: 0 });
      throw error;
    }
    return new VariantRun(entry, variant, params, actors, pool, base, shared);
  }

  /** Asks the actors to stop before their next trial (the budget ran out, or the run was interrupted). */
  requestStop(): void {
    Atomics.store(new Int32Array(this.#base.board), STOP_REQUEST, 1);
  }

  /** Runs trials `firstTrial…` (up to `trials` of them) and watches them. */
  async stride(firstTrial: number, trials: number, watch: { deadlineMs: number; replayTrial: number | undefined }): Promise<StrideOutcome> {
    const { scenario } = this.#entry;
    const originals =
      scenario.trialState === undefined ? undefined : Array.from({ length: trials }, () => scenario.trialState!(this.#params, this.#variant, this.#shared));
    const states = originals?.map((s) => packState(s));
    const tasks = Array.from({ length: this.#actors }, (_, actor) =>
      this.#pool.run<StrideResult>({ ...this.#base, role: 'actor', actor, firstTrial, trials, states, replayTrial: watch.replayTrial } satisfies StrideTask),
    );
    const settled = Promise.allSettled(tasks);
    const board = this.#base.board;
    let mark = progressMark(board, this.#actors);
    let movedAt = performance.now();
    const poll = Math.max(5, Math.min(100, watch.deadlineMs / 10));
    for (;;) {
      const done = await Promise.race([settled, sleep(poll, null)]);
      if (done !== null) return { kind: 'done', results: rootCause(done) };
      const now = performance.now();
      const seen = progressMark(board, this.#actors);
      if (seen !== mark) {
        mark = seen;
        movedAt = now;
        continue;
      }
      const snapshot = readBoard(board, this.#actors);
      const starting = snapshot.some((a) => a.phase === Phase.starting);
      if (now - movedAt < (starting ? Math.max(STARTUP_DEADLINE_MS, watch.deadlineMs) : watch.deadlineMs)) continue;
      const trial = Math.max(firstTrial, ...snapshot.map((a) => a.trial ?? firstTrial));
      const state = originals?.[trial - firstTrial];
      const refs = [
        ...(scenario.cache ? ['cache'] : []),
        ...primitiveRefs(this.#shared, 'setup').map((r) => r.path),
        ...primitiveRefs(state, 'state').map((r) => r.path),
      ];
      const judged = readOutcomeCounts(board).flatMap((count, index) => {
        if (count === 0) return [];
        const spec = scenario.outcomes[index];
        return [{ label: labelOf(spec), grade: spec?.grade ?? ('FORBIDDEN' as const), count }];
      });
      return { kind: 'stalled', trial, diagnosis: diagnose(await settledBoard(board, this.#actors), refs, now - movedAt), judged };
    }
  }

  /** Terminates every thread now (after a stall: their state is lost, their outcomes too). */
  async destroy(): Promise<void> {
    await this.#pool.close({ deadlineMs: 0 });
  }

  /** Stops the monitor and closes the pool; returns the monitor's samples. */
  async close(): Promise<StrideResult['samples']> {
    Atomics.store(new Int32Array(this.#base.stop), 0, 1);
    // Bounded: a monitor stuck in user code is terminated with the pool.
    const monitored = this.#monitor ? await Promise.race([this.#monitor.catch(() => undefined), sleep(MONITOR_STOP_MS, undefined)]) : undefined;
    await this.#pool.close({ deadlineMs: 5_000 });
    return monitored?.samples ?? [];
  }
}

/**
 * The board of a stalled stride, read until every actor that is still running shows what it waits
 * on (a blocked actor leaves its wait slot for an instant every park slice) or a few tries pass.
 */
async function settledBoard(board: SharedArrayBuffer, actors: number): Promise<ActorSnapshot[]> {
  let snapshot = readBoard(board, actors);
  for (let attempt = 0; attempt < 10 && snapshot.some((a) => a.phase === Phase.running && a.waits.length === 0); attempt++) {
    await sleep(2);
    snapshot = readBoard(board, actors);
  }
  return snapshot;
}

/** The stride's results, or its root-cause error: the first actor's own failure, not another's echo of it. */
function rootCause(settled: readonly PromiseSettledResult<StrideResult>[]): StrideResult[] {
  const failures = settled.flatMap((s) => (s.status === 'rejected' ? [s.reason as unknown] : []));
  if (failures.length === 0) return settled.map((s) => (s as PromiseFulfilledResult<StrideResult>).value);
  throw failures.find((f) => !ECHO.test(f instanceof Error ? f.message : String(f))) ?? failures[0];
}
