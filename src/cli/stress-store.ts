/**
 * `sabre stress --store …`: what to run when the actors are processes sharing a Redis server
 * (src/stress/process): the process scenarios asked for (all by default), against the server
 * `--store` names, each variant a job for the stress command's loop. The process modules (and so
 * @redis/client) are loaded only here, on demand: the default in-memory run never loads them.
 */
import type { RunOptions } from '../stress/runner.js';
import { type Variant, resolveParams, unknownParams, VARIANTS } from '../stress/scenario.js';
import { STORE_SCENARIO_PREFIX, decodeToken } from '../stress/token.js';
import type { Verdict } from '../stress/verdict.js';
import { UsageError } from './exit-codes.js';

/** One variant to run, and how. */
export interface VariantJob {
  readonly id: string;
  readonly variant: Variant;
  execute(options: RunOptions): Promise<Verdict>;
}

/** The jobs of a --store run, the scenarios skipped (and why), and what stops an owned server. */
export interface StorePlan {
  readonly jobs: VariantJob[];
  readonly skipped: string[];
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Plans a --store run: checks the ids and parameters (a UsageError for a bad one, before anything
 * starts), then opens the store (`redis`: starts a server; its absence is a UsageError saying what
 * to install). A scenario that needs a server sabre owns is skipped, with its reason, against an
 * external URL; asking for it alone is a UsageError.
 */
export async function planStoreRun(ids: readonly string[], store: string, run: RunOptions, only: Variant | undefined): Promise<StorePlan> {
  const [{ processScenarios }, { openRedisTarget }, { runProcessVariant }] = await Promise.all([
    import('../stress/process/scenarios/index.js'),
    import('../stress/process/redis-target.js'),
    import('../stress/process/runner.js'),
  ]);
  let scenarios: ReturnType<typeof processScenarios>;
  try {
    scenarios = processScenarios(ids);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const unknown = unknownParams(scenarios, run.params ?? {});
  if (unknown.length > 0) throw new UsageError(`--param ${unknown.join(', ')}: no scenario of this run has such a parameter`);
  for (const scenario of scenarios) {
    try {
      const actors = scenario.actors(resolveParams(scenario, run.params ?? {}));
      if (!Number.isInteger(actors) || actors < 1) throw new RangeError(`${scenario.id}: actors must be an integer >= 1, got ${actors}`);
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
  }
  const external = store !== 'redis';
  const skipped = external ? scenarios.filter((s) => s.needsOwnedServer !== undefined).map((s) => `${s.id} skipped: ${s.needsOwnedServer}`) : [];
  const runnable = external ? scenarios.filter((s) => s.needsOwnedServer === undefined) : scenarios;
  if (runnable.length === 0) throw new UsageError(`nothing to run against ${store}: ${skipped.join('; ')}`);
  let target: Awaited<ReturnType<typeof openRedisTarget>>;
  try {
    target = await openRedisTarget(store);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const variants = only !== undefined ? [only] : VARIANTS;
  return {
    jobs: runnable.flatMap((scenario) =>
      variants.map((variant) => ({ id: scenario.id, variant, execute: (options: RunOptions) => runProcessVariant(scenario, variant, target, options) })),
    ),
    skipped,
    url: target.url,
    close: () => target.close(),
  };
}

/**
 * `--replay` of a `--store` run's token: its scenario and variant again, with its seed and
 * parameters, for as many trials as it took to show (process actors' interleavings are not
 * replayed: their random choices are). `limits`: the budget and trial deadline of the replay.
 */
export function storeReplay(text: string, limits: Pick<RunOptions, 'budgetMs' | 'trialTimeoutMs'>): { ids: string[]; variant: Variant; run: RunOptions } {
  let token: ReturnType<typeof decodeToken>;
  try {
    token = decodeToken(text);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (!token.scenario.startsWith(STORE_SCENARIO_PREFIX)) throw new UsageError('--replay: this token is from an in-memory run: run it without --store');
  return {
    ids: [token.scenario.slice(STORE_SCENARIO_PREFIX.length)],
    variant: token.variant,
    run: { seed: token.seed, params: token.params, trials: token.trial !== undefined ? token.trial + 1 : token.trials, ...limits },
  };
}
