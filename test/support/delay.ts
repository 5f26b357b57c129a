/**
 * Seeded delay points: widen race windows reproducibly. The same seed gives the same sequence of
 * delays in every run, so a failure can be replayed.
 */

/** mulberry32: a tiny, fast, well-distributed 32-bit PRNG; plenty for choosing delays. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

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
