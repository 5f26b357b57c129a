import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const bin = fileURLToPath(new URL('../dist/src/cli/main.js', import.meta.url));
const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

function sabre(...args: string[]) {
  return spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 60_000 });
}

describe('the sabre CLI', () => {
  it('--version prints the package version', () => {
    const run = sabre('--version');
    expect(run.status).toBe(0);
    expect(run.stdout.trim()).toBe(pkg.version);
  });

  it('--help lists the commands', () => {
    const run = sabre('--help');
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/Usage: sabre/);
    expect(run.stdout).toMatch(/info/);
  });

  it('info --json reports the machine facts sabre depends on', () => {
    const run = sabre('info', '--json');
    expect(run.status).toBe(0);
    const facts = JSON.parse(run.stdout) as Record<string, unknown>;
    expect(facts).toMatchObject({ sabre: pkg.version, node: process.version, atomicsWaitAsync: true });
    expect(facts.cores).toBeGreaterThanOrEqual(1);
  });

  it('an unknown command is a usage error (exit 2) and says so, in one line and a pointer to the help', () => {
    const run = sabre('frobnicate');
    expect(run.status).toBe(2);
    expect(run.stderr).toBe("sabre: unknown command 'frobnicate'\n(see sabre --help)\n");
  });

  it('info prints one "name value" line per fact', () => {
    const run = sabre('info');
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(new RegExp(`^sabre +${pkg.version.replaceAll('.', '\\.')}$`, 'm'));
    expect(run.stdout).toMatch(/^atomicsWaitAsync +true$/m);
  });

  // More of the command's conventions (exit codes, colour, reports on stdout, --module errors,
  // sabre bench's output folder, an installed copy): cli-conventions.test.ts.
});
