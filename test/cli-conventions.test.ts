/**
 * The conventions of the `sabre` command, each checked on the real built CLI in a child process:
 * exit codes (0 passed, 1 a verdict failed, 2 usage or configuration, 3 harness error), colour
 * (NO_COLOR, FORCE_COLOR, labels that never depend on colour), reports on standard output (`-`),
 * scenario modules that do not load (file and line), where `sabre bench` writes, and what an
 * installed copy (no bench/, no development dependencies) says.
 */
import { type SpawnSyncOptions, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = join(root, 'dist/src/cli/main.js');
const fixture = (name: string): string => join(root, 'test/fixtures', name);
/** Compiled test scenarios (test/fixtures/stress-scenarios.ts): broken-fix's safe variant is not safe. */
const TEST_SCENARIOS = join(root, 'dist/test/fixtures/stress-scenarios.js');
const ESC = '\u001b[';

/** The environment a child gets: this one without anything that decides colour. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of ['NO_COLOR', 'FORCE_COLOR', 'NODE_DISABLE_COLORS', 'CLICOLOR', 'CLICOLOR_FORCE']) delete env[name];
  return { ...env, ...extra };
}

function sabre(args: readonly string[], options: { env?: Record<string, string>; cwd?: string; file?: string } = {}) {
  const spawnOptions: SpawnSyncOptions = { encoding: 'utf8', timeout: 120_000, env: cleanEnv(options.env), cwd: options.cwd ?? root };
  const run = spawnSync(process.execPath, [options.file ?? bin, ...args], spawnOptions);
  return { status: run.status, stdout: String(run.stdout), stderr: String(run.stderr) };
}

const temporary: string[] = [];
afterAll(() => {
  for (const dir of temporary) rmSync(dir, { recursive: true, force: true });
});
function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  temporary.push(dir);
  return dir;
}

/** What a run printed, for the message of a failed assertion. */
const output = (run: { stdout: string; stderr: string }): string => `stdout:\n${run.stdout.slice(-3000)}\nstderr:\n${run.stderr.slice(-3000)}`;

/** A usage error: one line naming it, one pointing at the help, and not the help itself. */
function expectShortUsageError(run: { status: number | null; stdout: string; stderr: string }, message: RegExp, help: string): void {
  expect(run.status, output(run)).toBe(2);
  expect(run.stderr).toMatch(message);
  expect(run.stderr).toContain(`see ${help} --help`);
  expect(run.stderr).not.toMatch(/Usage:|Options:/);
  expect(run.stderr.trim().split('\n').length).toBeLessThanOrEqual(3); // the error, maybe "Did you mean", the pointer
  expect(run.stdout).toBe('');
}

// K's unsafe variant reproduces at once and prints FORBIDDEN outcomes: a quick, colourful run.
const K_UNSAFE = ['stress', 'K', '--quick', '--seed', '9', '--variant', 'unsafe', '--no-progress'];

describe('exit codes: 0 passed, 1 a verdict failed, 2 usage or configuration, 3 harness error', () => {
  it('sabre --help and sabre stress --help document the four codes', () => {
    for (const args of [['--help'], ['stress', '--help']]) {
      const run = sabre(args);
      expect(run.status, output(run)).toBe(0);
      expect(run.stdout).toMatch(/Exit codes:\n\s+0 .*\n\s+1 .*verdict failed[\s\S]*\n\s+2 .*usage or configuration[\s\S]*\n\s+3 .*harness error/);
      expect(run.stdout).toMatch(/NO_COLOR/);
    }
  });

  it('0 when every verdict holds', () => {
    const run = sabre(K_UNSAFE);
    expect(run.status, output(run)).toBe(0);
    expect(run.stdout).toMatch(/1 of 1 variants passed/);
  });

  it('1 when a verdict fails', () => {
    const run = sabre(['stress', 'broken-fix', '--module', TEST_SCENARIOS, '--quick', '--variant', 'safe', '--no-progress']);
    expect(run.status, output(run)).toBe(1);
    expect(run.stdout).toMatch(/│ FAIL/);
  });

  it("2 for commander's own errors, in one line and a pointer to the help: an unknown option, a missing argument, an unknown command", () => {
    expectShortUsageError(sabre(['stress', '--frobnicate']), /^sabre: unknown option '--frobnicate'/, 'sabre stress');
    expectShortUsageError(sabre(['stress', '--qick']), /unknown option '--qick'\n\(Did you mean --quick\?\)/, 'sabre stress');
    expectShortUsageError(sabre(['stress', '--budget']), /option '--budget <duration>' argument missing/, 'sabre stress');
    expectShortUsageError(sabre(['stress', '--budget', 'soon']), /'soon' is not a duration/, 'sabre stress');
    expectShortUsageError(sabre(['stress', '--variant', 'both']), /argument 'both' is invalid/, 'sabre stress');
    expectShortUsageError(sabre(['frobnicate']), /unknown command 'frobnicate'/, 'sabre');
    expectShortUsageError(sabre(['info', '--frobnicate']), /unknown option '--frobnicate'/, 'sabre info');
  });

  it("2 for sabre's own usage errors: an unknown scenario, a bad replay token, a bad parameter, a parameter no scenario has", () => {
    for (const [args, message] of [
      [['stress', 'Z'], /^sabre: unknown scenario 'z'/],
      [['stress', '--replay', 'not-a-token'], /^sabre: --replay: /],
      [['stress', 'A', '--param', 'increments=-1'], /^sabre: A: parameter increments must be a finite number >= 0/],
      [['stress', 'A', '--param', 'incremnts=5'], /^sabre: --param incremnts: no scenario of this run has such a parameter \(they have: increments, workers\)/],
      [['stress', '--module', TEST_SCENARIOS, '--param', 'vists=5'], /^sabre: --param vists: no scenario of this run has such a parameter/],
      [['stress', '--quick', '--thorough'], /^sabre: --quick and --thorough exclude each other/],
      [['stress', 'nope', '--module', TEST_SCENARIOS], /exports no scenario 'nope' \(it exports: .*word/],
    ] as const) {
      const run = sabre(args);
      expect(run.status, args.join(' ')).toBe(2);
      expect(run.stderr.trim().split('\n')).toHaveLength(1);
      expect(run.stderr).toMatch(message);
    }
  });

  it("3 when a worker crashes, or a scenario module throws when the harness's workers load it", () => {
    const crash = sabre(['stress', 'worker-crash', '--module', fixture('cli-worker-crash.mjs'), '--quick', '--variant', 'safe', '--no-progress']);
    expect(crash.status, output(crash)).toBe(3);
    expect(crash.stdout).toMatch(/│ ERROR\s+│/);
    expect(crash.stdout).toMatch(/worker exited with code: 7/);
    expect(crash.stdout).toMatch(/could not be run to a verdict \(harness error\)/);
    const load = sabre(['stress', 'loads-on-main-only', '--module', fixture('cli-worker-load-error.mjs'), '--quick', '--no-progress']);
    expect(load.status, output(load)).toBe(3);
    expect(load.stdout).toMatch(/refuses to load in a worker/);
  });
});

describe('colour: NO_COLOR, FORCE_COLOR, and labels that never depend on it', () => {
  it('piped, there is no colour, and every outcome keeps its grade label', () => {
    const run = sabre(K_UNSAFE);
    expect(run.stdout).not.toContain(ESC);
    expect(run.stdout).toMatch(/× noise: .*\[FORBIDDEN\]/);
  });

  it('FORCE_COLOR=1 colours even into a pipe, with the labels still there; NO_COLOR wins over it; FORCE_COLOR=0 is off', () => {
    const forced = sabre(K_UNSAFE, { env: { FORCE_COLOR: '1' } });
    expect(forced.status, output(forced)).toBe(0);
    expect(forced.stdout).toContain(`${ESC}31m`); // red: a forbidden outcome
    expect(forced.stdout).toMatch(/× noise: .*\[FORBIDDEN\]/);
    expect(forced.stdout).toMatch(/PASS/);
    expect(sabre(K_UNSAFE, { env: { FORCE_COLOR: '1', NO_COLOR: '1' } }).stdout).not.toContain(ESC);
    expect(sabre(K_UNSAFE, { env: { FORCE_COLOR: '0' } }).stdout).not.toContain(ESC);
  });

  // On a terminal (a pseudo-terminal from util-linux's `script`), NO_COLOR=1 used to drop the
  // [FORBIDDEN] labels along with the colour.
  const script = process.platform === 'linux' && spawnSync('script', ['--version']).status === 0;
  it.skipIf(!script)('on a terminal: colour by default, none under NO_COLOR=1, and the grade labels either way', () => {
    const onTerminal = (env: Record<string, string>) => {
      const command = [process.execPath, bin, ...K_UNSAFE].map((arg) => `'${arg}'`).join(' ');
      const run = spawnSync('script', ['-qec', command, '/dev/null'], {
        encoding: 'utf8',
        timeout: 120_000,
        env: cleanEnv({ TERM: 'xterm-256color', ...env }),
        cwd: root,
      });
      expect(run.status, output(run)).toBe(0);
      return run.stdout;
    };
    const coloured = onTerminal({});
    expect(coloured).toContain(ESC);
    expect(coloured).toMatch(/\[FORBIDDEN\]/);
    const plain = onTerminal({ NO_COLOR: '1' });
    expect(plain).not.toContain(ESC);
    expect(plain).toMatch(/\[FORBIDDEN\]/); // the forbidden outcome that reproduced the race keeps its label
  });
});

describe('reports on standard output: --json -, --md -, --junit -, --html -', () => {
  it('--json - writes the JSON report alone on stdout (no file named -), and the table goes to stderr', async () => {
    const cwd = tempDir('sabre-stdout-');
    const run = sabre([...K_UNSAFE, '--json', '-'], { cwd });
    expect(run.status, output(run)).toBe(0);
    const { RunReportSchema } = await import('../src/stress/report/run-report.js');
    const report = RunReportSchema.parse(JSON.parse(run.stdout));
    expect(report.verdicts.map((v) => `${v.scenario}/${v.variant}/${v.passed}`)).toEqual(['K/unsafe/true']);
    expect(run.stderr).toMatch(/K noise\s+│ unsafe\s+│ PASS/);
    expect(run.stderr).toMatch(/1 of 1 variants passed/);
    expect(existsSync(join(cwd, '-'))).toBe(false);
  });

  it('--md -, --junit - and --html - do the same; a file report still goes to its file meanwhile', () => {
    const cwd = tempDir('sabre-stdout-');
    const md = sabre([...K_UNSAFE, '--md', '-', '--json', join(cwd, 'r.json')], { cwd });
    expect(md.status, output(md)).toBe(0);
    expect(md.stdout).toMatch(/^## sabre stress: /);
    expect(md.stdout).not.toMatch(/┌|wrote/);
    expect(md.stderr).toMatch(/wrote .*r\.json/);
    expect(existsSync(join(cwd, 'r.json'))).toBe(true);
    const junit = sabre([...K_UNSAFE, '--junit', '-'], { cwd });
    expect(junit.status, output(junit)).toBe(0);
    expect(junit.stdout).toMatch(/^<\?xml[\s\S]*<testsuites[\s\S]*<\/testsuites>\s*$/);
    const html = sabre([...K_UNSAFE, '--html', '-'], { cwd });
    expect(html.status, output(html)).toBe(0);
    expect(html.stdout).toMatch(/^<!doctype html>[\s\S]*<\/html>\s*$/);
    expect(readdirSync(cwd)).toEqual(['r.json']);
  });

  it('two reports on standard output are a usage error, before anything runs', () => {
    const run = sabre(['stress', 'K', '--json', '-', '--md', '-']);
    expect(run.status, output(run)).toBe(2);
    expect(run.stderr).toMatch(/^sabre: only one report can go to standard output, not --json - and --md -\n$/);
  });
});

describe('a --module that does not load: its file and line, exit 2', () => {
  const load = (file: string) => sabre(['stress', 'anything', '--module', fixture(file)]);

  it("a syntax error: the file, the line and the source line (Node's own message has none)", () => {
    const run = load('cli-syntax-error.mjs');
    expect(run.status, output(run)).toBe(2);
    expect(run.stderr).toMatch(
      /^sabre: --module test\/fixtures\/cli-syntax-error\.mjs does not load: SyntaxError: Unexpected token ';'\n {2}at test\/fixtures\/cli-syntax-error\.mjs:4\n {4}const broken = ;\n {4}\s*\^/,
    );
  });

  it("a syntax error in a module it imports: that module's file and line", () => {
    const run = load('cli-nested-syntax-error.mjs');
    expect(run.status, output(run)).toBe(2);
    expect(run.stderr).toMatch(
      /cli-nested-syntax-error\.mjs does not load: SyntaxError: Unexpected token ';'\n {2}at test\/fixtures\/cli-syntax-error\.mjs:4\n/,
    );
  });

  it('a throw at top level: the file, line and column of the throw', () => {
    const run = load('cli-throw-at-load.mjs');
    expect(run.status, output(run)).toBe(2);
    expect(run.stderr).toMatch(/does not load: Error: this module refuses to load\n {2}at test\/fixtures\/cli-throw-at-load\.mjs:4:7\n {4}throw new Error/);
  });

  it('an import that does not resolve: the line that imports it', () => {
    const run = load('cli-missing-import.mjs');
    expect(run.status, output(run)).toBe(2);
    expect(run.stderr).toMatch(
      /does not load: Error \[ERR_MODULE_NOT_FOUND\]: Cannot find package 'sabre-no-such-package'[^\n]*\n {2}at test\/fixtures\/cli-missing-import\.mjs:2\n {4}import \{ nothing \} from 'sabre-no-such-package';/,
    );
  });

  it('a file that does not exist', () => {
    const run = load('cli-no-such-module.mjs');
    expect(run.status, output(run)).toBe(2);
    expect(run.stderr).toBe('sabre: --module test/fixtures/cli-no-such-module.mjs: no such file\n');
  });
});

describe('sabre bench: where results go', () => {
  // single-flight --quick is the shortest suite (a second or two).
  it('--out DIR: every result in DIR', () => {
    const out = join(tempDir('sabre-bench-out-'), 'results');
    const run = sabre(['bench', 'single-flight', '--quick', '--out', out]);
    expect(run.status, run.stderr).toBe(0);
    expect(readdirSync(out).sort()).toEqual([
      'report-quick.html',
      'single-flight-quick.json',
      'single-flight-quick.md',
      'summary-quick.json',
      'summary-quick.md',
    ]);
  });

  it('by default: a new ./sabre-bench-YYYYMMDD-HHMMSS folder, and the committed bench/results/ untouched', () => {
    const results = join(root, 'bench/results');
    const before = Object.fromEntries(readdirSync(results).map((name) => [name, statSync(join(results, name)).mtimeMs]));
    const cwd = tempDir('sabre-bench-default-');
    const run = sabre(['bench', 'single-flight', '--quick'], { cwd });
    expect(run.status, run.stderr).toBe(0);
    const folders = readdirSync(cwd);
    expect(folders, `in the working directory: ${folders.join(', ')}; stderr: ${run.stderr}`).toHaveLength(1);
    expect(folders[0]).toMatch(/^sabre-bench-\d{8}-\d{6}$/);
    expect(readdirSync(join(cwd, folders[0]!))).toContain('summary-quick.json');
    expect(run.stderr).toContain(`results in ${folders[0]}`);
    expect(Object.fromEntries(readdirSync(results).map((name) => [name, statSync(join(results, name)).mtimeMs]))).toEqual(before);
  });

  it('bad input is a usage error before any suite runs: an unknown suite, a --compare file that does not exist', () => {
    const cwd = tempDir('sabre-bench-bad-');
    const suite = sabre(['bench', 'nosuch'], { cwd });
    expect(suite.status, output(suite)).toBe(2);
    expect(suite.stderr).toMatch(/^sabre: unknown suite 'nosuch' \(suites: locks, /);
    const compare = sabre(['bench', '--compare', 'nowhere.json'], { cwd });
    expect(compare.status, output(compare)).toBe(2);
    expect(compare.stderr).toBe('sabre: --compare nowhere.json: no such file\n');
    expect(readdirSync(cwd)).toEqual([]); // no results folder for a run that never started
  });
});

/**
 * An installed copy of sabre, as npm lays it out: node_modules/sabre with package.json and
 * dist/src + dist/workers (package.json "files"), next to its dependencies and (unless
 * `peers: false`) its peer dependencies, the packages the CLI needs; never the development ones.
 */
function installedCopy(options: { withBench?: boolean; peers?: boolean } = {}): { dir: string; bin: string } {
  const dir = tempDir('sabre-installed-');
  const pkgDir = join(dir, 'node_modules/sabre');
  mkdirSync(join(pkgDir, 'dist'), { recursive: true });
  cpSync(join(root, 'package.json'), join(pkgDir, 'package.json'));
  for (const part of ['src', 'workers', ...(options.withBench ? ['bench'] : [])])
    cpSync(join(root, 'dist', part), join(pkgDir, 'dist', part), { recursive: true });
  for (const name of [...Object.keys(pkg.dependencies ?? {}), ...(options.peers === false ? [] : Object.keys(pkg.peerDependencies ?? {}))]) {
    // A scoped package (@redis/client) lives one folder down.
    mkdirSync(dirname(join(dir, 'node_modules', name)), { recursive: true });
    symlinkSync(join(root, 'node_modules', name), join(dir, 'node_modules', name), 'dir');
  }
  return { dir, bin: join(pkgDir, 'dist/src/cli/main.js') };
}
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as Record<string, Record<string, string> | undefined>;
/** The packages only the CLI needs, when package.json makes them optional peers of the library (amaro is for TypeScript modules: typescript-modules.test.ts). */
// The command's own peers: amaro (TypeScript modules) and @redis/client (sabre/redis) name themselves where they are needed.
const cliPeers = Object.keys(pkg.peerDependencies ?? {}).filter((name) => name !== 'amaro' && name !== '@redis/client');

describe('an installed copy (no bench/, no development dependencies)', () => {
  it('hides bench from --help, and `sabre bench` says at once, in one line, what it needs (exit 2)', () => {
    const { dir, bin: installed } = installedCopy();
    const help = sabre(['--help'], { cwd: dir, file: installed });
    expect(help.status, help.stderr).toBe(0);
    expect(help.stdout).toMatch(/^ {2}stress /m);
    expect(help.stdout).not.toMatch(/^ {2}bench /m);
    const bench = sabre(['bench', '--quick'], { cwd: dir, file: installed });
    expect(bench.status, output(bench)).toBe(2);
    expect(bench.stderr).toMatch(
      /^sabre: bench runs only from a clone of the sabre repository after npm install .*missing here: the bench\/ folder of a sabre checkout, tinybench, lru-cache, sharedmap, bentocache\n$/,
    );
    expect(readdirSync(dir)).toEqual(['node_modules']);
  });

  it('with bench/ but without the development dependencies, names those', () => {
    const { dir, bin: installed } = installedCopy({ withBench: true });
    const bench = sabre(['bench'], { cwd: dir, file: installed });
    expect(bench.status, output(bench)).toBe(2);
    expect(bench.stderr).toMatch(/missing here: tinybench, lru-cache, sharedmap, bentocache\n$/);
  });

  it.skipIf(cliPeers.length === 0)("without the CLI's optional peer dependencies, every command names them in one line (exit 2)", () => {
    const { dir, bin: installed } = installedCopy({ peers: false });
    for (const args of [['--help'], ['stress', '--quick']]) {
      const run = sabre(args, { cwd: dir, file: installed });
      expect(run.status, output(run)).toBe(2);
      expect(run.stderr).toBe(`sabre: the sabre command needs ${cliPeers.join(', ')}, not installed here: npm install ${cliPeers.join(' ')}\n`);
    }
  });

  it('a built-in scenario module that throws at load is a harness error (exit 3), not a usage error', () => {
    const { dir, bin: installed } = installedCopy();
    const index = join(dir, 'node_modules/sabre/dist/src/stress/scenarios/index.js');
    writeFileSync(index, `${readFileSync(index, 'utf8')}\nthrow new Error('a broken built-in scenario');\n`);
    const run = sabre(['stress', '--list'], { cwd: dir, file: installed });
    expect(run.status, output(run)).toBe(3);
    expect(run.stderr).toMatch(
      /^sabre: internal error \(a bug in sabre, please report it\): Error: a broken built-in scenario\n\s+at .*scenarios\/index\.js:\d+/,
    );
    expect(run.stdout).toBe('');
  });
});

describe('sabre info', () => {
  it('is listed in --help, and its own help says what it prints', () => {
    expect(sabre(['--help']).stdout).toMatch(/^ {2}info \[options\] +print the facts of this machine/m);
    const help = sabre(['info', '--help']);
    expect(help.status, output(help)).toBe(0);
    for (const fact of ['sabre', 'node', 'platform', 'cores', 'cpu', 'atomicsWaitAsync', 'growableSharedBuffer'])
      expect(help.stdout).toMatch(new RegExp(`^ {2}${fact} +\\S`, 'm'));
  });
});
