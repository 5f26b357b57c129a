#!/usr/bin/env node
// The package as a consumer gets it: packs the tarball (`npm pack`, which builds), installs it into
// a fresh project under the OS temp folder the way an application embedding the cache and the pool
// would (`npm install --omit=dev`, no harness packages), then adds the harness packages (sabre's
// optional peer dependencies) the way someone who runs `sabre stress` would. Checks on the way:
//
// - the tarball: dist/ with every entry point and its types, LICENSE, README, CHANGELOG, nothing
//   else; no install script in its package.json; every source map carries its sources;
// - the install: no install script listed or run, no build; node_modules at most 10 MB (du);
// - every entry point imports (sabre, sabre/pool, sabre/worker; sabre/stress once the harness is
//   there), `require('sabre')` works from CommonJS, a pool runs tasks on a shared cache, and
//   (with the optional peers, amaro among them) a TypeScript task module;
// - without the harness, `sabre stress` fails at once naming a package to install; with it,
//   `npx sabre stress --quick` passes.
//
// Prints the install sizes. Usage: node scripts/package-check.mjs [--keep] [--skip-stress]
// (--keep leaves the temp folder for a look; --skip-stress skips the quick suite). Runs every step
// with the Node that runs it (process.execPath, and first on PATH for npm and npx).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const keep = process.argv.includes('--keep');
const skipStress = process.argv.includes('--skip-stress');
const LIBRARY_LIMIT_KIB = 10 * 1024;
const env = {
  ...process.env,
  PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}`,
  npm_config_audit: 'false',
  npm_config_fund: 'false',
  npm_config_update_notifier: 'false',
};
// The checkout's own npm settings (e.g. `npm_config_*` set by an `npm run` around this script) must not leak into the fresh project.
for (const name of Object.keys(env)) if (/^npm_(config_(?!audit$|fund$|update_notifier$|cache$|registry$)|package_|lifecycle_)/i.test(name)) delete env[name];

let passed = 0;
const failures = [];
function check(what, ok, detail = '') {
  if (ok) passed++;
  else failures.push(`${what}${detail ? `: ${detail}` : ''}`);
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}${!ok && detail ? `\n     ${detail.split('\n').join('\n     ')}` : ''}`);
  return ok;
}

function run(command, args, cwd, { timeoutMs = 300_000, allowFailure = false } = {}) {
  const result = spawnSync(command, args, { cwd, env, encoding: 'utf8', timeout: timeoutMs, maxBuffer: 64 << 20 });
  const output = `${result.stdout ?? ''}${result.stderr ?? ''}`;
  if (!allowFailure && result.status !== 0) {
    throw new Error(
      `${command} ${args.join(' ')} (in ${cwd}) exited ${result.status ?? result.signal}${result.error ? ` (${result.error.message})` : ''}:\n${output}`,
    );
  }
  return { status: result.status, stdout: result.stdout ?? '', stderr: result.stderr ?? '', output };
}

/** Disk usage in KiB, as `du -sk` reports it. */
function duKiB(path) {
  return Number(run('du', ['-sk', path], root).stdout.split(/\s/)[0]);
}

/** Every installed package under a node_modules folder (scoped and nested included). */
function installedPackages(nodeModules) {
  const found = [];
  const walk = (folder) => {
    if (!existsSync(folder)) return;
    for (const entry of readdirSync(folder)) {
      if (entry.startsWith('.')) continue;
      const path = join(folder, entry);
      if (entry.startsWith('@')) walk(path);
      else if (existsSync(join(path, 'package.json'))) {
        found.push(JSON.parse(readFileSync(join(path, 'package.json'), 'utf8')).name);
        walk(join(path, 'node_modules'));
      }
    }
  };
  walk(nodeModules);
  return found.sort();
}

const mib = (kib) => `${(kib / 1024).toFixed(1)} MB`;
const BUILD_NOISE = /install-scripts|allowScripts|prepare|npm run build|\btsc\b|node-gyp/i;

const work = mkdtempSync(join(tmpdir(), 'sabre-package-'));
const sizes = [];
try {
  console.log(`node ${process.version}, npm ${run('npm', ['--version'], root).stdout.trim()}; working in ${work}`);

  // ---- the tarball
  const packed = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', work], root).stdout)[0];
  const tarball = join(work, packed.filename);
  const files = packed.files.map((f) => f.path);
  const source = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  check(
    'npm pack restored package.json (prepare still there for the checkout)',
    source.scripts?.prepare !== undefined && !existsSync(join(root, 'package.json.pack-backup')),
  );
  const wanted = ['package.json', 'README.md', 'LICENSE', 'CHANGELOG.md', 'dist/src/cli/main.js'];
  for (const target of Object.values(source.exports)) {
    if (typeof target === 'string') wanted.push(target.replace(/^\.\//, ''));
    else for (const path of Object.values(target)) wanted.push(path.replace(/^\.\//, ''));
  }
  const missing = wanted.filter((f) => !files.includes(f));
  check(
    `the tarball has dist/, every entry point and its types, LICENSE, README, CHANGELOG (${files.length} files, ${(packed.size / 1024).toFixed(0)} kB packed, ${(packed.unpackedSize / 1024).toFixed(0)} kB unpacked)`,
    missing.length === 0,
    `missing: ${missing.join(', ')}`,
  );
  const strays = files.filter((f) => !/^(dist\/(src|workers)\/.*\.(js|d\.ts|js\.map)|package\.json|README\.md|LICENSE|CHANGELOG\.md)$/.test(f));
  check('the tarball has nothing else (no TypeScript sources, tests or benchmarks)', strays.length === 0, strays.slice(0, 10).join(', '));
  const stale = files.filter((f) => f.startsWith('dist/') && !existsSync(join(root, f.replace(/^dist\//, '').replace(/\.(js|js\.map|d\.ts)$/, '.ts'))));
  check('no stale build output in the tarball (every file in dist/ has its TypeScript source)', stale.length === 0, stale.slice(0, 10).join(', '));

  const unpacked = join(work, 'unpacked');
  mkdirSync(unpacked);
  run('tar', ['xzf', tarball, '-C', unpacked], root);
  const shipped = JSON.parse(readFileSync(join(unpacked, 'package', 'package.json'), 'utf8'));
  const installScripts = ['preinstall', 'install', 'postinstall', 'prepare'].filter((s) => shipped.scripts?.[s] !== undefined);
  check('the shipped package.json has no install script (no prepare: dist/ is in the tarball)', installScripts.length === 0, installScripts.join(', '));
  const maps = files.filter((f) => f.endsWith('.map'));
  const mapless = maps.filter((f) => {
    const map = JSON.parse(readFileSync(join(unpacked, 'package', f), 'utf8'));
    return !Array.isArray(map.sourcesContent) || map.sourcesContent.length !== map.sources.length || map.sourcesContent.some((s) => typeof s !== 'string');
  });
  check(`every source map carries its sources (${maps.length} maps, sourcesContent)`, maps.length > 0 && mapless.length === 0, mapless.slice(0, 5).join(', '));

  // ---- a fresh project that embeds the cache and the pool
  const app = join(work, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), `${JSON.stringify({ name: 'sabre-package-check', version: '1.0.0', private: true, type: 'module' }, null, 2)}\n`);
  const install = run('npm', ['install', '--omit=dev', tarball], app);
  check('npm install of the tarball lists and runs no install script, builds nothing', !BUILD_NOISE.test(install.output), install.output.trim());
  const built = ['test', 'bench'].filter((folder) => existsSync(join(app, 'node_modules', 'sabre', 'dist', folder)));
  check(
    'npm install did not build (dist/ is what the tarball carries, no dist/test or dist/bench)',
    built.length === 0 && statSync(join(app, 'node_modules', 'sabre', 'dist', 'src', 'index.js')).isFile(),
    built.join(', '),
  );
  const library = { kib: duKiB(join(app, 'node_modules')), packages: installedPackages(join(app, 'node_modules')) };
  sizes.push(['npm install sabre (the library: cache, locks, pool)', library]);
  check(
    `the library installs in at most ${mib(LIBRARY_LIMIT_KIB)}: ${mib(library.kib)}, ${library.packages.length} packages (${library.packages.join(', ')})`,
    library.kib <= LIBRARY_LIMIT_KIB,
  );
  const harness = Object.keys(shipped.peerDependencies ?? {});
  const strayHarness = harness.filter((name) => library.packages.includes(name));
  check('no harness package (optional peer dependency) installed with the library', strayHarness.length === 0, strayHarness.join(', '));

  writeFileSync(join(app, 'task.mjs'), `import { cache } from 'sabre/worker';\nexport default function task({ key }) { return cache.increment(key); }\n`);
  writeFileSync(
    join(app, 'embed.mjs'),
    `import * as sabre from 'sabre';
import * as poolModule from 'sabre/pool';
import * as worker from 'sabre/worker';
for (const [entry, namespace, names] of [
  ['sabre', sabre, ['SharedCache', 'Mutex', 'RwLock', 'Semaphore', 'Barrier', 'CondVar', 'Latch', 'SabreError']],
  ['sabre/pool', poolModule, ['createPool', 'SabrePool']],
  ['sabre/worker', worker, ['cache', 'primitives', 'workerData']],
]) {
  for (const name of names) if (!(name in namespace)) throw new Error(entry + ' does not export ' + name);
}
const { SharedCache } = sabre;
const { createPool } = poolModule;
const cache = SharedCache.create({ maxEntries: 100, maxBytes: 1 << 16 });
cache.set('a', { b: 1 });
if (cache.get('a').b !== 1) throw new Error('SharedCache lost a value');
const pool = createPool({ filename: new URL('./task.mjs', import.meta.url), threads: 2, cache: { maxEntries: 100, maxBytes: 1 << 16 } });
await Promise.all(Array.from({ length: 50 }, () => pool.run({ key: 'visits' })));
const visits = pool.cache.get('visits');
await pool.close();
if (visits !== 50) throw new Error('expected 50 visits, got ' + visits);
console.log('embedded: cache and pool work, visits = ' + visits);
`,
  );
  const embed = run(process.execPath, ['embed.mjs'], app, { allowFailure: true });
  check('import sabre, sabre/pool, sabre/worker; a pool of 2 workers increments one shared counter 50 times', embed.status === 0, embed.output.trim());

  writeFileSync(
    join(app, 'require.cjs'),
    `const { SharedCache } = require('sabre');
const cache = SharedCache.create({ maxEntries: 10, maxBytes: 1 << 12 });
cache.set('k', 1);
if (cache.get('k') !== 1) throw new Error('lost a value');
console.log('require(sabre) works');
`,
  );
  const cjs = run(process.execPath, ['require.cjs'], app, { allowFailure: true });
  check(`require('sabre') from CommonJS (Node >= 20.19)`, cjs.status === 0, cjs.output.trim());

  const noStress = run(process.execPath, ['--input-type=module', '-e', `await import('sabre/stress')`], app, { allowFailure: true });
  check(
    'without the harness packages, sabre/stress fails to import naming one of them',
    noStress.status !== 0 && harness.some((name) => noStress.output.includes(`'${name}'`)),
    noStress.output.trim().split('\n').slice(0, 5).join('\n'),
  );
  const started = Date.now();
  const noCli = run('npx', ['--no', '--', 'sabre', 'stress', '--quick'], app, { allowFailure: true, timeoutMs: 60_000 });
  const named = harness.filter((name) => noCli.output.includes(name));
  check(
    `without the harness packages, \`npx sabre stress\` fails at once (${Date.now() - started} ms) naming what to install (${named.join(', ') || 'nothing'})`,
    noCli.status !== 0 && named.length > 0 && Date.now() - started < 30_000,
    noCli.output.trim().split('\n').slice(0, 8).join('\n'),
  );
  console.log(
    `     it says: ${
      noCli.output
        .trim()
        .split('\n')
        .find((line) => harness.some((name) => line.includes(name))) ?? noCli.output.trim().split('\n')[0]
    }`,
  );

  // ---- the same project with the harness (what `sabre stress` and sabre/stress need)
  const peers = harness.map((name) => `${name}@${shipped.peerDependencies[name]}`);
  const withHarness = run('npm', ['install', '--omit=dev', ...peers], app);
  check(`npm install ${peers.join(' ')}: no install script listed or run`, !BUILD_NOISE.test(withHarness.output), withHarness.output.trim());
  const full = { kib: duKiB(join(app, 'node_modules')), packages: installedPackages(join(app, 'node_modules')) };
  sizes.push(['+ the harness packages (sabre stress, sabre/stress)', full]);

  const stress = run(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `const s = await import('sabre/stress'); if (typeof s.verifyScenario !== 'function' || typeof s.defineScenario !== 'function') throw new Error('sabre/stress exports'); console.log(Object.keys(s.SCENARIOS).length + ' scenarios')`,
    ],
    app,
    { allowFailure: true },
  );
  check(`import sabre/stress with the harness installed (${stress.stdout.trim()})`, stress.status === 0, stress.output.trim());
  // A TypeScript task module (stripped by amaro, one of the peers, where Node cannot strip types) that imports sabre/worker by name.
  writeFileSync(
    join(app, 'task-ts.ts'),
    `import { cache } from 'sabre/worker';\nexport default function task({ key }: { key: string }): number { return cache.increment(key); }\n`,
  );
  writeFileSync(
    join(app, 'embed-ts.mjs'),
    `import { createPool } from 'sabre/pool';
const pool = createPool({ filename: new URL('./task-ts.ts', import.meta.url), threads: 2, cache: { maxEntries: 10, maxBytes: 1 << 12 } });
await Promise.all(Array.from({ length: 10 }, () => pool.run({ key: 'n' })));
const n = pool.cache.get('n');
await pool.close();
if (n !== 10) throw new Error('expected 10, got ' + n);
`,
  );
  const embedTs = run(process.execPath, ['embed-ts.mjs'], app, { allowFailure: true });
  check(`a pool runs a TypeScript task module (task.ts) on Node ${process.version}`, embedTs.status === 0, embedTs.output.trim());
  const version = run('npx', ['--no', '--', 'sabre', '--version'], app, { allowFailure: true });
  check(`npx sabre --version prints ${shipped.version}`, version.status === 0 && version.stdout.trim() === shipped.version, version.output.trim());
  if (!skipStress) {
    const quick = run('npx', ['--no', '--', 'sabre', 'stress', '--quick', '--no-progress'], app, { allowFailure: true, timeoutMs: 600_000 });
    const lines = quick.output.trim().split('\n');
    check(
      `npx sabre stress --quick in the installed copy: ${lines.find((line) => /variants passed/.test(line)) ?? `exit ${quick.status}`}`,
      quick.status === 0,
      lines.slice(-12).join('\n'),
    );
  }

  // ---- what a checkout installs, for comparison
  if (existsSync(join(root, 'node_modules'))) {
    sizes.push([
      'a checkout (npm ci: dev dependencies too)',
      { kib: duKiB(join(root, 'node_modules')), packages: installedPackages(join(root, 'node_modules')) },
    ]);
  }
} catch (error) {
  check('the package check ran to the end', false, error instanceof Error ? error.message : String(error));
} finally {
  if (keep) console.log(`kept ${work}`);
  else rmSync(work, { recursive: true, force: true });
}

console.log('\ninstall sizes (du of node_modules):');
for (const [what, { kib, packages }] of sizes) console.log(`  ${what.padEnd(52)} ${mib(kib).padStart(8)}  ${String(packages.length).padStart(3)} packages`);
if (failures.length > 0) {
  console.log(`\n${failures.length} check(s) failed:\n${failures.map((f) => `  - ${f.split('\n')[0]}`).join('\n')}`);
  process.exitCode = 1;
}
console.log(`package: ${passed} passed, ${failures.length} failed`);
