/**
 * Child processes that must not outlive this one (actor processes, an owned redis-server): each is
 * killed (SIGKILL) when this process exits, whatever ends it: a normal exit, process.exit, an
 * uncaught exception, the CLI's second Ctrl-C (which calls process.exit), a SIGTERM or a SIGHUP. The first Ctrl-C is
 * the CLI's to handle (it stops at the next trial, and the runner kills its children itself).
 */
import type { ChildProcess } from 'node:child_process';

const living = new Set<ChildProcess>();
let installed = false;

function killAll(): void {
  for (const child of living) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
  living.clear();
}

/** Kills `child` when this process exits; returns what forgets it (once it was stopped otherwise). */
export function killOnExit(child: ChildProcess): () => void {
  if (!installed) {
    installed = true;
    process.on('exit', killAll);
    // A SIGTERM or SIGHUP (a `timeout`, a cancelled CI job, a closed terminal) ends the process
    // without 'exit': the children, in process groups of their own, would outlive it. They are
    // killed, then the signal is raised again (this listener is gone) to end the process as it would have.
    for (const signal of ['SIGTERM', 'SIGHUP'] as const) {
      process.once(signal, () => {
        killAll();
        if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
      });
    }
  }
  living.add(child);
  child.once('exit', () => living.delete(child));
  return () => void living.delete(child);
}
