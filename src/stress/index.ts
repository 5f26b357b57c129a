/**
 * `sabre/stress`: write stress scenarios (actors on real worker threads, an arbiter, graded
 * outcomes), run them, check histories for linearizability, and write reports.
 */
export {
  gradeOf,
  HARNESS_OUTCOMES,
  type Grade,
  type OutcomeSpec,
  type Params,
  type Scenario,
  type TrialContext,
  type TrialTools,
  type Variant,
} from './scenario.js';
export { defineScenario, type ActorContext, type ActorFunction, type OutcomeDeclaration, type ScenarioSpec } from './scenario-spec.js';
export { runSuite, runVariant, type Progress, type RunOptions, type ScenarioEntry } from './runner.js';
export type { Verdict, OutcomeCount, SampleSummary } from './verdict.js';
export { HistoryLog, Op, ABSENT, type Operation, type OpCode } from './history.js';
export { checkLinearizable, type LinearizabilityResult } from './linearizability.js';
export { SeededScheduler } from './scheduler.js';
export { NaiveCache } from './naive-cache.js';
export { SCENARIOS, builtInEntries } from './scenarios/index.js';
export { decodeToken, encodeToken, type ReplayToken } from './token.js';
export { ScenarioFailedError, verifyScenario } from './verify.js';
export { RunReportSchema, type RunReport } from './report/run-report.js';
