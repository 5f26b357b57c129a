/**
 * What running a user's TypeScript module takes on this Node: whether Node strips types by itself,
 * and otherwise where amaro (Node's own type stripper, an optional peer dependency of sabre) is
 * installed, and what to tell the user when it is not. Shared by the thread that imports a module
 * (src/loader/import-module.ts) and the hooks that load it (src/loader/hooks.ts).
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The npm package sabre strips types with where Node cannot. */
export const TRANSPILER = 'amaro';

/** `.ts`, `.mts` and `.cts`: the files that need their types stripped before Node can run them. */
export function isTypeScriptFile(pathOrUrl: string): boolean {
  const path = pathOrUrl.startsWith('file:') ? new URL(pathOrUrl).pathname : pathOrUrl;
  return /\.[cm]?ts$/.test(path) && !/\.d\.[cm]?ts$/.test(path);
}

/**
 * Whether this Node runs TypeScript by itself: 22.18+ and 23.6+ by default, 22.6 to 22.17 with
 * `--experimental-strip-types`; `process.features.typescript` is 'strip' or 'transform' there, and
 * false (or, before 22.10, absent) where it does not.
 */
export function nativeTypeScript(): boolean {
  const feature = (process.features as { typescript?: unknown }).typescript;
  return feature === 'strip' || feature === 'transform';
}

/**
 * The path of amaro's CommonJS entry, found the way `require('amaro')` would find it from one of
 * `from` (directories or files), first from sabre's own folder (where an installed peer lands),
 * then from the user's module and the working directory (a project that installed amaro but runs
 * a sabre installed elsewhere); undefined if none has it.
 */
export function findTranspiler(from: readonly string[] = []): string | undefined {
  for (const place of [fileURLToPath(import.meta.url), ...from]) {
    try {
      // createRequire wants a file; a file that need not exist, named in a directory, searches from there.
      return createRequire(/\.[cm]?[jt]s$/.test(place) ? place : join(place, 'noop.js')).resolve(TRANSPILER);
    } catch {
      // not installed where this place can see it: try the next one
    }
  }
  return undefined;
}

/** What to tell someone whose TypeScript `file` cannot run: why, and the three ways out. */
export function missingTranspilerMessage(file: string): string {
  return (
    `cannot import ${file}: Node ${process.version} does not run TypeScript by itself, and ${TRANSPILER}, ` +
    `the type stripper sabre uses on it (an optional peer dependency), is not installed. ` +
    `Fix: run \`npm install -D ${TRANSPILER}\` in the project (or next to sabre), ` +
    `or use Node 22.18 or later (which strips types natively), or compile ${file} to JavaScript and pass the .js file`
  );
}

/** The directory of a path or file: URL (where to look for amaro from a user's module). */
export function directoryOf(pathOrUrl: string): string {
  return dirname(pathOrUrl.startsWith('file:') ? fileURLToPath(pathOrUrl) : pathOrUrl);
}
