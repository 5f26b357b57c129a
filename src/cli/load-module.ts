/**
 * Loads a user's scenario module (`--module file`, or the module of a replay token) on the main
 * thread before anything runs, and turns a failure to load it into a usage error that says where:
 * the file and line of a syntax error, of a throw at top level, or of an import that does not
 * resolve.
 *
 * Node's SyntaxError for an ES module carries no location in its message or its stack (only
 * "Unexpected token ';'"); the location exists only in what Node prints for an uncaught error. So
 * for a syntax error with no frame of the user's code in its stack, and only then, a child Node
 * (same flags, so loaders apply) imports the module and its stderr gives the location. Such an
 * error comes from parsing the module graph, which happens before any of it runs, so nothing runs
 * in the child either (short of a top-level `await import()` of a broken file, where the code
 * before it runs again).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { importModule } from '../loader/import-module.js';
import { UsageError } from './exit-codes.js';

/** Imports the module at `fileOrUrl` (a path, or a file: URL); returns its file: URL. */
export async function loadUserModule(fileOrUrl: string, what = '--module'): Promise<string> {
  const url = fileOrUrl.startsWith('file:') ? fileOrUrl : pathToFileURL(resolve(fileOrUrl)).href;
  const path = fileURLToPath(url);
  if (!existsSync(path)) throw new UsageError(`${what} ${display(path)}: no such file`);
  try {
    await importModule(url);
  } catch (error) {
    throw new UsageError(describeLoadError(`${what} ${display(path)}`, url, error));
  }
  return url;
}

/** Where a load failed: a file: URL or path, a line, and maybe the source line and a caret under it. */
interface Location {
  readonly file: string;
  readonly line: number;
  readonly column?: number;
  readonly excerpt?: readonly string[];
}

/** "<what> does not load: <error>", then "  at file:line[:column]" and the offending source line when known. */
export function describeLoadError(what: string, url: string, error: unknown): string {
  const text = error instanceof Error ? `${error.name}${codeOf(error)}: ${error.message}` : String(error);
  const where = error instanceof Error ? locate(url, error) : undefined;
  const lines = [`${what} does not load: ${text}`];
  if (where) {
    lines.push(`  at ${display(where.file)}:${where.line}${where.column !== undefined ? `:${where.column}` : ''}`);
    for (const line of where.excerpt ?? []) lines.push(`    ${line}`);
  }
  return lines.join('\n');
}

function codeOf(error: Error): string {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? ` [${code}]` : '';
}

function locate(url: string, error: Error): Location | undefined {
  const stack = error.stack ?? '';
  return fromArrow(stack) ?? fromMissingImport(error) ?? fromFrames(stack) ?? (error.name === 'SyntaxError' ? fromChild(url) : undefined);
}

/** sabre's own compiled code (the CLI's frames below the import are not where a module failed). */
const SABRE_CODE = [new URL('../', import.meta.url), new URL('../../workers/', import.meta.url)].map((dir) => fileURLToPath(dir));

/**
 * The "arrow" Node puts before an error it prints: `file:///x.mjs:3`, the source line, a caret
 * line. Linking errors (an export that does not exist) carry it in their stack; a syntax error
 * only in what Node prints when it is uncaught.
 */
function fromArrow(text: string): Location | undefined {
  const lines = text.split('\n');
  const at = lines.findIndex((line) => /^(?:file:\/\/|\/|[A-Za-z]:\\).*:\d+$/.test(line));
  if (at < 0) return undefined;
  const match = /^(.*):(\d+)$/.exec(lines[at]!)!;
  const excerpt: string[] = [];
  for (const line of lines.slice(at + 1, at + 3)) {
    if (line.trim() === '' || /^\w*Error\b/.test(line)) break;
    excerpt.push(line);
  }
  return { file: match[1]!, line: Number(match[2]), excerpt };
}

/** The first stack frame in a file (not in Node's internals): where a top-level throw was thrown. */
function fromFrames(stack: string): Location | undefined {
  for (const line of stack.split('\n').slice(1)) {
    const match = /^\s+at (?:.*? \()?((?:file:\/\/|\/|[A-Za-z]:\\)[^()]*?):(\d+):(\d+)\)?$/.exec(line);
    if (!match) continue;
    const file = match[1]!;
    const path = file.startsWith('file:') ? fileURLToPath(file) : file;
    if (SABRE_CODE.some((dir) => path.startsWith(dir))) continue;
    const excerpt = sourceLine(file, Number(match[2]), Number(match[3]));
    return { file, line: Number(match[2]), column: Number(match[3]), ...(excerpt ? { excerpt } : {}) };
  }
  return undefined;
}

/** "Cannot find package 'x' imported from /m.mjs": the line of /m.mjs that imports 'x'. */
function fromMissingImport(error: Error): Location | undefined {
  if ((error as { code?: unknown }).code !== 'ERR_MODULE_NOT_FOUND') return undefined;
  const match = /Cannot find (?:package|module) '([^']+)' imported from (.+)$/.exec(error.message);
  if (!match) return undefined;
  const [, missing, importer] = match as unknown as [string, string, string];
  let source: string;
  try {
    source = readFileSync(importer.startsWith('file:') ? fileURLToPath(importer) : importer, 'utf8');
  } catch {
    return undefined;
  }
  // A package is named as written; a missing file as its resolved path, so look for its last part.
  const needle = isAbsolute(missing) ? missing.slice(missing.replaceAll('\\', '/').lastIndexOf('/') + 1) : missing;
  const index = source.split('\n').findIndex((line) => new RegExp(`['"\`][^'"\`]*${escapeRegExp(needle)}['"\`]`).test(line));
  if (index < 0) return { file: importer, line: 1, excerpt: [] };
  return { file: importer, line: index + 1, excerpt: [source.split('\n')[index]!.trimEnd()] };
}

/** sabre's importModule, which the child uses too (a TypeScript module needs its hooks there as well). */
const IMPORT_MODULE = new URL('../loader/import-module.js', import.meta.url).href;

/** A syntax error: a child Node imports the module and prints the location Node knows. */
function fromChild(url: string): Location | undefined {
  const child = spawnSync(
    process.execPath,
    [...process.execArgv, '--input-type=module', '-e', `await (await import(${JSON.stringify(IMPORT_MODULE)})).importModule(${JSON.stringify(url)});`],
    {
      encoding: 'utf8',
      stdio: ['ignore', 'ignore', 'pipe'],
      timeout: 15_000,
    },
  );
  return child.status !== 0 && child.stderr ? fromArrow(child.stderr) : undefined;
}

function sourceLine(file: string, line: number, column: number): string[] | undefined {
  try {
    const text = readFileSync(file.startsWith('file:') ? fileURLToPath(file) : file, 'utf8').split('\n')[line - 1];
    return text === undefined ? undefined : [text.trimEnd(), `${' '.repeat(Math.max(0, column - 1))}^`];
  } catch {
    return undefined;
  }
}

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** A file: URL or path as a path, relative to the working directory when it is inside it. */
function display(file: string): string {
  const path = file.startsWith('file:') ? fileURLToPath(file) : file;
  const rel = relative(process.cwd(), path);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}
