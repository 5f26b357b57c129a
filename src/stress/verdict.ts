/**
 * From trial outcomes to a verdict: the histogram of outcomes with their grades, and what it
 * means for each variant. An unsafe variant passes when it reproduced its race (at least one
 * FORBIDDEN outcome); a safe variant passes when it showed none, and then the run bounds the
 * forbidden rate: with 0 of N trials, the 95 % upper bound is 3/N (the rule of three).
 */
import { type Grade, type OutcomeSpec, type Variant, gradeOf, harnessOutcomeDescription, specOf } from './scenario.js';

export interface OutcomeCount {
  readonly outcome: string;
  readonly grade: Grade;
  readonly count: number;
  readonly description: string;
}

/** Percentiles of one named measurement. */
export interface SampleSummary {
  readonly name: string;
  readonly count: number;
  readonly p50: number;
  readonly p99: number;
  readonly p999: number;
  readonly max: number;
}

export interface Verdict {
  readonly scenario: string;
  readonly name: string;
  readonly title: string;
  readonly audit: string;
  readonly variant: Variant;
  readonly description: string;
  readonly passed: boolean;
  /** One line: why it passed or failed. */
  readonly summary: string;
  readonly trials: number;
  readonly forbidden: number;
  readonly histogram: readonly OutcomeCount[];
  /** ms from the start of the variant's run to the end of the trial with the first FORBIDDEN outcome. */
  readonly timeToFirstMs: number | null;
  /** The trial number of the first FORBIDDEN outcome. */
  readonly firstForbiddenTrial: number | null;
  /** The first FORBIDDEN outcome, and for a hang or a deadlock what each stuck actor was doing. */
  readonly firstForbidden?: { readonly trial: number; readonly outcome: string; readonly detail?: string };
  /** True when the run was interrupted (Ctrl-C) before its trials or budget ran out. */
  readonly interrupted?: boolean;
  /** For a clean run: the 95 % upper bound of the forbidden rate (3/N). */
  readonly forbiddenRateUpperBound: number | null;
  readonly elapsedMs: number;
  readonly samples: readonly SampleSummary[];
  readonly params: Readonly<Record<string, number>>;
  readonly seed: number;
  /** Replays the first forbidden trial, or the run when there was none (`sabre stress --replay TOKEN`). */
  readonly replay: string;
  /** Set when the run itself broke (a crash, not an outcome). */
  readonly error?: string;
}

/** Counts, graded and described, most frequent first; `grades` fixes the grade of outcomes counted by spec. */
export function histogramOf(counts: ReadonlyMap<string, number>, outcomes: readonly OutcomeSpec[], grades?: ReadonlyMap<string, Grade>): OutcomeCount[] {
  return [...counts]
    .map(([outcome, count]) => {
      const spec = specOf(outcomes, outcome) ?? outcomes.find((o) => String(o.id) === outcome);
      return {
        outcome,
        count,
        grade: grades?.get(outcome) ?? gradeOf(outcomes, outcome),
        description: spec?.description ?? harnessOutcomeDescription(outcome) ?? 'matches no declared outcome',
      };
    })
    .sort((a, b) => b.count - a.count || a.outcome.localeCompare(b.outcome));
}

/** What a variant's run came to, for {@link judge}. */
export interface RunTally {
  readonly trials: number;
  readonly forbidden: number;
  /** The first forbidden outcome's id (for a single implementation's FAIL line). */
  readonly firstOutcome?: string;
  readonly error?: string;
  readonly interrupted?: boolean;
}

/** Whether a variant passed, and the one-line reason. */
export function judge(variant: Variant, tally: RunTally): { passed: boolean; summary: string } {
  const { trials, forbidden } = tally;
  if (tally.error !== undefined) return { passed: false, summary: `the run failed: ${tally.error}` };
  if (tally.interrupted && forbidden === 0) return { passed: false, summary: `interrupted after ${trials} trials` };
  if (trials === 0) return { passed: false, summary: 'no trial completed within the budget' };
  if (variant === 'unsafe') {
    return forbidden > 0
      ? { passed: true, summary: `reproduced: ${forbidden} forbidden of ${trials} trials` }
      : { passed: false, summary: `did not reproduce in ${trials} trials` };
  }
  if (forbidden === 0) return { passed: true, summary: `no forbidden outcome in ${trials} trials (rate < ${formatRate(3 / trials)} at 95 %)` };
  if (variant === 'single') return { passed: false, summary: `outcome ${tally.firstOutcome ?? 'FORBIDDEN'} after ${trials} trials` };
  return { passed: false, summary: `${forbidden} forbidden outcomes in ${trials} trials` };
}

export function formatRate(rate: number): string {
  if (rate >= 1) return '100 %';
  return rate >= 0.001 ? `${(rate * 100).toPrecision(2)} %` : rate.toExponential(1);
}

/** p50/p99/p999/max of each named sample set. */
export function summarize(samples: ReadonlyMap<string, ArrayLike<number>>): SampleSummary[] {
  return [...samples].map(([name, values]) => {
    const sorted = Float64Array.from(values).sort();
    const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
    return { name, count: sorted.length, p50: at(0.5), p99: at(0.99), p999: at(0.999), max: sorted[sorted.length - 1] ?? Number.NaN };
  });
}
