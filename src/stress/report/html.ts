/**
 * The HTML report: one self-contained file (Chart.js and the data inlined) that opens offline,
 * with a summary table, an outcome histogram per variant (bars colored by grade) and latency
 * percentiles for the scenarios that measure them.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RunReport } from './run-report.js';
import { verdictLabel } from './table.js';
import { replayCommand } from '../token.js';

/** Chart.js's browser build, read from its package (resolved next to its ES module entry). */
export function chartJsSource(): string {
  const entry = fileURLToPath(import.meta.resolve('chart.js'));
  return readFileSync(join(dirname(entry), 'chart.umd.min.js'), 'utf8');
}

/** Text that is safe inside a <script> element (no closing tag, no HTML comment opener). */
export function scriptSafe(text: string): string {
  return text.replaceAll('</script', '<\\/script').replaceAll('<!--', '<\\!--');
}

export const escapeHtml = (text: string): string => text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');

const STYLE = `
body { font: 14px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 1100px; color: #1d2330; padding: 0 1rem; }
h1 { margin-bottom: .2rem; } .meta { color: #5b6475; margin-bottom: 1.5rem; }
table { border-collapse: collapse; width: 100%; margin-bottom: 2rem; }
th, td { border-bottom: 1px solid #e3e6ec; padding: .35rem .5rem; text-align: left; vertical-align: top; }
th { background: #f5f6f9; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
.pass { color: #17803d; font-weight: 600; } .fail { color: #c0262d; font-weight: 700; }
section { border: 1px solid #e3e6ec; border-radius: 8px; padding: 1rem 1.2rem; margin-bottom: 1.2rem; }
section h2 { font-size: 1.05rem; margin: 0 0 .3rem; } .summary { color: #5b6475; margin: 0 0 .6rem; }
.charts { display: grid; grid-template-columns: 1fr 1fr; gap: 1rem; } .chart { position: relative; height: 240px; }
code { font-size: 12px; word-break: break-all; }
`;

/** The page's own script: draws every chart from the inlined data. */
const PAGE_SCRIPT = `
const report = JSON.parse(document.getElementById('sabre-data').textContent);
const GRADE = { ACCEPTABLE: '#2f9e55', INTERESTING: '#d9a21b', FORBIDDEN: '#d0353c' };
report.verdicts.forEach((v, i) => {
  const outcomes = v.histogram.slice(0, 12);
  new Chart(document.getElementById('outcomes-' + i), {
    type: 'bar',
    data: { labels: outcomes.map((o) => o.outcome.length > 48 ? o.outcome.slice(0, 47) + '…' : o.outcome),
            datasets: [{ label: 'trials', data: outcomes.map((o) => o.count), backgroundColor: outcomes.map((o) => GRADE[o.grade]) }] },
    options: { indexAxis: 'y', maintainAspectRatio: false, animation: false, plugins: { legend: { display: false }, title: { display: true, text: 'outcomes (green acceptable, red forbidden)' } },
               scales: { x: v.trials > 100 ? { type: 'logarithmic', min: 0.5, title: { display: true, text: 'trials (log scale)' } } : { type: 'linear', beginAtZero: true, title: { display: true, text: 'trials' } } } },
  });
  const latency = v.samples.filter((s) => s.count > 0);
  const canvas = document.getElementById('samples-' + i);
  if (!canvas) return;
  new Chart(canvas, {
    type: 'bar',
    data: { labels: latency.map((s) => s.name),
            datasets: ['p50', 'p99', 'p999'].map((p, k) => ({ label: p, data: latency.map((s) => s[p]), backgroundColor: ['#4c78a8', '#f58518', '#b279a2'][k] })) },
    options: { maintainAspectRatio: false, animation: false, plugins: { title: { display: true, text: 'percentiles' } }, scales: { y: { type: 'logarithmic' } } },
  });
});
`;

export function toHtml(report: RunReport): string {
  const rows = report.verdicts
    .map(
      (v) =>
        `<tr><td>${escapeHtml(`${v.scenario} ${v.title}`)}</td><td>${v.variant}</td><td class="${v.passed ? 'pass' : 'fail'}">${verdictLabel(v)}</td>` +
        `<td class="num">${v.trials.toLocaleString('en-US')}</td><td class="num">${v.forbidden.toLocaleString('en-US')}</td><td>${escapeHtml(v.summary)}</td></tr>`,
    )
    .join('\n');
  const sections = report.verdicts
    .map(
      (
        v,
        i,
      ) => `<section><h2>${escapeHtml(`${v.scenario} · ${v.title} · ${v.variant}`)} <span class="${v.passed ? 'pass' : 'fail'}">${verdictLabel(v)}</span></h2>
<p class="summary">${escapeHtml(v.description)} — ${escapeHtml(v.summary)}${v.variant !== 'safe' && v.timeToFirstMs !== null ? `; first forbidden outcome after ${v.timeToFirstMs.toFixed(0)} ms` : ''}${v.firstForbidden?.detail !== undefined ? `<br>${escapeHtml(v.firstForbidden.detail)}` : ''}</p>
<div class="charts"><div class="chart"><canvas id="outcomes-${i}"></canvas></div>${v.samples.some((s) => s.count > 0) ? `<div class="chart"><canvas id="samples-${i}"></canvas></div>` : ''}</div>
${v.passed ? '' : `<p>Replay: <code>${escapeHtml(replayCommand(v.replay))}</code></p>`}</section>`,
    )
    .join('\n');
  const data = JSON.stringify(report, (_key, value: unknown) => (typeof value === 'number' && !Number.isFinite(value) ? null : value)).replaceAll(
    '<',
    '\\u003c',
  );
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>sabre stress report</title><style>${STYLE}</style></head>
<body>
<h1>sabre stress ${report.passed ? '<span class="pass">all verdicts hold</span>' : '<span class="fail">some verdicts failed</span>'}</h1>
<p class="meta">${escapeHtml(`${report.startedAt} · seed ${report.seed} · ${report.quick ? 'quick' : 'full'} run · ${(report.durationMs / 1000).toFixed(1)} s · ${report.machine.cores} cores, ${report.machine.cpu} · Node ${report.machine.node} · ${report.machine.os}`)}</p>
<table><thead><tr><th>scenario</th><th>variant</th><th>verdict</th><th>trials</th><th>forbidden</th><th>summary</th></tr></thead><tbody>
${rows}
</tbody></table>
${sections}
<script type="application/json" id="sabre-data">${data}</script>
<script>${scriptSafe(chartJsSource())}</script>
<script>${scriptSafe(PAGE_SCRIPT)}</script>
</body></html>
`;
}
