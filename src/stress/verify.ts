/**
 * The test-runner helper: run a scenario inside a test and fail the test, with the verdict table
 * and replay tokens, if it showed a forbidden outcome (a hang and a deadlock included), or, for a
 * pair, if the unsafe variant did not reproduce. Works in vitest, node:test, or anything that
 * reports a rejection.
 *
 * ```ts
 * it('the queue never loses an item', () => verifyScenario(new URL('./queue.stress.ts', import.meta.url), 'queue', { quick: true }));
 * ```
 */
import { fileURLToPath } from 'node:url';
import { verdictFooter, verdictTable } from './report/table.js';
import { type RunOptions, runSuite } from './runner.js';
import { loadScenario } from './stride.js';
import type { Verdict } from './verdict.js';

/** Thrown by {@link verifyScenario} when a verdict failed; carries the verdicts. */
export class ScenarioFailedError extends Error {
  override readonly name = 'ScenarioFailedError';
  readonly verdicts: readonly Verdict[];

  constructor(verdicts: readonly Verdict[]) {
    super(`stress scenario failed:\n${verdictTable(verdicts, false)}\n${verdictFooter(verdicts)}`);
    this.verdicts = verdicts;
  }
}

/**
 * Runs scenario `id`, exported by the module `module` (workers import it: JavaScript, or TypeScript
 * as .ts, .mts or .cts on Node 22.18+ or with amaro installed), and resolves to its verdicts, or
 * rejects with {@link ScenarioFailedError}.
 */
export async function verifyScenario(module: string | URL, id: string, options: RunOptions = {}): Promise<Verdict[]> {
  const path = module instanceof URL ? fileURLToPath(module) : module;
  const scenario = await loadScenario(path, id);
  const verdicts = await runSuite([{ scenario, module: path }], options);
  if (verdicts.some((v) => !v.passed)) throw new ScenarioFailedError(verdicts);
  return verdicts;
}
