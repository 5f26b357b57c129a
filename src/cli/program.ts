/**
 * The `sabre` command line, as a commander program (main.ts runs it): `stress` (stress-command.ts),
 * `bench` (bench-command.ts) and `info`, the shared-memory facts of the machine it runs on.
 * commander's own errors (unknown option, missing argument) print one line and a pointer to the
 * help, and end with exit code 2 (exit-codes.ts), like every usage error.
 */
import { availableParallelism, cpus } from 'node:os';
import { Command } from 'commander';
import { addBenchCommand } from './bench-command.js';
import { colorEnabled } from './color.js';
import { ENVIRONMENT_HELP, EXIT_CODES_HELP } from './exit-codes.js';
import { addStressCommand } from './stress-command.js';

import { description, version } from './version.js';

export { version } from './version.js';

/** Builds the CLI; exported so tests can drive it without spawning a process. */
export function buildCli(): Command {
  // Set before the commands are added: commander copies these settings into each of them.
  const program = new Command('sabre')
    .description(description)
    .version(version, '-v, --version', 'print the sabre version')
    .helpOption('-h, --help', 'show help')
    .exitOverride() // main.ts turns commander's errors into exit code 2
    .configureOutput({
      outputError: (text, write) => write(`sabre: ${text.replace(/^error: /, '')}`),
      getOutHasColors: () => colorEnabled(process.stdout),
      getErrHasColors: () => colorEnabled(process.stderr),
    })
    .addHelpText('after', `\n${EXIT_CODES_HELP}\n\n${ENVIRONMENT_HELP}`);

  program
    .command('info')
    .description('print the facts of this machine that matter to sabre: versions, cores, CPU, shared-memory features')
    .option('--json', 'print them as one JSON object')
    .addHelpText(
      'after',
      `\nPrints one "name value" line per fact (or, with --json, one object):
  sabre                 the sabre version
  node                  the Node.js version
  platform              platform-architecture, e.g. linux-x64
  cores                 os.availableParallelism(): what the stress scenarios and bench share
  cpu                   the CPU model
  atomicsWaitAsync      whether Atomics.waitAsync exists (the async lock forms need it)
  growableSharedBuffer  whether SharedArrayBuffer can grow (sabre does not need it)`,
    )
    .action((options: { json?: boolean }) => {
      const facts = machineFacts();
      if (options.json) console.log(JSON.stringify(facts, null, 2));
      else for (const [name, value] of Object.entries(facts)) console.log(`${name.padEnd(22)} ${String(value)}`);
    });

  addStressCommand(program);
  addBenchCommand(program);
  // A usage error names itself in one line and points at the help, rather than printing all of it.
  program.showHelpAfterError('(see sabre --help)');
  for (const command of program.commands) command.showHelpAfterError(`(see sabre ${command.name()} --help)`);
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
    sabre: version,
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    cores: availableParallelism(),
    cpu: cpus()[0]?.model ?? 'unknown',
    atomicsWaitAsync: typeof Atomics.waitAsync === 'function',
    growableSharedBuffer: growable,
  };
}
