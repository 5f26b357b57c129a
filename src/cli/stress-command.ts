/**
 * `sabre stress`: runs the stress scenarios (all of AUDITS.md by default) and reports, like a test
 * suite, whether each unsafe variant reproduced its race and each safe variant stayed clean.
 * Exit codes (exit-codes.ts): 1 when a verdict failed, 2 for bad options or a --module that does
 * not load (before anything runs), 3 when a variant could not be run to a verdict.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { type Command, InvalidArgumentError as CommanderArgumentError, Option } from 'commander';
import { colorEnabled } from './color.js';
import { ENVIRONMENT_HELP, EXIT, EXIT_CODES_HELP, UsageError } from './exit-codes.js';
import { loadUserModule } from './load-module.js';
import { type RunReport, machine, toJson } from '../stress/report/run-report.js';
import { toHtml } from '../stress/report/html.js';
import { toJunit } from '../stress/report/junit.js';
import { toMarkdown } from '../stress/report/markdown.js';
import { verdictFooter, verdictLabel, verdictTable } from '../stress/report/table.js';
import { type Progress, type RunOptions, budgetOf, runVariant } from '../stress/runner.js';
import { type Params, type Scenario, type ScenarioEntry, type Variant, resolveParams, unknownParams, variantsOf } from '../stress/scenario.js';
import { BUILT_IN_MODULE, SCENARIOS, builtInEntries } from '../stress/scenarios/index.js';
import { loadScenario, scenariosOf } from '../stress/stride.js';
import { version } from './version.js';
import { ProgressBar } from './progress-bar.js';
import { startWatchdog } from './watchdog.js';
import { type StorePlan, type VariantJob, planStoreRun, storeReplay } from './stress-store.js';
import { STORE_SCENARIO_PREFIX, decodeToken } from '../stress/token.js';
import type { Verdict } from '../stress/verdict.js';

interface StressOptions {
  list?: boolean;
  workers?: number;
  budget?: number;
  quick?: boolean;
  thorough?: boolean;
  trialTimeout?: number;
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
  store?: string;
}

/** '10s', '500ms', '2m' or a number of seconds, in ms. */
export function parseDuration(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim());
  if (!match) throw new CommanderArgumentError(`'${text}' is not a duration (e.g. 10s, 500ms, 2m)`);
  const value = Number(match[1]);
  const ms = match[2] === 'ms' ? value : match[2] === 'm' ? value * 60_000 : value * 1_000;
  if (!(ms > 0)) throw new CommanderArgumentError('a duration must be > 0');
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
    .description(
      'run race scenarios on real threads: reproduce every audited race on its unsafe variant and prove its safe variant clean, or test your own code (--module)',
    )
    .argument('[scenario...]', 'scenario ids or names (default: all, or all that --module exports; see --list)')
    .option('--list', "list the scenarios (with --module: that module's) and their parameters, then exit")
    .option('--workers <n>', 'actor threads, for the scenarios whose actor count is a parameter', parsePositiveInt)
    .option(
      '--budget <duration>',
      'time budget per variant, e.g. 10s (default: unsafe 4s / others 1.2s with --quick, 30s / 15s, 180s with --thorough)',
      parseDuration,
    )
    .option('--quick', 'the quick suite: few trials, short budgets (for CI; under a minute)')
    .option('--thorough', 'the long suite: full trial counts, 180 s budgets (tens of minutes)')
    .option('--trial-timeout <duration>', 'a trial that makes no progress this long is a hang (default: max(1s, 100x the median trial))', parseDuration)
    .option('--seed <n>', 'seed every random choice (default: random; printed)', parseNonNegativeInt)
    .option('--replay <token>', 'run again exactly what a replay token (printed on a failure) describes')
    .option('--trials <n>', "trials per variant (default: the scenario's)", parsePositiveInt)
    .addOption(new Option('--variant <variant>', 'run only one variant of the pair scenarios').choices(['unsafe', 'safe']))
    .option('--param <name=value>', 'override a scenario parameter (repeatable), e.g. --param increments=200', collectParam, {})
    .option('--module <file>', 'run the scenarios a module of your own exports (by id) instead of the built-in ones (.js, .mjs or .ts)')
    .option('--json <file>', 'write the JSON report (- for standard output)')
    .option('--junit <file>', 'write JUnit XML (- for standard output)')
    .option('--md <file>', 'write a Markdown report (- for standard output)')
    .option('--html <file>', 'write a self-contained HTML report (- for standard output)')
    .option(
      '--store <redis|url>',
      "run G, A, H and tiered with separate processes as actors against Redis: 'redis' starts a throwaway redis-server from PATH (and stops it), a redis:// URL uses that server (H, which kills and restarts the server, then is skipped)",
    )
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
  if (options.quick && options.thorough) throw new UsageError('--quick and --thorough exclude each other');
  if (options.list) {
    if (options.store !== undefined) list((await import('../stress/process/scenarios/index.js')).PROCESS_SCENARIOS);
    else list(options.module !== undefined ? (await userEntries(options.module, [])).map((e) => e.scenario) : SCENARIOS);
    return 0;
  }
  if (options.store !== undefined && options.module !== undefined) {
    throw new UsageError("--store runs sabre's process scenarios: it does not take --module");
  }
  let outputs: ReportOutput[];
  let store: StorePlan | undefined;
  let run: RunOptions;
  let jobs: VariantJob[];
  if (options.store !== undefined) {
    outputs = reportOutputs(options); // before a server is started
    const replay =
      options.replay !== undefined ? storeReplay(options.replay, { budgetMs: options.budget ?? REPLAY_BUDGET_MS, ...trialTimeout(options) }) : undefined;
    run = replay?.run ?? runOptionsOf(options);
    store = await planStoreRun(replay?.ids ?? ids, options.store, run, replay?.variant ?? options.variant);
    jobs = store.jobs;
  } else {
    const plan = await planRun(ids, options);
    outputs = reportOutputs(options);
    run = plan.run;
    jobs = plan.entries.flatMap((entry) =>
      plan.variantsOf(entry).map((variant) => ({ id: entry.scenario.id, variant, execute: (o: RunOptions) => runVariant(entry, variant, o) })),
    );
  }
  try {
    return await runJobs(jobs, run, options, outputs, store);
  } finally {
    await store?.close();
  }
}

async function runJobs(
  jobs: readonly VariantJob[],
  run: RunOptions,
  options: StressOptions,
  outputs: ReportOutput[],
  store: StorePlan | undefined,
): Promise<number> {
  const startedAt = new Date();
  const bar = options.progress !== false && process.stderr.isTTY ? new ProgressBar() : undefined;
  const verdicts: Verdict[] = [];
  const mode = options.quick ? 'quick' : options.thorough ? 'thorough' : 'default';
  const budgets = jobs.map(({ variant }) => budgetOf(run, variant));
  const budgetText =
    run.budgetMs !== undefined
      ? `${formatBudget(run.budgetMs)} per variant`
      : `up to ${formatBudget(budgetOf(run, 'unsafe'))} per unsafe variant, ${formatBudget(budgetOf(run, 'safe'))} per other`;
  const scenarios = new Set(jobs.map((j) => j.id)).size;
  const where = store !== undefined ? `, actors are processes on ${store.url}` : '';
  console.error(`sabre stress: ${scenarios} scenarios, ${jobs.length} variants, ${mode} (${budgetText}), seed ${run.seed}${where}`);
  for (const reason of store?.skipped ?? []) console.error(`  ${reason}`);
  // Ctrl-C: stop at the next trial and report what ran; a second Ctrl-C leaves at once.
  const interrupt = new AbortController();
  const onSigint = (): void => {
    if (interrupt.signal.aborted) process.exit(EXIT.interrupted);
    console.error('\nsabre stress: interrupted; finishing the current trial and writing the report (Ctrl-C again to leave now)');
    interrupt.abort();
  };
  process.on('SIGINT', onSigint);
  const watchdog = startWatchdog({ deadlineMs: budgets.reduce((sum, b) => sum + b + VARIANT_SLACK_MS, 0), stallMs: mainStallMs() });
  try {
    for (const { id, variant, execute } of jobs) {
      if (interrupt.signal.aborted) break;
      bar?.start(id, variant);
      const verdict = await execute({
        ...run,
        signal: interrupt.signal,
        ...(bar ? { onProgress: (p: Progress) => bar.update(p) } : {}),
      });
      bar?.stop();
      verdicts.push(verdict);
      if (!bar) console.error(`  ${verdictLabel(verdict)} ${id} ${variant}: ${verdict.summary}`);
    }
  } finally {
    watchdog.stop();
    process.off('SIGINT', onSigint);
  }
  const interrupted = interrupt.signal.aborted;
  const report: RunReport = {
    tool: 'sabre stress',
    version,
    startedAt: startedAt.toISOString(),
    durationMs: Date.now() - startedAt.getTime(),
    seed: run.seed!,
    quick: options.quick === true,
    mode,
    ...(interrupted ? { interrupted } : {}),
    machine: machine(),
    passed: !interrupted && verdicts.every((v) => v.passed),
    verdicts,
  };
  // The human table goes where no report does: stdout stays parseable with --json - and the like.
  const human = outputs.some((o) => o.file === '-') ? process.stderr : process.stdout;
  human.write(`${verdictTable(verdicts, colorEnabled(human))}\n${verdictFooter(verdicts)}\n`);
  writeReports(report, outputs);
  if (interrupted) return EXIT.interrupted;
  if (verdicts.some((v) => v.error !== undefined)) return EXIT.harness;
  return report.passed ? EXIT.ok : EXIT.failed;
}

/** Past its budget, what a variant may take: starting its pool, one trial deadline, closing. The watchdog's margin. */
const VARIANT_SLACK_MS = 180_000;
/** How long the main thread may be silent before the watchdog ends the run (SABRE_STALL_MS overrides it). */
const MAIN_STALL_MS = 30_000;

function mainStallMs(): number {
  const text = process.env.SABRE_STALL_MS;
  const ms = text === undefined ? Number.NaN : Number(text);
  return Number.isFinite(ms) && ms > 0 ? ms : MAIN_STALL_MS;
}

function formatBudget(ms: number): string {
  return ms >= 1_000 ? `${ms / 1_000} s` : `${ms} ms`;
}

interface Plan {
  readonly entries: ScenarioEntry[];
  readonly variantsOf: (entry: ScenarioEntry) => readonly Variant[];
  readonly run: RunOptions;
}

/** What to run, checked before anything runs: every error here is the user's (exit 2). */
async function planRun(ids: string[], options: StressOptions): Promise<Plan> {
  let plan: Plan;
  try {
    plan = await planFrom(ids, options);
    const unknown =
      options.replay === undefined
        ? unknownParams(
            plan.entries.map((e) => e.scenario),
            plan.run.params ?? {},
          )
        : [];
    if (unknown.length > 0) {
      const known = [...new Set(plan.entries.flatMap((e) => Object.keys(e.scenario.params)))];
      throw new UsageError(
        `--param ${unknown.join(', ')}: no scenario of this run has such a parameter (they have: ${known.length > 0 ? known.join(', ') : 'none'})`,
      );
    }
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
    if (token.scenario.startsWith(STORE_SCENARIO_PREFIX)) {
      throw new UsageError('--replay: this token is from a --store run (actors are processes on Redis): add --store redis, or --store URL');
    }
    const module = token.module !== undefined ? await loadUserModule(token.module, "the replay token's module") : BUILT_IN_MODULE;
    const scenario = await loadScenario(module, token.scenario);
    const entry: ScenarioEntry = { scenario, module, ...(token.module === undefined ? { builtIn: true } : {}) };
    return {
      entries: [entry],
      variantsOf: () => [token.variant],
      run:
        token.trial !== undefined
          ? { seed: token.seed, params: token.params, replayTrial: token.trial, budgetMs: options.budget ?? REPLAY_BUDGET_MS, ...trialTimeout(options) }
          : { seed: token.seed, trials: token.trials, params: token.params, budgetMs: options.budget ?? 3_600_000, ...trialTimeout(options) },
    };
  }
  const entries = options.module !== undefined ? await userEntries(options.module, ids) : builtInEntries(ids);
  const only = options.variant;
  return {
    entries,
    // --variant picks one of a pair; a single implementation has no variants to pick from and runs as it is.
    variantsOf: (entry) => (only !== undefined && entry.scenario.variants !== undefined ? [only] : variantsOf(entry.scenario)),
    run: runOptionsOf(options),
  };
}

/** The run options the command line gives (seed, mode, parameters, budget, trials, trial deadline). */
function runOptionsOf(options: StressOptions): RunOptions {
  return {
    seed: options.seed ?? Math.floor(Math.random() * 2 ** 31),
    quick: options.quick === true,
    thorough: options.thorough === true,
    params: { ...options.param, ...(options.workers !== undefined ? { workers: options.workers } : {}) },
    ...(options.budget !== undefined ? { budgetMs: options.budget } : {}),
    ...(options.trials !== undefined ? { trials: options.trials } : {}),
    ...trialTimeout(options),
  };
}

/** How long `--replay` of one trial runs it again, by default, before giving up. */
const REPLAY_BUDGET_MS = 30_000;

function trialTimeout(options: StressOptions): { trialTimeoutMs?: number } {
  return options.trialTimeout !== undefined ? { trialTimeoutMs: options.trialTimeout } : {};
}

/** The scenarios `--module file` names (all that it exports when `ids` is empty). */
async function userEntries(file: string, ids: string[]): Promise<ScenarioEntry[]> {
  const module = await loadUserModule(file); // a module that does not load: its file and line
  const exported = await scenariosOf(module);
  const wanted = ids.map((id) => id.toLowerCase());
  const unknown = ids.filter((id) => !exported.some((s) => s.id.toLowerCase() === id.toLowerCase() || s.name === id));
  if (unknown.length > 0 || exported.length === 0) {
    throw new UsageError(
      `--module ${file} exports no scenario ${unknown.length > 0 ? unknown.map((id) => `'${id}'`).join(', ') : 'at all'} (it exports: ${exported.length > 0 ? exported.map((s) => s.id).join(', ') : 'no scenario: export what defineScenario returns'})`,
    );
  }
  return exported
    .filter((s) => wanted.length === 0 || wanted.includes(s.id.toLowerCase()) || wanted.includes(s.name))
    .map((scenario) => ({ scenario, module }));
}

function list(scenarios: ReadonlyArray<Pick<Scenario<Params, unknown>, 'id' | 'name' | 'title' | 'variants' | 'description' | 'params' | 'trials'>>): void {
  for (const s of scenarios) {
    const params = Object.entries(s.params)
      .map(([name, value]) => `${name}=${value}`)
      .join(' ');
    console.log(`${s.id.padEnd(8)} ${s.name.padEnd(20)} ${s.title}`);
    if (s.variants !== undefined) {
      console.log(`${''.padEnd(29)}unsafe: ${s.variants.unsafe}`);
      console.log(`${''.padEnd(29)}safe:   ${s.variants.safe}`);
    } else if (s.description !== undefined) console.log(`${''.padEnd(29)}${s.description}`);
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
