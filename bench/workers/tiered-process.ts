/**
 * One process of `sabre bench tiered`'s crowd (bench/support/tiered-crowd.ts): a SharedCache (this
 * process's L1) and `threads` worker threads (tiered-caller.ts), each a TieredCache over it. Prints
 * `ready` once every thread is connected; then each line read on stdin is an operation (JSON),
 * handed to every thread at once, and answered by one line: the threads' results, or an error.
 * stdin closing (the parent is done, or gone) ends the process.
 */
import { createInterface } from 'node:readline';
import { Worker } from 'node:worker_threads';
import { SharedCache } from '../../src/index.js';
import type { CallerResult, TieredOp } from '../support/tiered-crowd.js';

const { options, threads, id } = JSON.parse(process.argv[2]!) as { options: Record<string, unknown>; threads: number; id: number };
/** How long a thread may take to leave once told to: past it, it is terminated. */
const EXIT_LIMIT_MS = 5_000;

const local = SharedCache.create({ maxEntries: 4_096, maxBytes: 1 << 20 });
const callers = Array.from(
  { length: threads },
  (_, t) => new Worker(new URL('./tiered-caller.js', import.meta.url), { workerData: { cache: local.handle, options, id: `${id}.${t}` } }),
);

type Reply = { result: CallerResult } | { error: string };

/** The next message of `worker` (or its death, as an error). */
function next(worker: Worker): Promise<Reply | 'ready'> {
  return new Promise((resolve) => {
    const done = (reply: Reply | 'ready') => {
      worker.off('message', done);
      worker.off('error', failed);
      worker.off('exit', exited);
      resolve(reply);
    };
    const failed = (error: Error) => done({ error: error.stack ?? error.message });
    const exited = (code: number) => done({ error: `the caller thread exited (${code})` });
    worker.on('message', done);
    worker.once('error', failed);
    worker.once('exit', exited);
  });
}

async function stop(): Promise<void> {
  await Promise.all(
    callers.map(async (worker) => {
      const gone = new Promise((resolve) => worker.once('exit', resolve));
      worker.postMessage({ op: 'exit' } satisfies TieredOp);
      const timer = setTimeout(() => void worker.terminate(), EXIT_LIMIT_MS);
      await gone;
      clearTimeout(timer);
    }),
  );
  process.exit(0);
}

const started = await Promise.all(callers.map(next));
const failed = started.find((reply) => reply !== 'ready');
if (failed !== undefined) {
  process.stdout.write(`${JSON.stringify(failed)}\n`);
  await stop();
}
process.stdout.write('ready\n');

// One operation at a time: the parent sends the next only after every process has answered.
for await (const line of createInterface({ input: process.stdin })) {
  const op = JSON.parse(line) as TieredOp;
  const replies = await Promise.all(
    callers.map((worker) => {
      const reply = next(worker);
      worker.postMessage(op);
      return reply;
    }),
  );
  const error = replies.find((r): r is { error: string } => r !== 'ready' && 'error' in r);
  const answer = error ?? { results: replies.map((r) => (r as { result: CallerResult }).result) };
  process.stdout.write(`${JSON.stringify(answer)}\n`);
}
await stop();
