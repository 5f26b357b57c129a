/** The built-in scenarios: every audit of AUDITS.md (A to L), in order. */
import type { Params, Scenario, ScenarioEntry } from '../scenario.js';
import { asyncLostUpdates } from './a-async-lost-updates.js';
import { lostUpdates } from './a-lost-updates.js';
import { boundedWrites } from './b-bounded-writes.js';
import { checkThenAct } from './c-check-then-act.js';
import { conversations } from './d-conversations.js';
import { evictionBursts } from './e-eviction-bursts.js';
import { iteration } from './f-iteration.js';
import { setIfAbsent } from './g-set-if-absent.js';
import { failSafe } from './h-fail-safe.js';
import { purePolicy } from './i-pure-policy.js';
import { memoryShutdown } from './j-memory-shutdown.js';
import { noise } from './k-noise.js';
import { deadHolder } from './l-dead-holder.js';

export const SCENARIOS = [
  lostUpdates,
  asyncLostUpdates,
  boundedWrites,
  checkThenAct,
  conversations,
  evictionBursts,
  iteration,
  setIfAbsent,
  failSafe,
  purePolicy,
  memoryShutdown,
  noise,
  deadHolder,
] as unknown as ReadonlyArray<Scenario<Params, unknown>>;

/** This module's URL: workers import it to find a built-in scenario by id. */
export const BUILT_IN_MODULE = import.meta.url;

/** The built-in scenarios with these ids (case-insensitive; all when none given); unknown ids are an error. */
export function builtInEntries(ids: readonly string[] = []): ScenarioEntry[] {
  const wanted = ids.map((id) => id.toLowerCase());
  for (const id of wanted) {
    if (!SCENARIOS.some((s) => s.id.toLowerCase() === id || s.name === id)) {
      throw new RangeError(`unknown scenario '${id}' (sabre stress --list shows them)`);
    }
  }
  return SCENARIOS.filter((s) => wanted.length === 0 || wanted.includes(s.id.toLowerCase()) || wanted.includes(s.name)).map((scenario) => ({
    scenario,
    module: BUILT_IN_MODULE,
    builtIn: true,
  }));
}
