/**
 * What a stress scenario is, as the runner sees it: state, actors that each run on their own
 * worker thread, an arbiter that reads the final state of every trial, an optional monitor that
 * samples invariants from another thread while the actors run, and graded outcomes (jcstress's
 * model). Users declare scenarios with {@link defineScenario} in one of two forms: the
 * declarative form of scenario-spec.ts (typed per-trial state, actors as a list, outcomes declared
 * once), or the hook form below (today's form, kept unchanged), which is also what the declarative
 * form compiles to.
 *
 * A scenario tests one implementation (no `variants`: PASS when no forbidden outcome shows), or a
 * pair of variants: `unsafe` must reproduce its race (at least one FORBIDDEN outcome within its
 * budget) and `safe` must never show one (how sabre's own audits are written).
 *
 * A trial, on every actor's thread:
 *
 *   gate ──► actor(ctx) ──► gate ──► actor 0 only: arbiter(ctx) → outcome, then reset(ctx)
 *     ▲                                                                          │
 *     └──────────────────────────────── next trial ◄─────────────────────────────┘
 *
 * The first gate lines the actors up so that they collide; seeded delay points (`ctx.point()`)
 * placed in the code under test widen the race windows. Besides what the arbiter names, three
 * outcomes come from the harness itself: `hang` (an actor did not finish within the trial
 * deadline), `deadlock` (actors wait on each other's sabre locks in a cycle) and
 * `threw <Name>: <message>` (an actor threw). They are FORBIDDEN unless the scenario declares them.
 */
import type { SharedCache } from '../cache/shared-cache.js';
import type { SharedCacheOptions } from '../cache/options.js';
import type { HistoryLog } from './history.js';
import type { SeededScheduler } from './scheduler.js';

/** How an outcome is judged (jcstress's grades). */
export type Grade = 'ACCEPTABLE' | 'INTERESTING' | 'FORBIDDEN';

/**
 * Which implementation a run tests: one of a pair (`unsafe` must reproduce, `safe` must stay
 * clean), or `single` for a scenario declared without variants.
 */
export type Variant = 'unsafe' | 'safe' | 'single';
/** The variants of a pair, in the order they run. */
export const VARIANTS: readonly ('unsafe' | 'safe')[] = ['unsafe', 'safe'];

/** The outcome ids the harness itself produces (graded FORBIDDEN unless a scenario declares them). */
export const HARNESS_OUTCOMES = { hang: 'hang', deadlock: 'deadlock', threw: 'threw' } as const;

/** What a harness outcome means (undefined for the arbiter's own outcomes). */
export function harnessOutcomeDescription(outcome: string): string | undefined {
  if (outcome === HARNESS_OUTCOMES.hang) return 'an actor did not finish within the trial deadline';
  if (outcome === HARNESS_OUTCOMES.deadlock) return 'actors waited for each other in a cycle';
  if (outcome === HARNESS_OUTCOMES.threw || outcome.startsWith(`${HARNESS_OUTCOMES.threw} `)) return 'an actor threw';
  return undefined;
}

/** A scenario and the module it is exported from (workers import that module to run it). */
export interface ScenarioEntry {
  readonly scenario: Scenario<Params, unknown>;
  /** file: URL or path of a module that exports the scenario. */
  readonly module: string;
  /** One of sabre's own scenarios (its replay token then names no module). */
  readonly builtIn?: boolean;
}

/** Scenario parameters: numbers (the audits' own by default), every one overridable from the CLI. */
export type Params = Readonly<Record<string, number>>;

/** One declared outcome: the arbiter's result string matches `id` (exactly, or the pattern). */
export interface OutcomeSpec {
  readonly id: string | RegExp;
  readonly grade: Grade;
  readonly description: string;
}

/** What every actor gets in either form: who it is, which trial, and the harness's tools. */
export interface TrialTools {
  /** This actor's index (0-based); -1 in the monitor. */
  readonly actor: number;
  readonly actors: number;
  /** The trial number, counted over the whole run. */
  readonly trial: number;
  /**
   * A seeded random number in [0, 1). Each actor draws its own sequence, seeded by the run's seed,
   * the actor's index and the trial number: a replay of a trial draws the same numbers again.
   */
  random(): number;
  /** A seeded delay point: sometimes nothing, sometimes a short spin, to widen race windows. Put it where you suspect the race. */
  point(): void;
  /** Records one sample of a named measurement (for latency percentiles and the like). */
  sample(name: string, value: number): void;
  /** Operation history of this trial, stamped with a shared sequence counter (for the linearizability checker). */
  readonly history: HistoryLog;
  /** A seeded scheduler for async interleavings on this thread's event loop (replayable). */
  readonly scheduler: SeededScheduler;
}

/** What every hook of a scenario gets. */
export interface TrialContext<P extends Params = Params, S = unknown> extends TrialTools {
  readonly params: P;
  readonly variant: Variant;
  /** The state `shared(params)` built on the main thread (SharedArrayBuffers, primitive handles…), as this thread received it. */
  readonly shared: S;
  /**
   * The pool's shared cache, attached in this thread. A scenario that declares no `cache()` has
   * none: any use of it then throws IllegalStateError (as `cache` from sabre/worker does).
   */
  readonly cache: SharedCache;
  /** Eight Int32 words shared by the actors and the monitor (reset by the scenario). */
  readonly monitorWords: Int32Array;
  /** Thread-local scratch that lives as long as the stride (attach things once, keep them here). */
  readonly local: Record<string, unknown>;
  /** This trial's state (`trialState()`, or the declarative form's `state()`); undefined without one. */
  readonly state: unknown;
}

/** A scenario definition (see the module comment). */
export interface Scenario<P extends Params = Params, S = unknown> {
  /** Short id, e.g. 'A' or 'A-async'. */
  readonly id: string;
  /** kebab-case name, e.g. 'lost-updates'. */
  readonly name: string;
  readonly title: string;
  /** Which audit it comes from, e.g. 'A' (sabre's own scenarios; see docs/audits.md). */
  readonly audit?: string;
  /** What the unsafe and the safe variant do; omit for a scenario that tests one implementation. */
  readonly variants?: Readonly<Record<'unsafe' | 'safe', string>>;
  /** What the one implementation does (a scenario without variants). */
  readonly description?: string;
  /** Defaults of every parameter. */
  readonly params: P;
  /** Number of actor threads. */
  actors(params: P): number;
  /** Trials per variant: `full` for the full suite, `quick` for --quick (each also bounded by the time budget). */
  readonly trials: { readonly full: number; readonly quick: number };
  /** Trials per stride (between progress reports). Default 100. */
  readonly stride?: number;
  /**
   * The least time a trial may go without progress before it is a `hang` (default 1 s; the deadline
   * is the larger of this and 100x the median trial). Raise it for trials that start processes or
   * wait for timers.
   */
  readonly trialTimeoutMs?: number;
  /** Operations each actor may record in `ctx.history` per trial. Default 4,096. */
  readonly historyCapacity?: number;
  /** Options of the pool's shared cache (omit for none). */
  cache?(params: P, variant: Variant): SharedCacheOptions;
  /**
   * Shared state built on the main thread once per run: structured-clonable, where sabre's own
   * objects (a SharedCache, a Mutex…) travel as handles and arrive attached (transport.ts). Its
   * third argument is the pool's cache, when the scenario declares `cache()`.
   */
  shared?(params: P, variant: Variant, cache: SharedCache | undefined): S;
  /**
   * State built afresh for every trial, on the main thread, a stride's worth at a time; it travels
   * as `shared` does and is `ctx.state` in that trial (the declarative form's `state()` hook).
   */
  trialState?(params: P, variant: Variant, shared: S): unknown;
  /**
   * When set, an arbiter result that is not one of these ids is an error of the scenario (not a
   * silent FORBIDDEN): the declarative form declares its outcome ids once.
   */
  readonly declaredOutcomes?: readonly string[];
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

/** Checks a hook-form declaration (an identity function that also fixes its types). */
export function checkScenario<P extends Params, S>(scenario: Scenario<P, S>): Scenario<P, S> {
  if (!/^[A-Za-z0-9-]+$/.test(scenario.id)) throw new TypeError(`scenario id '${scenario.id}' must be letters, digits and dashes`);
  if (scenario.outcomes.length === 0) throw new TypeError(`scenario ${scenario.id} declares no outcomes`);
  for (const [name, value] of Object.entries(scenario.params)) {
    if (!Number.isFinite(value)) throw new TypeError(`scenario ${scenario.id}: parameter ${name} must be a finite number`);
  }
  return scenario;
}

/** The variants a scenario runs: its pair, or `single` for one implementation. */
export function variantsOf(scenario: Pick<Scenario, 'variants'>): readonly Variant[] {
  return scenario.variants === undefined ? ['single'] : VARIANTS;
}

/** What a variant of the scenario does, in one line. */
export function descriptionOf(scenario: Pick<Scenario, 'variants' | 'description' | 'title'>, variant: Variant): string {
  if (variant === 'single' || scenario.variants === undefined) return scenario.description ?? scenario.title;
  return scenario.variants[variant];
}

/** The index of the spec an outcome string matches: exactly, by pattern, or (for `threw …`) a declared `threw`; -1 for none. */
export function specIndexOf(outcomes: readonly OutcomeSpec[], outcome: string): number {
  const index = outcomes.findIndex((o) => (typeof o.id === 'string' ? o.id === outcome : o.id.test(outcome)));
  if (index >= 0 || !outcome.startsWith(`${HARNESS_OUTCOMES.threw} `)) return index;
  return outcomes.findIndex((o) => o.id === HARNESS_OUTCOMES.threw);
}

/** The spec an outcome string matches (see {@link specIndexOf}). */
export function specOf(outcomes: readonly OutcomeSpec[], outcome: string): OutcomeSpec | undefined {
  return outcomes[specIndexOf(outcomes, outcome)];
}

/** The outcome string that stands for every outcome a spec matches (its id, or its pattern). */
export function labelOf(spec: OutcomeSpec | undefined): string {
  if (spec === undefined) return '(an outcome that matches no declared one)';
  return typeof spec.id === 'string' ? spec.id : String(spec.id);
}

/** The grade of an outcome string: the first matching spec's, FORBIDDEN when none matches. */
export function gradeOf(outcomes: readonly OutcomeSpec[], outcome: string): Grade {
  return specOf(outcomes, outcome)?.grade ?? 'FORBIDDEN';
}

/**
 * The scenario's parameters with `overrides` applied; bad numbers are errors. Names the scenario
 * does not have are skipped (the CLI applies --param to every scenario it runs, and checks that
 * each name belongs to at least one: {@link unknownParams}).
 */
export function resolveParams<P extends Params>(scenario: Pick<Scenario<P, unknown>, 'id' | 'params'>, overrides: Readonly<Record<string, number>>): P {
  const params: Record<string, number> = { ...scenario.params };
  for (const [name, value] of Object.entries(overrides)) {
    if (!(name in params)) continue;
    if (!Number.isFinite(value) || value < 0) throw new RangeError(`${scenario.id}: parameter ${name} must be a finite number >= 0, got ${value}`);
    params[name] = value;
  }
  return params as P;
}

/** The override names that no scenario of `scenarios` has (a typo such as `--param vists=5`). */
export function unknownParams(scenarios: readonly Pick<Scenario, 'params'>[], overrides: Readonly<Record<string, number>>): string[] {
  return Object.keys(overrides).filter((name) => !scenarios.some((s) => name in s.params));
}
