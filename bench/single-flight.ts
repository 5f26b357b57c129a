/**
 * Single flight under a stampede: every worker asks for the same missing key at the same instant.
 * With getOrCompute one of them computes (a 5 ms wait) and the others wait for its value; with no
 * coalescing (get, compute on a miss, set) every one of them computes. Measured: computations per
 * stampede and the time until every worker has the value. Writes bench/results/single-flight.*.
 */
import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { SharedCache } from '../src/index.js';
import { type Goal, ratioGoal, rowOfTimes, writeReport, resultsDir } from './support/report.js';
import { quick } from './support/suite.js';

const at = process.argv.indexOf('--threads');
const workers = Math.max(2, Number(at > 0 ? process.argv[at + 1] : availableParallelism()) * 2);
const STAMPEDES = quick ? 20 : 200;

async function main(): Promise<void> {
  const cache = SharedCache.create({ maxEntries: 4_096, maxBytes: 1 << 20 });
  const control = new Int32Array(new SharedArrayBuffer(16));
  const pool = Array.from(
    { length: workers },
    () => new Worker(new URL('./workers/stampede.js', import.meta.url), { workerData: { cache: cache.handle, control: control.buffer } }),
  );
  await new Promise((resolve) => setTimeout(resolve, 300)); // let every worker reach its wait
  const measure = async (mode: 0 | 1): Promise<{ times: number[]; computations: number }> => {
    Atomics.store(control, 1, mode);
    Atomics.store(control, 3, 0);
    const times: number[] = [];
    for (let round = 0; round < STAMPEDES; round++) {
      Atomics.store(control, 2, 0);
      const started = performance.now();
      Atomics.add(control, 0, 1);
      Atomics.notify(control, 0);
      for (let done = Atomics.load(control, 2); done < workers; done = Atomics.load(control, 2)) {
        const wait = Atomics.waitAsync(control, 2, done);
        if (wait.async) await wait.value;
      }
      times.push(performance.now() - started);
    }
    return { times, computations: Atomics.load(control, 3) / STAMPEDES };
  };
  const sabre = await measure(0);
  const none = await measure(1);
  Atomics.store(control, 0, -1);
  Atomics.notify(control, 0);
  await Promise.all(pool.map((w) => new Promise((resolve) => w.once('exit', resolve))));

  const rows = [
    rowOfTimes(`stampede of ${workers} workers, sabre getOrCompute`, sabre.times),
    rowOfTimes(`stampede of ${workers} workers, no coalescing (get, compute, set)`, none.times),
  ];
  const goals: Goal[] = [
    ratioGoal(
      `computations per stampede of ${workers}: no coalescing ÷ getOrCompute (one computation serves all)`,
      none.computations / sabre.computations,
      workers,
    ),
  ];
  const section = [
    '## Computations per stampede',
    '',
    '| | computations per stampede | median time until every worker has the value |',
    '|---|---:|---:|',
    `| sabre getOrCompute | ${sabre.computations.toFixed(2)} | ${(rows[0]!.medianNs / 1e6).toFixed(2)} ms |`,
    `| no coalescing | ${none.computations.toFixed(2)} | ${(rows[1]!.medianNs / 1e6).toFixed(2)} ms |`,
    '',
  ];
  const notes = [
    `${STAMPEDES} stampedes per variant; the computation is a 5 ms wait (a slow backend), counted in shared memory.`,
    quick ? 'QUICK RUN.' : 'Full run.',
  ];
  console.log(
    writeReport(resultsDir(), quick ? 'single-flight-quick' : 'single-flight', 'sabre single flight under a stampede', rows, goals, notes, section, {
      computations: { sabre: sabre.computations, none: none.computations, workers },
    }),
  );
}

await main();
