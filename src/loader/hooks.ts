/**
 * Node module customization hooks (`module.register`) for the user modules sabre imports, in the
 * hooks thread of whichever thread registered them (src/loader/import-module.ts does, once per
 * thread). They do three things, each only where Node's own resolution or loading would fail:
 *
 * - `sabre` and `sabre/…` resolve to the sabre that is running when the user's module lives
 *   outside any project that installed sabre (a scenario file in a scratch folder).
 * - In a TypeScript module, a relative `./x.js` resolves to `./x.ts` (`.mjs` to `.mts`, `.cjs` to
 *   `.cts`) when only the TypeScript file exists, as tsc's NodeNext resolution lets one write.
 * - On a Node that cannot strip types by itself, `.ts`/`.mts`/`.cts` files are stripped with amaro
 *   in strip-only mode: types become whitespace, so lines and columns (stack traces) stay exact,
 *   and syntax that needs a transformation (enum, namespace, parameter properties) is refused, as
 *   Node 22.18+ refuses it.
 */
import { readFileSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TypeScriptUnavailableError } from '../errors.js';
import { isTypeScriptFile, missingTranspilerMessage } from './typescript-support.js';

/** What the registering thread tells the hooks (`register(…, { data })`). */
export interface HooksData {
  /** Strip types here: this Node cannot. */
  readonly strip: boolean;
  /** The path of amaro's entry, or null if it is not installed (then a .ts file fails with how to fix it). */
  readonly transpiler: string | null;
}

interface ResolveContext {
  readonly parentURL?: string | undefined;
  readonly conditions?: readonly string[];
  readonly importAttributes?: Record<string, string>;
}
interface ResolveResult {
  readonly url: string;
  readonly format?: string | null | undefined;
  readonly shortCircuit?: boolean;
}
type NextResolve = (specifier: string, context?: ResolveContext) => Promise<ResolveResult>;

interface LoadContext {
  readonly format?: string | null | undefined;
  readonly conditions?: readonly string[];
  readonly importAttributes?: Record<string, string>;
}
interface LoadResult {
  readonly format: string;
  readonly source?: string | ArrayBuffer | Uint8Array | null;
  readonly shortCircuit?: boolean;
}
type NextLoad = (url: string, context?: LoadContext) => Promise<LoadResult>;

/** amaro's `transformSync`, as far as sabre uses it. */
type StripTypes = (source: string, options: { mode: 'strip-only'; filename: string }) => { code: string };

/** An error amaro throws for a file it cannot strip. */
interface StripError {
  readonly code: string;
  readonly message: string;
  readonly startLine?: number;
  readonly startColumn?: number;
  readonly snippet?: string;
}

let strip = false;
let transpilerPath: string | null = null;
let stripTypes: StripTypes | undefined;

/** Called once with the registering thread's {@link HooksData}. */
export function initialize(data: HooksData): void {
  strip = data.strip;
  transpilerPath = data.transpiler;
}

/** A file of this package: resolving `sabre/…` as if imported from here is the package resolving its own name. */
const SELF = import.meta.url;

/** This package's root, and the specifiers its `exports` map offers ('sabre', 'sabre/pool', …). */
const ROOT = new URL('../../../', import.meta.url);
const ENTRY_POINTS = (() => {
  try {
    const pkg = JSON.parse(readFileSync(new URL('package.json', ROOT), 'utf8')) as { name: string; exports?: Record<string, unknown> };
    return Object.keys(pkg.exports ?? {})
      .filter((key) => !key.endsWith('.json'))
      .map((key) => (key === '.' ? pkg.name : `${pkg.name}/${key.slice(2)}`));
  } catch {
    return ['sabre'];
  }
})();

const isSabre = (specifier: string): boolean => specifier === 'sabre' || specifier.startsWith('sabre/');
const codeOf = (error: unknown): unknown => (error as { code?: unknown } | null)?.code;
const where = (parentURL: string | undefined): string => (parentURL?.startsWith('file:') ? fileURLToPath(parentURL) : (parentURL ?? 'the command line'));

/** Node's resolution, and then, only where it found nothing, the two fallbacks of the module comment. */
export async function resolve(specifier: string, context: ResolveContext, nextResolve: NextResolve): Promise<ResolveResult> {
  // Read now: Node may write what a later nextResolve is given into this same context object.
  const { parentURL } = context;
  try {
    return await nextResolve(specifier, context);
  } catch (error) {
    if (codeOf(error) !== 'ERR_MODULE_NOT_FOUND') throw error;
    const twin = typeScriptTwin(specifier, parentURL);
    if (twin !== undefined) return { url: twin, shortCircuit: true };
    if (isSabre(specifier)) return resolveSelf(specifier, parentURL, context, nextResolve);
    throw error;
  }
}

/** `sabre/…` from a module that cannot see an installed sabre: this sabre, through its own `exports`. */
async function resolveSelf(specifier: string, parentURL: string | undefined, context: ResolveContext, nextResolve: NextResolve): Promise<ResolveResult> {
  try {
    return await nextResolve(specifier, { ...context, parentURL: SELF });
  } catch (error) {
    const fix =
      codeOf(error) === 'ERR_PACKAGE_PATH_NOT_EXPORTED'
        ? `'${specifier}' is not an entry point of sabre: import one of ${ENTRY_POINTS.map((e) => `'${e}'`).join(', ')}`
        : `'${specifier}' is neither installed where the module is nor provided by the running sabre: install sabre in its project (\`npm install -D sabre\`)`;
    // Node's own wording last, so that the CLI finds the importing line as for any missing package.
    const failure = new Error(`${fix}. Cannot find package '${specifier}' imported from ${where(parentURL)}`, { cause: error });
    (failure as Error & { code: string }).code = 'ERR_MODULE_NOT_FOUND';
    throw failure;
  }
}

const TWIN_EXTENSION: Readonly<Record<string, string>> = { '.js': '.ts', '.mjs': '.mts', '.cjs': '.cts' };

/** `./x.js` written in a TypeScript module, when only `./x.ts` exists: the URL of `./x.ts` (tsc's NodeNext rule). */
function typeScriptTwin(specifier: string, parentURL: string | undefined): string | undefined {
  if (parentURL === undefined || !parentURL.startsWith('file:') || !isTypeScriptFile(parentURL)) return undefined;
  if (!/^(?:\.\.?\/|\/|file:)/.test(specifier)) return undefined; // a package's files are its own business
  const url = new URL(specifier, parentURL);
  const extension = /\.[cm]?js$/.exec(url.pathname)?.[0];
  if (extension === undefined) return undefined;
  url.pathname = url.pathname.slice(0, -extension.length) + TWIN_EXTENSION[extension];
  return statSync(url, { throwIfNoEntry: false })?.isFile() ? url.href : undefined;
}

/** Node's loading, except a TypeScript file on a Node that cannot strip types: stripped here. */
export async function load(url: string, context: LoadContext, nextLoad: NextLoad): Promise<LoadResult> {
  if (!strip || !url.startsWith('file:') || !isTypeScriptFile(url)) return nextLoad(url, context);
  const path = fileURLToPath(url);
  if (transpilerPath === null) throw new TypeScriptUnavailableError(missingTranspilerMessage(path), path);
  stripTypes ??= (createRequire(import.meta.url)(transpilerPath) as { transformSync: StripTypes }).transformSync;
  const source = await readFile(path, 'utf8');
  let code: string;
  try {
    code = stripTypes(source, { mode: 'strip-only', filename: path }).code;
  } catch (error) {
    throw strippingError(path, error);
  }
  return { format: formatOf(path, source), source: code, shortCircuit: true };
}

/**
 * amaro's error as Node 22.18+ reports the same file: its code (ERR_UNSUPPORTED_TYPESCRIPT_SYNTAX
 * or ERR_INVALID_TYPESCRIPT_SYNTAX), a message that says where and what to do, and a stack that
 * starts with `file:line` and the offending source, as Node prints a syntax error.
 */
function strippingError(path: string, error: unknown): Error {
  const swc = error as Partial<StripError> | null;
  if (typeof swc?.code !== 'string' || typeof swc.message !== 'string') return error as Error;
  const at = swc.startLine !== undefined ? `${path}:${swc.startLine}${swc.startColumn !== undefined ? `:${swc.startColumn + 1}` : ''}` : path;
  const unsupported = swc.code === 'UnsupportedSyntax';
  const message = unsupported
    ? `${swc.message} (${at}): sabre runs TypeScript by stripping its types, as Node 22.18+ does, so syntax that would need ` +
      'compiling (enum, namespace, parameter properties) is refused: write it in plain JavaScript (an `as const` object ' +
      'for an enum), or compile the module with tsc and pass the .js file'
    : `${swc.message} (${at})`;
  const failure = new SyntaxError(message); // as Node 22.18+ throws both kinds
  (failure as Error & { code: string }).code = unsupported ? 'ERR_UNSUPPORTED_TYPESCRIPT_SYNTAX' : 'ERR_INVALID_TYPESCRIPT_SYNTAX';
  // amaro's snippet pads with blank lines; where the CLI reads the excerpt, a blank line ends it.
  const snippet = (swc.snippet ?? '').split('\n').filter((line) => line.trim() !== '');
  if (swc.startLine !== undefined) failure.stack = [`${path}:${swc.startLine}`, ...snippet, '', failure.stack ?? ''].join('\n');
  return failure;
}

/**
 * The module format of a stripped TypeScript file, by Node's rules for its JavaScript twin: `.mts`
 * is ESM, `.cts` CommonJS, `.ts` what the nearest package.json's `type` says, and with no `type`,
 * ESM if it has import/export statements (Node's syntax detection), else CommonJS. Read from the
 * TypeScript source: a module that only exports types strips to nothing, yet is a module (as
 * Node 22.18+ takes it), and so is one that only imports types.
 */
function formatOf(path: string, source: string): 'module' | 'commonjs' {
  if (path.endsWith('.mts')) return 'module';
  if (path.endsWith('.cts')) return 'commonjs';
  const type = packageTypeOf(dirname(path));
  if (type === 'module' || type === 'commonjs') return type;
  return /^[ \t]*(?:import[\s{*'"]|export[\s{*])|\bimport\.meta\b/m.test(source) ? 'module' : 'commonjs';
}

const packageTypes = new Map<string, string | undefined>();

/** The `type` of the package.json nearest to `directory` (undefined if it has none, or there is none). */
function packageTypeOf(directory: string): string | undefined {
  if (packageTypes.has(directory)) return packageTypes.get(directory);
  let type: string | undefined;
  try {
    type = (JSON.parse(readFileSync(join(directory, 'package.json'), 'utf8')) as { type?: string }).type ?? '';
  } catch (error) {
    const parent = dirname(directory);
    // No package.json here (or one Node could not read either): the nearest one is further up.
    type = codeOf(error) === 'ENOENT' && parent !== directory ? packageTypeOf(parent) : undefined;
  }
  const known = type === '' ? undefined : type;
  packageTypes.set(directory, known);
  return known;
}
