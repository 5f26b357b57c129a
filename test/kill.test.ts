/**
 * Threads killed at random moments (the short form CI runs; bench/kill-rounds.ts runs 2,000
 * rounds): pool workers aborted or timed out, plain worker_threads terminated and recovered by
 * `recoverOnExit`, while the other workers and the main thread keep running mixed cache and lock
 * operations. See test/support/kill-rounds.ts for what a round does and checks.
 */
import { describe, expect, it } from 'vitest';
import { type KillSummary, countFindings, runKillRounds } from './support/kill-rounds.js';
import { EXPECTED_CODES } from './workers/kill-ops.js';

/** What must hold after any number of rounds: no hang, no freeze, nothing broken, nothing unexplained. */
function expectWhole(s: KillSummary, rounds: number): void {
  expect(s.rounds).toBe(rounds);
  expect(s.hungRounds).toEqual([]);
  expect(s.frozenMainThread).toBe(0);
  expect(s.integrityProblems).toEqual([]);
  expect(s.foreignValues).toEqual([]);
  expect(s.accountingMismatches).toEqual([]);
  expect(s.leakedLocks).toEqual([]);
  expect(s.unexpected).toEqual([]);
  expect(s.checksAfterRounds).toBe(rounds);
  // Every typed error seen is one a dying thread may cause.
  expect(Object.keys(s.typedErrors).filter((code) => !EXPECTED_CODES.includes(code))).toEqual([]);
  expect(s.operations).toBeGreaterThan(rounds * 100);
}

describe('workers killed at random moments while everyone else keeps working', () => {
  it('pool workers aborted or timed out mid-operation: no hang, no frozen main thread, the cache whole after every round', async () => {
    const s = await runKillRounds({ rounds: 40, seed: 2026, mode: 'pool' });
    expectWhole(s, 40);
    expect(s.kills.abort + s.kills.timeout).toBe(40);
    // The kills really landed mid-operation, and some while the victim held a lock (about a
    // quarter of the kills that land do: 40 rounds make none at all a chance below 1 in 1,000).
    expect(s.killsLanded.abort).toBeGreaterThan(0);
    expect(s.killsLanded.timeout).toBeGreaterThan(0);
    expect(s.killOutcomes.AbortError).toBeGreaterThan(0);
    expect(s.killOutcomes.ERR_SABRE_TIMEOUT).toBeGreaterThan(0);
    expect(s.recoveries.mutex + s.recoveries.rwlock + s.recoveries.cache).toBeGreaterThan(0);
  });

  it('plain worker_threads terminated mid-operation and recovered by recoverOnExit: the same guarantees', async () => {
    const s = await runKillRounds({ rounds: 15, seed: 2026, mode: 'plain' });
    expectWhole(s, 15);
    expect(s.kills.terminate).toBe(15);
    expect(s.killsLanded.terminate).toBeGreaterThan(0);
  });

  it('the checks can fail: without recoverOnExit, what a terminated thread held is found within a few rounds', async () => {
    // The negative control: the same plain rounds, but nobody recovers the dead thread's locks.
    const s = await runKillRounds({ rounds: 40, seed: 2026, mode: 'plain', recoverOnExit: false, stopAfterFindings: 1 });
    expect(countFindings(s)).toBeGreaterThan(0);
    expect([...s.integrityProblems, ...s.leakedLocks, ...s.hungRounds, ...s.unexpected].length).toBeGreaterThan(0);
  });
});
