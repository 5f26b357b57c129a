/**
 * Seeded randomness for the stress harness: every random choice (delay points, the async
 * scheduler, scenario inputs) comes from a seed, so a run can be replayed with the same choices.
 */

/** A 32-bit hash of `parts` (FNV-1a over their decimal digits): derives per-actor, per-stride seeds from one run seed. */
export function mixSeed(...parts: readonly (number | string)[]): number {
  let h = 0x811c9dc5;
  for (const ch of parts.join('/')) {
    h ^= ch.charCodeAt(0);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** mulberry32: a small, fast generator of numbers in [0, 1); enough for scheduling choices (not for cryptography). */
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

/**
 * A delay point: half the time nothing, otherwise a busy spin of up to ~`maxSpins` iterations
 * (a few microseconds at most). Spinning, not sleeping: a sleep costs a system call and tens of
 * microseconds, far wider than the windows being widened, and would change what it measures.
 */
export function delayPoint(random: () => number, maxSpins = 2_000): void {
  const r = random();
  if (r < 0.5) return;
  const spins = r < 0.85 ? Math.floor(random() * 50) : Math.floor(random() * maxSpins);
  for (let i = 0; i < spins; i++) sink = (sink + i) | 0;
}

/** Keeps the spin loop from being optimised away. */
export function delaySink(): number {
  return sink;
}

/**
 * A uniform random sample of at most `capacity` of the values added (Vitter's algorithm R, with a
 * seeded generator): percentiles of millions of latencies without keeping them all.
 */
export class Reservoir {
  readonly values: number[] = [];
  #seen = 0;
  readonly #capacity: number;
  readonly #random: () => number;

  constructor(capacity: number, seed: number) {
    this.#capacity = capacity;
    this.#random = seededRandom(seed);
  }

  add(value: number): void {
    this.#seen++;
    if (this.values.length < this.#capacity) this.values.push(value);
    else {
      const at = Math.floor(this.#random() * this.#seen);
      if (at < this.#capacity) this.values[at] = value;
    }
  }
}
