/**
 * The entry point of every sabre pool worker (piscina's `filename`). It loads the user's task
 * module, serves the control plane (comlink, see src/pool/control.ts), and runs each task
 * through a gate that pause() closes.
 */
import { BroadcastChannel, threadId, workerData } from 'node:worker_threads';
import * as Comlink from 'comlink';
import { importModule } from '../src/loader/import-module.js';
import { type WorkerControl, type WorkerSetup, controlChannelName, helloChannelName } from '../src/pool/control.js';

const setup = (workerData as { sabre: WorkerSetup }).sabre;
// importModule, not import(): the task module may be TypeScript, or import 'sabre/worker' from outside a project.
const user = (await importModule(setup.filename)) as { default?: unknown; handler?: unknown };
const handler = (typeof user.default === 'function' ? user.default : user.handler) as ((task: unknown) => unknown) | undefined;
if (typeof handler !== 'function') {
  throw new TypeError(`sabre pool: ${setup.filename} must export a task function (default export or \`handler\`)`);
}

let running = 0;
let completed = 0;
let gate: { promise: Promise<void>; open: () => void } | undefined;

const control: WorkerControl = {
  ping: () => threadId,
  stats: () => ({ threadId, running, completed, paused: gate !== undefined, heapUsedBytes: process.memoryUsage().heapUsed }),
  pause() {
    if (gate) return;
    let open!: () => void;
    const promise = new Promise<void>((resolve) => (open = resolve));
    gate = { promise, open };
  },
  resume() {
    gate?.open();
    gate = undefined;
  },
};

// The control channel must not keep an idle worker alive on its own; piscina owns the lifetime.
const channel = new BroadcastChannel(controlChannelName(setup.pool, threadId));
Comlink.expose(control, channel as unknown as Comlink.Endpoint);
channel.unref();
const hello = new BroadcastChannel(helloChannelName(setup.pool));
hello.postMessage(threadId);
hello.close();

/** Runs one task (after the gate, if the pool paused this worker). */
export default async function runTask(task: unknown): Promise<unknown> {
  while (gate) await gate.promise;
  running++;
  try {
    return await handler!(task);
  } finally {
    running--;
    completed++;
  }
}
