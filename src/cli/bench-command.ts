/**
 * `sabre bench`: the benchmark suites (bench/), side by side with what a user would pick instead,
 * and a report with charts. The suites and their competitors (lru-cache, sharedmap, tinybench…)
 * are development dependencies: the command runs from a sabre checkout after `npm install`.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type Command, InvalidArgumentError as CommanderArgumentError } from 'commander';

const RUNNER = new URL('../../bench/run.js', import.meta.url);

function positiveInt(text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 1) throw new CommanderArgumentError(`'${text}' is not an integer >= 1`);
  return value;
}

export function addBenchCommand(program: Command): void {
  program
    .command('bench')
    .description('run the benchmarks side by side with the alternatives; writes bench/results/ and an HTML report')
    .argument('[suite...]', 'locks, cache, workloads, single-flight, bursts, hit-ratio, memory, pool (default: all)')
    .option('--quick', 'short sampling, one round: a smoke test (CI); asserts nothing about speed')
    .option('--threads <n>', 'most worker threads to scale to (default: the cores)', positiveInt)
    .option('--redis <url>', 'also measure Redis through ioredis, e.g. redis://127.0.0.1:6379')
    .option('--compare <file>', 'add a regression table against an earlier bench/results/summary.json')
    .option('--html <file>', 'where to write the HTML report (default bench/results/report.html)')
    .action(async (suites: string[], options: { quick?: boolean; threads?: number; redis?: string; compare?: string; html?: string }) => {
      if (!existsSync(fileURLToPath(RUNNER))) throw new Error('sabre bench runs from a sabre checkout (it needs bench/ and the development dependencies): git clone, npm install, npx sabre bench');
      const { runBench } = (await import(RUNNER.href)) as typeof import('../../bench/run.js');
      runBench({ suites, ...options });
    });
}
