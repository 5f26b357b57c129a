/** Zipf-distributed key streams, seeded, the same in every run. */
import { seededRandom } from '../../src/stress/random.js';

/** `length` draws from Zipf(`s`) over `universe` ranks (0 = most popular), scrambled so that popularity does not follow key order. */
export function zipfStream(universe: number, s: number, length: number, seed: number): Int32Array {
  const cdf = new Float64Array(universe);
  let total = 0;
  for (let rank = 0; rank < universe; rank++) cdf[rank] = total += 1 / (rank + 1) ** s;
  for (let rank = 0; rank < universe; rank++) cdf[rank]! /= total;
  const random = seededRandom(seed);
  // A fixed permutation from rank to key id.
  const keyOfRank = Int32Array.from({ length: universe }, (_, i) => i);
  for (let i = universe - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [keyOfRank[i], keyOfRank[j]] = [keyOfRank[j]!, keyOfRank[i]!];
  }
  const stream = new Int32Array(length);
  for (let i = 0; i < length; i++) {
    const u = random();
    let lo = 0;
    let hi = universe - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid]! < u) lo = mid + 1;
      else hi = mid;
    }
    stream[i] = keyOfRank[lo]!;
  }
  return stream;
}
