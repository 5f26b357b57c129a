/** The process scenarios (`sabre stress --store …`): audits G, A and H, and the tiered cache's invalidation, on Redis. */
import { InvalidArgumentError } from '../../../errors.js';
import type { Params } from '../../scenario.js';
import type { ProcessScenario } from '../process-scenario.js';
import { processLostUpdates } from './a-lost-updates.js';
import { processSetIfAbsent } from './g-set-if-absent.js';
import { processFailSafe } from './h-fail-safe.js';
import { processTieredInvalidation } from './tiered-invalidation.js';

export const PROCESS_SCENARIOS = [processSetIfAbsent, processLostUpdates, processFailSafe, processTieredInvalidation] as unknown as ReadonlyArray<
  ProcessScenario<Params>
>;

/** The process scenarios with these ids or names (case-insensitive; all when none given); an unknown one is an InvalidArgumentError. */
export function processScenarios(ids: readonly string[] = []): ProcessScenario<Params>[] {
  const wanted = ids.map((id) => id.toLowerCase());
  const matches = (s: ProcessScenario<Params>, id: string) => s.id.toLowerCase() === id || s.name === id;
  const unknown = wanted.filter((id) => !PROCESS_SCENARIOS.some((s) => matches(s, id)));
  if (unknown.length > 0) {
    throw new InvalidArgumentError(
      `no scenario ${unknown.map((id) => `'${id}'`).join(', ')} runs on Redis (--store runs: ${PROCESS_SCENARIOS.map((s) => s.id).join(', ')})`,
    );
  }
  return PROCESS_SCENARIOS.filter((s) => wanted.length === 0 || wanted.some((id) => matches(s, id)));
}

/** The process scenario `id` (an actor process finds its scenario by it). */
export function processScenario(id: string): ProcessScenario<Params> {
  return processScenarios([id])[0]!;
}
