/**
 * A pool's life at its edges, on real threads: a task module that fails to load, closing with a
 * deep queue (in-process and on SIGTERM), and the options createPool, run() and close() accept.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { until } from './support/threads.js';
// The pool starts compiled workers, so these tests load the compiled package too: one copy of
// every class, so instanceof holds for errors thrown on either side. (Loaded by a computed URL so
// that the compiler takes the types from src/ and never reads dist/.)
const compiled = (path: string): Promise<unknown> => import(new URL(path, import.meta.url).href);
const { IllegalStateError, InvalidArgumentError, TimeoutError } = (await compiled('../dist/src/index.js')) as typeof import('../src/index.js');
const { createPool } = (await compiled('../dist/src/pool/index.js')) as typeof import('../src/pool/index.js');
type SabrePool = import('../src/pool/index.js').SabrePool;
type Latch = import('../src/index.js').Latch;

const TASKS = new URL('../dist/test/workers/pool-task.js', import.meta.url);
const THROWS_AT_LOAD = new URL('./fixtures/throw-at-load.mjs', import.meta.url);
const pools: SabrePool[] = [];
function pool(options: Partial<Parameters<typeof createPool>[0]> = {}): SabrePool {
  const p = createPool({ filename: TASKS, threads: 2, signals: false, ...options });
  pools.push(p);
  return p;
}
afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.close({ deadlineMs: 1_000 })));
});

/** Settles within `ms` or fails the test: a task that should reject must not hang instead. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: still pending after ${ms} ms`)), ms)));
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/** Runs `node fixture ...args`; resolves to its exit and output once it ends (killed after `limitMs`). */
async function runFixture(
  fixture: string,
  args: string[],
  limitMs: number,
): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [fileURLToPath(new URL(`./fixtures/${fixture}`, import.meta.url)), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const killer = setTimeout(() => child.kill('SIGKILL'), limitMs);
  const [code, signal] = (await once(child, 'exit')) as [number | null, string | null];
  clearTimeout(killer);
  return { code, signal, stdout, stderr };
}

describe('a task module that throws while it loads', () => {
  const modulePath = fileURLToPath(THROWS_AT_LOAD);

  it('does not crash a process that listens to no error event: every run() rejects, naming the module', async () => {
    const { code, signal, stdout, stderr } = await runFixture('pool-load-error.mjs', [], 60_000);
    expect(stderr).toBe('');
    expect({ code, signal }).toEqual({ code: 0, signal: null });
    const lines = stdout.trim().split('\n');
    expect(lines.at(-1)).toBe('closed');
    const outcomes = lines.slice(0, -1).map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(outcomes).toHaveLength(4);
    for (const outcome of outcomes) {
      expect(outcome).toMatchObject({ name: 'IllegalStateError', code: 'ERR_SABRE_ILLEGAL_STATE', cause: 'boom at load' });
      expect(outcome.message).toContain(modulePath);
      expect(outcome.message).toContain('boom at load');
    }
  });

  it("reports a failure with no task on it to an 'error' listener; a run() after every worker failed rejects too", async () => {
    const p = pool({ filename: THROWS_AT_LOAD, threads: 2 });
    const errors: unknown[] = [];
    p.on('error', (error) => errors.push(error));
    // One task for two workers: the other worker fails with nothing to reject but the event.
    const first = await within(p.run({ op: 'threadId' }), 30_000, 'the first run()').catch((error: unknown) => error);
    expect(first).toBeInstanceOf(IllegalStateError);
    expect((first as Error).message).toMatch(/the task module .* failed to load in worker \d+: Error: boom at load/);
    expect((first as Error).message).toContain(modulePath);
    expect(((first as Error).cause as Error).message).toBe('boom at load');
    await until(() => errors.length > 0, "an 'error' event");
    expect(errors[0]).toBeInstanceOf(IllegalStateError);
    expect((errors[0] as Error).message).toContain(modulePath);
    expect(((errors[0] as Error).cause as Error).message).toBe('boom at load');
    await until(() => p.threads === 0, 'every worker has failed');
    // No worker is left and piscina starts none by itself: the task must fail, not wait forever.
    const later = await within(p.run({ op: 'threadId' }), 30_000, 'a run() after every worker failed').catch((error: unknown) => error);
    expect(later).toBeInstanceOf(IllegalStateError);
    expect((later as Error).message).toContain(modulePath);
  });
});

describe('a worker that fails with no task on it', () => {
  it("after loading the module: an 'error' listener gets the error as it is; without one it is a process warning", async () => {
    const CRASHES = new URL('./fixtures/crash-when-idle.mjs', import.meta.url);
    const warnings: Error[] = [];
    const onWarning = (warning: Error): void => void warnings.push(warning);
    process.on('warning', onWarning);
    try {
      const unheard = pool({ filename: CRASHES, threads: 1 });
      await expect(unheard.run(null)).resolves.toBe('answered');
      await until(() => warnings.some((w) => (w as { code?: string }).code === 'SABRE_WORKER_ERROR'), 'a process warning');
      expect(warnings.find((w) => (w as { code?: string }).code === 'SABRE_WORKER_ERROR')!.message).toMatch(
        /a worker died with no task running: Error: crash while idle/,
      );
    } finally {
      process.off('warning', onWarning);
    }
    const heard = pool({ filename: CRASHES, threads: 1 });
    const errors: unknown[] = [];
    heard.on('error', (error) => errors.push(error));
    await expect(heard.run(null)).resolves.toBe('answered');
    await until(() => errors.length > 0, "an 'error' event");
    expect((errors[0] as Error).message).toBe('crash while idle');
    await expect(heard.run(null)).resolves.toBe('answered'); // the worker was replaced
  });
});

describe('close() with a deep queue', () => {
  const closedBeforeStart = /SabrePool\.close\(\): the pool closed before this task started/;

  it('rejects every task not yet started at once, with a typed error, and lets the started ones finish', async () => {
    const p = pool({ threads: 2 });
    await p.broadcast('ping');
    // Two tasks start at once (one per worker) and take a while; 200,000 queue behind them.
    const started = [p.run<number>({ op: 'sleep', ms: 300 }), p.run<number>({ op: 'sleep', ms: 300 })];
    const queued: Array<Promise<{ value: unknown } | { error: unknown }>> = [];
    for (let i = 0; i < 200_000; i++)
      queued.push(
        p.run({ op: 'threadId' }).then(
          (value) => ({ value }),
          (error: unknown) => ({ error }),
        ),
      );
    const begun = performance.now();
    await within(p.close({ deadlineMs: 1_000 }), 1_000 + 5_000, 'close()');
    expect(performance.now() - begun).toBeLessThan(1_000 + 5_000); // the deadline is the feature: a generous bound on it
    await expect(Promise.all(started)).resolves.toEqual([expect.any(Number), expect.any(Number)]);
    const outcomes = await Promise.all(queued);
    const wrong = outcomes.filter((o) => !('error' in o && o.error instanceof IllegalStateError && closedBeforeStart.test((o.error as Error).message)));
    expect(wrong).toEqual([]);
    expect(p.threads).toBe(0);
  });

  it('terminates a task still running at the deadline; it rejects with TimeoutError', async () => {
    const p = pool({ threads: 1, primitives: { spinning: { kind: 'latch', count: 1 } } });
    const spinning = p.run({ op: 'spin' }).catch((error: unknown) => error);
    await (p.primitives.spinning as Latch).waitAsync();
    const queued = p.run({ op: 'threadId' }).catch((error: unknown) => error);
    const begun = performance.now();
    await within(p.close({ deadlineMs: 500 }), 500 + 5_000, 'close()');
    expect(performance.now() - begun).toBeLessThan(500 + 5_000);
    const error = await spinning;
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as Error).message).toMatch(/did not finish within the shutdown deadline of 500 ms/);
    expect(await queued).toBeInstanceOf(IllegalStateError);
    expect(p.threads).toBe(0);
  });

  it('SIGTERM with a deep queue: the process exits with code 0 within shutdownDeadlineMs + a few seconds', async () => {
    // 500,000 tiny tasks queue behind one that sleeps for a minute: only the deadline ends it.
    const child = spawn(process.execPath, [fileURLToPath(new URL('./fixtures/pool-deep-queue.mjs', import.meta.url)), '500000', '3000'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const exited = once(child, 'exit') as Promise<[number | null, string | null]>;
    const killer = setTimeout(() => child.kill('SIGKILL'), 90_000);
    try {
      const [line] = (await once(child.stdout, 'data')) as [Buffer];
      expect(line.toString().trim()).toBe('ready');
      const begun = performance.now();
      child.kill('SIGTERM');
      const [code, signal] = await exited;
      expect(performance.now() - begun).toBeLessThan(3_000 + 5_000);
      expect(stderr).toBe('');
      expect({ code, signal }).toEqual({ code: 0, signal: null });
    } finally {
      clearTimeout(killer);
    }
  });
});

describe("the pool's own queue", () => {
  it('a queued task aborted or timed out rejects at once, never runs, and the queue goes on', async () => {
    const p = pool({ threads: 1, primitives: { spinning: { kind: 'latch', count: 1 } } });
    const controller = new AbortController();
    const spinning = p.run({ op: 'spin' }, { signal: controller.signal }).catch((error: Error) => error.name);
    await (p.primitives.spinning as Latch).waitAsync();
    const aborted = new AbortController();
    const dropped = p.run({ op: 'threadId' }, { signal: aborted.signal });
    const late = p.run({ op: 'threadId' }, { timeoutMs: 100 });
    const next = p.run<number>({ op: 'threadId' });
    aborted.abort();
    await expect(within(dropped, 5_000, 'the aborted task')).rejects.toMatchObject({ name: 'AbortError' });
    await expect(within(late, 5_000, 'the timed-out task')).rejects.toThrow(TimeoutError);
    await expect(late).rejects.toThrow(/did not start within 100 ms/);
    controller.abort(); // the worker is replaced; the queue goes on with the one live task
    await expect(spinning).resolves.toBe('AbortError');
    await expect(within(next, 30_000, 'the next task')).resolves.toEqual(expect.any(Number));
    const [stats] = await p.broadcast('stats');
    expect(stats!.completed).toBe(1); // only `next` ran on the replacement worker
  });
});

describe('options', () => {
  it('createPool refuses unknown and misspelt options, and null, each naming the option', () => {
    const bad: Array<[Record<string, unknown>, RegExp]> = [
      [{ thread: 2 }, /createPool\(\) options: unknown option "thread"/],
      [{ taskTimeoutMS: 10 }, /unknown option "taskTimeoutMS"/],
      [{ memory: { limitMB: 100 } }, /memory: unknown option "limitMB"/],
      [{ taskTimeoutMs: null }, /taskTimeoutMs must be a number > 0.*got null/],
      [{ threads: null }, /threads must be an integer from 1 to 1024, got null/],
      [{ shutdownDeadlineMs: null }, /shutdownDeadlineMs must be a number >= 0.*got null/],
      [{ signals: null }, /signals must be a boolean, got null/],
      [{ primitives: null }, /primitives must be an object/],
      [{ memory: null }, /memory must be an object, got null/],
      [{ memory: { limitMb: null } }, /memory.limitMb must be a number > 0, got null/],
      [{ memory: { limitMb: 100, warnRatio: null } }, /memory.warnRatio must be a number between 0 and 1, got null/],
      [{ memory: { limitMb: 100, onLimit: null } }, /memory.onLimit must be 'reject' or 'evict', got null/],
      [{ memory: { limitMb: 100, intervalMs: null } }, /memory.intervalMs must be a number > 0.*got null/],
      // A Node.js timer fires after 1 ms past 2^31 - 1 ms: such a timeout or deadline would be instant.
      [{ taskTimeoutMs: 2 ** 31 }, /taskTimeoutMs must be a number > 0 and at most 2147483647/],
      [{ shutdownDeadlineMs: 1e12 }, /shutdownDeadlineMs must be a number >= 0 and at most 2147483647/],
      [{ memory: { limitMb: 100, intervalMs: Infinity } }, /memory.intervalMs/],
      // null is not "no cache": SharedCache.create refuses it, as it refuses its own bad options.
      [{ cache: null }, /needs an options object, got null/],
      [{ cache: { maxEntries: 10, maxBytes: 1_000, maxEntry: 5 } }, /unknown option "maxEntry"/],
    ];
    for (const [options, message] of bad) {
      expect(() => createPool({ filename: TASKS, signals: false, ...options } as never), JSON.stringify(options)).toThrow(InvalidArgumentError);
      expect(() => createPool({ filename: TASKS, signals: false, ...options } as never), JSON.stringify(options)).toThrow(message);
    }
  });

  it('a getter that throws is an InvalidArgumentError naming the option', () => {
    const options = { filename: TASKS, signals: false };
    Object.defineProperty(options, 'threads', {
      enumerable: true,
      get: () => {
        throw new Error('no threads today');
      },
    });
    expect(() => createPool(options as never)).toThrow(InvalidArgumentError);
    expect(() => createPool(options as never)).toThrow(/threads: reading it threw Error: no threads today/);
  });

  it('run() and close() refuse unknown options and null the same way', async () => {
    const p = pool({ threads: 1 });
    await expect(p.run({ op: 'threadId' }, { timeout: 5 } as never)).rejects.toThrow(/SabrePool.run\(\) options: unknown option "timeout"/);
    await expect(p.run({ op: 'threadId' }, { timeoutMs: null } as never)).rejects.toThrow(InvalidArgumentError);
    await expect(p.run({ op: 'threadId' }, { signal: 'stop' } as never)).rejects.toThrow(/options.signal must be an AbortSignal/);
    await expect(p.run({ op: 'threadId' }, null as never)).rejects.toThrow(InvalidArgumentError);
    await expect(p.close({ deadline: 5 } as never)).rejects.toThrow(/SabrePool.close\(\) options: unknown option "deadline"/);
    await expect(p.close({ deadlineMs: -1 })).rejects.toThrow(InvalidArgumentError);
    await expect(p.run({ op: 'threadId' })).resolves.toEqual(expect.any(Number)); // refused calls changed nothing
  });
});
