/**
 * The bug catalogue of examples/: each bug, written as a user would, is reproduced by the stress
 * harness on real worker threads for seeds 1 to 10 within a 10 s budget, with the outcome its
 * file names; each fix stays clean over a short budget. The three liveness bugs (a lost wake-up,
 * an async lock leak, a lock-order deadlock) are reported as `hang` / `deadlock`, the deadlock
 * with its cycle, and each run ends within its budget plus one trial deadline.
 *
 * The examples are TypeScript modules that import sabre as a user does (`sabre`, `sabre/stress`),
 * run as .ts by the actor threads: this file skips, saying why, on a Node that cannot load them.
 */
import { describe, expect, it } from 'vitest';

// The runner and the examples share the compiled sabre (the examples' `sabre` resolves to dist/).
type Stress = typeof import('../src/stress/index.js');
type Scenario = import('../src/stress/index.js').Scenario;
type Verdict = import('../src/stress/index.js').Verdict;
const { runVariant } = (await import(new URL('../dist/src/stress/index.js', import.meta.url).href)) as Stress;

const SEEDS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
const BUG_BUDGET_MS = 10_000;
const FIX_SEEDS = [1, 2];
const FIX_BUDGET_MS = 1_000;
/** The least trial deadline (the harness's default; no example sets its own). */
const TRIAL_DEADLINE_MS = 1_000;

interface Entry {
  /** File in examples/. */
  readonly file: string;
  /** Id of the buggy scenario; its fix is `${id}-fixed`. */
  readonly id: string;
  /** The outcome every seed of the buggy scenario must end with. */
  readonly outcome: string;
  /** For a deadlock: what its detail must say (the cycle). */
  readonly cycle?: RegExp;
}

const CATALOGUE: readonly Entry[] = [
  { file: 'counter.ts', id: 'counter', outcome: 'lost-update' },
  { file: 'spinlock.ts', id: 'spinlock', outcome: 'both-inside' },
  { file: 'ring-buffer.ts', id: 'ring-buffer', outcome: 'stale-item' },
  { file: 'lazy-init.ts', id: 'lazy-init', outcome: 'built-twice' },
  { file: 'torn-read.ts', id: 'torn-read', outcome: 'torn-read' },
  { file: 'lost-wakeup.ts', id: 'lost-wakeup', outcome: 'hang' },
  {
    file: 'lock-order.ts',
    id: 'lock-order',
    outcome: 'deadlock',
    cycle: /actor (\d) waits for Mutex state\.locks\[(\d)\], held by actor (\d); actor \3 waits for Mutex state\.locks\[(?!\2)\d\], held by actor \1/,
  },
  { file: 'async-leak.ts', id: 'async-leak', outcome: 'hang' },
  { file: 'async-interleave.ts', id: 'async-interleave', outcome: 'lost-deposit' },
  { file: 'cache-claim.ts', id: 'cache-claim', outcome: 'claimed-twice' },
  { file: 'cache-counter.ts', id: 'cache-counter', outcome: 'lost-update' },
  { file: 'cache-stampede.ts', id: 'cache-stampede', outcome: 'stampede' },
];
const LIVENESS = new Set(['hang', 'deadlock']);

const moduleOf = (file: string): string => new URL(`../examples/${file}`, import.meta.url).href;

async function scenarioOf(file: string, id: string): Promise<Scenario> {
  const exports = (await import(moduleOf(file))) as Record<string, unknown>;
  const found = Object.values(exports).find((value): value is Scenario => (value as Scenario | undefined)?.id === id);
  if (!found) throw new Error(`examples/${file} exports no scenario ${id}`);
  return found;
}

const run = async (file: string, id: string, seed: number, budgetMs: number): Promise<Verdict> =>
  runVariant({ scenario: await scenarioOf(file, id), module: moduleOf(file) }, 'single', { seed, budgetMs });

/**
 * Whether the actor threads can load a .ts example: natively (Node >= 22.18 strips types), or
 * through sabre's loader once it is there. Probed by running one trial of a fix.
 */
async function typeScriptLoads(): Promise<string | null> {
  const verdict = await runVariant({ scenario: await scenarioOf('counter.ts', 'counter-fixed'), module: moduleOf('counter.ts') }, 'single', {
    seed: 1,
    trials: 1,
  });
  return verdict.error === undefined ? null : verdict.error;
}

const cannotLoad = await typeScriptLoads();
if (cannotLoad !== null) console.warn(`examples.test.ts: skipped, Node ${process.version} cannot run the .ts examples on worker threads (${cannotLoad})`);

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

describe.skipIf(cannotLoad !== null)('the bug catalogue (examples/)', () => {
  describe('each bug is reproduced', () => {
    for (const { file, id, outcome, cycle } of CATALOGUE) {
      it(`${id} (examples/${file}) ends in ${outcome} for seeds 1 to 10, each within ${BUG_BUDGET_MS / 1_000} s`, async () => {
        const times: number[] = [];
        for (const seed of SEEDS) {
          const verdict = await run(file, id, seed, BUG_BUDGET_MS);
          const where = `seed ${seed}: ${verdict.summary}${verdict.firstForbidden?.detail ? ` (${verdict.firstForbidden.detail})` : ''}`;
          expect(verdict.error, where).toBeUndefined();
          expect(verdict.passed, where).toBe(false);
          expect(verdict.firstForbidden?.outcome, where).toBe(outcome);
          expect(verdict.timeToFirstMs, where).not.toBeNull(); // within the budget: the run stops there
          if (LIVENESS.has(outcome)) expect(verdict.elapsedMs, where).toBeLessThanOrEqual(BUG_BUDGET_MS + TRIAL_DEADLINE_MS);
          if (cycle) expect(verdict.firstForbidden?.detail, where).toMatch(cycle);
          times.push(verdict.timeToFirstMs!);
        }
        console.log(
          `${id}: ${outcome} in ${SEEDS.length} of ${SEEDS.length} seeds, median time to first ${Math.round(median(times))} ms, max ${Math.round(Math.max(...times))} ms`,
        );
      });
    }
  });

  describe('each fix stays clean', () => {
    for (const { file, id } of CATALOGUE) {
      it(`${id}-fixed (examples/${file})`, async () => {
        for (const seed of FIX_SEEDS) {
          const verdict = await run(file, `${id}-fixed`, seed, FIX_BUDGET_MS);
          const where = `seed ${seed}: ${verdict.summary}`;
          expect(verdict.error, where).toBeUndefined();
          expect(verdict.forbidden, where).toBe(0);
          expect(verdict.passed, where).toBe(true);
          expect(verdict.trials, where).toBeGreaterThan(0);
        }
      });
    }
  });
});
