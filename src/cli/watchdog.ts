/**
 * The last line of defence that `sabre stress` ends: a watchdog on a thread of its own, which
 * does not depend on the main thread's event loop (a main thread stuck in user code, or blocked in
 * `Atomics.wait`, runs no timer). The main thread beats a shared word every
 * {@link HEARTBEAT_MS}; the watchdog parks on that word and, when the beats stop for
 * `stallMs` or the whole run passes `deadlineMs`, writes why to standard error and kills the
 * process (SIGKILL: a signal handler would need the stuck event loop). Everything the harness
 * waits on is bounded on its own; this only catches what escapes those bounds.
 */
import { Worker } from 'node:worker_threads';

const HEARTBEAT_MS = 250;

// Runs in the watchdog thread: plain JavaScript, evaluated (no file to ship or resolve).
const WATCHDOG_SOURCE = `
const { workerData } = require('node:worker_threads');
const { writeSync } = require('node:fs');
const words = new Int32Array(workerData.words);
const started = Date.now();
let seen = Atomics.load(words, 0);
let beatAt = started;
for (;;) {
  Atomics.wait(words, 0, seen, 1000);
  const now = Date.now();
  const beat = Atomics.load(words, 0);
  if (beat < 0) break; // the run ended
  if (beat !== seen) { seen = beat; beatAt = now; }
  const stalled = now - beatAt > workerData.stallMs;
  const late = now - started > workerData.deadlineMs;
  if (stalled || late) {
    writeSync(2, '\\nsabre stress: ' + (stalled
      ? 'the main thread has not run for ' + Math.round((now - beatAt) / 1000) + ' s (stuck in a hook of the scenario, or blocked); killing the run'
      : 'the run passed its bound of ' + Math.round(workerData.deadlineMs / 1000) + ' s; killing it') + '\\n');
    process.kill(process.pid, 'SIGKILL');
  }
}
`;

export interface Watchdog {
  /** Stops the watchdog (the run ended). */
  stop(): void;
}

/** Starts the watchdog for a run that should end within `deadlineMs`, its main thread never silent for `stallMs`. */
export function startWatchdog(options: { readonly deadlineMs: number; readonly stallMs: number }): Watchdog {
  const words = new Int32Array(new SharedArrayBuffer(4));
  const worker = new Worker(WATCHDOG_SOURCE, { eval: true, workerData: { words: words.buffer, ...options }, stdout: false, stderr: false });
  worker.unref(); // never what keeps the process alive
  const beat = setInterval(() => {
    Atomics.add(words, 0, 1);
    Atomics.notify(words, 0);
  }, HEARTBEAT_MS);
  beat.unref();
  return {
    stop() {
      clearInterval(beat);
      Atomics.store(words, 0, -1);
      Atomics.notify(words, 0);
    },
  };
}
