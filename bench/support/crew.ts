/**
 * Worker threads that each run one batch of operations whenever the main thread asks: the way a
 * tinybench task measures work done on other threads. The main thread bumps a shared command
 * word; every worker runs the batch and counts itself done; the main thread waits for all of
 * them without blocking its event loop. No message crosses a port inside the timed region.
 *
 * control (Int32Array): [0] command sequence, [1] batch size (-1 = exit), [2] workers done.
 */
import { Worker } from 'node:worker_threads';

export class Crew {
  readonly #control = new Int32Array(new SharedArrayBuffer(12));
  readonly #workers: Worker[];

  /** Starts `size` workers running `file`; worker `i` gets `data(i)` plus the control buffer. */
  constructor(file: URL, size: number, data: (index: number) => Record<string, unknown>) {
    this.#workers = Array.from({ length: size }, (_, index) => new Worker(file, { workerData: { ...data(index), index, control: this.#control.buffer } }));
  }

  /** Runs one batch of `size` operations on every worker; resolves when all are done. */
  async batch(size: number): Promise<void> {
    const c = this.#control;
    Atomics.store(c, 2, 0);
    Atomics.store(c, 1, size);
    Atomics.add(c, 0, 1);
    Atomics.notify(c, 0);
    for (let done = Atomics.load(c, 2); done < this.#workers.length; done = Atomics.load(c, 2)) {
      const wait = Atomics.waitAsync(c, 2, done);
      if (wait.async) await wait.value;
    }
  }

  async close(): Promise<void> {
    Atomics.store(this.#control, 1, -1);
    Atomics.add(this.#control, 0, 1);
    Atomics.notify(this.#control, 0);
    await Promise.all(this.#workers.map((w) => new Promise((resolve) => w.once('exit', resolve))));
  }
}
