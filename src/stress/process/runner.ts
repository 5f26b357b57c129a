/**
 * The parent side of a process run (`sabre stress --store …`): for one variant of a process
 * scenario, actor processes are forked once, then trials run one after another until the trial
 * target or the time budget is reached, and the outcomes are judged as the thread runner judges
 * them (verdict.ts): same verdicts, same reports.
 *
 * The run always ends, and leaves no process behind:
 * - every wait on an actor is bounded by the trial deadline (the larger of the scenario's least
 *   deadline and 100x the median trial, or --trial-timeout): past it the trial is a `hang`;
 * - a `hang`, an actor that died (`threw ActorExited …`) or a trial that threw ends the variant's
 *   run at once, since the actors' state is then unknown;
 * - the actors are closed (and killed if they do not exit) whatever ends the run, and killed by
 *   the exit guard if this process exits first.
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { InvalidArgumentError } from '../../errors.js';
import { RedisCache } from '../../redis/index.js';
import { Reservoir, mixSeed } from '../random.js';
import { type RunOptions, budgetOf } from '../runner.js';
import { type Params, type Variant, gradeOf, resolveParams } from '../scenario.js';
import { thrownOutcome } from '../thrown.js';
import { STORE_SCENARIO_PREFIX, encodeToken } from '../token.js';
import { type Verdict, histogramOf, judge, summarize } from '../verdict.js';
import { HarnessOutcome, ProcessActors } from './actors.js';
import type { ProcessScenario } from './process-scenario.js';
import type { RedisTarget } from './redis-target.js';

/** How long the actor processes may take to start and connect (many processes on a loaded host). */
const STARTUP_MS = 60_000;
const DEADLINE_PER_MEDIAN = 100;
const MAX_SAMPLES = 50_000;

/** The id a process scenario's replay token names: not the thread scenario of the same letter. */
export function storeScenarioId(scenario: Pick<ProcessScenario, 'id'>): string {
  return `${STORE_SCENARIO_PREFIX}${scenario.id}`;
}

/** Runs one variant of a process scenario against `target` and judges it. */
export async function runProcessVariant(scenario: ProcessScenario<Params>, variant: Variant, target: RedisTarget, options: RunOptions = {}): Promise<Verdict> {
  if (scenario.needsOwnedServer !== undefined && target.owned === undefined) {
    throw new InvalidArgumentError(`scenario ${scenario.id} cannot run against ${target.url}: ${scenario.needsOwnedServer}`);
  }
  const seed = options.seed ?? Math.floor(Math.random() * 2 ** 31);
  const params = resolveParams(scenario, options.params ?? {});
  const goal = options.trials ?? (options.quick ? scenario.trials.quick : scenario.trials.full);
  const budgetMs = budgetOf(options, variant);
  const runSeed = mixSeed(seed, scenario.id, variant, 'store');
  const stopEarly = variant !== 'safe';
  const counts = new Map<string, number>();
  const samples = new Map<string, Reservoir>();
  const trialMs: number[] = [];
  let trials = 0;
  let forbidden = 0;
  let first: { trial: number; outcome: string; at: number; detail?: string } | undefined;
  let error: string | undefined;
  let started = performance.now();
  const count = (outcome: string, trial: number, detail?: string): void => {
    counts.set(outcome, (counts.get(outcome) ?? 0) + 1);
    trials++;
    if (gradeOf(scenario.outcomes, outcome) !== 'FORBIDDEN') return;
    forbidden++;
    first ??= { trial, outcome, at: performance.now(), ...(detail !== undefined ? { detail } : {}) };
  };
  const sample = (name: string, value: number): void => {
    let reservoir = samples.get(name);
    if (!reservoir) samples.set(name, (reservoir = new Reservoir(MAX_SAMPLES, mixSeed(runSeed, name))));
    reservoir.add(value);
  };
  const deadlineMs = (): number => {
    if (options.trialTimeoutMs !== undefined) return options.trialTimeoutMs;
    const sorted = [...trialMs].sort((a, b) => a - b);
    return Math.max(scenario.trialTimeoutMs, DEADLINE_PER_MEDIAN * (sorted[Math.floor(sorted.length / 2)] ?? 0));
  };
  // Every key of this run lives under its own prefix: runs (and variants) never see each other's keys.
  const prefix = `sabre-stress:${scenario.id}:${variant}:${randomBytes(4).toString('hex')}:`;
  const actorCount = scenario.actors(params);
  let cache: RedisCache | undefined;
  let actors: ProcessActors | undefined;
  try {
    cache = await RedisCache.connect({ url: target.url, prefix, commandTimeoutMs: 5_000 });
    actors = await ProcessActors.start(
      actorCount,
      (actor) => ({ scenario: scenario.id, variant, params, actor, actors: actorCount, url: target.url, prefix, seed: runSeed }),
      Math.max(STARTUP_MS, options.trialTimeoutMs ?? 0),
    );
    started = performance.now(); // the budget counts from ready actors, as the thread runner's does
    for (let trial = 0; trials < goal && !options.signal?.aborted; trial++) {
      if (trial > 0 && performance.now() - started >= budgetMs) break;
      const began = performance.now();
      let ended = false;
      try {
        const outcome = await scenario.trial({ params, variant, trial, actors, cache, server: target.owned, deadlineMs: deadlineMs(), sample });
        count(outcome, trial);
      } catch (caught) {
        // A hang, a dead actor, or a trial that threw: the actors' state is unknown, so the run ends here.
        if (caught instanceof HarnessOutcome) count(caught.outcome, trial, caught.detail);
        else count(thrownOutcome(caught), trial);
        ended = true;
      }
      trialMs.push(performance.now() - began);
      options.onProgress?.({ scenario: scenario.id, variant, trials, target: goal, forbidden, elapsedMs: performance.now() - started, budgetMs });
      if (ended || (stopEarly && forbidden > 0)) break;
    }
  } catch (caught) {
    if (caught instanceof HarnessOutcome) count(caught.outcome, 0, caught.detail);
    else error = caught instanceof Error ? `${caught.name}: ${caught.message}` : String(caught);
  } finally {
    await actors?.close();
    await cache?.close();
  }
  const elapsedMs = performance.now() - started;
  const interrupted = options.signal?.aborted === true;
  const { passed, summary } = judge(variant, {
    trials,
    forbidden,
    ...(first ? { firstOutcome: first.outcome } : {}),
    ...(error !== undefined ? { error } : {}),
    interrupted,
  });
  return {
    scenario: scenario.id,
    name: scenario.name,
    title: scenario.title,
    audit: scenario.audit,
    variant,
    description: scenario.variants[variant === 'single' ? 'safe' : variant],
    passed,
    summary,
    trials,
    forbidden,
    histogram: histogramOf(counts, scenario.outcomes),
    timeToFirstMs: first ? Math.max(0, first.at - started) : null,
    firstForbiddenTrial: first?.trial ?? null,
    ...(first ? { firstForbidden: { trial: first.trial, outcome: first.outcome, ...(first.detail !== undefined ? { detail: first.detail } : {}) } } : {}),
    forbiddenRateUpperBound: forbidden === 0 && trials > 0 ? 3 / trials : null,
    elapsedMs,
    samples: summarize(new Map([...samples].map(([name, r]) => [name, r.values]))),
    params,
    seed,
    replay: encodeToken({
      v: 2,
      scenario: storeScenarioId(scenario),
      variant,
      seed,
      ...(first ? { trial: first.trial } : {}),
      trials: Math.max(1, trials),
      params,
    }),
    ...(interrupted ? { interrupted } : {}),
    ...(error !== undefined ? { error } : {}),
  };
}
