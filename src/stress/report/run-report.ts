/**
 * A whole `sabre stress` run as data: every verdict plus the machine and the options, the one
 * object every report format is written from. Its JSON form is checked by a schema (zod), so a
 * consumer can rely on its shape.
 */
import { availableParallelism, cpus, platform, release } from 'node:os';
import { z } from 'zod';
import type { Verdict } from '../verdict.js';

export interface Machine {
  readonly cores: number;
  readonly cpu: string;
  readonly node: string;
  readonly os: string;
}

export interface RunReport {
  readonly tool: 'sabre stress';
  readonly version: string;
  readonly startedAt: string;
  readonly durationMs: number;
  readonly seed: number;
  readonly quick: boolean;
  /** quick (CI), default, or thorough. */
  readonly mode?: 'quick' | 'default' | 'thorough';
  /** True when Ctrl-C stopped the run: the verdicts are those of what ran. */
  readonly interrupted?: boolean;
  readonly machine: Machine;
  readonly passed: boolean;
  readonly verdicts: readonly Verdict[];
}

export function machine(): Machine {
  return { cores: availableParallelism(), cpu: cpus()[0]?.model.trim() ?? 'unknown', node: process.version, os: `${platform()} ${release()}` };
}

const OutcomeSchema = z.object({
  outcome: z.string(),
  grade: z.enum(['ACCEPTABLE', 'INTERESTING', 'FORBIDDEN']),
  count: z.number().int().nonnegative(),
  description: z.string(),
});
const SampleSchema = z.object({ name: z.string(), count: z.number().int(), p50: z.number(), p99: z.number(), p999: z.number(), max: z.number() });

export const VerdictSchema = z.object({
  scenario: z.string(),
  name: z.string(),
  title: z.string(),
  audit: z.string(),
  variant: z.enum(['unsafe', 'safe', 'single']),
  description: z.string(),
  passed: z.boolean(),
  summary: z.string(),
  trials: z.number().int().nonnegative(),
  forbidden: z.number().int().nonnegative(),
  histogram: z.array(OutcomeSchema),
  timeToFirstMs: z.number().nullable(),
  firstForbiddenTrial: z.number().int().nullable(),
  firstForbidden: z.object({ trial: z.number().int(), outcome: z.string(), detail: z.string().optional() }).optional(),
  interrupted: z.boolean().optional(),
  forbiddenRateUpperBound: z.number().nullable(),
  elapsedMs: z.number(),
  samples: z.array(SampleSchema),
  params: z.record(z.string(), z.number()),
  seed: z.number().int(),
  replay: z.string(),
  error: z.string().optional(),
});

export const RunReportSchema = z.object({
  tool: z.literal('sabre stress'),
  version: z.string(),
  startedAt: z.string(),
  durationMs: z.number(),
  seed: z.number().int(),
  quick: z.boolean(),
  /** The run's mode: quick (CI), default, or thorough. */
  mode: z.enum(['quick', 'default', 'thorough']).optional(),
  interrupted: z.boolean().optional(),
  machine: z.object({ cores: z.number().int(), cpu: z.string(), node: z.string(), os: z.string() }),
  passed: z.boolean(),
  verdicts: z.array(VerdictSchema),
});

/** The JSON report (NaN percentiles of empty sample sets become null, as JSON has no NaN). */
export function toJson(report: RunReport): string {
  return `${JSON.stringify(report, (_key, value: unknown) => (typeof value === 'number' && !Number.isFinite(value) ? null : value), 2)}\n`;
}
