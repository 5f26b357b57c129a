/** The jcstress-style table printed at the end of a run. */
import Table from 'cli-table3';
import pc from 'picocolors';
import { type Verdict, formatRate } from '../verdict.js';

const GRADE_COLOR = { ACCEPTABLE: pc.green, INTERESTING: pc.yellow, FORBIDDEN: pc.red } as const;

export function formatMs(ms: number | null): string {
  if (ms === null) return '—';
  return ms < 1_000 ? `${ms.toFixed(0)} ms` : `${(ms / 1_000).toFixed(1)} s`;
}

/** Up to `limit` outcomes with their counts, most frequent first, colored by grade. */
function outcomesCell(verdict: Verdict, limit: number, color: boolean): string {
  const lines = verdict.histogram.slice(0, limit).map((o) => {
    const text = `${o.count.toLocaleString('en-US')} × ${o.outcome}`;
    return color ? GRADE_COLOR[o.grade](text) : `${text} [${o.grade}]`;
  });
  if (verdict.histogram.length > limit) lines.push(`… ${verdict.histogram.length - limit} more outcomes`);
  return lines.join('\n');
}

export function verdictTable(verdicts: readonly Verdict[], color = true): string {
  const table = new Table({
    head: ['scenario', 'variant', 'verdict', 'trials', 'forbidden', 'outcomes', 'first repro', 'forbidden rate'],
    style: { head: color ? ['bold'] : [], border: color ? ['grey'] : [] },
    wordWrap: true,
    colWidths: [22, 9, 9, 11, 11, 56, 12, 16],
  });
  for (const v of verdicts) {
    const verdict = v.passed ? 'PASS' : 'FAIL';
    table.push([
      `${v.scenario} ${v.name}`,
      v.variant,
      color ? (v.passed ? pc.green(verdict) : pc.red(pc.bold(verdict))) : verdict,
      v.trials.toLocaleString('en-US'),
      v.forbidden.toLocaleString('en-US'),
      v.error ? `run failed: ${v.error}` : outcomesCell(v, 4, color),
      v.variant === 'unsafe' ? formatMs(v.timeToFirstMs) : '—',
      v.forbiddenRateUpperBound === null ? '—' : `< ${formatRate(v.forbiddenRateUpperBound)}`,
    ]);
  }
  return table.toString();
}

/** The closing lines: the totals, and a replay command for every failure. */
export function verdictFooter(verdicts: readonly Verdict[]): string {
  const failed = verdicts.filter((v) => !v.passed);
  const lines = [`${verdicts.length - failed.length} of ${verdicts.length} variants passed`];
  for (const v of failed) lines.push(`  ${v.scenario} ${v.variant}: ${v.summary}\n    replay: npx sabre stress --replay ${v.replay}`);
  return lines.join('\n');
}
