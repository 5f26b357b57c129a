/**
 * `sabre bench tiered --quick` end to end, on the built CLI: the suite starts its own redis-server,
 * runs its crowds of real processes and threads, and writes its report into the summary, the
 * goals table and the HTML like every suite. Asserted: the report's shape and the correctness
 * rows (one computation per stampede, no increment lost, one setIfAbsent winner per round), never
 * a speed. Without redis-server the suite says so and writes an empty report.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { CrossProcessResult } from '../bench/tiered.js';
import type { BenchSummary, SuiteResult } from '../bench/support/summary.js';
import { redisAvailable } from './support/redis-server.js';

const bin = fileURLToPath(new URL('../dist/src/cli/main.js', import.meta.url));
const RUN_LIMIT_MS = 240_000;

const folders: string[] = [];
afterAll(() => {
  for (const dir of folders) rmSync(dir, { recursive: true, force: true });
});

/**
 * Runs `sabre bench tiered --quick` into a new folder. The CLI, its suite process, the crowd and
 * the redis-server form one process group, killed whole if the run outlives its limit.
 */
function benchTiered(env: Record<string, string> = {}): Promise<{ status: number | null; stderr: string; out: string }> {
  const out = mkdtempSync(join(tmpdir(), 'sabre-bench-tiered-'));
  folders.push(out);
  const child = spawn(process.execPath, [bin, 'bench', 'tiered', '--quick', '--out', out], {
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, ...env },
  });
  let stderr = '';
  child.stderr!.on('data', (data) => (stderr += data));
  const killer = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), RUN_LIMIT_MS);
  return new Promise((resolve) =>
    child.once('exit', (status) => {
      clearTimeout(killer);
      resolve({ status, stderr, out });
    }),
  );
}

describe.skipIf(!redisAvailable)('sabre bench tiered --quick, on a redis-server of its own', () => {
  it(
    'reports every row and goal, one computation per stampede, no lost increment, one winner per round',
    async () => {
      const run = await benchTiered();
      expect(run.status, run.stderr).toBe(0);
      const suite = JSON.parse(readFileSync(join(run.out, 'tiered-quick.json'), 'utf8')) as SuiteResult & { crossProcess: CrossProcessResult[] };

      const names = suite.rows.map((r) => r.name);
      for (const part of [
        /^TieredCache get, L1 hit/,
        /^bentocache get, L1 hit/,
        /^Redis GET .*sequential/,
        /^Redis GET .*pipelined/,
        /^stampede of 4 processes x 2 threads/,
        /^20 processes incrementing/,
        /^20 processes setIfAbsent/,
      ])
        expect(
          names.some((n) => part.test(n)),
          `${part} among ${names.join('; ')}`,
        ).toBe(true);
      for (const row of suite.rows) expect(row.medianNs > 0 && Number.isFinite(row.medianNs), row.name).toBe(true);
      expect(suite.goals.map((g) => g.description)).toEqual([
        expect.stringMatching(/L1 hit vs a sequential Redis GET/),
        expect.stringMatching(/L1 hit vs bentocache/),
        expect.stringMatching(/stampedes with exactly 1 computation.*one server/),
        expect.stringMatching(/increments kept by 20 processes.*one server/),
        expect.stringMatching(/exactly one winner among 20 processes.*one server/),
        expect.stringMatching(/stampedes with exactly 1 computation.*cluster/),
        expect.stringMatching(/increments kept by 20 processes.*cluster/),
        expect.stringMatching(/exactly one winner among 20 processes.*cluster/),
      ]);

      // The correctness rows, from what the crowd's threads reported and what Redis holds: on the
      // server and on the cluster the suite started.
      expect(suite.crossProcess.map((r) => r.target)).toEqual(['one server', 'a 3-master cluster']);
      for (const target of suite.crossProcess) {
        expect(target.computations.length, target.target).toBeGreaterThan(0);
        expect(
          target.computations.every((n) => n === 1),
          `${target.target}: computations per stampede: ${target.computations}`,
        ).toBe(true);
        expect(target.increments.counted, target.target).toBe(target.increments.expected);
        expect(target.winners.length, target.target).toBeGreaterThan(0);
        expect(
          target.winners.every((n) => n === 1),
          `${target.target}: winners per round: ${target.winners}`,
        ).toBe(true);
      }
      for (const goal of suite.goals.slice(2)) expect(goal.met, goal.description).toBe(true);

      // Beside the other suites: in the summary, its goals table and the HTML report.
      const summary = JSON.parse(readFileSync(join(run.out, 'summary-quick.json'), 'utf8')) as BenchSummary;
      expect(Object.keys(summary.suites)).toEqual(['tiered']);
      expect(readFileSync(join(run.out, 'summary-quick.md'), 'utf8')).toMatch(/\| tiered \| stampedes with exactly 1 computation/);
      expect(existsSync(join(run.out, 'report-quick.html'))).toBe(true);
    },
    RUN_LIMIT_MS + 10_000,
  );
});

describe('sabre bench tiered with no redis-server and no --redis', () => {
  it('says so and writes an empty report', async () => {
    const run = await benchTiered({ SABRE_REDIS_SERVER: '/nonexistent/redis-server' });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/no \/nonexistent\/redis-server on this machine and no --redis URL: the tiered suite is skipped/);
    const suite = JSON.parse(readFileSync(join(run.out, 'tiered-quick.json'), 'utf8')) as SuiteResult;
    expect(suite.rows).toEqual([]);
    expect(suite.goals).toEqual([]);
    expect(suite.skipped).toMatch(/install redis-server/);
  }, 60_000);
});
