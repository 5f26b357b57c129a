/**
 * The declarative form of a scenario (jcstress's and Lincheck's lessons): typed state made afresh
 * for every trial, the actors as a list of roles, outcome ids declared once, and one
 * implementation unless a pair of variants is asked for.
 *
 * ```ts
 * export const counter = defineScenario({
 *   id: 'counter',
 *   title: 'two threads bump one counter',
 *   state: () => ({ count: new Int32Array(new SharedArrayBuffer(4)) }),
 *   actors: [bump, bump],
 *   arbiter: ({ state }) => (state.count[0] === 2 ? 'both' : 'lost'),
 *   outcomes: { both: 'ACCEPTABLE', lost: { grade: 'FORBIDDEN', description: 'an increment was lost' } },
 * });
 * ```
 *
 * It compiles to the hook form of scenario.ts, which the runner executes; that form stays
 * available, unchanged, through the same {@link defineScenario}.
 */
import {
  type Grade,
  type OutcomeSpec,
  type Params,
  type Scenario,
  type TrialContext,
  type TrialTools,
  type Variant,
  checkScenario,
  harnessOutcomeDescription,
} from './scenario.js';

/** What an actor and the arbiter get in the declarative form. */
export interface ActorContext<P extends Params, Setup, State, Local> extends TrialTools {
  readonly params: P;
  /** `single`, or `unsafe` / `safe` when the scenario declares a pair. */
  readonly variant: Variant;
  /** What `setup()` made, once per run (sabre objects in it arrive attached). */
  readonly setup: Setup;
  /** This trial's own state, made by `state()` (sabre objects in it arrive attached). */
  readonly state: State;
  /** Per-thread state made by `local()`, kept for a stride of trials. */
  readonly local: Local;
}

/** One actor's part of a trial. */
export type ActorFunction<P extends Params, Setup, State, Local> = (ctx: ActorContext<P, Setup, State, Local>) => void | Promise<void>;

/** How an outcome is declared: its grade, or its grade and what it means. */
export type OutcomeDeclaration = Grade | { readonly grade: Grade; readonly description?: string };

interface SpecBase<P extends Params, Setup, State, Ids extends string, Local> {
  /** Short id (letters, digits, dashes): what `sabre stress ID` and verifyScenario name. */
  readonly id: string;
  /** kebab-case name (default: the id). */
  readonly name?: string;
  readonly title: string;
  /** What the implementation under test does (shown in reports). */
  readonly description?: string;
  /** A pair to compare: `unsafe` must reproduce, `safe` must stay clean (`ctx.variant` tells which runs). Omit to test one implementation. */
  readonly variants?: Readonly<Record<'unsafe' | 'safe', string>>;
  /** Numeric parameters and their defaults, each overridable with `--param name=value`. */
  readonly params?: P;
  /** Trials per variant (default 20,000 full, 1,000 quick; the time budget bounds both). */
  readonly trials?: { readonly full?: number; readonly quick?: number };
  /** Trials per stride (per batch of states and progress report). Default 100. */
  readonly stride?: number;
  /** The least time a trial may make no progress before it is a `hang` (default 1 s; the deadline is the larger of this and 100x the median trial). */
  readonly trialTimeoutMs?: number;
  /** Operations each actor may record in `ctx.history` per trial. Default 4,096. */
  readonly historyCapacity?: number;
  /** Made once per run on the main thread (locks, a SharedCache, buffers): structured-clonable, sabre objects travel as handles. */
  setup?(params: P, variant: Variant): Setup;
  /** Made for every trial on the main thread (in batches): the trial starts from it, nothing to reset. */
  state?(params: P, variant: Variant, setup: Setup): State;
  /** Per-thread state, made once per stride on each actor thread. */
  local?(ctx: ActorContext<P, Setup, State, Record<string, never>>): Local;
  /** Reads the trial's final state and names its outcome: one of `outcomes`' ids (actor 0's thread, after every actor finished). */
  arbiter(ctx: ActorContext<P, Setup, State, Local>): NoInfer<Ids> | Promise<NoInfer<Ids>>;
  /**
   * Every outcome, declared once: id → grade. An arbiter result that is not declared is an error,
   * never a silent FORBIDDEN. The harness's own outcomes `hang`, `deadlock` and `threw` (an actor
   * threw) are FORBIDDEN unless declared here.
   */
  readonly outcomes: { readonly [K in Ids]: OutcomeDeclaration };
}

/** The actors as a list of roles, one thread each (`[writer, reader]`). */
interface ListedActors<P extends Params, Setup, State, Local> {
  readonly actors: readonly [ActorFunction<P, Setup, State, Local>, ...ActorFunction<P, Setup, State, Local>[]];
  readonly actor?: never;
}

/** The actors by index: `actors` threads (or a function of the parameters) all run `actor`, which reads `ctx.actor`. */
interface IndexedActors<P extends Params, Setup, State, Local> {
  readonly actors: number | ((params: P) => number);
  readonly actor: ActorFunction<P, Setup, State, Local>;
}

/** A declarative scenario (see the module comment). */
export type ScenarioSpec<P extends Params, Setup, State, Ids extends string, Local> = SpecBase<P, Setup, State, Ids, Local> &
  (ListedActors<P, Setup, State, Local> | IndexedActors<P, Setup, State, Local>);

const GRADES: readonly Grade[] = ['ACCEPTABLE', 'INTERESTING', 'FORBIDDEN'];

/**
 * Declares a scenario: the declarative form (outcomes as an object of id → grade), or the hook
 * form of {@link Scenario} (outcomes as a list), which sabre's own audits use. Checks the
 * declaration now: a bad id, grade, parameter or actor count is an error where it is written.
 */
export function defineScenario<
  P extends Params = Record<never, number>,
  Setup = undefined,
  State = undefined,
  Ids extends string = string,
  Local = Record<string, never>,
>(spec: ScenarioSpec<P, Setup, State, Ids, Local>): Scenario<P, Setup>;
export function defineScenario<P extends Params, S = undefined>(scenario: Scenario<P, S>): Scenario<P, S>;
export function defineScenario(spec: ScenarioSpec<Params, unknown, unknown, string, unknown> | Scenario<Params, unknown>): Scenario<Params, unknown> {
  if (Array.isArray(spec.outcomes)) return checkScenario(spec as Scenario<Params, unknown>);
  return checkScenario(compile(spec as ScenarioSpec<Params, unknown, unknown, string, unknown>));
}

function compile(spec: ScenarioSpec<Params, unknown, unknown, string, unknown>): Scenario<Params, unknown> {
  const where = `scenario ${String(spec.id)}`;
  if (typeof spec.arbiter !== 'function') throw new TypeError(`${where}: arbiter must be a function`);
  const outcomes = outcomeSpecs(spec.outcomes, where);
  const listed = Array.isArray(spec.actors) ? (spec.actors as readonly ActorFunction<Params, unknown, unknown, unknown>[]) : undefined;
  let count: (params: Params) => number;
  let run: (ctx: TrialContext) => void | Promise<void>;
  if (listed !== undefined) {
    if (listed.length === 0 || listed.some((a) => typeof a !== 'function')) throw new TypeError(`${where}: actors must be a non-empty list of functions`);
    count = () => listed.length;
    run = (ctx) => listed[ctx.actor]!(ctx as unknown as ActorContext<Params, unknown, unknown, unknown>);
  } else {
    const indexed = spec as IndexedActors<Params, unknown, unknown, unknown>;
    if (typeof indexed.actor !== 'function') throw new TypeError(`${where}: give actors as a list of functions, or a count with an actor function`);
    const n = indexed.actors;
    if (typeof n === 'number' && (!Number.isInteger(n) || n < 1)) throw new TypeError(`${where}: actors must be an integer >= 1, got ${n}`);
    count = typeof n === 'number' ? () => n : n;
    run = (ctx) => indexed.actor(ctx as unknown as ActorContext<Params, unknown, unknown, unknown>);
  }
  const { setup, state, local } = spec;
  return {
    id: spec.id,
    name: spec.name ?? spec.id.toLowerCase(),
    title: spec.title,
    ...(spec.description !== undefined ? { description: spec.description } : {}),
    ...(spec.variants !== undefined ? { variants: spec.variants } : {}),
    params: spec.params ?? {},
    actors: count,
    trials: { full: spec.trials?.full ?? 20_000, quick: spec.trials?.quick ?? 1_000 },
    ...(spec.stride !== undefined ? { stride: spec.stride } : {}),
    ...(spec.trialTimeoutMs !== undefined ? { trialTimeoutMs: spec.trialTimeoutMs } : {}),
    ...(spec.historyCapacity !== undefined ? { historyCapacity: spec.historyCapacity } : {}),
    ...(setup !== undefined ? { shared: (params: Params, variant: Variant) => setup(params, variant) } : {}),
    ...(state !== undefined ? { trialState: (params: Params, variant: Variant, shared: unknown) => state(params, variant, shared) } : {}),
    ...(local !== undefined
      ? {
          prepare(ctx: TrialContext) {
            // The declarative context is the runtime one seen through ActorContext: local is its own slot.
            (ctx as { local: unknown }).local = local(ctx as unknown as ActorContext<Params, unknown, unknown, Record<string, never>>);
          },
        }
      : {}),
    actor: run,
    arbiter: (ctx) => spec.arbiter(ctx as unknown as ActorContext<Params, unknown, unknown, unknown>),
    outcomes,
    declaredOutcomes: outcomes.map((o) => o.id as string),
  };
}

function outcomeSpecs(declared: Readonly<Record<string, OutcomeDeclaration>>, where: string): OutcomeSpec[] {
  if (typeof declared !== 'object' || declared === null) throw new TypeError(`${where}: outcomes must be an object of id → grade`);
  const specs = Object.entries(declared).map(([id, d]): OutcomeSpec => {
    const grade = typeof d === 'string' ? d : d?.grade;
    if (!GRADES.includes(grade as Grade)) throw new TypeError(`${where}: outcome '${id}' has grade ${JSON.stringify(grade)}; use one of ${GRADES.join(', ')}`);
    const description = typeof d === 'object' && d.description !== undefined ? d.description : (harnessOutcomeDescription(id) ?? id);
    return { id, grade: grade as Grade, description };
  });
  if (specs.length === 0) throw new TypeError(`${where} declares no outcomes`);
  if (!specs.some((s) => s.grade === 'ACCEPTABLE')) throw new TypeError(`${where}: no outcome is ACCEPTABLE, so no trial could ever pass`);
  return specs;
}
