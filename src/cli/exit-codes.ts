/**
 * The exit codes of the `sabre` command (as vitest and jcstress do, a test failure is not a crash
 * of the tool) and the errors that carry them. main.ts turns whatever ends a command into one of
 * these codes; nothing else in the CLI calls process.exit.
 *
 * This module imports nothing, so that main.ts can still report a failure to load the rest of the
 * CLI (a broken install, a built-in scenario that throws at load) as a harness error.
 */

export const EXIT = {
  /** Every verdict held (or the command did what it was asked). */
  ok: 0,
  /** A verdict failed: an unsafe variant did not reproduce its race, or a safe one showed a FORBIDDEN outcome. */
  failed: 1,
  /** A usage or configuration error: nothing was run (or nothing could be written). */
  usage: 2,
  /** A harness error: sabre itself failed, or a variant could not be run to a verdict. */
  harness: 3,
  /** Interrupted (Ctrl-C): the report of what ran was written (128 + SIGINT, as shells report it). */
  interrupted: 130,
} as const;

/** The exit codes, as `sabre --help` and `sabre stress --help` print them. */
export const EXIT_CODES_HELP = `Exit codes:
  0  every verdict held (or the command succeeded)
  1  a verdict failed: an unsafe variant did not reproduce its race, or a safe
     variant showed a FORBIDDEN outcome
  2  usage or configuration error: an unknown option, command or scenario, a bad
     value, a --module that does not load, a report that cannot be written
  3  harness error: a variant could not be run to a verdict (a worker crashed, a
     scenario threw in a worker) or sabre itself failed; takes precedence over 1
  130 interrupted (Ctrl-C): the reports of what ran were written`;

/** The environment variables the CLI reads, for the same help texts. */
export const ENVIRONMENT_HELP = `Environment:
  NO_COLOR=1     no colour (any non-empty value; grade labels are always printed)
  FORCE_COLOR=1  colour even when the output is not a terminal (0 turns it off)
  SABRE_STALL_MS sabre stress: how long the main thread may be unresponsive (a scenario
                 hook that blocks it) before the watchdog kills the run (default 30000)`;

/** Bad input from the user (options, scenario ids, a module of theirs that does not load): exit 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  readonly exitCode = EXIT.usage;
}

/** sabre could not do its own job (a worker crashed, a benchmark suite died): exit 3. */
export class HarnessError extends Error {
  override readonly name = 'HarnessError';
  readonly exitCode = EXIT.harness;
}

/** Whether `error` is one of commander's (thrown after exitOverride, its message already printed). */
function isCommanderError(error: unknown): error is { code: string; exitCode: number } {
  return (
    typeof error === 'object' &&
    error !== null &&
    typeof (error as { code?: unknown }).code === 'string' &&
    (error as { code: string }).code.startsWith('commander.')
  );
}

/**
 * Prints what ended a command on stderr (one line for a usage error) and returns its exit code:
 * commander's own errors (unknown option, missing argument) and sabre's usage errors give 2,
 * anything unforeseen is a harness error, 3, printed with its stack.
 */
export function reportError(error: unknown, write: (text: string) => void = (text) => process.stderr.write(text)): number {
  if (isCommanderError(error)) return error.exitCode === 0 ? EXIT.ok : EXIT.usage; // commander printed it
  if (error instanceof UsageError || (error instanceof Error && (error as { code?: unknown }).code === 'ERR_SABRE_INVALID_ARGUMENT')) {
    write(`sabre: ${error.message}\n`);
    return EXIT.usage;
  }
  if (error instanceof HarnessError) {
    write(`sabre: harness error: ${error.message}\n`);
    return EXIT.harness;
  }
  const detail = error instanceof Error ? (error.stack ?? `${error.name}: ${error.message}`) : String(error);
  write(`sabre: internal error (a bug in sabre, please report it): ${detail}\n`);
  return EXIT.harness;
}
