/**
 * Runs `sabre stress --quick` N times in a row (default 10), each with its own seed, and writes
 * how often each unsafe variant reproduced and each safe variant held, with the median time to
 * the first reproduction: docs/stress-quick-repeat.{json,md}. The README quotes the table.
 *
 *   node dist/bench/stress-repeat.js [runs]
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RunReport } from '../src/stress/report/run-report.js';

const runs = Number(process.argv[2] ?? 10);
const bin = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const out = new URL('../../docs/', import.meta.url);
const reports: RunReport[] = [];
for (let run = 0; run < runs; run++) {
  const file = join(tmpdir(), `sabre-quick-${process.pid}-${run}.json`);
  const seed = 1000 + run;
  const started = Date.now();
  const result = spawnSync(process.execPath, [bin, 'stress', '--quick', '--no-progress', '--seed', String(seed), '--json', file], { encoding: 'utf8' });
  const report = JSON.parse(readFileSync(file, 'utf8')) as RunReport;
  reports.push(report);
  console.log(
    `run ${run + 1}/${runs}: seed ${seed}, exit ${result.status}, ${report.verdicts.filter((v) => v.passed).length}/${report.verdicts.length} passed, ${((Date.now() - started) / 1000).toFixed(0)} s`,
  );
}

const median = (values: number[]): number | null => {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1]!;
};

const keys = reports[0]!.verdicts.map((v) => `${v.scenario}/${v.variant}`);
const rows = keys.map((key) => {
  const verdicts = reports.map((r) => r.verdicts.find((v) => `${v.scenario}/${v.variant}` === key)!);
  return {
    scenario: verdicts[0]!.scenario,
    title: verdicts[0]!.title,
    variant: verdicts[0]!.variant,
    passed: verdicts.filter((v) => v.passed).length,
    runs: verdicts.length,
    medianTimeToFirstMs: median(verdicts.flatMap((v) => (v.timeToFirstMs === null ? [] : [v.timeToFirstMs]))),
    medianTrials: median(verdicts.map((v) => v.trials)),
  };
});

const lines = [
  `# sabre stress --quick, ${runs} runs in a row`,
  '',
  `${reports[0]!.machine.cores} cores, ${reports[0]!.machine.cpu}, Node ${reports[0]!.machine.node}, ${reports[0]!.startedAt}. Seeds 1000 to ${999 + runs}.`,
  '',
  '| scenario | variant | verdict held | median time to first reproduction | median trials |',
  '|---|---|---:|---:|---:|',
  ...rows.map(
    (r) =>
      `| ${r.scenario} ${r.title} | ${r.variant} | ${r.passed} of ${r.runs} ${r.variant === 'unsafe' ? '(reproduced)' : '(clean)'} | ${r.medianTimeToFirstMs === null ? '—' : `${r.medianTimeToFirstMs.toFixed(0)} ms`} | ${r.medianTrials} |`,
  ),
  '',
];
mkdirSync(out, { recursive: true });
writeFileSync(new URL('stress-quick-repeat.md', out), lines.join('\n'));
writeFileSync(new URL('stress-quick-repeat.json', out), `${JSON.stringify({ runs, rows }, null, 2)}\n`);
console.log(lines.join('\n'));
