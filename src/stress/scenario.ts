/**
 * What a stress scenario is: shared state, actors that each run on their own worker thread, an
 * arbiter that reads the final state of every trial, an optional monitor that samples invariants
 * from another thread while the actors run, and graded outcomes (jcstress's model).
 *
 * A scenario comes as a pair of variants: `unsafe` must reproduce its race (at least one
 * FORBIDDEN outcome within its budget) and `safe` must never show one.
 *
 * A trial, on every actor's thread:
 *
 *   barrier ──► actor(ctx) ──► barrier ──► actor 0 only: arbiter(ctx) → outcome, then reset(ctx)
 *      ▲                                                                          │
 *      └──────────────────────────────── next trial ◄─────────────────────────────┘
 *
 * The first barrier lines the actors up so that they collide; seeded delay points (`ctx.point()`)
 * placed in the code under test widen the race windows.
 */
import type { SharedCache } from '../cache/shared-cache.js';
import type { SharedCacheOptions } from '../cache/options.js';
import type { HistoryLog } from './history.js';
import type { SeededScheduler } from './scheduler.js';

/** How an outcome is judged (jcstress's grades). */
export type Grade = 'ACCEPTABLE' | 'INTERESTING' | 'FORBIDDEN';

/** The two variants of every scenario. */
export type Variant = 'unsafe' | 'safe';
export const VARIANTS: readonly Variant[] = ['unsafe', 'safe'];

/** Scenario parameters: numbers (the audits' own by default), every one overridable from the CLI. */
export type Params = Readonly<Record<string, number>>;

/** One declared outcome: the arbiter's result string matches `id` (exactly, or the pattern). */
export interface OutcomeSpec {
  readonly id: string | RegExp;
  readonly grade: Grade;
  readonly description: string;
}

/** What every hook of a scenario gets. */
export interface TrialContext<P extends Params = Params, S = unknown> {
  readonly params: P;
  readonly variant: Variant;
  /** The state `shared(params)` built on the main thread (SharedArrayBuffers, primitive handles…), as this thread received it. */
  readonly shared: S;
  /**
   * The pool's shared cache, attached in this thread. A scenario that declares no `cache()` has
   * none: any use of it then throws IllegalStateError (as `cache` from sabre/worker does).
   */
  readonly cache: SharedCache;
  /** This actor's index (0-based); -1 in the monitor. */
  readonly actor: number;
  readonly actors: number;
  /** The trial number, counted over the whole run. */
  readonly trial: number;
  /** A seeded random number in [0, 1): the same seed gives every actor the same sequence of choices. */
  random(): number;
  /** A seeded delay point: sometimes nothing, sometimes a short spin, to widen race windows. */
  point(): void;
  /** Records one sample of a named measurement (for latency percentiles and the like). */
  sample(name: string, value: number): void;
  /** Operation history of this trial, stamped with a shared sequence counter (for the linearizability checker). */
  readonly history: HistoryLog;
  /** A seeded scheduler for async interleavings on this thread's event loop (replayable). */
  readonly scheduler: SeededScheduler;
  /** Eight Int32 words shared by the actors and the monitor (reset by the scenario). */
  readonly monitorWords: Int32Array;
  /** Thread-local scratch that lives as long as the stride (attach things once, keep them here). */
  readonly local: Record<string, unknown>;
}

/** A scenario definition (see the module comment). */
export interface Scenario<P extends Params = Params, S = unknown> {
  /** Short id, e.g. 'A' or 'A-async'. */
  readonly id: string;
  /** kebab-case name, e.g. 'lost-updates'. */
  readonly name: string;
  readonly title: string;
  /** Which audits of AUDITS.md it comes from, e.g. 'A'. */
  readonly audit: string;
  /** What the unsafe and the safe variant do. */
  readonly variants: Readonly<Record<Variant, string>>;
  /** Defaults of every parameter. */
  readonly params: P;
  /** Number of actor threads. */
  actors(params: P): number;
  /** Trials per variant: `full` for the full suite, `quick` for --quick (each also bounded by the time budget). */
  readonly trials: { readonly full: number; readonly quick: number };
  /** Trials per stride (between progress reports). Default 100. */
  readonly stride?: number;
  /** Operations each actor may record in `ctx.history` per trial. Default 4,096. */
  readonly historyCapacity?: number;
  /** Options of the pool's shared cache (omit for none). */
  cache?(params: P, variant: Variant): SharedCacheOptions;
  /** Shared state built on the main thread once per run (must be structured-clonable). */
  shared?(params: P, variant: Variant): S;
  /** Runs once per stride on every thread before its first trial. */
  prepare?(ctx: TrialContext<P, S>): void | Promise<void>;
  /** Runs once per stride on every thread after its last trial (close what prepare opened). */
  finish?(ctx: TrialContext<P, S>): void | Promise<void>;
  /** One actor's part of a trial. */
  actor(ctx: TrialContext<P, S>): void | Promise<void>;
  /** Reads the final state of a trial and names its outcome (actor 0's thread, after every actor finished). */
  arbiter(ctx: TrialContext<P, S>): string | Promise<string>;
  /** Restores the state for the next trial (actor 0's thread, after the arbiter). */
  reset?(ctx: TrialContext<P, S>): void;
  /** Samples invariants from another thread while the actors run; called in a loop. */
  monitor?(ctx: TrialContext<P, S>): void;
  readonly outcomes: readonly OutcomeSpec[];
}

/** Declares a scenario (an identity function that checks the declaration and fixes its types). */
export function defineScenario<P extends Params, S = undefined>(scenario: Scenario<P, S>): Scenario<P, S> {
  if (!/^[A-Za-z0-9-]+$/.test(scenario.id)) throw new TypeError(`scenario id '${scenario.id}' must be letters, digits and dashes`);
  if (scenario.outcomes.length === 0) throw new TypeError(`scenario ${scenario.id} declares no outcomes`);
  for (const [name, value] of Object.entries(scenario.params)) {
    if (!Number.isFinite(value)) throw new TypeError(`scenario ${scenario.id}: parameter ${name} must be a finite number`);
  }
  return scenario;
}

/** The grade of an outcome string: the first matching spec's, FORBIDDEN when none matches. */
export function gradeOf(outcomes: readonly OutcomeSpec[], outcome: string): Grade {
  const spec = outcomes.find((o) => (typeof o.id === 'string' ? o.id === outcome : o.id.test(outcome)));
  return spec?.grade ?? 'FORBIDDEN';
}

/** The scenario's parameters with `overrides` applied; unknown names and bad numbers are errors. */
export function resolveParams<P extends Params>(scenario: Scenario<P, unknown>, overrides: Readonly<Record<string, number>>): P {
  const params: Record<string, number> = { ...scenario.params };
  for (const [name, value] of Object.entries(overrides)) {
    if (!(name in params)) continue; // a parameter of another scenario (the CLI applies --param to all)
    if (!Number.isFinite(value) || value < 0) throw new RangeError(`${scenario.id}: parameter ${name} must be a finite number >= 0, got ${value}`);
    params[name] = value;
  }
  return params as P;
}
