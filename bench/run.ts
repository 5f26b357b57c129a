/**
 * `sabre bench`: runs the benchmark suites, each in its own process (one suite's threads and
 * garbage never disturb another's; each writes its <suite>.{json,md} into the output folder),
 * then combines their results into summary.{json,md} and a self-contained HTML report with
 * charts, every goal next to its measured ratio, in the same folder. `--compare old.json` adds a
 * regression table against an earlier summary.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BenchSummary, type SuiteResult, compareSummaries, compareTable, goalsTable } from './support/summary.js';
import { benchHtml } from './support/html.js';
import { machine } from './support/report.js';

export const SUITES = ['locks', 'cache', 'workloads', 'single-flight', 'bursts', 'hit-ratio', 'memory', 'pool', 'tiered'] as const;

export interface BenchOptions {
  readonly suites?: readonly string[];
  readonly quick?: boolean;
  readonly threads?: number;
  readonly redis?: string;
  readonly compare?: string;
  readonly html?: string;
  /** The folder every result goes to (the CLI's --out; the repo's scripts pass bench/results). */
  readonly out: string;
}

/** Runs the suites and writes the summary and the HTML report into `options.out`; returns the summary. */
export function runBench(options: BenchOptions): BenchSummary {
  const out = resolve(options.out);
  mkdirSync(out, { recursive: true });
  const suites = options.suites?.length ? options.suites : SUITES;
  for (const suite of suites)
    if (!(SUITES as readonly string[]).includes(suite)) throw new RangeError(`unknown suite '${suite}' (suites: ${SUITES.join(', ')})`);
  const suffix = options.quick ? '-quick' : '';
  const collected: Record<string, SuiteResult> = {};
  for (const suite of suites) {
    const args = [fileURLToPath(new URL(`./${suite}.js`, import.meta.url))];
    if (options.quick) args.push('--quick');
    if (options.threads !== undefined) args.push('--threads', String(options.threads));
    if (options.redis !== undefined) args.push('--redis', options.redis);
    args.push('--out', out);
    console.error(`sabre bench: ${suite}${options.quick ? ' (quick)' : ''}`);
    const run = spawnSync(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit'] });
    if (run.status !== 0) throw new Error(`bench suite ${suite} failed (exit ${run.status ?? run.signal})`);
    collected[suite] = JSON.parse(readFileSync(join(out, `${suite}${suffix}.json`), 'utf8')) as SuiteResult;
  }
  const summary: BenchSummary = { tool: 'sabre bench', quick: options.quick === true, machine: machine(), suites: collected };
  let markdown = `# sabre benchmarks${options.quick ? ' (quick: smoke test only)' : ''}\n\n${goalsTable(summary)}`;
  if (options.compare !== undefined) {
    if (!existsSync(options.compare)) throw new RangeError(`--compare: no such file ${options.compare}`);
    const old = JSON.parse(readFileSync(options.compare, 'utf8')) as BenchSummary;
    markdown += `\n## Against ${options.compare}\n\n${compareTable(compareSummaries(old, summary))}`;
  }
  writeFileSync(join(out, `summary${suffix}.json`), `${JSON.stringify(summary, null, 2)}\n`);
  writeFileSync(join(out, `summary${suffix}.md`), markdown);
  writeFileSync(options.html ?? join(out, `report${suffix}.html`), benchHtml(summary));
  console.log(markdown);
  return summary;
}
