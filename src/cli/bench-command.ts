/**
 * `sabre bench`: the benchmark suites (bench/), side by side with what a user would pick instead,
 * and a report with charts. The suites and their competitors (lru-cache, sharedmap, tinybench…)
 * are development dependencies: the command runs from a sabre checkout after `npm install`. In
 * an installed copy it is hidden from `sabre --help` and says at once what it needs (exit 2).
 *
 * Results go to `--out DIR`, by default a new folder `./sabre-bench-YYYYMMDD-HHMMSS`, never over
 * the committed bench/results/ unless asked to (`--out bench/results`, as the repo's scripts do).
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Command, InvalidArgumentError as CommanderArgumentError } from 'commander';
import { EXIT_CODES_HELP, HarnessError, UsageError } from './exit-codes.js';

const RUNNER = new URL('../../bench/run.js', import.meta.url);

/** The development dependencies the suites need (ioredis only with --redis; bentocache and @redis/client for tiered). */
const NEEDED = ['tinybench', 'lru-cache', 'sharedmap', 'bentocache', '@redis/client'] as const;

function resolvable(name: string): boolean {
  try {
    import.meta.resolve(name);
    return true;
  } catch {
    return false;
  }
}

/** What `sabre bench` lacks here: bench/ itself, or development dependencies; empty when it can run. */
export function benchMissing(): string[] {
  const missing: string[] = [];
  if (!existsSync(fileURLToPath(RUNNER))) missing.push('the bench/ folder of a sabre checkout');
  for (const name of NEEDED) if (!resolvable(name)) missing.push(name);
  return missing;
}

function positiveInt(text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 1) throw new CommanderArgumentError(`'${text}' is not an integer >= 1`);
  return value;
}

interface BenchCommandOptions {
  quick?: boolean;
  threads?: number;
  redis?: string;
  compare?: string;
  html?: string;
  out?: string;
}

export function addBenchCommand(program: Command): void {
  const missing = benchMissing();
  program
    .command('bench', { hidden: missing.length > 0 })
    .description('run the benchmarks side by side with the alternatives (from a sabre checkout); writes JSON, Markdown and an HTML report')
    .argument('[suite...]', 'locks, cache, workloads, single-flight, bursts, hit-ratio, memory, pool, tiered (default: all)')
    .option('--quick', 'short sampling, one round: a smoke test (CI); asserts nothing about speed')
    .option('--threads <n>', 'most worker threads to scale to (default: the cores)', positiveInt)
    .option('--redis <url>', 'a Redis to measure: workloads adds it through ioredis; tiered uses it instead of starting a throwaway redis-server')
    .option('--compare <file>', 'add a regression table against an earlier summary.json')
    .option('--out <dir>', 'where to write the results (default: a new folder ./sabre-bench-YYYYMMDD-HHMMSS)')
    .option('--html <file>', 'where to write the HTML report (default: report.html in the --out folder)')
    .addHelpText(
      'after',
      `\nThe suites need sabre's development dependencies: run from a clone after npm install.\nResults go to a new folder unless --out says where (--out bench/results refreshes\nthe committed ones). Unmet speed goals do not change the exit code.\n\n${EXIT_CODES_HELP}`,
    )
    .action(async (suites: string[], options: BenchCommandOptions) => {
      const lacking = benchMissing();
      if (lacking.length > 0) {
        throw new UsageError(
          `bench runs only from a clone of the sabre repository after npm install (the suites need its development dependencies); missing here: ${lacking.join(', ')}`,
        );
      }
      const { runBench, SUITES } = (await import(RUNNER.href)) as typeof import('../../bench/run.js');
      const unknown = suites.filter((suite) => !(SUITES as readonly string[]).includes(suite));
      if (unknown.length > 0)
        throw new UsageError(`unknown suite${unknown.length > 1 ? 's' : ''} ${unknown.map((s) => `'${s}'`).join(', ')} (suites: ${SUITES.join(', ')})`);
      if (options.compare !== undefined && !existsSync(options.compare)) throw new UsageError(`--compare ${options.compare}: no such file`);
      if (options.html === '-') throw new UsageError('--html -: sabre bench writes its HTML report to a file (default: report.html in the --out folder)');
      if (options.redis !== undefined && !resolvable('ioredis')) throw new UsageError('--redis needs ioredis (a development dependency): npm install');
      const out = outputFolder(options.out);
      try {
        runBench({ suites, ...options, out });
      } catch (error) {
        // Everything the user could get wrong was checked above: a suite that dies is sabre's failure.
        throw new HarnessError(error instanceof Error ? error.message : String(error));
      }
      const shown = relative(process.cwd(), out);
      console.error(`sabre bench: results in ${shown === '' ? '.' : shown.startsWith('..') ? out : shown}`);
    });
}

/** The folder given with --out (created if needed), or a new ./sabre-bench-YYYYMMDD-HHMMSS. */
function outputFolder(out: string | undefined): string {
  if (out !== undefined) {
    const dir = resolve(out);
    try {
      mkdirSync(dir, { recursive: true });
    } catch (error) {
      throw new UsageError(`--out ${out}: cannot create it (${error instanceof Error ? error.message : String(error)})`);
    }
    return dir;
  }
  const now = new Date();
  const two = (n: number): string => String(n).padStart(2, '0');
  const stamp = `${now.getFullYear()}${two(now.getMonth() + 1)}${two(now.getDate())}-${two(now.getHours())}${two(now.getMinutes())}${two(now.getSeconds())}`;
  for (let n = 1; ; n++) {
    const dir = join(process.cwd(), `sabre-bench-${stamp}${n > 1 ? `-${n}` : ''}`);
    try {
      mkdirSync(dir); // not recursive: fails if it exists, so two runs never share a folder
      return dir;
    } catch (error) {
      if ((error as { code?: unknown }).code !== 'EEXIST')
        throw new UsageError(`cannot create ${dir} (${error instanceof Error ? error.message : String(error)}); give --out DIR`);
    }
  }
}
