/**
 * The child process of scenario J (and its pool's task module). As a program:
 * `node j-child.js safe|unsafe` starts two workers that allocate memory until told to stop and
 * prints one JSON line per event ({ memory: state }) and { ready: true } once the memory limit has
 * been reached (safe) or the allocation is done (unsafe); the parent then sends SIGTERM.
 *   safe:   a sabre pool with a memory guard and signal handling (exit 0, no worker left)
 *   unsafe: plain worker_threads, no guard, no signal handling (what the audited back end ran)
 * As a task module (inside the pool's workers): allocate `mb` MiB in 4 MiB steps, then hold it.
 */
import { Worker, isMainThread } from 'node:worker_threads';
import { setTimeout as sleep } from 'node:timers/promises';

const held: Buffer[] = [];

/** The pool task: allocate, touching every page, and keep it until the worker is terminated. */
export default async function allocate(job: { mb: number }): Promise<void> {
  for (let mb = 0; mb < job.mb; mb += 4) {
    held.push(Buffer.alloc(4 * 2 ** 20, 1));
    await sleep(5);
  }
  await new Promise(() => {}); // hold until terminated
}

// The parent may be gone (a run that ended, or was interrupted): a closed pipe ends this child quietly.
if (isMainThread) process.stdout.on('error', () => process.exit(0));

function say(line: object): void {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

async function safe(): Promise<void> {
  const { createPool } = await import('../../pool/pool.js');
  const baselineMb = process.memoryUsage.rss() / 2 ** 20;
  const pool = createPool({
    filename: new URL(import.meta.url),
    threads: 2,
    signals: true,
    shutdownDeadlineMs: 200, // the allocating tasks never finish: terminate them soon after the signal
    memory: { limitMb: Math.ceil(baselineMb + 120), warnRatio: 0.8, onLimit: 'reject', intervalMs: 20 },
  });
  pool.on('memory', (event: { state: string }) => {
    say({ memory: event.state });
    if (event.state === 'limit') say({ ready: true });
  });
  await pool.broadcast('ping');
  for (let i = 0; i < 2; i++) void pool.run({ mb: 96 }).catch(() => {});
}

function unsafe(): void {
  for (let i = 0; i < 2; i++) {
    const worker = new Worker('const held = []; for (let i = 0; i < 8; i++) held.push(Buffer.alloc(4 << 20, 1)); setInterval(() => {}, 1000);', { eval: true });
    worker.on('error', () => {});
  }
  setTimeout(() => say({ ready: true }), 100);
}

if (isMainThread && process.argv[1] !== undefined && new URL(import.meta.url).pathname === process.argv[1]) {
  setInterval(() => {}, 1_000); // the application's own work: only a signal may end this process
  if (process.argv[2] === 'safe') await safe();
  else unsafe();
}
