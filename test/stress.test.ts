/** The stress harness (sabre/stress): the checker, the runner, the helper, the CLI and its reports. */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// Workers import the compiled scenario modules, so the tests use the compiled harness too (one
// copy of every class); types come from src/.
const compiled = (path: string): Promise<unknown> => import(new URL(path, import.meta.url).href);
type Stress = typeof import('../src/stress/index.js');
const stress = (await compiled('../dist/src/stress/index.js')) as Stress;
const { ABSENT, Op, SeededScheduler, checkLinearizable, decodeToken, gradeOf, runVariant, verifyScenario, RunReportSchema } = stress;
type Operation = import('../src/stress/index.js').Operation;

const FIXTURES = new URL('../dist/test/fixtures/stress-scenarios.js', import.meta.url);
const bin = fileURLToPath(new URL('../dist/src/cli/main.js', import.meta.url));

/** An operation of client `client` called at `call` and returned at `ret`. */
function op(client: number, code: Operation['op'], call: number, ret: number, result: number, arg = 0, arg2 = 0, key = 0): Operation {
  return { client, op: code, key, arg, arg2, result, call, ret };
}

describe('the linearizability checker', () => {
  it('accepts a sequential history that follows the specification', () => {
    const history = [op(0, Op.increment, 0, 1, 1, 1), op(1, Op.increment, 2, 3, 2, 1), op(0, Op.get, 4, 5, 2)];
    expect(checkLinearizable(history).linearizable).toBe(true);
  });

  it('accepts overlapping operations in whichever order explains them', () => {
    // Two increments overlap; the one called second returned 1: it took effect first.
    const history = [op(0, Op.increment, 0, 3, 2, 1), op(1, Op.increment, 1, 2, 1, 1)];
    expect(checkLinearizable(history).linearizable).toBe(true);
  });

  it('rejects a lost update: two increments that both returned 1', () => {
    const history = [op(0, Op.increment, 0, 2, 1, 1), op(1, Op.increment, 1, 3, 1, 1)];
    expect(checkLinearizable(history)).toMatchObject({ linearizable: false, key: 0 });
  });

  it('rejects two winners of set-if-absent, and two successful compare-and-sets from the same value', () => {
    expect(checkLinearizable([op(0, Op.setIfAbsent, 0, 2, 1, 7), op(1, Op.setIfAbsent, 1, 3, 1, 8)]).linearizable).toBe(false);
    const initial = new Map([[0, 5]]);
    const cas = [op(0, Op.compareAndSet, 0, 2, 1, 5, 6), op(1, Op.compareAndSet, 1, 3, 1, 5, 7)];
    expect(checkLinearizable(cas, initial).linearizable).toBe(false);
    expect(checkLinearizable([cas[0]!, op(1, Op.compareAndSet, 1, 3, 0, 5, 7)], initial).linearizable).toBe(true);
  });

  it('rejects a read that real time forbids (a stale read after a completed write)', () => {
    const history = [op(0, Op.set, 0, 1, 0, 9), op(1, Op.get, 2, 3, ABSENT)];
    expect(checkLinearizable(history).linearizable).toBe(false);
  });

  it('treats an operation that never returned (its thread died) as either applied or not', () => {
    const pending = op(0, Op.increment, 0, Number.POSITIVE_INFINITY, Number.NaN, 1);
    expect(checkLinearizable([pending, op(1, Op.get, 1, 2, 1)]).linearizable).toBe(true); // applied
    expect(checkLinearizable([pending, op(1, Op.get, 1, 2, ABSENT)]).linearizable).toBe(true); // not applied
    expect(checkLinearizable([pending, op(1, Op.get, 1, 2, 5)]).linearizable).toBe(false); // neither explains 5
  });

  it('checks keys independently', () => {
    const history = [op(0, Op.set, 0, 1, 0, 1, 0, 1), op(1, Op.get, 2, 3, ABSENT, 0, 0, 2), op(1, Op.get, 4, 5, 1, 0, 0, 1)];
    expect(checkLinearizable(history).linearizable).toBe(true);
  });

  /**
   * Deliberately broken caches, run as async tasks under the seeded scheduler with every
   * operation recorded: the checker must catch each of them for some seed, and must never flag
   * the correct implementation.
   */
  describe('catches deliberately broken caches', () => {
    type Store = Map<number, number>;
    interface Impl {
      increment(store: Store, s: InstanceType<typeof SeededScheduler>): Promise<number>;
      setIfAbsent(store: Store, s: InstanceType<typeof SeededScheduler>, value: number): Promise<boolean>;
      compareAndSet(store: Store, s: InstanceType<typeof SeededScheduler>, expected: number, next: number): Promise<boolean>;
    }
    const atomic: Impl = {
      async increment(store, s) {
        await s.yield();
        const next = (store.get(0) ?? 0) + 1;
        store.set(0, next);
        return next;
      },
      async setIfAbsent(store, s, value) {
        await s.yield();
        if (store.has(1)) return false;
        store.set(1, value);
        return true;
      },
      async compareAndSet(store, s, expected, next) {
        await s.yield();
        if (store.get(2) !== expected) return false;
        store.set(2, next);
        return true;
      },
    };
    const broken: Impl = {
      async increment(store, s) {
        const seen = store.get(0) ?? 0; // read ...
        await s.yield();
        store.set(0, seen + 1); // ... write back: a lost update
        return seen + 1;
      },
      async setIfAbsent(store, s, value) {
        const absent = !store.has(1); // check ...
        await s.yield();
        if (absent) store.set(1, value); // ... then act
        return absent;
      },
      async compareAndSet(store, s, expected, next) {
        const same = store.get(2) === expected; // compare against a stale read
        await s.yield();
        if (same) store.set(2, next);
        return same;
      },
    };

    async function history(impl: Impl, seed: number): Promise<Operation[]> {
      const s = new SeededScheduler(seed);
      const store: Store = new Map([[2, 0]]);
      const ops: Operation[] = [];
      let clock = 0;
      const record = async (
        client: number,
        code: Operation['op'],
        key: number,
        arg: number,
        arg2: number,
        run: () => Promise<number | boolean>,
      ): Promise<void> => {
        const call = clock++;
        const result = Number(await run());
        ops.push(op(client, code, call, clock++, result, arg, arg2, key));
      };
      await s.run(
        Array.from({ length: 4 }, (_, client) => async () => {
          await record(client, Op.increment, 0, 1, 0, () => impl.increment(store, s));
          await record(client, Op.setIfAbsent, 1, client + 1, 0, () => impl.setIfAbsent(store, s, client + 1));
          await record(client, Op.compareAndSet, 2, 0, client + 1, () => impl.compareAndSet(store, s, 0, client + 1));
        }),
      );
      return ops;
    }

    it.each(['increment', 'setIfAbsent', 'compareAndSet'] as const)('broken %s is caught; the atomic one never is', async (which) => {
      const code = Op[which];
      let caught = 0;
      for (let seed = 0; seed < 20; seed++) {
        const correct = (await history(atomic, seed)).filter((o) => o.op === code);
        expect(checkLinearizable(correct, new Map([[2, 0]])).linearizable).toBe(true);
        const faulty = (await history(broken, seed)).filter((o) => o.op === code);
        if (checkLinearizable(faulty, new Map([[2, 0]])).linearizable === false) caught++;
      }
      expect(caught).toBeGreaterThan(0);
    });
  });
});

describe('the seeded scheduler', () => {
  it('replays the same interleaving for the same seed, and another for another seed', async () => {
    const order = async (seed: number): Promise<string> => {
      const s = new SeededScheduler(seed);
      const seen: number[] = [];
      await s.run(
        Array.from({ length: 6 }, (_, task) => async () => {
          for (let step = 0; step < 3; step++) {
            await s.yield();
            seen.push(task);
          }
        }),
      );
      return seen.join('');
    };
    expect(await order(42)).toBe(await order(42));
    const others = new Set(await Promise.all([1, 2, 3, 4, 5].map(order)));
    expect(others.size).toBeGreaterThan(1);
  });
});

const { sharedWord } = (await compiled('../dist/test/fixtures/stress-scenarios.js')) as typeof import('./fixtures/stress-scenarios.js');

describe('running a scenario on real worker threads', () => {
  const entry = { scenario: sharedWord as never, module: fileURLToPath(FIXTURES) };

  it('an outcome that matches no declared outcome is FORBIDDEN', () => {
    expect(gradeOf(sharedWord.outcomes, 'all counted')).toBe('ACCEPTABLE');
    expect(gradeOf(sharedWord.outcomes, 'lost bumps')).toBe('FORBIDDEN');
  });

  it('the unsafe variant reproduces, with its time to first reproduction and a replay token', async () => {
    const verdict = await runVariant(entry, 'unsafe', { quick: true, seed: 5 });
    expect(verdict).toMatchObject({ passed: true, variant: 'unsafe', seed: 5 });
    expect(verdict.forbidden).toBeGreaterThan(0);
    expect(verdict.histogram.find((o) => o.outcome === 'lost bumps')).toMatchObject({ grade: 'FORBIDDEN' });
    expect(verdict.timeToFirstMs).toBeGreaterThan(0);
    expect(verdict.firstForbiddenTrial).toBeGreaterThanOrEqual(0);
    expect(decodeToken(verdict.replay)).toMatchObject({ scenario: 'word', variant: 'unsafe', seed: 5, params: { bumps: 2_000, workers: 2 } });
  });

  it('the safe variant shows no forbidden outcome and bounds the rate at 3/N', async () => {
    const verdict = await runVariant(entry, 'safe', { trials: 300, seed: 5 });
    expect(verdict).toMatchObject({ passed: true, trials: 300, forbidden: 0, histogram: [{ outcome: 'all counted', count: 300 }] });
    expect(verdict.forbiddenRateUpperBound).toBeCloseTo(3 / 300);
  });

  it('parameters are overridable, and a bad value is an error before anything runs', async () => {
    const verdict = await runVariant(entry, 'safe', { trials: 10, params: { bumps: 7 } });
    expect(verdict.params).toMatchObject({ bumps: 7 });
    await expect(runVariant(entry, 'safe', { trials: 10, params: { bumps: Number.NaN } })).rejects.toThrow(/bumps/);
  });

  it('verifyScenario passes a sound pair and rejects a "fix" that fixes nothing, with the table and a replay token', async () => {
    await expect(verifyScenario(FIXTURES, 'word', { quick: true })).resolves.toHaveLength(2);
    const failure = await verifyScenario(FIXTURES, 'broken-fix', { quick: true }).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(stress.ScenarioFailedError);
    expect((failure as Error).message).toMatch(/broken-fix[\s\S]*safe[\s\S]*FAIL[\s\S]*--replay /);
  });
});

describe('sabre stress (the CLI)', () => {
  function sabre(...args: string[]) {
    return spawnSync(process.execPath, [bin, 'stress', ...args], { encoding: 'utf8' });
  }

  it('--list names every audit of AUDITS.md, A to L, with both variants and the parameters', () => {
    const run = sabre('--list');
    expect(run.status).toBe(0);
    for (const id of ['A', 'A-async', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I', 'J', 'K', 'L']) expect(run.stdout).toMatch(new RegExp(`^${id} `, 'm'));
    expect(run.stdout).toMatch(/unsafe: .*\n.*safe: .*\n.*params: increments=50 workers=2/);
  });

  it('bad input fails with a clear message and exit code != 0: an unknown scenario, a bad token, a bad budget', () => {
    expect(sabre('Z').stderr).toMatch(/unknown scenario 'z'/);
    const token = sabre('--replay', 'not-a-token');
    expect(token.status).not.toBe(0);
    expect(token.stderr).toMatch(/replay/);
    expect(sabre('--budget', 'soon').stderr).toMatch(/not a duration/);
  });

  it('runs a scenario pair, writes all four reports, and a replay token reruns it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sabre-stress-'));
    const run = sabre(
      'K',
      '--quick',
      '--seed',
      '9',
      '--json',
      join(dir, 'r.json'),
      '--junit',
      join(dir, 'r.xml'),
      '--md',
      join(dir, 'r.md'),
      '--html',
      join(dir, 'r.html'),
    );
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/K noise\s+│ unsafe\s+│ PASS/);
    const report = RunReportSchema.parse(JSON.parse(readFileSync(join(dir, 'r.json'), 'utf8')));
    expect(report).toMatchObject({ passed: true, seed: 9, quick: true });
    expect(report.verdicts.map((v) => `${v.scenario}/${v.variant}/${v.passed}`)).toEqual(['K/unsafe/true', 'K/safe/true']);
    expect(readFileSync(join(dir, 'r.xml'), 'utf8')).toMatch(/<testsuites[\s\S]*<testsuite name="sabre stress K noise"[\s\S]*<testcase/);
    expect(readFileSync(join(dir, 'r.md'), 'utf8')).toMatch(/\| K Events on transitions only .* \| unsafe \| PASS \|/);
    expect(existsSync(join(dir, 'r.html'))).toBe(true);
    const replay = sabre('--replay', report.verdicts[0]!.replay, '--json', join(dir, 'replay.json'));
    expect(replay.status).toBe(0);
    const replayed = RunReportSchema.parse(JSON.parse(readFileSync(join(dir, 'replay.json'), 'utf8')));
    expect(replayed.verdicts).toHaveLength(1);
    expect(replayed.verdicts[0]).toMatchObject({ scenario: 'K', variant: 'unsafe', seed: 9, histogram: report.verdicts[0]!.histogram });
  });

  it('exits 1 when a verdict fails (a scenario of a user module whose safe variant is not safe)', () => {
    const run = sabre('broken-fix', '--module', fileURLToPath(FIXTURES), '--quick', '--variant', 'safe');
    expect(run.status).toBe(1);
    expect(run.stdout).toMatch(/FAIL/);
    expect(run.stdout).toMatch(/replay: npx sabre stress --replay \S+/);
  });
});
