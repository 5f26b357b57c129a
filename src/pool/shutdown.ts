/**
 * Signal handling shared by every pool of the process: on the first SIGINT or SIGTERM, close
 * every open pool (each within its deadline) and exit with code 0; on a second, exit at once
 * with 128 + the signal number. Handlers are installed while at least one pool wants them.
 *
 * The exit waits for close() alone, which keeps each pool's deadline (SabrePool.close fails
 * tasks not yet started at once and terminates running ones at the deadline), so a deep queue
 * does not hold the process past it.
 */
import { constants } from 'node:os';

/** What a signal closes: a pool, within its own shutdown deadline. */
interface Closable {
  close(options?: { deadlineMs?: number }): Promise<void>;
}

const pools = new Set<Closable>();
let shuttingDown = false;
const SIGNALS = ['SIGINT', 'SIGTERM'] as const;

function onSignal(signal: NodeJS.Signals): void {
  if (shuttingDown) {
    process.exit(128 + (constants.signals[signal] ?? 0));
  }
  shuttingDown = true;
  void Promise.allSettled([...pools].map((pool) => pool.close())).then(() => process.exit(0));
}

/** Closes `pool` on the first SIGINT or SIGTERM (then exits with code 0), installing the handlers if needed. */
export function closeOnSignals(pool: Closable): void {
  if (pools.size === 0) for (const signal of SIGNALS) process.on(signal, onSignal);
  pools.add(pool);
}

/** Stops closing `pool` on signals (it closed); removes the handlers when no pool is left, unless a shutdown is under way. */
export function forgetOnSignals(pool: Closable): void {
  if (!pools.delete(pool) || pools.size > 0 || shuttingDown) return;
  for (const signal of SIGNALS) process.off(signal, onSignal);
}
