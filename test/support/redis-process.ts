/**
 * Child processes for the cross-process Redis tests: each runs a script of test/support from
 * dist/ (`npm run build` first, as `npm test` does), prints 'ready' once connected, starts on a
 * line on stdin (so that a race starts at once in every child), and prints its result as one
 * JSON line. Every child is killed after CHILD_LIMIT_MS whatever happens.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { RedisTarget } from '../../src/redis/index.js';
import { targetArg } from './redis-target.js';

export const CHILD_LIMIT_MS = 60_000;

/** The built script test/support/`name`.js; throws saying to build when it is missing. */
export function builtScript(name: string): string {
  const file = fileURLToPath(new URL(`../../dist/test/support/${name}.js`, import.meta.url));
  if (!existsSync(file)) throw new Error(`${file} is missing: run \`npm run build\` first`);
  return file;
}

/** A child process; `ready` once it printed 'ready', `go()` starts it, `result` is the JSON it printed last (`{ result }`). */
export class Child {
  readonly process: ChildProcess;
  readonly ready: Promise<void>;
  readonly result: Promise<unknown>;
  readonly lines: string[] = [];
  #onLine = new Set<(line: string) => void>();
  /** What the waits for a line do when the child exits first (one 'exit' listener for them all). */
  readonly #onExit = new Set<() => void>();

  constructor(script: string, args: readonly string[]) {
    this.process = spawn(process.execPath, [script, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    const killer = setTimeout(() => this.process.kill('SIGKILL'), CHILD_LIMIT_MS);
    let stderr = '';
    this.process.stderr!.on('data', (data) => (stderr += data));
    createInterface({ input: this.process.stdout! }).on('line', (line) => {
      this.lines.push(line);
      for (const listener of this.#onLine) listener(line);
    });
    this.ready = this.printed('ready');
    this.result = new Promise((resolve, reject) => {
      this.process.once('exit', (code, signal) => {
        clearTimeout(killer);
        for (const listener of this.#onExit) listener();
        const last = this.lines.findLast((line) => line.startsWith('{'));
        if (code === 0 && last !== undefined) resolve((JSON.parse(last) as { result: unknown }).result);
        else reject(new Error(`child ${args.join(' ')} exited ${code ?? signal}: ${stderr}`));
      });
    });
    this.result.catch(() => {}); // observed by the test that awaits it; killed children reject by design
  }

  /** Resolves when the child has printed `line` (or rejects when it exits first). */
  printed(line: string): Promise<void> {
    if (this.lines.includes(line)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const listener = (got: string) => {
        if (got === line) {
          this.#onLine.delete(listener);
          resolve();
        }
      };
      this.#waitLine(listener, reject, JSON.stringify(line));
    });
  }

  /** The first line the child printed (or prints next) that starts with `prefix`, after the first `skip` such lines. */
  next(prefix: string, skip = 0): Promise<string> {
    const seen = this.lines.filter((line) => line.startsWith(prefix));
    if (seen.length > skip) return Promise.resolve(seen[skip]!);
    let count = seen.length;
    return new Promise((resolve, reject) => {
      const listener = (got: string) => {
        if (got.startsWith(prefix) && count++ === skip) {
          this.#onLine.delete(listener);
          resolve(got);
        }
      };
      this.#waitLine(listener, reject, `a line starting ${JSON.stringify(prefix)}`);
    });
  }

  #waitLine(listener: (line: string) => void, reject: (error: Error) => void, what: string): void {
    this.#onLine.add(listener);
    if (this.process.exitCode !== null || this.process.signalCode !== null) {
      reject(new Error(`the child exited before printing ${what}`));
      return;
    }
    const exited = () => {
      this.#onLine.delete(listener);
      reject(new Error(`the child exited before printing ${what}`));
    };
    // (Left in the set once the line came: a reject after the resolve does nothing.)
    this.#onExit.add(exited);
  }

  /** Writes one line to the child's stdin ('go' starts a child that waits for it). */
  send(line = 'go'): void {
    this.process.stdin!.write(`${line}\n`);
  }

  go(): void {
    this.send('go');
  }
}

/** Starts `count` children, waits until all are connected, then starts them together and returns their results. */
export async function race(count: number, make: (i: number) => Child): Promise<unknown[]> {
  const children = Array.from({ length: count }, (_, i) => make(i));
  await Promise.all(children.map((child) => child.ready));
  for (const child of children) child.go();
  return Promise.all(children.map((child) => child.result));
}

/** A child running one RedisCache op (test/support/redis-child.ts) against `target`. */
export function cacheChild(target: RedisTarget, prefix: string, op: string, key: string, arg: number): Child {
  return new Child(builtScript('redis-child'), [targetArg(target), prefix, op, key, String(arg)]);
}
