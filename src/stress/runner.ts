/**
 * The main-thread side of a run: for each variant, a sabre pool (the coordinator) with one worker
 * per actor (plus one for the monitor), strides of trials until the trial target or the time
 * budget is reached (an unsafe variant stops at its first reproduction), and a verdict.
 */
import { performance } from 'node:perf_hooks';
import { createPool } from '../pool/pool.js';
import { Barrier } from '../shared/barrier.js';
import { HistoryLog } from './history.js';
import { Reservoir, mixSeed } from './random.js';
import { type Params, type Scenario, type Variant, VARIANTS, gradeOf, resolveParams } from './scenario.js';
import type { StrideResult, StrideTask } from './stride.js';
import { BUILT_IN_MODULE } from './scenarios/index.js';
import { encodeToken } from './token.js';
import { TRIAL_GATE_WORDS } from './trial-gate.js';
import { type Verdict, histogramOf, judge, summarize } from './verdict.js';

const STRESS_TASK = new URL('../../workers/stress-task.js', import.meta.url);

/** A scenario and the module it is exported from (workers import that module to run it). */
export interface ScenarioEntry {
  readonly scenario: Scenario<Params, unknown>;
  /** file: URL or path of a module that exports the scenario. */
  readonly module: string;
}

export interface RunOptions {
  /** The run's seed (every random choice derives from it). Default: random. */
  readonly seed?: number;
  /** Use the scenarios' quick trial counts and a short budget (CI). */
  readonly quick?: boolean;
  /** Time budget per variant in ms. Default: 3 s quick, 180 s full. */
  readonly budgetMs?: number;
  /** Trials per variant (default: the scenario's, quick or full). */
  readonly trials?: number;
  /** Parameter overrides, applied to every scenario that has the parameter. */
  readonly params?: Readonly<Record<string, number>>;
  /** Only these variants (default both). */
  readonly variants?: readonly Variant[];
  /** Called after each stride. */
  readonly onProgress?: (progress: Progress) => void;
}

export interface Progress {
  readonly scenario: string;
  readonly variant: Variant;
  readonly trials: number;
  readonly target: number;
  readonly forbidden: number;
  readonly elapsedMs: number;
  readonly budgetMs: number;
}

/** Samples kept per measurement for the percentiles (a uniform reservoir of everything recorded). */
const MAX_SAMPLES = 50_000;

export const QUICK_BUDGET_MS = 3_000;
export const FULL_BUDGET_MS = 180_000;

/** Runs both variants (or those asked for) of every entry, one after another. */
export async function runSuite(entries: readonly ScenarioEntry[], options: RunOptions = {}): Promise<Verdict[]> {
  const seed = options.seed ?? Math.floor(Math.random() * 2 ** 31);
  const verdicts: Verdict[] = [];
  for (const entry of entries) {
    for (const variant of options.variants ?? VARIANTS) verdicts.push(await runVariant(entry, variant, { ...options, seed }));
  }
  return verdicts;
}

/** Runs one variant of one scenario and judges it. */
export async function runVariant(entry: ScenarioEntry, variant: Variant, options: RunOptions = {}): Promise<Verdict> {
  const { scenario } = entry;
  const seed = options.seed ?? Math.floor(Math.random() * 2 ** 31);
  const params = resolveParams(scenario, options.params ?? {});
  const target = options.trials ?? (options.quick ? scenario.trials.quick : scenario.trials.full);
  const budgetMs = options.budgetMs ?? (options.quick ? QUICK_BUDGET_MS : FULL_BUDGET_MS);
  const run = new VariantRun(entry, variant, params, seed);
  let started = performance.now();
  let error: string | undefined;
  try {
    await run.start();
    started = performance.now(); // the budget and the time to first reproduction count from ready workers
    while (run.trials < target && performance.now() - started < budgetMs) {
      await run.stride(Math.min(scenario.stride ?? 100, target - run.trials), started);
      options.onProgress?.({
        scenario: scenario.id,
        variant,
        trials: run.trials,
        target,
        forbidden: run.forbidden,
        elapsedMs: performance.now() - started,
        budgetMs,
      });
      if (variant === 'unsafe' && run.forbidden > 0) break; // reproduced: the time to first is what counts
    }
  } catch (caught) {
    error = caught instanceof Error ? `${caught.name}: ${caught.message}` : String(caught);
  } finally {
    await run.close();
  }
  const elapsedMs = performance.now() - started;
  const { passed, summary } = judge(variant, run.trials, run.forbidden, error);
  return {
    scenario: scenario.id,
    name: scenario.name,
    title: scenario.title,
    audit: scenario.audit,
    variant,
    description: scenario.variants[variant],
    passed,
    summary,
    trials: run.trials,
    forbidden: run.forbidden,
    histogram: histogramOf(run.counts, scenario.outcomes),
    timeToFirstMs: run.timeToFirstMs,
    firstForbiddenTrial: run.firstForbiddenTrial,
    forbiddenRateUpperBound: run.forbidden === 0 && run.trials > 0 ? 3 / run.trials : null,
    elapsedMs,
    samples: summarize(new Map([...run.samples].map(([name, r]) => [name, r.values]))),
    params,
    seed,
    replay: encodeToken({
      v: 1,
      scenario: scenario.id,
      variant,
      seed,
      trials: Math.max(1, run.trials),
      params,
      ...(isBuiltIn(entry) ? {} : { module: entry.module }),
    }),
    ...(error !== undefined ? { error } : {}),
  };
}

function isBuiltIn(entry: ScenarioEntry): boolean {
  return entry.module === BUILT_IN_MODULE;
}

/** The state of one variant's run: its pool, its shared state, and what the strides reported. */
class VariantRun {
  readonly counts = new Map<string, number>();
  readonly samples = new Map<string, Reservoir>();
  trials = 0;
  forbidden = 0;
  timeToFirstMs: number | null = null;
  firstForbiddenTrial: number | null = null;
  readonly #entry: ScenarioEntry;
  readonly #variant: Variant;
  readonly #params: Params;
  readonly #seed: number;
  readonly #actors: number;
  #pool: ReturnType<typeof createPool> | undefined;
  #base: Omit<StrideTask, 'role' | 'actor' | 'firstTrial' | 'trials'> | undefined;
  #monitor: Promise<StrideResult> | undefined;

  constructor(entry: ScenarioEntry, variant: Variant, params: Params, seed: number) {
    this.#entry = entry;
    this.#variant = variant;
    this.#params = params;
    this.#seed = mixSeed(seed, entry.scenario.id, variant);
    this.#actors = entry.scenario.actors(params);
    if (!Number.isInteger(this.#actors) || this.#actors < 1) throw new RangeError(`${entry.scenario.id}: actors must be an integer >= 1, got ${this.#actors}`);
  }

  async start(): Promise<void> {
    const { scenario, module } = this.#entry;
    const monitor = scenario.monitor !== undefined;
    const cache = scenario.cache?.(this.#params, this.#variant);
    this.#pool = createPool({ filename: STRESS_TASK, threads: this.#actors + (monitor ? 1 : 0), signals: false, ...(cache ? { cache } : {}) });
    this.#base = {
      module,
      scenario: scenario.id,
      variant: this.#variant,
      params: this.#params,
      shared: scenario.shared?.(this.#params, this.#variant),
      actors: this.#actors,
      seed: this.#seed,
      barrier: Barrier.create({ parties: this.#actors }).handle,
      history: HistoryLog.create(this.#actors, scenario.historyCapacity ?? 4_096),
      monitorWords: new SharedArrayBuffer(64),
      stop: new SharedArrayBuffer(4 * TRIAL_GATE_WORDS),
    };
    await this.#pool.broadcast('ping', { timeoutMs: 60_000 }); // every worker is up
    if (monitor) this.#monitor = this.#pool.run<StrideResult>({ ...this.#base, role: 'monitor', actor: -1, firstTrial: 0, trials: 0 } satisfies StrideTask);
  }

  async stride(trials: number, started: number): Promise<void> {
    const tasks = Array.from({ length: this.#actors }, (_, actor) =>
      this.#pool!.run<StrideResult>({ ...this.#base!, role: 'actor', actor, firstTrial: this.trials, trials } satisfies StrideTask),
    );
    const results = await Promise.all(tasks);
    for (const result of results) this.#merge(result);
    const first = results[0]!.firstForbiddenTrial;
    this.trials += trials;
    if (first !== null && this.firstForbiddenTrial === null) {
      this.firstForbiddenTrial = first;
      this.timeToFirstMs = performance.now() - started;
    }
  }

  #merge(result: StrideResult): void {
    for (const [outcome, count] of result.outcomes) {
      this.counts.set(outcome, (this.counts.get(outcome) ?? 0) + count);
      if (gradeOf(this.#entry.scenario.outcomes, outcome) === 'FORBIDDEN') this.forbidden += count;
    }
    for (const [name, values] of result.samples) {
      let reservoir = this.samples.get(name);
      if (!reservoir) this.samples.set(name, (reservoir = new Reservoir(MAX_SAMPLES, mixSeed(this.#seed, name))));
      for (const v of values) reservoir.add(v);
    }
  }

  async close(): Promise<void> {
    if (this.#base) Atomics.store(new Int32Array(this.#base.stop), 0, 1);
    if (this.#monitor) this.#merge(await this.#monitor.catch(() => ({ outcomes: [], firstForbiddenTrial: null, samples: [] })));
    await this.#pool?.close({ deadlineMs: 5_000 });
  }
}
