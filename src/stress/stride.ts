/**
 * The worker side of a run: one task runs one stride of trials for one actor (or runs the
 * monitor until told to stop). Actors line up at a shared Barrier when a stride starts, then meet
 * at the trial gate (trial-gate.ts) twice per trial (module comment of scenario.ts); actor 0 also
 * runs the arbiter and the reset, and counts the outcomes.
 */
import { pathToFileURL } from 'node:url';
import { Barrier, type BarrierHandle } from '../shared/barrier.js';
import { cache } from '../pool/worker.js';
import { HistoryLog, type HistoryLogHandle } from './history.js';
import { Reservoir, delayPoint, mixSeed, seededRandom } from './random.js';
import { type Params, type Scenario, type TrialContext, type Variant, gradeOf } from './scenario.js';
import { SeededScheduler } from './scheduler.js';
import { TrialGate } from './trial-gate.js';

/** What the runner sends for one stride. */
export interface StrideTask {
  readonly role: 'actor' | 'monitor';
  /** The module that exports the scenario (a file: URL or path). */
  readonly module: string;
  readonly scenario: string;
  readonly variant: Variant;
  readonly params: Params;
  readonly shared: unknown;
  readonly actor: number;
  readonly actors: number;
  readonly firstTrial: number;
  readonly trials: number;
  readonly seed: number;
  readonly barrier: BarrierHandle;
  readonly history: HistoryLogHandle;
  readonly monitorWords: SharedArrayBuffer;
  /** Word 0: the monitor runs while it is 0. Words 1-2: the trial gate (trial-gate.ts). */
  readonly stop: SharedArrayBuffer;
}

/** What a stride reports (actor 0 carries the outcomes; every thread its samples). */
export interface StrideResult {
  readonly outcomes: Array<[string, number]>;
  readonly firstForbiddenTrial: number | null;
  readonly samples: Array<[string, number[]]>;
}

/** How long an actor waits at a barrier for the others before the run is declared broken. */
const BARRIER_TIMEOUT_MS = 120_000;

/** Samples a stride sends back per measurement (a uniform reservoir of what it recorded). */
const SAMPLES_PER_STRIDE = 5_000;

function valuesOf(samples: Map<string, Reservoir>): Array<[string, number[]]> {
  return [...samples].map(([name, reservoir]) => [name, reservoir.values]);
}

const loaded = new Map<string, Scenario>();

/** Finds scenario `id` among the exports of `module` (single scenarios or arrays of them). */
export async function loadScenario(module: string, id: string): Promise<Scenario> {
  const cacheKey = `${module}#${id}`;
  const known = loaded.get(cacheKey);
  if (known) return known;
  const url = module.startsWith('file:') ? module : pathToFileURL(module).href;
  const exports = await (await import('../loader/import-module.js')).importModule(url); // .ts too; `sabre/…` from anywhere
  const candidates = Object.values(exports).flatMap((value) => (Array.isArray(value) ? value : [value]));
  const found = candidates.find(
    (value): value is Scenario =>
      typeof value === 'object' && value !== null && (value as Scenario).id === id && typeof (value as Scenario).actor === 'function',
  );
  if (!found) throw new Error(`scenario ${id} is not exported by ${module}`);
  loaded.set(cacheKey, found);
  return found;
}

function contextFor(task: StrideTask, samples: Map<string, Reservoir>): TrialContext & { trial: number } {
  const random = seededRandom(mixSeed(task.seed, task.actor, task.firstTrial));
  return {
    params: task.params,
    variant: task.variant,
    shared: task.shared,
    cache,
    actor: task.actor,
    actors: task.actors,
    trial: task.firstTrial,
    random,
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
  } satisfies TrialContext & { trial: number };
}

/** The task function of the stress pool's workers. */
export default async function runStride(task: StrideTask): Promise<StrideResult> {
  const scenario = await loadScenario(task.module, task.scenario);
  const samples = new Map<string, Reservoir>();
  const ctx = contextFor(task, samples);
  await scenario.prepare?.(ctx);
  if (task.role === 'monitor') {
    const stop = new Int32Array(task.stop);
    while (Atomics.load(stop, 0) === 0) scenario.monitor!(ctx);
    return { outcomes: [], firstForbiddenTrial: null, samples: valuesOf(samples) };
  }
  const barrier = Barrier.attach(task.barrier);
  const gate = new TrialGate(new Int32Array(task.stop), task.actors);
  const counts = new Map<string, number>();
  let firstForbiddenTrial: number | null = null;
  try {
    barrier.arriveAndWait(BARRIER_TIMEOUT_MS); // every actor of this stride is up
    for (let n = 0; n < task.trials; n++) {
      ctx.trial = task.firstTrial + n;
      ctx.scheduler.reseed(mixSeed(task.seed, task.actor, ctx.trial, 'scheduler'));
      gate.meet(2 * ctx.trial, BARRIER_TIMEOUT_MS); // line up: every actor starts the trial together
      await scenario.actor(ctx);
      gate.meet(2 * ctx.trial + 1, BARRIER_TIMEOUT_MS); // every actor is done
      if (task.actor !== 0) continue;
      const outcome = await scenario.arbiter(ctx);
      counts.set(outcome, (counts.get(outcome) ?? 0) + 1);
      if (firstForbiddenTrial === null && gradeOf(scenario.outcomes, outcome) === 'FORBIDDEN') firstForbiddenTrial = ctx.trial;
      ctx.history.clear();
      scenario.reset?.(ctx);
    }
  } catch (error) {
    // Let the other actors out at once instead of after the timeout.
    gate.break();
    if (!barrier.isBroken) barrier.reset();
    throw error;
  } finally {
    await scenario.finish?.(ctx);
  }
  return { outcomes: [...counts], firstForbiddenTrial, samples: valuesOf(samples) };
}
