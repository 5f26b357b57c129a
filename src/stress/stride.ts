/**
 * The worker side of a run: one task runs one stride of trials for one actor (or runs the
 * monitor until told to stop). Actors line up at a shared Barrier when a stride starts, then meet
 * at the trial gate (trial-gate.ts) twice per trial (module comment of scenario.ts); actor 0 also
 * runs the arbiter and the reset, and counts the outcomes. Every actor reports where it is on the
 * watch board (watch-board.ts), and which sabre primitive it is parked on, so that the main thread
 * can name a hang; an exception thrown by an actor function is that trial's outcome, not a crash.
 */
import { pathToFileURL } from 'node:url';
import { Barrier, type BarrierHandle } from '../shared/barrier.js';
import { importModule } from '../loader/import-module.js';
import { cache, hasCache } from '../pool/worker.js';
import { HistoryLog, type HistoryLogHandle } from './history.js';
import { Reservoir, delayPoint, mixSeed, seededRandom } from './random.js';
import { type Params, type Scenario, type TrialContext, type Variant, gradeOf, specIndexOf } from './scenario.js';
import { primitiveRefs, unpackState } from './transport.js';
import { BoardWriter, Phase, STOP_AT, STOP_REQUEST, stopsBefore } from './watch-board.js';
import { SeededScheduler } from './scheduler.js';
import { TrialGate } from './trial-gate.js';
import { thrownOutcome } from './thrown.js';

export { thrownOutcome } from './thrown.js';

/** What the runner sends for one stride. */
export interface StrideTask {
  readonly role: 'actor' | 'monitor';
  /** The module that exports the scenario (a file: URL or path). */
  readonly module: string;
  readonly scenario: string;
  readonly variant: Variant;
  readonly params: Params;
  /** The run's shared state (`shared()` / `setup()`), packed (transport.ts). */
  readonly shared: unknown;
  /** One packed state per trial of the stride (`trialState()` / `state()`), or undefined. */
  readonly states: readonly unknown[] | undefined;
  readonly actor: number;
  readonly actors: number;
  readonly firstTrial: number;
  readonly trials: number;
  /** The first trial this pool ran: the trial gate counts meetings from it. */
  readonly gateBase: number;
  /** End the stride after the first trial with a FORBIDDEN outcome (an unsafe variant, a single implementation, a replay). */
  readonly stopAtForbidden: boolean;
  /** Seed every trial as this one (a replay of one trial, run again and again). */
  readonly replayTrial: number | undefined;
  readonly seed: number;
  readonly barrier: BarrierHandle;
  readonly history: HistoryLogHandle;
  readonly monitorWords: SharedArrayBuffer;
  /** Word 0: the monitor runs while it is 0. Words 1-2: the trial gate (trial-gate.ts). */
  readonly stop: SharedArrayBuffer;
  /** The watch board (watch-board.ts). */
  readonly board: SharedArrayBuffer;
}

/** What a stride reports (actor 0 carries the arbiter's outcomes; every actor what it threw, and its samples). */
export interface StrideResult {
  /** Arbiter outcomes of the trials in which no actor threw. */
  readonly outcomes: Array<[string, number]>;
  /** The first trial whose arbiter outcome was FORBIDDEN, and when it ended (epoch ms, performance.timeOrigin based). */
  readonly firstForbidden: { readonly trial: number; readonly outcome: string; readonly at: number } | null;
  /** What this actor threw: [trial, 'threw Name: message', epoch ms]. */
  readonly thrown: Array<[number, string, number]>;
  /** Trials this actor ran (fewer than asked when the run was told to stop). */
  readonly trialsRun: number;
  /** Actor 0: how long trials took, in ms (for the trial deadline). */
  readonly trialMs: number[];
  readonly samples: Array<[string, number[]]>;
}

/**
 * How long an actor waits at a barrier for the others before the run is declared broken: a
 * backstop only. The runner watches the board and ends a stalled trial long before (a hang).
 */
const BARRIER_TIMEOUT_MS = 120_000;

/** Samples a stride sends back per measurement (a uniform reservoir of what it recorded). */
const SAMPLES_PER_STRIDE = 5_000;

function valuesOf(samples: Map<string, Reservoir>): Array<[string, number[]]> {
  return [...samples].map(([name, reservoir]) => [name, reservoir.values]);
}

const loaded = new Map<string, Scenario>();

/** Whether an export is a scenario (what defineScenario returns). */
function isScenario(value: unknown): value is Scenario {
  return typeof value === 'object' && value !== null && typeof (value as Scenario).id === 'string' && typeof (value as Scenario).actor === 'function';
}

/** Every scenario `module` exports (directly, or in an exported array), in export order. */
export async function scenariosOf(module: string): Promise<Scenario[]> {
  const url = module.startsWith('file:') ? module : pathToFileURL(module).href;
  const exports = await importModule(url); // .ts too, and `sabre/…` from a module outside any project
  const found = Object.values(exports)
    .flatMap((value) => (Array.isArray(value) ? value : [value]))
    .filter(isScenario);
  return [...new Map(found.map((s) => [s.id, s])).values()];
}

/** Finds scenario `id` among the exports of `module` (single scenarios or arrays of them). */
export async function loadScenario(module: string, id: string): Promise<Scenario> {
  const cacheKey = `${module}#${id}`;
  const known = loaded.get(cacheKey);
  if (known) return known;
  const found = (await scenariosOf(module)).find((s) => s.id === id);
  if (!found) throw new Error(`scenario ${id} is not exported by ${module}`);
  loaded.set(cacheKey, found);
  return found;
}

/** The runtime context, its per-trial fields writable by the trial loop (the scenario sees them read-only). */
type MutableContext = { -readonly [K in keyof TrialContext]: TrialContext[K] } & { setup: unknown };

/** The context of one actor's stride, and how to reseed its random numbers for a trial. */
function contextFor(task: StrideTask, shared: unknown, samples: Map<string, Reservoir>): { ctx: MutableContext; reseed: (trial: number) => void } {
  let random = seededRandom(mixSeed(task.seed, task.actor, task.firstTrial));
  // Reseeded every trial: a trial's choices depend on its number, not on the stride it ran in.
  const reseed = (trial: number): void => {
    random = seededRandom(mixSeed(task.seed, task.actor, trial));
  };
  const ctx: MutableContext = {
    params: task.params,
    variant: task.variant,
    shared,
    setup: shared,
    state: undefined,
    cache,
    actor: task.actor,
    actors: task.actors,
    trial: task.firstTrial,
    random: () => random(),
    point: () => delayPoint(random),
    sample(name, value) {
      let reservoir = samples.get(name);
      if (!reservoir) samples.set(name, (reservoir = new Reservoir(SAMPLES_PER_STRIDE, mixSeed(task.seed, task.actor, name))));
      reservoir.add(value);
    },
    history: HistoryLog.attach(task.history, task.actor),
    scheduler: new SeededScheduler(mixSeed(task.seed, task.actor, task.firstTrial, 'scheduler')),
    monitorWords: new Int32Array(task.monitorWords),
    local: {},
  };
  return { ctx, reseed };
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | undefined)?.then === 'function';
}

/** The task function of the stress pool's workers. */
export default async function runStride(task: StrideTask): Promise<StrideResult> {
  const scenario = await loadScenario(task.module, task.scenario);
  const samples = new Map<string, Reservoir>();
  const shared = unpackState(task.shared);
  const { ctx, reseed } = contextFor(task, shared, samples);
  if (task.role === 'monitor') {
    await scenario.prepare?.(ctx);
    const stop = new Int32Array(task.stop);
    while (Atomics.load(stop, 0) === 0) scenario.monitor!(ctx);
    return { outcomes: [], firstForbidden: null, thrown: [], trialsRun: 0, trialMs: [], samples: valuesOf(samples) };
  }
  const board = new BoardWriter(task.board, task.actor);
  const boardWords = new Int32Array(task.board);
  board.enter(task.firstTrial, Phase.starting);
  const sharedRefs = [...(hasCache ? primitiveRefs({ cache }, '') : []), ...primitiveRefs(shared, 'setup')].map((r) =>
    r.path === '.cache' ? { ...r, path: 'cache' } : r,
  );
  const barrier = Barrier.attach(task.barrier);
  const gate = new TrialGate(new Int32Array(task.stop), task.actors);
  const counts = new Map<string, number>();
  const thrown: Array<[number, string, number]> = [];
  const trialMs: number[] = [];
  const declared = scenario.declaredOutcomes === undefined ? undefined : new Set(scenario.declaredOutcomes);
  let firstForbidden: StrideResult['firstForbidden'] = null;
  let trialsRun = 0;
  if (task.actor === 0) board.clearOutcomes();
  board.observe();
  try {
    await scenario.prepare?.(ctx);
    barrier.arriveAndWait(BARRIER_TIMEOUT_MS); // every actor of this stride is up
    for (let n = 0; n < task.trials; n++) {
      const trial = task.firstTrial + n;
      // A replay runs one trial again and again: the same number, so the same random choices and keys.
      const seedTrial = task.replayTrial ?? trial;
      ctx.trial = seedTrial;
      reseed(seedTrial);
      ctx.scheduler.reseed(mixSeed(task.seed, task.actor, seedTrial, 'scheduler'));
      ctx.state = task.states === undefined ? undefined : unpackState(task.states[n]);
      const state = ctx.state;
      board.enter(trial, Phase.between, () => [...sharedRefs, ...primitiveRefs(state, 'state')]);
      // Actor 0 decides, before it arrives, whether this trial runs: every actor reads the decision
      // after the gate lets it through, so they all stop at the same trial.
      // (Never before trial 0: a variant runs at least one trial, whatever its budget.)
      if (task.actor === 0 && trial > 0 && Atomics.load(boardWords, STOP_REQUEST) !== 0) Atomics.store(boardWords, STOP_AT, trial + 1);
      gate.meet(2 * (trial - task.gateBase), BARRIER_TIMEOUT_MS); // line up: every actor starts the trial together
      if (stopsBefore(boardWords, trial)) break;
      const began = performance.now();
      board.enter(trial, Phase.running);
      try {
        const result = scenario.actor(ctx);
        if (isThenable(result)) {
          board.enter(trial, Phase.awaiting);
          await result;
        }
      } catch (error) {
        const outcome = thrownOutcome(error);
        thrown.push([trial, outcome, performance.timeOrigin + performance.now()]);
        board.threw(trial, gradeOf(scenario.outcomes, outcome) === 'FORBIDDEN');
      }
      board.enter(trial, Phase.done);
      gate.meet(2 * (trial - task.gateBase) + 1, BARRIER_TIMEOUT_MS); // every actor is done
      trialsRun++;
      if (task.actor !== 0) continue;
      board.enter(trial, Phase.judging);
      // A trial in which an actor threw has that exception as its outcome (the runner counts it):
      // its state may be half-changed, so the arbiter does not judge it.
      let someoneThrew = false;
      let forbidden = false;
      for (let a = 0; a < task.actors; a++) {
        someoneThrew ||= BoardWriter.threwIn(boardWords, a, trial);
        forbidden ||= BoardWriter.threwForbiddenIn(boardWords, a, trial);
      }
      if (!someoneThrew) {
        const outcome = await scenario.arbiter(ctx);
        if (declared !== undefined && !declared.has(outcome)) {
          throw new TypeError(
            `scenario ${scenario.id}: the arbiter returned '${outcome}', which is not a declared outcome (declared: ${[...declared].join(', ')})`,
          );
        }
        counts.set(outcome, (counts.get(outcome) ?? 0) + 1);
        const spec = specIndexOf(scenario.outcomes, outcome);
        board.countOutcome(spec);
        forbidden = (scenario.outcomes[spec]?.grade ?? 'FORBIDDEN') === 'FORBIDDEN';
        if (forbidden && firstForbidden === null) firstForbidden = { trial, outcome, at: performance.timeOrigin + performance.now() };
      }
      // A variant that ends at its first forbidden outcome ends here: the next trial does not run.
      if (forbidden && task.stopAtForbidden) Atomics.store(boardWords, STOP_AT, trial + 2);
      ctx.history.clear();
      scenario.reset?.(ctx);
      if (trialMs.length < MAX_TRIAL_TIMES) trialMs.push(performance.now() - began);
    }
  } catch (error) {
    // Let the other actors out at once instead of after the timeout.
    gate.break();
    if (!barrier.isBroken) barrier.reset();
    throw error;
  } finally {
    BoardWriter.unobserve();
    board.enter(task.firstTrial + trialsRun, Phase.finishing);
    await scenario.finish?.(ctx);
  }
  return { outcomes: [...counts], firstForbidden, thrown, trialsRun, trialMs, samples: valuesOf(samples) };
}

/** Trial durations a stride reports (the first ones: enough for a median). */
const MAX_TRIAL_TIMES = 256;
