/** The Markdown report: a table for a pull-request comment. */
import type { RunReport } from './run-report.js';
import { formatMs, verdictLabel } from './table.js';
import { formatRate } from '../verdict.js';
import { replayCommand } from '../token.js';

const cell = (text: string): string => text.replaceAll('|', '\\|').replaceAll('\n', '<br>');

export function toMarkdown(report: RunReport): string {
  const passed = report.verdicts.filter((v) => v.passed).length;
  const lines = [
    `## sabre stress: ${report.passed ? '✅ all verdicts hold' : '❌ some verdicts failed'}`,
    '',
    `${passed} of ${report.verdicts.length} variants passed · seed ${report.seed} · ${report.quick ? 'quick' : 'full'} run · ${formatMs(report.durationMs)} · ${report.machine.cores} cores, ${report.machine.cpu}, Node ${report.machine.node}`,
    '',
    '| scenario | variant | verdict | trials | forbidden | first repro | forbidden rate (95 %) | outcomes |',
    '|---|---|---|---:|---:|---:|---:|---|',
  ];
  for (const v of report.verdicts) {
    const outcomes = v.error
      ? `run failed: ${v.error}`
      : v.histogram
          .slice(0, 3)
          .map((o) => `${o.count} × ${o.outcome} (${o.grade})`)
          .join('<br>');
    lines.push(
      `| ${cell(`${v.scenario} ${v.title}`)} | ${v.variant} | ${v.passed ? 'PASS' : `**${verdictLabel(v)}**`} | ${v.trials} | ${v.forbidden} | ${v.variant !== 'safe' ? formatMs(v.timeToFirstMs) : '—'} | ${v.forbiddenRateUpperBound === null ? '—' : `< ${formatRate(v.forbiddenRateUpperBound)}`} | ${cell(outcomes)} |`,
    );
  }
  const failed = report.verdicts.filter((v) => !v.passed);
  if (failed.length > 0) {
    lines.push('', '### Replay', '');
    for (const v of failed) {
      const detail = v.firstForbidden?.detail !== undefined ? ` (${v.firstForbidden.detail})` : '';
      lines.push(`- ${v.scenario} ${v.variant}: ${v.summary}${cell(detail)} — \`${replayCommand(v.replay)}\``);
    }
  }
  return `${lines.join('\n')}\n`;
}
