/**
 * A crowd for `sabre bench tiered`: `processes` child processes (bench/workers/tiered-process.ts)
 * of `threads` worker threads each, every thread a TieredCache on the same Redis. `run(op)` hands
 * one operation to every thread of every process at once, only after all are connected and done
 * with the previous one, and resolves with every thread's result.
 *
 * Every wait is bounded: a crowd that is not ready, or does not answer, within `limitMs` is
 * killed and the call rejects. `close()` ends the processes (their stdin closes) and kills any
 * that has not gone within 10 s.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { RedisCacheOptions } from '../../src/redis/index.js';

/** An operation every thread of the crowd runs at once (bench/workers/tiered-caller.ts). */
export type TieredOp =
  | { readonly op: 'stampede'; readonly key: string; readonly callers: number }
  | { readonly op: 'increment'; readonly key: string; readonly count: number }
  | { readonly op: 'claim'; readonly key: string }
  | { readonly op: 'exit' };

/** What one thread saw: whether it ran the computation (stampede), whether it won (claim). */
export interface CallerResult {
  readonly computed?: boolean;
  readonly won?: boolean;
}

/** How long a stampede's computation takes once every caller is in (a slow backend). */
export const COMPUTE_MS = 20;

const PROCESS = fileURLToPath(new URL('../workers/tiered-process.js', import.meta.url));
const STOP_LIMIT_MS = 10_000;

class Member {
  readonly child: ChildProcess;
  readonly #replies: string[] = [];
  readonly #waiting: Array<(line: string) => void> = [];
  #stderr = '';

  constructor(config: { options: RedisCacheOptions; threads: number; id: number }) {
    this.child = spawn(process.execPath, [PROCESS, JSON.stringify(config)], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stderr!.on('data', (data) => (this.#stderr = (this.#stderr + data).slice(-4_000)));
    createInterface({ input: this.child.stdout! }).on('line', (line) => {
      const waiter = this.#waiting.shift();
      if (waiter) waiter(line);
      else this.#replies.push(line);
    });
    this.child.once('exit', (code, signal) => {
      for (const waiter of this.#waiting.splice(0)) waiter(JSON.stringify({ error: `crowd process exited (${code ?? signal}): ${this.#stderr}` }));
    });
  }

  /** The next line the process prints (an error line if it has exited). */
  line(): Promise<string> {
    const line = this.#replies.shift();
    if (line !== undefined) return Promise.resolve(line);
    if (this.child.exitCode !== null || this.child.signalCode !== null)
      return Promise.resolve(JSON.stringify({ error: `crowd process exited (${this.child.exitCode ?? this.child.signalCode}): ${this.#stderr}` }));
    return new Promise((resolve) => this.#waiting.push(resolve));
  }
}

export class Crowd {
  readonly processes: number;
  readonly threads: number;
  readonly #members: Member[];
  readonly #limitMs: number;

  private constructor(members: Member[], threads: number, limitMs: number) {
    this.#members = members;
    this.processes = members.length;
    this.threads = threads;
    this.#limitMs = limitMs;
  }

  /** Starts the crowd and waits (at most `limitMs`) until every thread is connected. */
  static async start(options: RedisCacheOptions, processes: number, threads: number, limitMs = 60_000): Promise<Crowd> {
    const crowd = new Crowd(
      Array.from({ length: processes }, (_, id) => new Member({ options, threads, id })),
      threads,
      limitMs,
    );
    try {
      const lines = await crowd.#bounded(
        crowd.#members.map((m) => m.line()),
        'to connect',
      );
      const bad = lines.find((line) => line !== 'ready');
      if (bad !== undefined) throw new Error(`a crowd process failed to start: ${bad}`);
    } catch (error) {
      await crowd.close();
      throw error;
    }
    return crowd;
  }

  /** Every thread of every process (processes × threads). */
  get callers(): number {
    return this.processes * this.threads;
  }

  /** Hands `op` to every thread at once; resolves with all their results once all have answered. */
  async run(op: TieredOp): Promise<CallerResult[]> {
    const answers = this.#members.map((m) => m.line());
    const line = `${JSON.stringify(op)}\n`;
    for (const m of this.#members) m.child.stdin!.write(line);
    const results: CallerResult[] = [];
    for (const text of await this.#bounded(answers, `to run ${op.op}`)) {
      const answer = JSON.parse(text) as { results: CallerResult[] } | { error: string };
      if ('error' in answer) throw new Error(`crowd ${op.op}: ${answer.error}`);
      results.push(...answer.results);
    }
    return results;
  }

  /** Ends every process: stdin closed (each stops its threads), then SIGKILL for any still there after 10 s. */
  async close(): Promise<void> {
    await Promise.all(
      this.#members.map(async ({ child }) => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const gone = new Promise((resolve) => child.once('exit', resolve));
        child.stdin!.end();
        const timer = setTimeout(() => child.kill('SIGKILL'), STOP_LIMIT_MS);
        await gone;
        clearTimeout(timer);
      }),
    );
  }

  /** All of `waits`, or a rejection (and every process killed) after the crowd's limit. */
  async #bounded<T>(waits: Promise<T>[], what: string): Promise<T[]> {
    let timer: NodeJS.Timeout | undefined;
    const limit = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        for (const { child } of this.#members) child.kill('SIGKILL');
        reject(new Error(`the crowd of ${this.processes} processes took more than ${this.#limitMs} ms ${what}`));
      }, this.#limitMs);
    });
    try {
      return await Promise.race([Promise.all(waits), limit]);
    } finally {
      clearTimeout(timer);
    }
  }
}
