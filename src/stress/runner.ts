/**
 * The main-thread side of a run: for each variant, strides of trials on a pool of actor threads
 * (variant-run.ts) until the trial target or the time budget is reached, and a verdict.
 *
 * Hangs are outcomes, and the run always ends:
 * - Each stride is watched: when no actor moves for one trial deadline (default max(1 s, 100x the
 *   median trial), or `trialTimeoutMs`), the trial's outcome is `hang` or `deadlock`, with what
 *   each stuck actor was doing (diagnosis.ts); its threads are terminated and a fresh pool goes on.
 * - The budget is a bound: when it runs out the actors stop before their next trial, so a variant
 *   overruns its budget by at most one trial deadline.
 * - An unsafe variant stops at its first forbidden outcome (reproduced); so does a single
 *   implementation (failed). A safe variant goes on counting.
 */
import { performance } from 'node:perf_hooks';
import { Reservoir, mixSeed } from './random.js';
import { type Grade, type ScenarioEntry, type Variant, descriptionOf, gradeOf, resolveParams, variantsOf } from './scenario.js';
import type { StrideResult } from './stride.js';
import { encodeToken } from './token.js';
import { type Verdict, histogramOf, judge, summarize } from './verdict.js';
import { VariantRun } from './variant-run.js';

export type { ScenarioEntry } from './scenario.js';

export interface RunOptions {
  /** The run's seed (every random choice derives from it). Default: random. */
  readonly seed?: number;
  /** Use the scenarios' quick trial counts and a short budget (CI). */
  readonly quick?: boolean;
  /** Use the scenarios' full trial counts and a long budget (the thorough mode). */
  readonly thorough?: boolean;
  /** Time budget per variant in ms. Default: by mode and variant, see {@link BUDGETS_MS}. */
  readonly budgetMs?: number;
  /** Trials per variant (default: the scenario's, quick or full). */
  readonly trials?: number;
  /** How long a trial may make no progress before it is a hang. Default: max(1 s, 100x the median trial). */
  readonly trialTimeoutMs?: number;
  /** Parameter overrides, applied to every scenario that has the parameter. */
  readonly params?: Readonly<Record<string, number>>;
  /** Only these variants (default: the scenario's pair, or its single implementation). */
  readonly variants?: readonly Variant[];
  /** Replay: run this trial (its seeds) again and again, up to `trials` times, until it shows a forbidden outcome. */
  readonly replayTrial?: number;
  /** Aborting it stops the run at the next trial; its verdicts then say `interrupted`. */
  readonly signal?: AbortSignal;
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
/** The first stride is short, so that the median trial (and so the trial deadline) is known early. */
const FIRST_STRIDE = 10;
const MIN_TRIAL_DEADLINE_MS = 1_000;
const DEADLINE_PER_MEDIAN = 100;

/**
 * The default budgets per variant, by mode. An unsafe variant stops at its first reproduction, so
 * it gets room to find it; a safe variant or a single implementation uses its whole budget when
 * clean, so its budget sets the length of a run: 13 scenarios take under a minute quick, about
 * five minutes by default, and an hour or more thorough.
 */
export const BUDGETS_MS = {
  quick: { unsafe: 4_000, clean: 1_200 },
  default: { unsafe: 30_000, clean: 15_000 },
  thorough: { unsafe: 180_000, clean: 180_000 },
} as const;
/** Trials of one replayed trial, by default. */
const REPLAY_ATTEMPTS = 1_000;

/** The budget of a variant: the options' own, or the mode's default for it. */
export function budgetOf(options: RunOptions, variant: Variant): number {
  if (options.budgetMs !== undefined) return options.budgetMs;
  const budgets = BUDGETS_MS[options.quick ? 'quick' : options.thorough ? 'thorough' : 'default'];
  return variant === 'unsafe' ? budgets.unsafe : budgets.clean;
}

/** Runs the variants (or those asked for) of every entry, one after another. */
export async function runSuite(entries: readonly ScenarioEntry[], options: RunOptions = {}): Promise<Verdict[]> {
  const seed = options.seed ?? Math.floor(Math.random() * 2 ** 31);
  const verdicts: Verdict[] = [];
  for (const entry of entries) {
    for (const variant of options.variants ?? variantsOf(entry.scenario)) verdicts.push(await runVariant(entry, variant, { ...options, seed }));
  }
  return verdicts;
}

/** What the strides of one variant add up to. */
class Tally {
  readonly counts = new Map<string, number>();
  readonly samples = new Map<string, Reservoir>();
  readonly trialMs: number[] = [];
  trials = 0;
  forbidden = 0;
  first: { trial: number; outcome: string; detail?: string; at: number } | null = null;

  constructor(
    private readonly entry: ScenarioEntry,
    private readonly seed: number,
  ) {}

  /** Grades fixed when the outcome was counted (outcomes recovered by spec, whose label a pattern may not match). */
  readonly grades = new Map<string, Grade>();

  /** Counts `n` trials judged by spec, recovered from a stride that stalled. */
  countJudged(label: string, grade: Grade, n: number): void {
    this.counts.set(label, (this.counts.get(label) ?? 0) + n);
    this.grades.set(label, grade);
    this.trials += n;
    if (grade === 'FORBIDDEN') this.forbidden += n;
  }

  /** Counts one trial's outcome; `at` is when it was known (epoch ms). */
  count(outcome: string, trial: number, at: number, detail?: string): void {
    this.counts.set(outcome, (this.counts.get(outcome) ?? 0) + 1);
    this.trials++;
    if (gradeOf(this.entry.scenario.outcomes, outcome) !== 'FORBIDDEN') return;
    this.forbidden++;
    if (this.first === null || trial < this.first.trial) this.first = { trial, outcome, at, ...(detail !== undefined ? { detail } : {}) };
  }

  /** Merges a finished stride: actor 0's arbiter outcomes, and each trial in which an actor threw (the lowest actor's exception). */
  mergeStride(results: readonly StrideResult[]): void {
    const [lead] = results;
    for (const [outcome, n] of lead!.outcomes) {
      this.counts.set(outcome, (this.counts.get(outcome) ?? 0) + n);
      this.trials += n;
      if (gradeOf(this.entry.scenario.outcomes, outcome) === 'FORBIDDEN') this.forbidden += n;
    }
    if (lead!.firstForbidden !== null) {
      const { trial, outcome, at } = lead!.firstForbidden;
      if (this.first === null || trial < this.first.trial) this.first = { trial, outcome, at };
    }
    const thrownByTrial = new Map<number, [string, number]>();
    for (const result of results) for (const [trial, outcome, at] of result.thrown) if (!thrownByTrial.has(trial)) thrownByTrial.set(trial, [outcome, at]);
    for (const [trial, [outcome, at]] of [...thrownByTrial].sort((a, b) => a[0] - b[0])) this.count(outcome, trial, at);
    this.trialMs.push(...lead!.trialMs);
    for (const result of results) this.mergeSamples(result.samples);
  }

  mergeSamples(samples: StrideResult['samples']): void {
    for (const [name, values] of samples) {
      let reservoir = this.samples.get(name);
      if (!reservoir) this.samples.set(name, (reservoir = new Reservoir(MAX_SAMPLES, mixSeed(this.seed, name))));
      for (const v of values) reservoir.add(v);
    }
  }

  /** max(the scenario's least deadline (default 1 s), 100x the median trial so far). */
  deadlineMs(): number {
    const least = this.entry.scenario.trialTimeoutMs ?? MIN_TRIAL_DEADLINE_MS;
    if (this.trialMs.length === 0) return least;
    const sorted = [...this.trialMs].sort((a, b) => a - b);
    return Math.max(least, DEADLINE_PER_MEDIAN * sorted[Math.floor(sorted.length / 2)]!);
  }
}

/** Runs one variant of one scenario and judges it. */
export async function runVariant(entry: ScenarioEntry, variant: Variant, options: RunOptions = {}): Promise<Verdict> {
  const { scenario } = entry;
  const seed = options.seed ?? Math.floor(Math.random() * 2 ** 31);
  const params = resolveParams(scenario, options.params ?? {});
  const replay = options.replayTrial;
  const target = options.trials ?? (replay !== undefined ? REPLAY_ATTEMPTS : options.quick ? scenario.trials.quick : scenario.trials.full);
  const budgetMs = budgetOf(options, variant);
  const runSeed = mixSeed(seed, scenario.id, variant);
  const tally = new Tally(entry, runSeed);
  // An unsafe variant has reproduced, a single implementation has failed, a replay has shown its outcome.
  const stopEarly = variant !== 'safe' || replay !== undefined;
  let started = performance.now();
  let nextTrial = 0;
  let error: string | undefined;
  let run: VariantRun | undefined;
  let budgetTimer: NodeJS.Timeout | undefined;
  const stop = (): void => run?.requestStop();
  options.signal?.addEventListener('abort', stop);
  try {
    for (let first = true; tally.trials < target && !options.signal?.aborted; first = false) {
      run ??= await VariantRun.start(entry, variant, params, runSeed, nextTrial);
      if (first) {
        started = performance.now(); // the budget and the time to first reproduction count from ready workers
        budgetTimer = setTimeout(stop, budgetMs);
      }
      if (performance.now() - started >= budgetMs) break;
      const size = Math.min(first ? FIRST_STRIDE : (scenario.stride ?? 100), target - tally.trials);
      const outcome = await run.stride(nextTrial, size, {
        deadlineMs: options.trialTimeoutMs ?? tally.deadlineMs(),
        replayTrial: replay,
        stopAtForbidden: stopEarly,
      });
      if (outcome.kind === 'done') {
        tally.mergeStride(outcome.results);
        nextTrial += outcome.results[0]!.trialsRun;
      } else {
        // The stuck threads go; the stride's earlier outcomes were counted on the board.
        for (const { label, grade, count } of outcome.judged) tally.countJudged(label, grade, count);
        tally.count(outcome.diagnosis.outcome, outcome.trial, performance.timeOrigin + performance.now(), outcome.diagnosis.detail);
        nextTrial = outcome.trial + 1;
        await run.destroy();
        run = undefined;
      }
      options.onProgress?.({
        scenario: scenario.id,
        variant,
        trials: tally.trials,
        target,
        forbidden: tally.forbidden,
        elapsedMs: performance.now() - started,
        budgetMs,
      });
      if (stopEarly && tally.forbidden > 0) break;
      if (outcome.kind === 'done' && outcome.results[0]!.trialsRun < size) break; // told to stop: budget or interrupt
    }
  } catch (caught) {
    error = caught instanceof Error ? `${caught.name}: ${caught.message}` : String(caught);
  } finally {
    clearTimeout(budgetTimer);
    options.signal?.removeEventListener('abort', stop);
    if (run) tally.mergeSamples(await run.close());
  }
  const elapsedMs = performance.now() - started;
  const interrupted = options.signal?.aborted === true;
  const first = tally.first;
  const { passed, summary } = judge(variant, {
    trials: tally.trials,
    forbidden: tally.forbidden,
    ...(first ? { firstOutcome: first.outcome } : {}),
    ...(error !== undefined ? { error } : {}),
    interrupted,
  });
  return {
    scenario: scenario.id,
    name: scenario.name,
    title: scenario.title,
    audit: scenario.audit ?? '',
    variant,
    description: descriptionOf(scenario, variant),
    passed,
    summary: replay !== undefined && first ? `${summary} (replay of trial ${replay}: shown at attempt ${tally.trials})` : summary,
    trials: tally.trials,
    forbidden: tally.forbidden,
    histogram: histogramOf(tally.counts, scenario.outcomes, tally.grades),
    timeToFirstMs: first ? Math.max(0, first.at - (performance.timeOrigin + started)) : null,
    firstForbiddenTrial: first ? (replay ?? first.trial) : null,
    ...(first
      ? { firstForbidden: { trial: replay ?? first.trial, outcome: first.outcome, ...(first.detail !== undefined ? { detail: first.detail } : {}) } }
      : {}),
    forbiddenRateUpperBound: tally.forbidden === 0 && tally.trials > 0 ? 3 / tally.trials : null,
    elapsedMs,
    samples: summarize(new Map([...tally.samples].map(([name, r]) => [name, r.values]))),
    params,
    seed,
    replay: encodeToken({
      v: 2,
      scenario: scenario.id,
      variant,
      seed,
      ...(first ? { trial: replay ?? first.trial } : {}),
      trials: Math.max(1, tally.trials),
      params,
      ...(entry.builtIn ? {} : { module: entry.module }),
    }),
    ...(interrupted ? { interrupted } : {}),
    ...(error !== undefined ? { error } : {}),
  };
}
