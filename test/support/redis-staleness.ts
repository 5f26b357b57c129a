/**
 * TieredCache's staleness bound, measured across two processes (test/support/redis-tiered-child.ts):
 * process B reads one key in a loop, mostly from its L1; process A writes 1, 2, … n to it, each
 * write only once B holds the previous value in L1 (B printed `cached <n-1>`), so that every write
 * finds a copy to invalidate, by construction.
 *
 * What the test asserts is logical: a read that started after B had received k announcements
 * returns a value >= k (the k-th announcement is write k's, sent after write k was applied), and
 * B's reads never go back (a stale window ends for good once B has seen the new value). What it
 * reports is the measured staleness: for each write, how long after A's write returned B still
 * read the value it replaced (wall-clock, never asserted).
 */
import { RedisCache, type RedisTarget } from '../../src/redis/index.js';
import { Child, builtScript } from './redis-process.js';
import { targetArg } from './redis-target.js';

/** Reads with the same value and the same count of announcements seen before them (redis-tiered-child.ts). */
export interface ReadRun {
  readonly value: number;
  readonly seen: number;
  readonly firstMs: number;
  readonly lastMs: number;
  readonly reads: number;
  readonly localHits: number;
}

export interface StalenessRun {
  readonly runs: readonly ReadRun[];
  /** When A's write of n returned (index n). */
  readonly wroteAt: readonly number[];
  readonly invalidationsReceived: number;
}

/** Runs the writer and the reader children on `target` for `writes` writes. */
export async function runStaleness(target: RedisTarget, prefix: string, writes: number): Promise<StalenessRun> {
  const seed = await RedisCache.connect({ ...target, prefix });
  await seed.set('k', 0); // a RedisCache write is not announced: announcement k is write k's
  await seed.close();
  const script = builtScript('redis-tiered-child');
  const writer = new Child(script, [targetArg(target), prefix, 'writer', 'k', '0']);
  const reader = new Child(script, [targetArg(target), prefix, 'reader', 'k', String(writes)]);
  try {
    await Promise.all([writer.ready, reader.ready]);
    writer.go();
    reader.go();
    const wroteAt = [0];
    for (let n = 1; n <= writes; n++) {
      await reader.printed(`cached ${n - 1}`);
      writer.send(`set ${n}`);
      wroteAt.push(Number((await writer.next(`wrote ${n} `)).split(' ')[2]));
    }
    writer.send('end');
    const [, read] = await Promise.all([writer.result, reader.result]);
    return { ...(read as { runs: ReadRun[]; invalidationsReceived: number }), wroteAt };
  } finally {
    writer.process.kill('SIGKILL');
    reader.process.kill('SIGKILL');
  }
}

/** What the runs show: reads that broke the bound or went back (both must be none), and the stale reads after each write returned. */
export function judgeStaleness({ runs, wroteAt }: StalenessRun) {
  const beyondBound = runs.filter((run) => run.value < run.seen);
  const backwards = runs.filter((run, i) => i > 0 && run.value < runs[i - 1]!.value);
  let maxStaleMs = 0;
  let staleReads = 0;
  let staleLocalHits = 0;
  for (const run of runs) {
    // The newest write that had returned when this run ended: a read of an older value after it is stale.
    const newest = wroteAt.findLastIndex((at) => at <= run.lastMs);
    if (run.value < newest) {
      staleReads += run.reads;
      staleLocalHits += run.localHits;
      maxStaleMs = Math.max(maxStaleMs, run.lastMs - wroteAt[run.value + 1]!);
    }
  }
  return { beyondBound, backwards, maxStaleMs, staleReads, staleLocalHits, reads: runs.reduce((sum, run) => sum + run.reads, 0) };
}
