/**
 * `sabre stress`: runs the stress scenarios (all of AUDITS.md by default) and reports, like a test
 * suite, whether each unsafe variant reproduced its race and each safe variant stayed clean.
 * Exit codes (exit-codes.ts): 1 when a verdict failed, 2 for bad options or a --module that does
 * not load (before anything runs), 3 when a variant could not be run to a verdict.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { type Command, InvalidArgumentError as CommanderArgumentError, Option } from 'commander';
import cliProgress from 'cli-progress';
import { colorEnabled } from './color.js';
import { ENVIRONMENT_HELP, EXIT, EXIT_CODES_HELP, UsageError } from './exit-codes.js';
import { loadUserModule } from './load-module.js';
import { type RunReport, machine, toJson } from '../stress/report/run-report.js';
import { toHtml } from '../stress/report/html.js';
import { toJunit } from '../stress/report/junit.js';
import { toMarkdown } from '../stress/report/markdown.js';
import { verdictFooter, verdictLabel, verdictTable } from '../stress/report/table.js';
import { type Progress, type RunOptions, type ScenarioEntry, runVariant } from '../stress/runner.js';
import { type Variant, VARIANTS, resolveParams } from '../stress/scenario.js';
import { BUILT_IN_MODULE, SCENARIOS, builtInEntries } from '../stress/scenarios/index.js';
import { importModule } from '../loader/import-module.js';
import { loadScenario } from '../stress/stride.js';
import { decodeToken } from '../stress/token.js';
import type { Verdict } from '../stress/verdict.js';

interface StressOptions {
  list?: boolean;
  workers?: number;
  budget?: number;
  quick?: boolean;
  seed?: number;
  replay?: string;
  trials?: number;
  variant?: Variant;
  param: Record<string, number>;
  module?: string;
  json?: string;
  junit?: string;
  md?: string;
  html?: string;
  progress?: boolean;
}

/** '10s', '500ms', '2m' or a number of seconds, in ms. */
export function parseDuration(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim());
  if (!match) throw new CommanderArgumentError(`'${text}' is not a duration (e.g. 10s, 500ms, 2m)`);
  const value = Number(match[1]);
  const ms = match[2] === 'ms' ? value : match[2] === 'm' ? value * 60_000 : value * 1_000;
  if (!(ms > 0)) throw new CommanderArgumentError('the budget must be > 0');
  return ms;
}

function parseNonNegativeInt(text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 0) throw new CommanderArgumentError(`'${text}' is not an integer >= 0`);
  return value;
}

function parsePositiveInt(text: string): number {
  const value = parseNonNegativeInt(text);
  if (value < 1) throw new CommanderArgumentError(`'${text}' must be >= 1`);
  return value;
}

function collectParam(text: string, previous: Record<string, number>): Record<string, number> {
  const match = /^([A-Za-z][A-Za-z0-9]*)=(-?\d+(?:\.\d+)?)$/.exec(text);
  if (!match) throw new CommanderArgumentError(`'${text}' is not name=number`);
  return { ...previous, [match[1]!]: Number(match[2]) };
}

export function addStressCommand(program: Command): void {
  program
    .command('stress')
    .description('reproduce every audited race on its unsafe variant and prove its safe variant clean')
    .argument('[scenario...]', 'scenario ids or names (default: all; see --list)')
    .option('--list', 'list the scenarios and their parameters, then exit')
    .option('--workers <n>', 'actor threads, for the scenarios whose actor count is a parameter', parsePositiveInt)
    .option('--budget <duration>', 'time budget per variant, e.g. 10s (default 3s with --quick, 180s otherwise)', parseDuration)
    .option('--quick', 'the quick suite: few trials, short budgets (for CI)')
    .option('--seed <n>', 'seed every random choice (default: random; printed)', parseNonNegativeInt)
    .option('--replay <token>', 'run again exactly what a replay token (printed on a failure) describes')
    .option('--trials <n>', "trials per variant (default: the scenario's)", parsePositiveInt)
    .addOption(new Option('--variant <variant>', 'run only one variant').choices([...VARIANTS]))
    .option('--param <name=value>', 'override a scenario parameter (repeatable), e.g. --param increments=200', collectParam, {})
    .option('--module <file>', 'run the scenarios a module of your own exports (by id) instead of the built-in ones (.js, .mjs or .ts)')
    .option('--json <file>', 'write the JSON report (- for standard output)')
    .option('--junit <file>', 'write JUnit XML (- for standard output)')
    .option('--md <file>', 'write a Markdown report (- for standard output)')
    .option('--html <file>', 'write a self-contained HTML report (- for standard output)')
    .option('--no-progress', 'no progress bar, even on a terminal')
    .addHelpText(
      'after',
      `\nThe verdict table goes to standard output, or to standard error when a report does
(--json - and the like: then standard output holds that report alone). Progress and
per-variant lines always go to standard error.\n\n${EXIT_CODES_HELP}\n\n${ENVIRONMENT_HELP}`,
    )
    .action(async (ids: string[], options: StressOptions) => {
      process.exitCode = await stress(ids, options);
    });
}

async function stress(ids: string[], options: StressOptions): Promise<number> {
  if (options.list) {
    list();
    return 0;
  }
  const plan = await planRun(ids, options);
  const outputs = reportOutputs(options);
  const startedAt = new Date();
  const bar = options.progress !== false && process.stderr.isTTY ? new ProgressBar() : undefined;
  const verdicts: Verdict[] = [];
  console.error(`sabre stress: ${plan.entries.length} scenarios, ${plan.variants.join(' + ')}, seed ${plan.run.seed}${options.quick ? ', quick' : ''}`);
  for (const entry of plan.entries) {
    for (const variant of plan.variants) {
      bar?.start(entry.scenario.id, variant);
      const verdict = await runVariant(entry, variant, { ...plan.run, ...(bar ? { onProgress: (p: Progress) => bar.update(p) } : {}) });
      bar?.stop();
      verdicts.push(verdict);
      if (!bar) console.error(`  ${verdictLabel(verdict)} ${entry.scenario.id} ${variant}: ${verdict.summary}`);
    }
  }
  const report: RunReport = {
    tool: 'sabre stress',
    version: (await import('./program.js')).version,
    startedAt: startedAt.toISOString(),
    durationMs: Date.now() - startedAt.getTime(),
    seed: plan.run.seed!,
    quick: options.quick === true,
    machine: machine(),
    passed: verdicts.every((v) => v.passed),
    verdicts,
  };
  // The human table goes where no report does: stdout stays parseable with --json - and the like.
  const human = outputs.some((o) => o.file === '-') ? process.stderr : process.stdout;
  human.write(`${verdictTable(verdicts, colorEnabled(human))}\n${verdictFooter(verdicts)}\n`);
  writeReports(report, outputs);
  if (verdicts.some((v) => v.error !== undefined)) return EXIT.harness;
  return report.passed ? EXIT.ok : EXIT.failed;
}

interface Plan {
  readonly entries: ScenarioEntry[];
  readonly variants: readonly Variant[];
  readonly run: RunOptions;
}

/** What to run, checked before anything runs: every error here is the user's (exit 2). */
async function planRun(ids: string[], options: StressOptions): Promise<Plan> {
  let plan: Plan;
  try {
    plan = await planFrom(ids, options);
    for (const { scenario } of plan.entries) {
      const params = resolveParams(scenario, plan.run.params ?? {});
      const actors = scenario.actors(params);
      if (!Number.isInteger(actors) || actors < 1) throw new RangeError(`${scenario.id}: actors must be an integer >= 1, got ${actors}`);
    }
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  return plan;
}

async function planFrom(ids: string[], options: StressOptions): Promise<Plan> {
  if (options.replay !== undefined) {
    const token = decodeToken(options.replay);
    const module = token.module !== undefined ? await loadUserModule(token.module, "the replay token's module") : BUILT_IN_MODULE;
    const scenario = await loadScenario(module, token.scenario);
    return {
      entries: [{ scenario, module }],
      variants: [token.variant],
      run: { seed: token.seed, trials: token.trials, params: token.params, budgetMs: options.budget ?? 3_600_000 },
    };
  }
  const params = { ...options.param, ...(options.workers !== undefined ? { workers: options.workers } : {}) };
  const entries = options.module !== undefined ? await userEntries(options.module, ids) : builtInEntries(ids);
  return {
    entries,
    variants: options.variant ? [options.variant] : VARIANTS,
    run: {
      seed: options.seed ?? Math.floor(Math.random() * 2 ** 31),
      quick: options.quick === true,
      params,
      ...(options.budget !== undefined ? { budgetMs: options.budget } : {}),
      ...(options.trials !== undefined ? { trials: options.trials } : {}),
    },
  };
}

async function userEntries(file: string, ids: string[]): Promise<ScenarioEntry[]> {
  if (ids.length === 0) throw new UsageError('--module needs the ids of the scenarios to run');
  const module = await loadUserModule(file); // a module that does not load: its file and line
  const exported = scenarioIds(await importModule(module));
  const unknown = ids.filter((id) => !exported.includes(id));
  if (unknown.length > 0) {
    throw new UsageError(
      `--module ${file} exports no scenario ${unknown.map((id) => `'${id}'`).join(', ')} (it exports: ${exported.length > 0 ? exported.join(', ') : 'no scenario at all'})`,
    );
  }
  return Promise.all(ids.map(async (id) => ({ scenario: await loadScenario(module, id), module })));
}

/** The ids of the scenarios a module exports (as loadScenario finds them: exported, or in an exported array). */
function scenarioIds(exports: Record<string, unknown>): string[] {
  return Object.values(exports)
    .flatMap((value) => (Array.isArray(value) ? value : [value]))
    .filter(
      (value): value is { id: string } =>
        typeof value === 'object' &&
        value !== null &&
        typeof (value as { id?: unknown }).id === 'string' &&
        typeof (value as { actor?: unknown }).actor === 'function',
    )
    .map((value) => value.id);
}

function list(): void {
  for (const s of SCENARIOS) {
    const params = Object.entries(s.params)
      .map(([name, value]) => `${name}=${value}`)
      .join(' ');
    console.log(`${s.id.padEnd(8)} ${s.name.padEnd(20)} ${s.title}`);
    console.log(`${''.padEnd(29)}unsafe: ${s.variants.unsafe}`);
    console.log(`${''.padEnd(29)}safe:   ${s.variants.safe}`);
    console.log(`${''.padEnd(29)}params: ${params || '(none)'}; trials ${s.trials.quick} quick, ${s.trials.full} full`);
  }
}

/** A report asked for: its option, where it goes (a file, or - for standard output), how to render it. */
interface ReportOutput {
  readonly option: string;
  readonly file: string;
  readonly render: (report: RunReport) => string;
}

/**
 * The reports asked for, checked before the run: at most one of them on standard output, and
 * every file's folder created now (a path that cannot be written is a usage error, not a
 * surprise after a half-hour run).
 */
function reportOutputs(options: StressOptions): ReportOutput[] {
  const all: Array<[string, string | undefined, (report: RunReport) => string]> = [
    ['--json', options.json, toJson],
    ['--junit', options.junit, toJunit],
    ['--md', options.md, toMarkdown],
    ['--html', options.html, toHtml],
  ];
  const outputs = all.filter(([, file]) => file !== undefined).map(([option, file, render]) => ({ option, file: file!, render }));
  const toStdout = outputs.filter((o) => o.file === '-');
  if (toStdout.length > 1) throw new UsageError(`only one report can go to standard output, not ${toStdout.map((o) => `${o.option} -`).join(' and ')}`);
  for (const o of outputs) {
    if (o.file === '-') continue;
    try {
      mkdirSync(dirname(resolve(o.file)), { recursive: true });
    } catch (error) {
      throw new UsageError(`${o.option} ${o.file}: cannot create its folder (${error instanceof Error ? error.message : String(error)})`);
    }
  }
  return outputs;
}

function writeReports(report: RunReport, outputs: readonly ReportOutput[]): void {
  for (const o of outputs) {
    if (o.file === '-') {
      process.stdout.write(o.render(report));
      continue;
    }
    try {
      writeFileSync(o.file, o.render(report));
    } catch (error) {
      throw new UsageError(`${o.option} ${o.file}: cannot write the report (${error instanceof Error ? error.message : String(error)})`);
    }
    console.error(`wrote ${o.file}`);
  }
}

/** One progress bar per variant, on stderr (stdout carries the table). */
class ProgressBar {
  readonly #bar = new cliProgress.SingleBar(
    { format: '{label} [{bar}] {value}/{total} trials · {forbidden} forbidden · {seconds}s', stream: process.stderr, hideCursor: true, clearOnComplete: true },
    cliProgress.Presets.shades_classic,
  );

  start(scenario: string, variant: Variant): void {
    this.#bar.start(1, 0, { label: `${scenario} ${variant}`.padEnd(16), forbidden: 0, seconds: '0.0' });
  }

  update(p: Progress): void {
    this.#bar.setTotal(p.target);
    this.#bar.update(p.trials, { forbidden: p.forbidden, seconds: (p.elapsedMs / 1_000).toFixed(1) });
  }

  stop(): void {
    this.#bar.stop();
  }
}
