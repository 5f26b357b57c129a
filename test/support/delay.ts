/**
 * Seeded delay points for the unit tests' actors: widen race windows reproducibly. The same seed
 * gives the same sequence of delays in every run, so a failure can be replayed. (The generator is
 * the stress harness's; these points take an explicit rate and bound, for tests that tune them.)
 */
export { seededRandom } from '../../src/stress/random.js';

let sink = 0;

/** Busy-waits about `iterations` loop turns (a few ns each); the result is kept so it cannot be optimised away. */
export function spin(iterations: number): void {
  let x = sink;
  for (let i = 0; i < iterations; i++) x = (x * 31 + i) | 0;
  sink = x;
}

/** A delay point: with probability `rate`, spins a random number of turns below `maxSpin`. */
export function delayPoint(random: () => number, rate: number, maxSpin: number): void {
  if (random() < rate) spin(Math.floor(random() * maxSpin));
}
