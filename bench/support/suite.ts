/**
 * A benchmark suite: tinybench tasks that each time a batch of operations, run for several
 * rounds and combined per operation (report.ts). Command-line flags: `--quick` (short sampling,
 * one round: a smoke test), `--rounds N`.
 */
import { Bench } from 'tinybench';
import { type Row, combineRounds, rowOf } from './report.js';

export const quick = process.argv.includes('--quick');
const roundsFlag = process.argv.indexOf('--rounds');
/** Rounds of the whole suite (see combineRounds). */
export const rounds = (roundsFlag > 0 ? Number(process.argv[roundsFlag + 1]) : 0) || (quick ? 1 : 3);

export class Suite {
  readonly #bench: Bench;
  readonly #batches = new Map<string, number>();

  constructor(name: string) {
    this.#bench = new Bench({ name, time: quick ? 150 : 1_500, warmupTime: quick ? 50 : 300 });
  }

  /** Adds a task whose every call performs `batch` operations. */
  add(name: string, batch: number, fn: () => unknown): void {
    this.#batches.set(name, batch);
    this.#bench.add(name, fn as () => void);
  }

  /** Runs every task, `rounds` times over, and returns one row per task. */
  async run(): Promise<Row[]> {
    const perRound: Row[][] = [];
    for (let round = 0; round < rounds; round++) {
      this.#bench.reset(); // a completed Bench does not run again until reset
      await this.#bench.run();
      perRound.push(this.#bench.tasks.map((task) => rowOf(task, this.#batches.get(task.name) ?? 1)));
    }
    return combineRounds(perRound);
  }
}
