/**
 * User modules in TypeScript, and user modules outside any project that installed sabre: a pool's
 * task module, a stress scenario module (verifyScenario and the CLI), TypeScript-only syntax that
 * stripping refuses, and a Node with no way to strip types. Runs on whatever Node runs the tests:
 * on Node 20 sabre strips types with amaro; on 22.18+ Node does.
 */
import { type SpawnSyncReturns, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

// Workers load the compiled package, so the tests use it too (one copy of every class); types come from src/.
const compiled = (path: string): Promise<unknown> => import(new URL(path, import.meta.url).href);
const { TypeScriptUnavailableError } = (await compiled('../dist/src/index.js')) as typeof import('../src/index.js');
const { createPool } = (await compiled('../dist/src/pool/index.js')) as typeof import('../src/pool/index.js');
const { verifyScenario } = (await compiled('../dist/src/stress/index.js')) as typeof import('../src/stress/index.js');
const support = (await compiled('../dist/src/loader/typescript-support.js')) as typeof import('../src/loader/typescript-support.js');

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(ROOT, 'dist/src/cli/main.js');
const FIXTURES = new URL('./fixtures/ts/', import.meta.url);

/** `sabre …` in a child Node (the CLI as a user runs it), from `cwd`; it cannot outlive the test. */
function sabre(args: readonly string[], cwd = ROOT, bin = BIN): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [bin, ...args], { cwd, encoding: 'utf8', timeout: 90_000, env: { ...process.env, NO_COLOR: '1' } });
}

const scratch: string[] = [];
/** A fresh folder under the OS's temporary directory: outside this project and any that installed sabre. */
function scratchDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  scratch.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of scratch.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** The scenario fixture and its helper, copied into `dir`: a user's TypeScript scenario outside any project. */
function copyScenarioTo(dir: string): void {
  for (const file of ['scenarios.ts', 'helpers.ts']) cpSync(new URL(file, FIXTURES), join(dir, file));
}

describe('a TypeScript task module in a pool', () => {
  it('runs through createPool({ filename: "….ts" }), importing sabre/worker and ./helpers.js (which is helpers.ts)', async () => {
    const pool = createPool({ filename: new URL('task.ts', FIXTURES), threads: 2, signals: false, workerData: 'from the pool' });
    try {
      const answers = await Promise.all([3, 7].map((n) => pool.run<{ square: number; workerData: unknown }>({ n })));
      expect(answers).toEqual([
        { square: 9, workerData: 'from the pool' },
        { square: 49, workerData: 'from the pool' },
      ]);
    } finally {
      await pool.close({ deadlineMs: 5_000 });
    }
  });

  it('runs from a scratch folder outside any project, importing sabre/worker by name', async () => {
    const dir = scratchDir('sabre-ts-task-');
    writeFileSync(join(dir, 'task.ts'), "import { hasCache } from 'sabre/worker';\nexport default (n: number): string => String(n * 2) + ' ' + hasCache;\n");
    const pool = createPool({ filename: join(dir, 'task.ts'), threads: 1, signals: false });
    try {
      await expect(pool.run(21)).resolves.toBe('42 false');
    } finally {
      await pool.close({ deadlineMs: 5_000 });
    }
  });
});

describe('a TypeScript stress scenario module', () => {
  it('passes verifyScenario on the .ts file itself', async () => {
    const verdicts = await verifyScenario(new URL('scenarios.ts', FIXTURES), 'ts-word', { quick: true, budgetMs: 2_000 });
    expect(verdicts.map((v) => [v.variant, v.passed])).toEqual([
      ['unsafe', true],
      ['safe', true],
    ]);
  });

  it('a single-implementation scenario in the declarative form, in TypeScript: verifyScenario, and the CLI with no ids', async () => {
    const verdicts = await verifyScenario(new URL('queue.stress.ts', FIXTURES), 'ts-queue', { quick: true, budgetMs: 2_000 });
    expect(verdicts.map((v) => `${v.variant} ${v.passed}`)).toEqual(['single true']);
    expect(verdicts[0]!.summary).toMatch(/^no forbidden outcome in \d+ trials \(rate < .* at 95 %\)$/);
    const run = sabre(['stress', '--module', 'test/fixtures/ts/queue.stress.ts', '--quick']);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/PASS ts-queue single: no forbidden outcome in \d+ trials/);
  });

  it('passes through the CLI: sabre stress --module test/fixtures/ts/scenarios.ts ts-word --quick', () => {
    const run = sabre(['stress', '--module', 'test/fixtures/ts/scenarios.ts', 'ts-word', '--quick']);
    expect(run.stderr).not.toMatch(/does not load/);
    expect(run.stdout).toContain('2 of 2 variants passed');
    expect(run.status).toBe(0);
  });

  it('passes through the CLI from a scratch folder outside any project (TypeScript, and plain .mjs)', () => {
    const dir = scratchDir('sabre-ts-outside-');
    copyScenarioTo(dir);
    const ts = sabre(['stress', '--module', 'scenarios.ts', 'ts-word', '--quick'], dir);
    expect(ts.stderr).not.toMatch(/does not load/);
    expect(ts.status).toBe(0);

    writeFileSync(join(dir, 'race.mjs'), "export { defineScenario } from 'sabre/stress';\n");
    const js = sabre(['stress', '--module', 'race.mjs', 'nothing'], dir);
    expect(js.stderr).toContain("--module race.mjs exports no scenario 'nothing'"); // it loaded: sabre/stress resolved
    expect(js.status).toBe(2);
  });

  it('says which entry points exist when a module outside any project imports one sabre does not have', () => {
    const dir = scratchDir('sabre-ts-entry-');
    writeFileSync(join(dir, 'bad.mjs'), "export * from 'sabre/nope';\n");
    const run = sabre(['stress', '--module', 'bad.mjs', 'x'], dir);
    expect(run.stderr).toContain("'sabre/nope' is not an entry point of sabre: import one of 'sabre', 'sabre/pool', 'sabre/worker', 'sabre/stress'");
    expect(run.stderr).toContain('at bad.mjs:1'); // the importing line, as for any missing package
    expect(run.status).toBe(2);
  });
});

describe('TypeScript that stripping cannot run', () => {
  it('refuses an enum (it needs code generated) with the file and line, and says so, as Node 22.18+ does', () => {
    const run = sabre(['stress', '--module', 'test/fixtures/ts/enum.ts', 'enum-word', '--quick']);
    expect(run.stderr).toContain('ERR_UNSUPPORTED_TYPESCRIPT_SYNTAX');
    expect(run.stderr).toContain('TypeScript enum is not supported in strip-only mode');
    expect(run.stderr).toContain('at test/fixtures/ts/enum.ts:4');
    expect(run.status).toBe(2);
  });

  it('reports a TypeScript syntax error with the file and line', () => {
    const dir = scratchDir('sabre-ts-syntax-');
    writeFileSync(join(dir, 'broken.ts'), 'export const ok = 1;\nexport const broken: = 2;\n');
    const run = sabre(['stress', '--module', 'broken.ts', 'x'], dir);
    expect(run.stderr).toContain('ERR_INVALID_TYPESCRIPT_SYNTAX');
    expect(run.stderr).toMatch(/at broken\.ts:2\b/);
    expect(run.status).toBe(2);
  });
});

describe('TypeScript that stripping runs as written', () => {
  it('a type imported without `import type` is an import of a value, as on Node 22.18+: the error names it and the line', () => {
    const dir = scratchDir('sabre-ts-type-import-');
    writeFileSync(join(dir, 'types.ts'), 'export interface Job {\n  n: number;\n}\n'); // a module with types only: still ESM
    writeFileSync(join(dir, 'uses.ts'), "import { Job } from './types.ts';\nexport const job: Job = { n: 1 };\n");
    const run = sabre(['stress', '--module', 'uses.ts', 'x'], dir);
    expect(run.stderr).toContain("does not provide an export named 'Job'");
    expect(run.stderr).toContain('at uses.ts:1');
    expect(run.status).toBe(2);
  });

  it('.mts, .cts and a .ts with CommonJS syntax load with the format Node gives their JavaScript twins', async () => {
    const dir = scratchDir('sabre-ts-formats-');
    writeFileSync(join(dir, 'counter.cts'), 'const start: number = 40;\nmodule.exports = { start };\n');
    writeFileSync(join(dir, 'plain.ts'), 'const two: number = 2;\nmodule.exports = { two };\n');
    writeFileSync(
      join(dir, 'sum.mts'),
      "import counter from './counter.cjs';\nimport plain from './plain.js';\nexport const sum: number = counter.start + plain.two;\n",
    );
    writeFileSync(
      join(dir, 'run.mjs'),
      `const { importModule } = await import(${JSON.stringify(new URL('../dist/src/loader/import-module.js', import.meta.url).href)});\nconsole.log((await importModule('sum.mts')).sum);\n`,
    );
    const run = spawnSync(process.execPath, ['run.mjs'], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
    expect(run.stderr).toBe('');
    expect(run.stdout).toBe('42\n');
  });
});

describe('a Node that cannot strip types, without amaro', () => {
  it('TypeScriptUnavailableError says how to fix it', () => {
    const error = new TypeScriptUnavailableError(support.missingTranspilerMessage('/work/race.ts'), '/work/race.ts');
    expect(error.code).toBe('ERR_SABRE_TYPESCRIPT_UNAVAILABLE');
    expect(error.file).toBe('/work/race.ts');
    expect(error.message).toContain('cannot import /work/race.ts');
    expect(error.message).toContain('`npm install -D amaro`');
    expect(error.message).toContain('Node 22.18 or later');
  });

  // A copy of the built package whose node_modules has everything but amaro: a real install for
  // embedding, which left the optional peer out. Where Node strips types itself it needs no amaro.
  it.skipIf(support.nativeTypeScript())('the CLI refuses a .ts module with that message (exit 2), and still runs a .mjs one', () => {
    const install = scratchDir('sabre-ts-no-amaro-');
    cpSync(join(ROOT, 'package.json'), join(install, 'package.json'));
    cpSync(join(ROOT, 'dist/src'), join(install, 'dist/src'), { recursive: true });
    cpSync(join(ROOT, 'dist/workers'), join(install, 'dist/workers'), { recursive: true });
    mkdirSync(join(install, 'node_modules'));
    for (const name of readdirSync(join(ROOT, 'node_modules'))) {
      if (name !== 'amaro' && !name.startsWith('.')) symlinkSync(join(ROOT, 'node_modules', name), join(install, 'node_modules', name));
    }
    const bin = join(install, 'dist/src/cli/main.js');
    const user = scratchDir('sabre-ts-user-');
    copyScenarioTo(user);

    const ts = sabre(['stress', '--module', 'scenarios.ts', 'ts-word', '--quick'], user, bin);
    expect(ts.stderr).toContain('TypeScriptUnavailableError [ERR_SABRE_TYPESCRIPT_UNAVAILABLE]');
    expect(ts.stderr).toContain('`npm install -D amaro`');
    expect(ts.status).toBe(2);

    writeFileSync(join(user, 'race.mjs'), "export { defineScenario } from 'sabre/stress';\n");
    const js = sabre(['stress', '--module', 'race.mjs', 'nothing'], user, bin);
    expect(js.stderr).toContain("exports no scenario 'nothing'");
    expect(js.status).toBe(2);
  });
});
