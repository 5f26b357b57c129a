import { describe, expect, it } from 'vitest';
import { Barrier, BarrierBrokenError, InvalidArgumentError, TimeoutError } from '../src/index.js';
import { runActors, snapshot, startActor } from './support/threads.js';

interface RoundsResult {
  slips: number;
  wrongGeneration: number;
  leaders: number;
}

describe('Barrier', () => {
  it.each([2, 4, 8])('is reused 1,000 times by %i parties with no party slipping a generation', async (parties) => {
    const rounds = 1_000;
    const barrier = Barrier.create({ parties });
    const slots = new SharedArrayBuffer(4 * parties);
    const results = await runActors<RoundsResult>('rounds', parties, () => ({ barrier: barrier.handle, slots, rounds, parties, seed: 3 }));
    expect(results.map((r) => r.slips)).toEqual(Array(parties).fill(0));
    expect(results.map((r) => r.wrongGeneration)).toEqual(Array(parties).fill(0));
    expect(results.reduce((sum, r) => sum + r.leaders, 0)).toBe(rounds); // exactly one leader per generation
    expect(barrier.generation).toBe(rounds);
  });

  it('the main thread can be a party through the async form', async () => {
    const barrier = Barrier.create({ parties: 3 });
    const slots = new SharedArrayBuffer(4 * 3);
    const workers = runActors<RoundsResult>('rounds', 2, () => ({ barrier: barrier.handle, slots, rounds: 200, parties: 2, seed: 9 }));
    let leaders = 0;
    for (let round = 0; round < 200; round++) {
      const arrival = await barrier.arriveAndWaitAsync();
      expect(arrival.generation).toBe(round);
      if (arrival.leader) leaders++;
    }
    const results = await workers;
    expect(leaders + results.reduce((sum, r) => sum + r.leaders, 0)).toBe(200);
  });

  it('a party that times out breaks the generation for all; reset() makes it usable again', async () => {
    const barrier = Barrier.create({ parties: 3 });
    const other = startActor<{ ok: boolean; code?: string }>('arrive', { barrier: barrier.handle, timeoutMs: 30_000 });
    await expect(barrier.arriveAndWaitAsync({ timeoutMs: 50 })).rejects.toBeInstanceOf(TimeoutError);
    await expect(other.result).resolves.toEqual({ ok: false, code: 'ERR_SABRE_BARRIER_BROKEN' });
    expect(barrier.isBroken).toBe(true);
    await expect(barrier.arriveAndWaitAsync()).rejects.toBeInstanceOf(BarrierBrokenError);
    barrier.reset();
    expect(barrier.isBroken).toBe(false);
    const parties = [startActor('arrive', { barrier: barrier.handle }).result, startActor('arrive', { barrier: barrier.handle }).result];
    const mine = await barrier.arriveAndWaitAsync({ timeoutMs: 30_000 });
    const all = [mine, ...(await Promise.all(parties))] as Array<{ leader: boolean }>;
    expect(all.filter((a) => a.leader)).toHaveLength(1);
  });

  it('an aborted party rejects with the abort reason and breaks the generation', async () => {
    const barrier = Barrier.create({ parties: 2 });
    const controller = new AbortController();
    const waiting = barrier.arriveAndWaitAsync({ signal: controller.signal });
    controller.abort(new Error('stop'));
    await expect(waiting).rejects.toThrow('stop');
    expect(barrier.isBroken).toBe(true);
  });

  it('bad parties and main-thread blocking are typed errors that change nothing', () => {
    for (const parties of [0, -2, 1.5, NaN, '3', undefined]) {
      expect(() => Barrier.create({ parties: parties as number })).toThrow(InvalidArgumentError);
    }
    const barrier = Barrier.create({ parties: 2 });
    const before = snapshot(barrier.handle.buffer);
    expect(() => barrier.arriveAndWait()).toThrow(/arriveAndWaitAsync/);
    expect(snapshot(barrier.handle.buffer)).toEqual(before);
  });
});
