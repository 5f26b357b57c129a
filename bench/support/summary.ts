/** The combined result of a `sabre bench` run, its goals table, and the comparison with an earlier run. */
import type { Goal, Row } from './report.js';

/** What one suite wrote (report.ts writeReport), plus its suite-specific data. */
export interface SuiteResult {
  readonly title: string;
  readonly machine: Record<string, string | number>;
  readonly rows: readonly Row[];
  readonly goals: readonly Goal[];
  readonly notes: readonly string[];
  readonly [data: string]: unknown;
}

export interface BenchSummary {
  readonly tool: 'sabre bench';
  readonly quick: boolean;
  readonly machine: Record<string, string | number>;
  readonly suites: Readonly<Record<string, SuiteResult>>;
}

export function goalsTable(summary: BenchSummary): string {
  const lines = ['| suite | goal | measured | target | met |', '|---|---|---:|---:|:---:|'];
  for (const [name, suite] of Object.entries(summary.suites)) {
    for (const g of suite.goals)
      lines.push(`| ${name} | ${g.description} | ${g.measured.toFixed(2)}x | ≥ ${Number(g.atLeast.toFixed(3))}x | ${g.met ? 'yes' : '**no**'} |`);
  }
  const m = summary.machine;
  return `Machine: ${m.cpu}, ${m.cores} cores, Node ${m.node} (${m.platform}), ${m.date}.\n\n${lines.join('\n')}\n`;
}

/** One row measured in both runs. */
export interface Comparison {
  readonly suite: string;
  readonly name: string;
  readonly oldNs: number;
  readonly newNs: number;
  /** New time ÷ old time: above 1 is slower. */
  readonly ratio: number;
  readonly regression: boolean;
}

/** Rows slower by more than this fraction are flagged (absolute figures drift ±30 % on shared machines: a flag asks for a rerun, not a verdict). */
export const REGRESSION_THRESHOLD = 0.1;

export function compareSummaries(old: BenchSummary, current: BenchSummary): Comparison[] {
  const out: Comparison[] = [];
  for (const [suite, result] of Object.entries(current.suites)) {
    const before = old.suites[suite];
    if (!before) continue;
    for (const row of result.rows) {
      const previous = before.rows.find((r) => r.name === row.name);
      if (!previous) continue;
      const ratio = row.medianNs / previous.medianNs;
      out.push({ suite, name: row.name, oldNs: previous.medianNs, newNs: row.medianNs, ratio, regression: ratio > 1 + REGRESSION_THRESHOLD });
    }
  }
  return out;
}

const ns = (v: number): string => (v >= 1e6 ? `${(v / 1e6).toFixed(2)} ms` : v >= 1e3 ? `${(v / 1e3).toFixed(2)} µs` : `${v.toFixed(1)} ns`);

export function compareTable(rows: readonly Comparison[]): string {
  if (rows.length === 0) return 'No row of this run was measured in the other.\n';
  const lines = ['| suite | benchmark | before | now | change | |', '|---|---|---:|---:|---:|:---:|'];
  for (const r of rows) {
    const change = (r.ratio - 1) * 100;
    lines.push(
      `| ${r.suite} | ${r.name} | ${ns(r.oldNs)} | ${ns(r.newNs)} | ${change >= 0 ? '+' : ''}${change.toFixed(1)} % | ${r.regression ? '**slower**' : r.ratio < 1 - REGRESSION_THRESHOLD ? 'faster' : ''} |`,
    );
  }
  const slower = rows.filter((r) => r.regression).length;
  lines.push(
    '',
    `${slower} of ${rows.length} rows more than ${REGRESSION_THRESHOLD * 100} % slower (time per operation; rerun before believing a small change).`,
  );
  return `${lines.join('\n')}\n`;
}
