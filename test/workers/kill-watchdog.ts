/**
 * The watchdog of the kill rounds (test/support/kill-rounds.ts): a thread of its own that watches
 * the main thread's heartbeat (a counter the main thread bumps every 5 ms from a setInterval, so
 * it only moves while the main thread's event loop turns) and records the longest gap. A gap over
 * `frozenMs` counts as a frozen main thread; over `killMs` the watchdog prints what the main
 * thread was doing and kills the process, so that a frozen run ends instead of hanging CI.
 *
 * It writes to stderr with fs.writeSync: console output from a worker goes through the main
 * thread, which is the one that is frozen.
 */
import { writeSync } from 'node:fs';
import { workerData } from 'node:worker_threads';
import { HEARTBEAT, OPS } from './kill-ops.js';

const { heartbeat, frozenMs, killMs } = workerData as { heartbeat: SharedArrayBuffer; frozenMs: number; killMs: number };
const hb = new Int32Array(heartbeat);

/** Raises the word at `slot` to `value` if it is lower (the main thread resets the round's maximum). */
const raise = (slot: number, value: number): void => {
  for (let seen = Atomics.load(hb, slot); value > seen; seen = Atomics.load(hb, slot)) {
    if (Atomics.compareExchange(hb, slot, seen, value) === seen) return;
  }
};
const where = (): string => {
  const op = OPS[Atomics.load(hb, HEARTBEAT.MAIN_OP) - 1] ?? 'the driver, between operations';
  return `round ${Atomics.load(hb, HEARTBEAT.ROUND)}, in ${op}`;
};

let seen = Atomics.load(hb, HEARTBEAT.BEAT);
let last = performance.now();
let frozen = false;
while (Atomics.load(hb, HEARTBEAT.STOP) === 0) {
  Atomics.wait(hb, HEARTBEAT.BEAT, seen, 10);
  const now = performance.now();
  const gap = Math.round(now - last);
  raise(HEARTBEAT.MAX_GAP_MS, gap);
  raise(HEARTBEAT.ROUND_MAX_GAP_MS, gap);
  const beat = Atomics.load(hb, HEARTBEAT.BEAT);
  if (beat !== seen) {
    seen = beat;
    last = now;
    frozen = false;
    continue;
  }
  if (gap > frozenMs && !frozen) {
    frozen = true;
    Atomics.add(hb, HEARTBEAT.FROZEN, 1);
    writeSync(2, `kill-rounds watchdog: the main thread's event loop has not turned for ${gap} ms (${where()})\n`);
  }
  if (gap > killMs) {
    writeSync(2, `kill-rounds watchdog: the main thread is frozen for ${gap} ms (${where()}); killing the process\n`);
    process.kill(process.pid, 'SIGKILL');
  }
}
