/**
 * The benchmark report as one self-contained HTML file (Chart.js inlined, opens offline):
 * throughput against threads per competitor for every workload mix, latency percentiles during
 * eviction bursts, hit ratios, and every goal next to its measured ratio, marked met or not.
 */
import { chartJsSource, escapeHtml, scriptSafe } from '../../src/stress/report/html.js';
import type { BenchSummary } from './summary.js';

const STYLE = `
body { font: 14px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 1100px; color: #1d2330; padding: 0 1rem; }
.meta { color: #5b6475; } table { border-collapse: collapse; width: 100%; margin: 1rem 0 2rem; }
th, td { border-bottom: 1px solid #e3e6ec; padding: .35rem .5rem; text-align: left; } th { background: #f5f6f9; }
td.num { text-align: right; font-variant-numeric: tabular-nums; } .met { color: #17803d; font-weight: 600; } .missed { color: #c0262d; font-weight: 700; }
.charts { display: grid; grid-template-columns: 1fr 1fr; gap: 1.2rem; } .chart { position: relative; height: 300px; border: 1px solid #e3e6ec; border-radius: 8px; padding: .6rem; }
`;

const PAGE_SCRIPT = `
const summary = JSON.parse(document.getElementById('bench-data').textContent);
const COLORS = ['#4c78a8', '#f58518', '#54a24b', '#e45756', '#72b7b2', '#b279a2', '#9d755d'];
const charts = document.getElementById('charts');
function canvas() {
  const box = document.createElement('div');
  box.className = 'chart';
  const c = document.createElement('canvas');
  box.appendChild(c);
  charts.appendChild(box);
  return c;
}
const workloads = summary.suites.workloads;
if (workloads && workloads.series) {
  const mixes = [...new Set(workloads.series.map((p) => p.mix))];
  const threads = [...new Set(workloads.series.map((p) => p.threads))].sort((a, b) => a - b);
  for (const mix of mixes) {
    const points = workloads.series.filter((p) => p.mix === mix);
    const competitors = [...new Set(points.map((p) => p.competitor))];
    new Chart(canvas(), {
      type: 'line',
      data: { labels: threads.map((t) => t + (t === 1 ? ' thread' : ' threads')),
              datasets: competitors.map((name, i) => ({ label: name, borderColor: COLORS[i % COLORS.length], backgroundColor: COLORS[i % COLORS.length],
                data: threads.map((t) => { const p = points.find((q) => q.competitor === name && (q.threads === t || name !== 'sabre')); return p ? p.opsPerSec : null; }) })) },
      options: { maintainAspectRatio: false, animation: false, plugins: { title: { display: true, text: 'throughput, ' + mix + ' (ops/s; one-thread competitors flat)' } },
                 scales: { y: { type: 'logarithmic', title: { display: true, text: 'ops/s' } } } },
    });
  }
}
const bursts = summary.suites.bursts;
if (bursts && bursts.latency) {
  new Chart(canvas(), {
    type: 'bar',
    data: { labels: bursts.latency.map((l) => l.name), datasets: ['p50', 'p99', 'p999'].map((p, i) => ({ label: p, backgroundColor: COLORS[i], data: bursts.latency.map((l) => l[p] / 1000) })) },
    options: { maintainAspectRatio: false, animation: false, plugins: { title: { display: true, text: 'set latency during eviction bursts vs steady state (µs)' } }, scales: { y: { type: 'logarithmic' } } },
  });
}
const hits = summary.suites['hit-ratio'];
if (hits && hits.hitRatios) {
  const names = { sieve: 'sabre SIEVE', clock: 'sabre CLOCK', lruCache: 'lru-cache (LRU)' };
  new Chart(canvas(), {
    type: 'bar',
    data: { labels: ['Zipf(0.99)', 'scan-heavy'], datasets: Object.keys(names).map((k, i) => ({ label: names[k], backgroundColor: COLORS[i], data: [hits.hitRatios.zipf[k] * 100, hits.hitRatios.scan[k] * 100] })) },
    options: { maintainAspectRatio: false, animation: false, plugins: { title: { display: true, text: 'hit ratio (%)' } }, scales: { y: { beginAtZero: true } } },
  });
}
`;

export function benchHtml(summary: BenchSummary): string {
  const goals = Object.entries(summary.suites)
    .flatMap(([suite, result]) =>
      result.goals.map(
        (g) =>
          `<tr><td>${escapeHtml(suite)}</td><td>${escapeHtml(g.description)}</td><td class="num">${g.measured.toFixed(2)}x</td><td class="num">≥ ${Number(g.atLeast.toFixed(3))}x</td><td class="${g.met ? 'met' : 'missed'}">${g.met ? 'met' : 'not met'}</td></tr>`,
      ),
    )
    .join('\n');
  const m = summary.machine;
  const data = JSON.stringify(summary).replaceAll('<', '\\u003c');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>sabre benchmarks</title><style>${STYLE}</style></head>
<body>
<h1>sabre benchmarks${summary.quick ? ' (quick run: smoke test, numbers are noise)' : ''}</h1>
<p class="meta">${escapeHtml(`${m.cpu} · ${m.cores} cores · ${m.memoryGiB} GiB · Node ${m.node} · ${m.platform} · ${m.date}`)}. Every ratio compares rows measured side by side in the same run.</p>
<h2>Goals</h2>
<table><thead><tr><th>suite</th><th>goal</th><th>measured</th><th>target</th><th></th></tr></thead><tbody>
${goals}
</tbody></table>
<h2>Charts</h2>
<div class="charts" id="charts"></div>
<script type="application/json" id="bench-data">${data}</script>
<script>${scriptSafe(chartJsSource())}</script>
<script>${scriptSafe(PAGE_SCRIPT)}</script>
</body></html>
`;
}
