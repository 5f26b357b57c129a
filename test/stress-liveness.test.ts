/**
 * The harness when the code under test hangs, deadlocks or throws: each is an outcome of the
 * trial, named with what the stuck actors were doing, and every run ends within its budget plus
 * one trial deadline. Also: single-implementation scenarios, per-trial replay tokens, the budget
 * as a bound, Ctrl-C, and the watchdog that ends a run whose main thread is stuck.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// Workers import the compiled scenario modules, so the tests use the compiled harness too.
type Stress = typeof import('../src/stress/index.js');
const stress = (await import(new URL('../dist/src/stress/index.js', import.meta.url).href)) as Stress;
const { runVariant, decodeToken, RunReportSchema } = stress;
type Scenario = import('../src/stress/index.js').Scenario;

const FIXTURE = fileURLToPath(new URL('../dist/test/fixtures/stress-liveness.js', import.meta.url));
const fixtures = (await import(FIXTURE)) as Record<string, Scenario>;
const bin = fileURLToPath(new URL('../dist/src/cli/main.js', import.meta.url));
const entry = (name: string) => ({ scenario: fixtures[name]!, module: FIXTURE });

/** The trial deadline the runner uses before it knows the median trial (runner.ts). */
const LEAST_DEADLINE_MS = 1_000;
/** What closing a pool and starting the next may add on a loaded machine (not a timing assertion: a bound on "never hangs"). */
const SLACK_MS = 10_000;

describe('hangs and deadlocks are outcomes', () => {
  it('a lost wake-up (check, then wait on another word) is a hang: the stuck actor is named, the run ends within budget + deadline', async () => {
    const verdict = await runVariant(entry('lostWakeup'), 'single', { seed: 1, budgetMs: 10_000 });
    expect(verdict).toMatchObject({ passed: false, forbidden: 1, firstForbidden: { outcome: 'hang' } });
    expect(verdict.summary).toMatch(/^outcome hang after \d+ trials$/);
    expect(verdict.firstForbidden!.detail).toMatch(/^no progress for \d+ ms: actor 0 in trial \d+: it did not return \(not parked in a sabre primitive/);
    expect(verdict.firstForbidden!.detail).toMatch(/actor 1 finished and waited for the others/);
    expect(verdict.elapsedMs).toBeLessThan(10_000 + LEAST_DEADLINE_MS + SLACK_MS);
  });

  it('two mutexes taken in opposite orders are a deadlock, reported with its cycle', async () => {
    const verdict = await runVariant(entry('lockOrder'), 'single', { seed: 1, budgetMs: 10_000 });
    expect(verdict.firstForbidden).toMatchObject({ outcome: 'deadlock' });
    expect(verdict.firstForbidden!.detail).toBe(
      'deadlock: actor 0 waits for Mutex state.audit, held by actor 1; actor 1 waits for Mutex state.accounts, held by actor 0',
    );
    // The trials before the deadlock were judged: none of their outcomes is lost with the threads.
    const done = verdict.histogram.find((h) => h.outcome === 'done')?.count ?? 0;
    expect(done + 1).toBe(verdict.trials);
    expect(verdict.firstForbiddenTrial).toBe(verdict.trials - 1);
  });

  it('an async lock not released on an exception path is a hang: the promise that never settled, the lock, its holder', async () => {
    const verdict = await runVariant(entry('asyncLeak'), 'single', { seed: 3, budgetMs: 10_000 });
    expect(verdict.firstForbidden).toMatchObject({ outcome: 'hang' });
    expect(verdict.firstForbidden!.detail).toMatch(
      /actor 0 in trial \d+: its async function never settled; it awaits Mutex state\.lock, held by actor 0 \(itself\)/,
    );
  });

  it('a hang graded by the scenario: the run goes on with fresh threads after it', async () => {
    const verdict = await runVariant(entry('sometimesHangs'), 'single', { seed: 2, trials: 200, budgetMs: 60_000, trialTimeoutMs: 300 });
    expect(verdict.passed).toBe(true);
    expect(verdict.trials).toBe(200);
    // Trials 7, 57, 107 and 157 hang; every other trial ran on fresh threads after them.
    expect(verdict.histogram).toEqual([
      expect.objectContaining({ outcome: 'done', count: 196, grade: 'ACCEPTABLE' }),
      expect.objectContaining({ outcome: 'hang', count: 4, grade: 'INTERESTING' }),
    ]);
  });
});

describe('exceptions are outcomes', () => {
  it("an actor's exception is the trial's outcome, with its own class name; the innocent actor is not blamed", async () => {
    const verdict = await runVariant(entry('throwing'), 'single', { seed: 1, trials: 30 });
    expect(verdict.passed).toBe(false);
    expect(verdict.error).toBeUndefined();
    expect(verdict.firstForbidden).toMatchObject({ trial: 2, outcome: 'threw QueueFullError: queue full at trial 2' });
    expect(verdict.histogram.find((h) => h.outcome.startsWith('threw'))).toMatchObject({ grade: 'FORBIDDEN', description: 'an actor threw' });
  });

  it('declared acceptable, exceptions are counted like any outcome', async () => {
    const verdict = await runVariant(entry('throwingAllowed'), 'single', { seed: 1, trials: 30 });
    expect(verdict.passed).toBe(true);
    expect(verdict.trials).toBe(30);
    const threw = verdict.histogram.filter((h) => h.outcome.startsWith('threw QueueFullError')).reduce((n, h) => n + h.count, 0);
    expect(threw).toBe(10); // trials 2, 5, …, 29
  });

  it('an arbiter that returns an undeclared id is an error of the scenario, not a silent FORBIDDEN', async () => {
    const verdict = await runVariant(entry('undeclared'), 'single', { seed: 1, trials: 5 });
    expect(verdict.passed).toBe(false);
    expect(verdict.error).toMatch(/the arbiter returned 'dnoe', which is not a declared outcome \(declared: done\)/);
  });
});

describe('one implementation is enough', () => {
  it('PASS: no forbidden outcome in N trials, with the 95 % bound', async () => {
    const verdict = await runVariant(entry('atomicCounter'), 'single', { seed: 1, trials: 300 });
    expect(verdict).toMatchObject({ passed: true, variant: 'single', trials: 300, forbidden: 0 });
    expect(verdict.summary).toBe('no forbidden outcome in 300 trials (rate < 1.0 % at 95 %)');
  });

  it('a SharedCache made by setup() reaches every actor attached: the trials share it', async () => {
    const verdict = await runVariant(entry('setupCache'), 'single', { seed: 1, trials: 200 });
    expect(verdict).toMatchObject({ passed: true, trials: 200, histogram: [{ outcome: 'both', count: 200 }] });
  });

  it('--module with no ids runs every scenario the module exports; --list --module lists them', () => {
    const list = spawnSync(process.execPath, [bin, 'stress', '--list', '--module', FIXTURE], { encoding: 'utf8' });
    expect(list.status).toBe(0);
    for (const id of ['lost-wakeup', 'lock-order', 'async-leak', 'throwing', 'atomic-counter', 'slow-trials'])
      expect(list.stdout).toMatch(new RegExp(`^${id}\\b`, 'm'));
  });
});

describe('replay and timing', () => {
  it('a replay token names the trial; --replay runs that trial again until it shows', async () => {
    const verdict = await runVariant(entry('throwing'), 'single', { seed: 5, trials: 30 });
    const token = decodeToken(verdict.replay);
    expect(token).toMatchObject({ v: 2, scenario: 'throwing', variant: 'single', seed: 5, trial: 2 });
    const replayed = await runVariant(entry('throwing'), 'single', { seed: 5, replayTrial: token.trial! });
    expect(replayed.firstForbidden).toMatchObject({ trial: 2, outcome: 'threw QueueFullError: queue full at trial 2' });
    expect(replayed.trials).toBe(1);
  });

  it('the budget stops a stride between two trials, not at its end', async () => {
    const verdict = await runVariant(entry('slowTrials'), 'single', { seed: 1, budgetMs: 500 });
    expect(verdict.passed).toBe(true);
    // Strides are 10, then 100 trials of 50 ms: had the budget waited for the stride, 110 would have run.
    expect(verdict.trials).toBeGreaterThan(0);
    expect(verdict.trials).toBeLessThan(110);
  });
});

describe('the command always ends', () => {
  it('Ctrl-C stops at the next trial, writes the report of what ran, and exits 130', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sabre-sigint-'));
    const child = spawn(
      process.execPath,
      [bin, 'stress', 'atomic-counter', '--module', FIXTURE, '--budget', '5m', '--no-progress', '--json', join(dir, 'r.json')],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (/^sabre stress: /m.test(stderr) && !child.killed) setTimeout(() => child.kill('SIGINT'), 1_000);
    });
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(130);
    expect(stderr).toMatch(/interrupted; finishing the current trial/);
    const report = RunReportSchema.parse(JSON.parse(readFileSync(join(dir, 'r.json'), 'utf8')));
    expect(report).toMatchObject({ interrupted: true, passed: false });
    expect(report.verdicts[0]).toMatchObject({
      scenario: 'atomic-counter',
      interrupted: true,
      summary: expect.stringMatching(/^interrupted after \d+ trials$/),
    });
  }, 60_000);

  it('a main thread stuck in a scenario hook is ended by the watchdog thread, with a message', () => {
    const module = fileURLToPath(new URL('../dist/test/fixtures/stress-main-blocked.js', import.meta.url));
    const run = spawnSync(process.execPath, [bin, 'stress', '--module', module, '--no-progress'], {
      encoding: 'utf8',
      env: { ...process.env, SABRE_STALL_MS: '1500' },
      timeout: 60_000,
    });
    expect(run.signal).toBe('SIGKILL');
    expect(run.stderr).toMatch(/sabre stress: the main thread has not run for \d+ s \(stuck in a hook of the scenario, or blocked\); killing the run/);
  }, 70_000);
});
