/**
 * Audit L (beyond the audits): a worker dies holding a lock. Each trial a victim worker takes a
 * named mutex, then dies inside a cache mutation at a seeded fault point (src/shared/fault-points.ts).
 * Afterwards the lock must be free within a bounded wait and the cache consistent.
 * Unsafe: plain worker_threads sharing a Mutex, no coordinator: nobody releases the dead
 * holder's lock. Safe: a sabre pool, which takes over the dead worker's locks on its exit,
 * repairs the cache and releases them.
 */
import { once } from 'node:events';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { FAULT_POINTS } from '../../shared/fault-points.js';
import { checkIntegrity } from '../../cache/shared-cache.js';
import { createPool, type SabrePool } from '../../pool/pool.js';
import { Mutex } from '../../shared/mutex.js';
import { defineScenario } from '../scenario-spec.js';

const VICTIM = new URL('./l-task.js', import.meta.url);

function fill(pool: SabrePool): void {
  const cache = pool.cache!;
  for (let n = 0; n < 64; n++) cache.set(`key:${n}`, 'value:xyz');
}

export const deadHolder = defineScenario({
  id: 'L',
  name: 'dead-holder',
  title: 'A worker dies holding a lock (inside a cache mutation)',
  audit: 'L',
  variants: { unsafe: "plain worker_threads: the dead holder's lock stays held", safe: 'a sabre pool: locks taken over, cache repaired, locks released' },
  params: { lockWaitMs: 1_000 },
  actors: () => 1,
  trials: { full: 2_000, quick: 10 },
  trialTimeoutMs: 10000, // a trial terminates a worker and waits for its recovery
  stride: 2,
  async prepare(ctx) {
    if (ctx.variant === 'safe') {
      const pool = createPool({ filename: VICTIM, threads: 1, signals: false, cache: { maxEntries: 64, maxBytes: 64 * 128 }, primitives: { lock: 'mutex' } });
      fill(pool);
      ctx.local.pool = pool;
    }
  },
  async actor(ctx) {
    if (ctx.variant === 'unsafe') {
      const lock = Mutex.create();
      // The victim: takes the lock and exits, as a crash would.
      const victim = new Worker(
        `import('${new URL('../../shared/mutex.js', import.meta.url).href}').then(({ Mutex }) => { Mutex.attach(require('node:worker_threads').workerData).lock(); process.exit(1); });`,
        { eval: true, workerData: lock.handle },
      );
      await once(victim, 'exit');
      ctx.local.lockFree = lock.lock(ctx.params.lockWaitMs);
      ctx.local.consistent = true;
      return;
    }
    const pool = ctx.local.pool as SabrePool;
    const point = FAULT_POINTS[Math.floor(ctx.random() * FAULT_POINTS.length)]!;
    const recovered = once(pool, 'recovered');
    let died = 0;
    await pool.run({ point }).catch(() => (died = performance.now()));
    await Promise.race([recovered, new Promise((resolve) => setTimeout(resolve, ctx.params.lockWaitMs))]);
    const lock = pool.primitives.lock as Mutex;
    ctx.local.lockFree = lock.lock(ctx.params.lockWaitMs);
    // From the moment the pool reported the victim's death to this thread holding its lock (the
    // coordinator's promise: within 100 ms).
    if (ctx.local.lockFree && died > 0) ctx.sample('ms from the death to the lock taken again', performance.now() - died);
    if (ctx.local.lockFree) lock.unlock();
    ctx.local.consistent = pool.cache![checkIntegrity]().length === 0;
    if (pool.cache!.size < 64) fill(pool);
  },
  arbiter(ctx) {
    if (!ctx.local.lockFree) return `lock still held after ${ctx.params.lockWaitMs} ms`;
    return ctx.local.consistent ? 'lock free, cache consistent' : 'cache left inconsistent';
  },
  async finish(ctx) {
    await (ctx.local.pool as SabrePool | undefined)?.close({ deadlineMs: 1_000 });
  },
  outcomes: [
    { id: 'lock free, cache consistent', grade: 'ACCEPTABLE', description: "the dead holder's lock was released and the cache repaired" },
    { id: /^lock still held/, grade: 'FORBIDDEN', description: "the dead holder's lock stayed held: every other worker would wait forever" },
    { id: 'cache left inconsistent', grade: 'FORBIDDEN', description: 'the interrupted mutation was left half-applied' },
  ],
});
