/** The stress command's progress bar: one per variant, on stderr (stdout carries the table). */
import cliProgress from 'cli-progress';
import type { Progress } from '../stress/runner.js';
import type { Variant } from '../stress/scenario.js';

/** One progress bar per variant, on stderr (stdout carries the table). */
export class ProgressBar {
  readonly #bar = new cliProgress.SingleBar(
    { format: '{label} [{bar}] {value}/{total} trials · {forbidden} forbidden · {seconds}s', stream: process.stderr, hideCursor: true, clearOnComplete: true },
    cliProgress.Presets.shades_classic,
  );

  start(scenario: string, variant: Variant): void {
    this.#bar.start(1, 0, { label: `${scenario} ${variant}`.padEnd(16), forbidden: 0, seconds: '0.0' });
  }

  update(p: Progress): void {
    this.#bar.setTotal(p.target);
    this.#bar.update(p.trials, { forbidden: p.forbidden, seconds: (p.elapsedMs / 1_000).toFixed(1) });
  }

  stop(): void {
    this.#bar.stop();
  }
}
