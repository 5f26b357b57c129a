/**
 * TieredCache's documented staleness bound, measured across two real processes on one real
 * redis-server (test/support/redis-staleness.ts says how): no read after the announcement of a
 * write was delivered returns the value it replaced, reads never go back, and the measured
 * staleness (wall-clock, reported, not asserted) is printed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisServer, redisAvailable } from './support/redis-server.js';
import { judgeStaleness, runStaleness } from './support/redis-staleness.js';

const WRITES = 40;

describe.skipIf(!redisAvailable)('TieredCache staleness across processes', () => {
  let server: RedisServer;
  beforeAll(async () => {
    server = await RedisServer.start();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it(`${WRITES} writes in process A, each while process B holds the previous value in L1: B never reads a value older than the announcements it has received, and never goes back`, async () => {
    const run = await runStaleness({ url: server.url }, 'stale:', WRITES);
    const judged = judgeStaleness(run);
    console.log(
      `staleness (one server): ${judged.reads} reads in B, ${judged.staleReads} in runs of equal reads that outlasted the return of the write replacing their value (${judged.staleLocalHits} from L1), max ${judged.maxStaleMs} ms stale (the bound is the announcement's delivery; localTtlMs 60,000 the backstop)`,
    );
    expect(judged.beyondBound).toEqual([]);
    expect(judged.backwards).toEqual([]);
    expect(run.invalidationsReceived).toBe(WRITES);
    expect(run.runs.at(-1)!.value).toBe(WRITES);
    // Every write found B holding the previous value in L1 (by construction): the reads tested the bound on L1 hits.
    expect(run.runs.reduce((sum, r) => sum + r.localHits, 0)).toBeGreaterThanOrEqual(WRITES);
  });
});
