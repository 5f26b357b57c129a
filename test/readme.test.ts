/**
 * The README is the front door: its example must run as printed, and the commands it gives must
 * exist in package.json.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { scripts: Record<string, string>; bin: Record<string, string> };
// Written inside the package, so that `import … from 'sabre'` resolves to this package by its own name.
const exampleFile = new URL('./fixtures/.readme-example.mjs', import.meta.url);

afterAll(() => rmSync(exampleFile, { force: true }));

describe('README', () => {
  it('the example runs as printed and prints what it says', () => {
    const block = /## Example[\s\S]*?```js\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(block).toBeDefined();
    writeFileSync(exampleFile, block!);
    const run = spawnSync(process.execPath, [fileURLToPath(exampleFile)], { encoding: 'utf8', timeout: 60_000 });
    expect(run.stderr).toBe('');
    expect(run.stdout.trim()).toBe('5000');
  });

  it('the cache example runs as printed and prints what it says', () => {
    const run = runExampleFile('cache-example.mjs');
    expect(run.stderr).toBe('');
    expect(run.stdout.trim()).toBe("{ name: 'user 1 of worker 0' } 2000 2001");
  });

  it("the recovery example runs as printed: the dead worker's mutex is released", () => {
    const run = runExampleFile('recover-example.mjs');
    expect(run.stderr).toBe('');
    expect(run.stdout.trim()).toBe('true false 1');
  });

  it('the pool example (two files) runs as printed and prints what it says', () => {
    const run = runTwoFileExample('.readme-pool', 'task.mjs', 'main.mjs');
    expect(run.stderr).toBe('');
    expect(run.stdout.trim()).toBe('100');
    expect(run.status).toBe(0);
  });

  it('the stress scenario example (two files) runs as printed: the unsafe variant reproduces, the safe one holds', () => {
    const run = runTwoFileExample('.readme-stress', 'my-scenarios.mjs', 'check.mjs');
    expect(run.stderr).toBe('');
    expect(run.stdout.trim()).toBe('unsafe PASS\nsafe PASS');
  });

  it('the transfers example (two files) runs as printed: the deadlock is reported with its cycle, the fix passes', () => {
    const run = runTwoFileExample('.readme-transfers', 'transfers.stress.mjs', 'check-transfers.mjs');
    expect(run.stderr).toBe('');
    const printed = /\/\/ check-transfers\.mjs[\s\S]*?\n((?:\/\/ .*\n)+)```/.exec(readme)?.[1];
    expect(printed).toBeDefined();
    expect(run.stdout.trim()).toBe(printed!.replaceAll('// ', '').trim());
  });

  it('gives the test command, and package.json has the scripts and bin it mentions', () => {
    expect(readme).toMatch(/^npm test\b/m);
    expect(readme).toMatch(/npm install && npx sabre stress/);
    expect(pkg.scripts.test).toBeDefined();
    expect(pkg.scripts.bench).toBeDefined();
    expect(pkg.scripts.prepare).toBe('npm run build');
    expect(pkg.bin.sabre).toBe('dist/src/cli/main.js');
  });

  it('justifies every dependency in one line', () => {
    const all = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as Record<string, Record<string, string> | undefined>;
    for (const name of [...Object.keys(all.dependencies ?? {}), ...Object.keys(all.devDependencies ?? {})]) {
      expect(readme, `README should say why ${name} is a dependency`).toMatch(new RegExp(`\`${name.replace('/', '\\/')}\``));
    }
  });
});

/** Writes the README's code block headed `// <name>` inside the package and runs it. */
function runExampleFile(name: string) {
  const block = new RegExp(`${name.replace('.', '\\.')}[\\s\\S]*?\\n([\\s\\S]*?)\`\`\``).exec(readme)?.[0];
  expect(block, `README has a code block headed // ${name}`).toBeDefined();
  writeFileSync(exampleFile, block!.slice(block!.indexOf('\n') + 1, block!.lastIndexOf('```')));
  return spawnSync(process.execPath, [fileURLToPath(exampleFile)], { encoding: 'utf8', timeout: 60_000 });
}

/**
 * Writes the README's code blocks headed `// <module>` and `// <main>` into test/fixtures/<dir>/
 * (inside the package, so `sabre` resolves to it by name), runs the main file, and cleans up.
 */
function runTwoFileExample(dir: string, module: string, main: string) {
  const blockAfter = (name: string): string => {
    const block = new RegExp(`// ${name.replace('.', '\\.')}[^\\n]*\\n([\\s\\S]*?)\`\`\``).exec(readme)?.[1];
    expect(block, `README has a code block headed // ${name}`).toBeDefined();
    return block!;
  };
  const folder = new URL(`./fixtures/${dir}/`, import.meta.url);
  mkdirSync(folder, { recursive: true });
  writeFileSync(new URL(module, folder), blockAfter(module));
  writeFileSync(new URL(main, folder), blockAfter(main));
  try {
    return spawnSync(process.execPath, [fileURLToPath(new URL(main, folder))], { encoding: 'utf8', timeout: 120_000 });
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}
