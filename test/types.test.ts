/**
 * The package's types, as a TypeScript user's project sees them: every example of the README,
 * ported to strict TypeScript, type-checks against the published declarations (dist/src/*.d.ts,
 * reached through package.json "exports", exactly as `import … from 'sabre'` resolves in a user's
 * project); and test/fixtures/types/*.mts pin the typed API (cache value types, increment's
 * overloads, the worker's cache, typed pool events), including what it must refuse.
 *
 * The declarations come from dist/, so build first (`npm test` does).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const readme = readFileSync(join(root, 'README.md'), 'utf8');
// Inside the package, so that `sabre`, `sabre/pool`, `sabre/worker` and `sabre/stress` resolve to
// this package by its own name, through its "exports" (as in test/readme.test.ts). A dot
// directory of .mts files: the package's own build (tsconfig.json: test/**/*.ts) never sees it.
const work = join(root, 'test', 'fixtures', '.types-readme');
const typeFixtures = join(root, 'test', 'fixtures', 'types');
const typeFixtureFiles = readdirSync(typeFixtures).filter((name) => name.endsWith('.mts'));
/** The fixtures as tsc names them (it runs in `work`, and names files relative to it). */
const typeFixturePaths = typeFixtureFiles.map((name) => relative(work, join(typeFixtures, name)));

/**
 * What a TypeScript user adds when porting each example: type annotations, nothing else. Each
 * `from` must occur exactly once in its example, and `to` must be `from` with text inserted
 * (never removed or changed) that is no cast (`as`), no `any` and no `@ts-` directive: a port may
 * say what a parameter is, never overrule the package's types.
 */
const ANNOTATIONS: Readonly<Record<string, ReadonlyArray<readonly [from: string, to: string]>>> = {
  // A parameter's type: strict mode refuses an implicit any.
  'task.mjs': [['task({ key })', 'task({ key }: { key: string })']],
  // node:worker_threads types parentPort as `MessagePort | null` (null on the main thread).
  'recover-example.mjs': [['parentPort.postMessage(', 'parentPort!.postMessage(']],
};

/**
 * Examples whose port does not type-check yet, with the exact error codes they produce (sorted).
 * The test holds them to exactly these, so it fails (and asks for the entry to go) the day they
 * are fixed, and when they fail in any other way. None today.
 */
const KNOWN_FAILURES: Readonly<Record<string, readonly string[]>> = {};

interface Example {
  /** The name in its header comment, e.g. task.mjs. */
  readonly name: string;
  /** The file it is written to, e.g. task.mts (an import of './task.mjs' resolves to it). */
  readonly file: string;
  /** README line of the block's first code line. */
  readonly line: number;
  readonly code: string;
}

/** Every js/ts code block of the README. Each must be headed `// <name>.mjs` (or .js, .mts, .ts). */
function readmeExamples(): Example[] {
  const found: Example[] = [];
  for (const match of readme.matchAll(/^```(js|javascript|mjs|ts|typescript)\n([\s\S]*?)^```/gm)) {
    const code = match[2]!;
    const line = readme.slice(0, match.index).split('\n').length + 1;
    const name = /^\/\/ ([\w.-]+\.(?:mjs|js|mts|ts))\b/.exec(code)?.[1];
    if (name === undefined) throw new Error(`README line ${line - 1}: a ${match[1]} block without a "// <name>.mjs" header; name every example`);
    const file = name.replace(/\.mjs$/, '.mts').replace(/\.js$/, '.ts');
    found.push({ name, file, line, code });
  }
  return found;
}

/** The example as strict TypeScript: its code with ANNOTATIONS inserted (checked to be annotations only). */
function port(example: Example): string {
  let code = example.code;
  for (const [from, to] of ANNOTATIONS[example.name] ?? []) {
    expect(code.split(from).length - 1, `${example.name}: "${from}" should occur exactly once`).toBe(1);
    expect(isInsertionInto(from, to), `${example.name}: "${to}" must only insert text into "${from}"`).toBe(true);
    for (const forbidden of [/\bas\b/g, /\bany\b/g, /@ts-/g]) {
      expect(to.match(forbidden)?.length ?? 0, `${example.name}: "${to}" inserts ${forbidden.source}`).toBe(from.match(forbidden)?.length ?? 0);
    }
    code = code.replace(from, to);
  }
  return code;
}

/** Whether `to` is `from` with characters inserted (`from` is a subsequence of `to`). */
function isInsertionInto(from: string, to: string): boolean {
  let i = 0;
  for (const c of to) if (c === from[i]) i++;
  return i === from.length;
}

/** The src/ modules newer than their declaration in dist/ (the check then reads stale types). */
function staleDeclarations(): string[] {
  const stale: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) {
        const declaration = join(root, 'dist', relative(root, path)).replace(/\.ts$/, '.d.ts');
        if (!existsSync(declaration) || statSync(declaration).mtimeMs < statSync(path).mtimeMs) stale.push(relative(root, path));
      }
    }
  };
  walk(join(root, 'src'));
  return stale;
}

interface Diagnostic {
  readonly file: string;
  readonly line: number;
  readonly code: string;
  readonly text: string;
}

let examples: Example[] = [];
let diagnostics: Diagnostic[] = [];
let tscOutput = '';
/** Said with every failure: a stale dist/ (src/ edited since the last build) may be its cause. */
let staleHint = '';

beforeAll(() => {
  const stale = staleDeclarations();
  if (stale.length > 0) staleHint = `\n(dist/ is older than ${stale.join(', ')}: rebuild with \`npx tsc -p tsconfig.json\`, as npm test does, if that is why)`;
  examples = readmeExamples();
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  for (const example of examples) writeFileSync(join(work, example.file), port(example));
  writeFileSync(
    join(work, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        strict: true,
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        target: 'ES2022',
        lib: ['ES2022'],
        types: ['node'],
        noEmit: true,
        // Checks sabre's own declaration files too (a user without skipLibCheck reads them).
        skipLibCheck: false,
      },
      files: [...examples.map((e) => e.file), ...typeFixturePaths],
    }),
  );
  const tsc = spawnSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json', '--pretty', 'false'], {
    cwd: work,
    encoding: 'utf8',
    timeout: 120_000,
  });
  if (tsc.error) throw tsc.error;
  tscOutput = tsc.stdout + tsc.stderr;
  diagnostics = [...tscOutput.matchAll(/^(.+?)\((\d+),\d+\): error (TS\d+): (.*)$/gm)].map((m) => ({
    file: m[1]!,
    line: Number(m[2]),
    code: m[3]!,
    text: m[4]!,
  }));
  // Every error line must have been understood, and tsc must have failed exactly when it reported
  // one: otherwise the assertions below would pass on nothing.
  expect(tscOutput.split('\n').filter((l) => /error TS\d+/.test(l)).length, tscOutput).toBe(diagnostics.length);
  expect(tsc.status === 0, tscOutput).toBe(diagnostics.length === 0);
}, 120_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

/** An example's diagnostics as `README line N: TSxxxx message`. */
function diagnosticsOf(example: Example): string[] {
  return diagnostics.filter((d) => d.file === example.file).map((d) => `README line ${example.line + d.line - 1}: ${d.code} ${d.text}`);
}

describe('the README examples, ported to strict TypeScript (module NodeNext), type-check', () => {
  it('finds the examples: every js block is named, and the names are unique', () => {
    const names = examples.map((e) => e.name);
    expect(names).toEqual(
      expect.arrayContaining([
        'example.mjs',
        'cache-example.mjs',
        'recover-example.mjs',
        'task.mjs',
        'main.mjs',
        'my-scenarios.mjs',
        'check.mjs',
        'transfers.stress.mjs',
        'check-transfers.mjs',
      ]),
    );
    expect(new Set(names).size).toBe(names.length);
    for (const name of [...Object.keys(ANNOTATIONS), ...Object.keys(KNOWN_FAILURES)]) expect(names, `${name} is no longer in the README`).toContain(name);
  });

  it.each(readmeExamples().map((e) => [e.name, e] as const))('%s', (name, example) => {
    const found = diagnosticsOf(example);
    const known = KNOWN_FAILURES[name];
    if (known === undefined) expect(found, `${name} (README line ${example.line})${staleHint}`).toEqual([]);
    else {
      const codes = found.map((d) => /TS\d+/.exec(d)![0]).sort();
      expect(codes, `${name} is listed in KNOWN_FAILURES; it now fails with:\n${found.join('\n')}${staleHint}`).toEqual(known);
    }
  });

  it("with no error anywhere else (sabre's own declaration files included)", () => {
    const elsewhere = diagnostics.filter((d) => !examples.some((e) => e.file === d.file) && !typeFixturePaths.includes(d.file));
    expect(elsewhere, tscOutput + staleHint).toEqual([]);
  });
});

describe('the typed API (test/fixtures/types)', () => {
  it('type-checks, and every @ts-expect-error in it is an error', () => {
    expect(typeFixtureFiles.length).toBeGreaterThan(0);
    const found = diagnostics.filter((d) => typeFixturePaths.includes(d.file)).map((d) => `${d.file}:${d.line}: ${d.code} ${d.text}`);
    expect(found, tscOutput + staleHint).toEqual([]);
  });
});

describe("sabre/worker's cache, typed as present", () => {
  // The pool starts compiled workers, so the test loads the compiled package too (one copy of
  // every class, so instanceof holds), by a computed URL so the compiler reads src/, not dist/.
  const compiled = (path: string): Promise<unknown> => import(new URL(path, import.meta.url).href);
  const TASK = new URL('./fixtures/types/cache-access-task.mjs', import.meta.url);
  const noCache = /this pool has no cache: pass `cache` options to createPool/;

  it('throws IllegalStateError on any use in a pool without a cache; hasCache says so up front', async () => {
    const { createPool } = (await compiled('../dist/src/pool/index.js')) as typeof import('../src/pool/index.js');
    const pool = createPool({ filename: TASK, threads: 1, signals: false });
    try {
      expect(await pool.run('hasCache')).toBe(false);
      expect(await pool.run('truthy')).toBe(true);
      for (const op of ['get', 'increment', 'keys', 'cacheOf']) {
        expect(await pool.run(op), op).toEqual({ threw: 'IllegalStateError', code: 'ERR_SABRE_ILLEGAL_STATE', message: expect.stringMatching(noCache) });
      }
    } finally {
      await pool.close();
    }
  });

  it("is the pool's cache when it has one (and cacheOf() is the same object)", async () => {
    const { createPool } = (await compiled('../dist/src/pool/index.js')) as typeof import('../src/pool/index.js');
    const pool = createPool({ filename: TASK, threads: 1, signals: false, cache: { maxEntries: 10, maxBytes: 1 << 12 } });
    try {
      expect(await pool.run('hasCache')).toBe(true);
      expect(await pool.run('increment')).toBe(1);
      expect(await pool.run('get')).toBe(1);
      expect(await pool.run('cacheOf')).toBe(true);
      expect(pool.cache.get('visits')).toBe(1);
    } finally {
      await pool.close();
    }
  });

  it("outside a pool's worker, says where it is available", async () => {
    const worker = (await compiled('../dist/src/pool/worker.js')) as typeof import('../src/pool/worker.js');
    const { IllegalStateError } = (await compiled('../dist/src/index.js')) as typeof import('../src/index.js');
    expect(worker.hasCache).toBe(false);
    expect(() => worker.cache.get('x')).toThrow(IllegalStateError);
    expect(() => worker.cache.size).toThrow(/only available in a task module running in a sabre pool's worker/);
    expect(() => worker.cacheOf()).toThrow(IllegalStateError);
  });
});
