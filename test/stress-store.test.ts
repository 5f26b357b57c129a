/**
 * `sabre stress --store`: the process scenarios (G, A, H, tiered) with real actor processes
 * against a real redis-server, through the CLI (compiled, from dist/). Each unsafe variant must
 * be caught (a FORBIDDEN outcome) and each safe one pass; H, which kills and restarts the server,
 * runs on a server sabre owns (--store redis) and is skipped, with its reason, against a URL.
 * Every CLI run is bounded (killed past its timeout); budgets are --quick's and the actor counts
 * small, so that the file stays short on a loaded host. Nothing here asserts a wall-clock time.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunReport } from '../src/stress/index.js';
import { RedisServer, redisAvailable } from './support/redis-server.js';

const bin = fileURLToPath(new URL('../dist/src/cli/main.js', import.meta.url));
/** A CLI run may take this long before it is killed (and the test fails). */
const RUN_TIMEOUT_MS = 100_000;

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function stress(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [bin, 'stress', '--no-progress', ...args],
      { encoding: 'utf8', timeout: RUN_TIMEOUT_MS, killSignal: 'SIGKILL', env: { ...process.env, ...env }, maxBuffer: 16 << 20 },
      (error, stdout, stderr) => resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : null, stdout, stderr }),
    );
  });
}

/** Each unsafe variant of `report` caught its race, each safe one stayed clean. */
function expectCaughtAndClean(report: RunReport, scenarios: readonly string[]): void {
  for (const id of scenarios) {
    const unsafe = report.verdicts.find((v) => v.scenario === id && v.variant === 'unsafe');
    const safe = report.verdicts.find((v) => v.scenario === id && v.variant === 'safe');
    expect(unsafe, `${id} unsafe`).toMatchObject({ passed: true });
    expect(unsafe!.forbidden, `${id} unsafe: ${unsafe!.summary}`).toBeGreaterThan(0);
    expect(safe, `${id} safe`).toMatchObject({ passed: true, forbidden: 0 });
    expect(safe!.trials, `${id} safe: ${safe!.summary}`).toBeGreaterThan(0);
    expect(safe!.error).toBeUndefined();
  }
}

describe.skipIf(!redisAvailable)('sabre stress --store (actor processes on Redis)', () => {
  let server: RedisServer;
  let dir: string;

  beforeAll(async () => {
    server = await RedisServer.start();
    dir = mkdtempSync(join(tmpdir(), 'sabre-stress-store-'));
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('G, A and tiered against a server URL: each unsafe variant is caught, each safe one passes; H is skipped with its reason', async () => {
    const run = await stress(['G', 'A', 'H', 'tiered', '--store', server.url, '--quick', '--param', 'workers=6', '--json', '-']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/H skipped: .*--store redis/);
    const report = JSON.parse(run.stdout) as RunReport;
    expect(report.verdicts.map((v) => `${v.scenario} ${v.variant}`)).toEqual(['G unsafe', 'G safe', 'A unsafe', 'A safe', 'tiered unsafe', 'tiered safe']);
    expectCaughtAndClean(report, ['G', 'A', 'tiered']);
    const outcome = (id: string) => report.verdicts.find((v) => v.scenario === id && v.variant === 'unsafe')!.firstForbidden!.outcome;
    expect(outcome('G')).toMatch(/^\d+ winners$/);
    expect(outcome('A')).toMatch(/^lost \d+ of \d+$/);
    expect(outcome('tiered')).toMatch(/^stale \d+ ms after the write, no invalidation$/);
    // The measured bound is reported: how long each reader read stale after the write.
    const tieredSafe = report.verdicts.find((v) => v.scenario === 'tiered' && v.variant === 'safe')!;
    expect(tieredSafe.samples.find((s) => s.name === 'ms from the write to the first fresh read')?.count).toBeGreaterThan(0);
  });

  it('--param tiered=1: G and A run the same code on TieredCache (the AsyncCache interface): unsafe caught, safe clean; tiered=2 is refused', async () => {
    const run = await stress(['G', 'A', '--store', server.url, '--quick', '--param', 'workers=6', '--param', 'tiered=1', '--json', '-']);
    expect(run.code, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout) as RunReport;
    expectCaughtAndClean(report, ['G', 'A']);
    for (const verdict of report.verdicts) expect(verdict.params.tiered).toBe(1);
    const bad = await stress(['G', '--store', server.url, '--quick', '--param', 'tiered=2']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/tiered must be 0 \(RedisCache\) or 1 \(TieredCache\), got 2/);
  });

  it('a failure prints a replay command with --store; --replay with --store runs that variant again (same seed and parameters) and shows it', async () => {
    const failed = await stress(['G', '--variant', 'unsafe', '--store', server.url, '--quick', '--param', 'workers=6', '--json', '-']);
    expect(failed.code, failed.stderr).toBe(0); // an unsafe variant that shows its race passes
    const verdict = (JSON.parse(failed.stdout) as RunReport).verdicts[0]!;
    expect(verdict.forbidden).toBeGreaterThan(0);
    // The command a report prints for a failure (a safe variant's, say) names --store.
    const { replayCommand } = await import('../src/stress/token.js');
    expect(replayCommand(verdict.replay)).toBe(`npx sabre stress --replay ${verdict.replay} --store redis`);

    const without = await stress(['--replay', verdict.replay]);
    expect(without.code).toBe(2);
    expect(without.stderr).toMatch(/from a --store run .*add --store redis/);

    const replay = await stress(['--replay', verdict.replay, '--store', server.url, '--json', '-']);
    expect(replay.code, replay.stderr).toBe(0);
    const again = (JSON.parse(replay.stdout) as RunReport).verdicts;
    expect(again.map((v) => `${v.scenario} ${v.variant}`)).toEqual(['G unsafe']);
    expect(again[0]!.seed).toBe(verdict.seed);
    expect(again[0]!.params).toEqual(verdict.params);
    expect(again[0]!.forbidden, again[0]!.summary).toBeGreaterThan(0);
  });

  it('H with --store redis: sabre kills and restarts its own server; the swallowing wrapper is caught, the fail-safe passes', async () => {
    const junit = join(dir, 'h.xml');
    const md = join(dir, 'h.md');
    const run = await stress(['H', '--store', 'redis', '--quick', '--param', 'workers=2', '--json', '-', '--junit', junit, '--md', md]);
    expect(run.code, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout) as RunReport;
    expectCaughtAndClean(report, ['H']);
    expect(report.verdicts[0]!.firstForbidden!.outcome).toMatch(/^silent success/);
    // The safe variant went through the outage: its calls failed typed (StoreUnavailableError), counted.
    const safe = report.verdicts.find((v) => v.variant === 'safe')!;
    expect(safe.samples.find((s) => s.name === 'unavailable errors per actor')?.max).toBeGreaterThan(0);
    expect(readFileSync(junit, 'utf8')).toMatch(/<testsuite name="sabre stress H fail-safe"/);
    expect(readFileSync(md, 'utf8')).toMatch(/every call acknowledged, served or failed typed/);
  });

  it('an actor that does not answer within the trial deadline is a hang: the run ends and fails', async () => {
    const run = await stress(['A', '--variant', 'safe', '--store', server.url, '--quick', '--trial-timeout', '1ms', '--json', '-']);
    expect(run.code, run.stderr).toBe(1);
    const [verdict] = (JSON.parse(run.stdout) as RunReport).verdicts;
    expect(verdict).toMatchObject({ passed: false, trials: 1, firstForbidden: { outcome: 'hang' } });
    expect(verdict!.firstForbidden!.detail).toMatch(/did not answer '\w+' within 1 ms/);
  });

  it('an actor process that dies is a threw ActorExited outcome naming its exit and its last stderr line', async () => {
    const { ProcessActors, HarnessOutcome } = (await import(
      new URL('../dist/src/stress/process/actors.js', import.meta.url).href
    )) as typeof import('../src/stress/process/actors.js');
    const init = (actor: number) => ({ scenario: 'no-such', variant: 'safe' as const, params: {}, actor, actors: 2, url: server.url, prefix: 't:', seed: 1 });
    const failure = await ProcessActors.start(2, init, 60_000).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(HarnessOutcome);
    expect((failure as InstanceType<typeof HarnessOutcome>).outcome).toMatch(/^threw ActorExited: actor \d exited with code 1$/);
    expect((failure as InstanceType<typeof HarnessOutcome>).detail).toMatch(/no scenario 'no-such' runs on Redis/);
  });

  it('--store redis without a redis-server to run is a usage error saying what to install; a bad or unreachable --store too', async () => {
    const missing = await stress(['G', '--store', 'redis'], { SABRE_REDIS_SERVER: join(dir, 'no-such-redis-server') });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/--store redis needs a redis-server .*could not be run \(install it/);
    const bad = await stress(['G', '--store', 'mysql://x']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--store must be 'redis' .* or a redis:\/\/ URL/);
    const unreachable = await stress(['G', '--store', 'redis://127.0.0.1:1']);
    expect(unreachable.code).toBe(2);
    expect(unreachable.stderr).toMatch(/cannot connect to Redis at redis:\/\/127\.0\.0\.1:1/);
    const unknown = await stress(['B', '--store', server.url]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/no scenario 'b' runs on Redis \(--store runs: G, A, H, tiered\)/);
  });
});
