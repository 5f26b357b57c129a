#!/usr/bin/env node
// The `sabre` executable: everything lives in program.ts so tests can drive it in-process.
// The CLI is imported here, inside the try, so that a failure to load it is reported with an exit
// code rather than as a crash: packages the command needs that are not installed (the CLI's
// packages are optional peer dependencies of the library) are a configuration error (exit 2);
// anything else, such as a built-in scenario that throws at load, is a harness error (exit 3).
// It imports only modules that import nothing but Node's own.
import { readFileSync } from 'node:fs';
import { TRANSPILER } from '../loader/typescript-support.js';
import { reportError, UsageError } from './exit-codes.js';

// A reader that stops early (`sabre stress --json - | head`) closes the pipe: stop quietly, as
// Unix tools do on SIGPIPE, rather than crash with EPIPE.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
  process.exit();
});

try {
  const { buildCli } = await import('./program.js').catch((error: unknown) => {
    throw missingPackages(error) ?? error;
  });
  await buildCli().parseAsync(process.argv);
} catch (error) {
  process.exitCode = reportError(error);
}

/** When the CLI failed to load for want of packages: a usage error naming every one of them to install. */
function missingPackages(error: unknown): UsageError | undefined {
  if ((error as { code?: unknown } | null)?.code !== 'ERR_MODULE_NOT_FOUND') return undefined;
  const named = /Cannot find package '([^']+)'/.exec((error as Error).message)?.[1];
  if (named === undefined) return undefined;
  let declared: string[] = [];
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as Record<string, Record<string, string> | undefined>;
    // Two peers are not the command's: amaro (only a TypeScript module on a Node that cannot strip
    // types needs it, and importing one without it says so: TypeScriptUnavailableError) and the
    // Redis client (only sabre/redis needs it, and says so: MissingPeerError).
    const notTheCommands = new Set([TRANSPILER, '@redis/client']);
    declared = [...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.peerDependencies ?? {})].filter((name) => !notTheCommands.has(name));
  } catch {
    // no package.json to read: name the one package Node could not find
  }
  if (!declared.includes(named)) return undefined; // not one of sabre's own packages: a bug, not a setup issue
  const missing = declared.filter((name) => {
    try {
      import.meta.resolve(name);
      return false;
    } catch {
      return true;
    }
  });
  const list = missing.length > 0 ? missing : [named];
  return new UsageError(`the sabre command needs ${list.join(', ')}, not installed here: npm install ${list.join(' ')}`);
}
