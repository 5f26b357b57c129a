/**
 * The jcstress-style table printed at the end of a run. Colour is the caller's decision (the CLI
 * makes it in src/cli/color.ts) and only adds emphasis: the grade of every outcome and the verdict
 * are always printed as text, so nothing is lost under NO_COLOR or in a log file.
 */
import Table from 'cli-table3';
import pc from 'picocolors';
import { type Verdict, formatRate } from '../verdict.js';
import { replayCommand } from '../token.js';

type Colors = ReturnType<typeof pc.createColors>;

const gradeColor = (c: Colors, grade: Verdict['histogram'][number]['grade']): ((text: string) => string) =>
  grade === 'ACCEPTABLE' ? c.green : grade === 'INTERESTING' ? c.yellow : c.red;

export function formatMs(ms: number | null): string {
  if (ms === null) return '—';
  return ms < 1_000 ? `${ms.toFixed(0)} ms` : `${(ms / 1_000).toFixed(1)} s`;
}

/** Up to `limit` outcomes with their counts and grades, most frequent first, colored by grade. */
function outcomesCell(verdict: Verdict, limit: number, c: Colors): string {
  const lines = verdict.histogram.slice(0, limit).map((o) => gradeColor(c, o.grade)(`${o.count.toLocaleString('en-US')} × ${o.outcome} [${o.grade}]`));
  if (verdict.histogram.length > limit) lines.push(`… ${verdict.histogram.length - limit} more outcomes`);
  return lines.join('\n');
}

/** The verdict of a row: PASS, FAIL, or ERROR when the variant could not be run to a verdict. */
export function verdictLabel(verdict: Verdict): 'PASS' | 'FAIL' | 'ERROR' {
  return verdict.error !== undefined ? 'ERROR' : verdict.passed ? 'PASS' : 'FAIL';
}

/** The table; `color` adds ANSI colours (default none: the caller decides, see src/cli/color.ts). */
export function verdictTable(verdicts: readonly Verdict[], color = false): string {
  const c = pc.createColors(color);
  const table = new Table({
    head: ['scenario', 'variant', 'verdict', 'trials', 'forbidden', 'outcomes', 'first repro', 'forbidden rate'],
    style: { head: color ? ['bold'] : [], border: color ? ['grey'] : [] },
    wordWrap: true,
    colWidths: [22, 9, 9, 11, 11, 56, 12, 16],
  });
  for (const v of verdicts) {
    const verdict = verdictLabel(v);
    table.push([
      `${v.scenario} ${v.name}`,
      v.variant,
      v.passed ? c.green(verdict) : c.red(c.bold(verdict)),
      v.trials.toLocaleString('en-US'),
      v.forbidden.toLocaleString('en-US'),
      v.error ? `run failed: ${v.error}` : outcomesCell(v, 4, c),
      v.variant !== 'safe' ? formatMs(v.timeToFirstMs) : '—',
      v.forbiddenRateUpperBound === null ? '—' : `< ${formatRate(v.forbiddenRateUpperBound)}`,
    ]);
  }
  return table.toString();
}

/** The closing lines: the totals, and a replay command for every failure. */
export function verdictFooter(verdicts: readonly Verdict[]): string {
  const failed = verdicts.filter((v) => !v.passed);
  const errors = verdicts.filter((v) => v.error !== undefined).length;
  const lines = [
    `${verdicts.length - failed.length} of ${verdicts.length} variants passed${errors > 0 ? `; ${errors} could not be run to a verdict (harness error)` : ''}`,
  ];
  for (const v of failed) {
    const detail = v.firstForbidden?.detail !== undefined ? `\n    ${v.firstForbidden.detail}` : '';
    lines.push(`  ${v.scenario} ${v.variant}: ${v.summary}${detail}\n    replay: ${replayCommand(v.replay)}`);
  }
  return lines.join('\n');
}
