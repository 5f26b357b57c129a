/**
 * The `sabre` command line, as a commander program (main.ts runs it): `stress` (stress-command.ts),
 * `bench` (bench-command.ts) and `info`, the shared-memory facts of the machine it runs on.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { Command } from 'commander';
import { addBenchCommand } from './bench-command.js';
import { addStressCommand } from './stress-command.js';

const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string; description: string };

/** sabre's version (from package.json). */
export const version = pkg.version;

/** Builds the CLI; exported so tests can drive it without spawning a process. */
export function buildCli(): Command {
  const program = new Command('sabre')
    .description(pkg.description)
    .version(pkg.version, '-v, --version', 'print the sabre version')
    .helpOption('-h, --help', 'show help')
    .showHelpAfterError();

  program
    .command('info')
    .description('print what this machine offers sabre: cores, Node version, shared-memory features')
    .option('--json', 'print JSON instead of text')
    .action((options: { json?: boolean }) => {
      const facts = machineFacts();
      if (options.json) console.log(JSON.stringify(facts, null, 2));
      else for (const [name, value] of Object.entries(facts)) console.log(`${name.padEnd(22)} ${String(value)}`);
    });

  addStressCommand(program);
  addBenchCommand(program);
  return program;
}

/** What the shared-memory features of this runtime look like. */
export function machineFacts(): Record<string, string | number | boolean> {
  let growable = false;
  try {
    growable = new SharedArrayBuffer(8, { maxByteLength: 16 }).growable === true;
  } catch {
    growable = false;
  }
  return {
    sabre: pkg.version,
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    cores: availableParallelism(),
    cpu: cpus()[0]?.model ?? 'unknown',
    atomicsWaitAsync: typeof Atomics.waitAsync === 'function',
    growableSharedBuffer: growable,
  };
}

