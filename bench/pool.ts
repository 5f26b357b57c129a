/**
 * Pool benchmarks: task throughput through a sabre pool against plain piscina running the same
 * task module, in one process run. The task returns its input, so what is measured is each
 * pool's own cost per task.
 *
 *   npm run bench:pool              full run, writes bench/results/pool.{json,md}
 *   npm run bench:pool -- --quick   smoke test
 */
import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import { createPool } from '../src/pool/index.js';
import { type Goal, speedGoal, writeReport, resultsDir } from './support/report.js';
import { Suite, quick } from './support/suite.js';

const ECHO = new URL('./workers/echo.js', import.meta.url);
const IN_FLIGHT = 1_000; // tasks per sample, all submitted at once
const threads = Math.max(2, Math.min(4, availableParallelism()));

const N = {
  piscina: `piscina defaults, ${IN_FLIGHT} tasks in flight`,
  piscinaNoAtomics: `piscina with atomics: 'disabled', ${IN_FLIGHT} tasks in flight`,
  sabre: `sabre pool, ${IN_FLIGHT} tasks in flight`,
  piscinaOne: 'piscina defaults, one task at a time (round trip)',
  sabreOne: 'sabre pool, one task at a time (round trip)',
} as const;

async function main(): Promise<void> {
  const piscina = new Piscina({ filename: ECHO.href, minThreads: threads, maxThreads: threads });
  const piscinaNoAtomics = new Piscina({ filename: ECHO.href, minThreads: threads, maxThreads: threads, atomics: 'disabled' });
  const sabre = createPool({ filename: ECHO, threads, signals: false });
  await sabre.broadcast('ping');
  const burst = (run: (i: number) => Promise<unknown>) => () => Promise.all(Array.from({ length: IN_FLIGHT }, (_, i) => run(i)));

  const suite = new Suite('pool');
  suite.add(
    N.piscina,
    IN_FLIGHT,
    burst((i) => piscina.run(i)),
  );
  suite.add(
    N.piscinaNoAtomics,
    IN_FLIGHT,
    burst((i) => piscinaNoAtomics.run(i)),
  );
  suite.add(
    N.sabre,
    IN_FLIGHT,
    burst((i) => sabre.run(i)),
  );
  suite.add(N.piscinaOne, 1, () => piscina.run(1));
  suite.add(N.sabreOne, 1, () => sabre.run(1));
  const rows = await suite.run();
  await Promise.all([piscina.close(), piscinaNoAtomics.close(), sabre.close()]);

  const goals: Goal[] = [
    speedGoal('sabre pool throughput vs plain piscina, same tasks: within 10 %', rows, N.sabre, N.piscina, 0.9),
    speedGoal("sabre pool vs piscina with sabre's setting (atomics disabled): the wrapper's own cost", rows, N.sabre, N.piscinaNoAtomics, 0.9),
  ];
  const notes = [
    `${threads} worker threads each; the task returns its input, so the figures are each pool's own cost per task.`,
    "sabre runs piscina with atomics: 'disabled' so that workers' event loops keep running between tasks (control plane, timers, getOrCompute waiters); piscina's default parks idle workers in Atomics.wait.",
    quick ? 'QUICK RUN: short sampling, for smoke-testing only.' : 'Full run.',
  ];
  console.log(writeReport(resultsDir(), quick ? 'pool-quick' : 'pool', 'sabre pool benchmarks', rows, goals, notes));
}

await main();
