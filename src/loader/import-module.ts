/**
 * The one way sabre imports a user's module (a stress scenario module, a pool's task module, the
 * CLI's `--module`), on any thread. Before the first import that may need them in a thread, it
 * registers sabre's module hooks (src/loader/hooks.ts) in that thread: hooks registered in one
 * thread do not apply in another (not even in a worker it starts later), so every thread that
 * imports a user's module goes through here.
 */
import { createRequire, register } from 'node:module';
import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { TypeScriptUnavailableError } from '../errors.js';
import type { HooksData } from './hooks.js';
import { directoryOf, findTranspiler, isTypeScriptFile, missingTranspilerMessage, nativeTypeScript } from './typescript-support.js';

let registered = false;

/**
 * Whether importing `path` may need the hooks: a TypeScript file (stripping on an older Node, and
 * `./x.js` meaning `./x.ts` on any), or a module from whose folder `sabre` does not resolve (it
 * lives outside any project that installed sabre). Registering costs each thread a hooks thread
 * of its own on Node 20 (measured: a 4-worker pool took twice as long to answer its first tasks),
 * so a JavaScript module in a project that has sabre, the common case, is imported without them.
 */
function needsHooks(path: string): boolean {
  if (isTypeScriptFile(path)) return true;
  try {
    createRequire(path).resolve('sabre');
    return false;
  } catch {
    return true;
  }
}

/** Registers the hooks in this thread, once; with amaro's path if this Node cannot strip types. */
function registerHooks(userModule: string): void {
  if (registered) return;
  registered = true;
  const strip = !nativeTypeScript();
  const data: HooksData = { strip, transpiler: strip ? (findTranspiler([directoryOf(userModule), process.cwd()]) ?? null) : null };
  register(new URL('./hooks.js', import.meta.url), { data });
}

/**
 * Imports the module at `specifier` (a path, relative to the working directory, or a file: URL)
 * and resolves to its namespace object. JavaScript or TypeScript (`.ts`, `.mts`, `.cts`): where
 * Node cannot strip types itself (before 22.18), sabre strips them with amaro, an optional peer
 * dependency. Inside the module, `sabre` and `sabre/…` resolve to the running sabre if no other is
 * installed where the module lives, and in a TypeScript module `./x.js` finds `./x.ts`.
 *
 * @throws {TypeScriptUnavailableError} The module (or one it imports) is TypeScript, this Node
 *   cannot strip types, and amaro is not installed; the message says how to fix it.
 * @throws Whatever importing the module throws (a syntax error, a missing import, a top-level
 *   throw); TypeScript-only syntax (enum, namespace) is refused with code
 *   `ERR_UNSUPPORTED_TYPESCRIPT_SYNTAX`, as Node 22.18+ refuses it.
 *
 * @example
 * ```ts
 * const { default: task } = await importModule('./tasks/resize.ts');
 * ```
 */
export async function importModule(specifier: string | URL): Promise<Record<string, unknown>> {
  const url = toFileUrl(specifier);
  const path = fileURLToPath(url);
  if (needsHooks(path)) registerHooks(url);
  if (isTypeScriptFile(path) && !nativeTypeScript() && findTranspiler([directoryOf(path), process.cwd()]) === undefined) {
    throw new TypeScriptUnavailableError(missingTranspilerMessage(path), path);
  }
  try {
    return (await import(url)) as Record<string, unknown>;
  } catch (error) {
    // The hooks thread throws it as a plain Error that keeps its code: give it back its class.
    if ((error as { code?: unknown } | null)?.code === 'ERR_SABRE_TYPESCRIPT_UNAVAILABLE' && !(error instanceof TypeScriptUnavailableError)) {
      const file = (error as { file?: unknown }).file;
      throw new TypeScriptUnavailableError((error as Error).message, typeof file === 'string' ? file : path);
    }
    throw error;
  }
}

/** A path (absolute, or relative to the working directory) or file: URL, as a file: URL's href. */
function toFileUrl(specifier: string | URL): string {
  if (specifier instanceof URL) return specifier.href;
  if (specifier.startsWith('file:')) return specifier;
  return pathToFileURL(isAbsolute(specifier) ? specifier : resolve(specifier)).href;
}
