/**
 * The cache workloads every competitor runs: a read percentage over a scrambled Zipf(0.99)
 * stream of key ids, precomputed per thread (different seeds per thread, the same stream for
 * the same thread in every run), with the write decisions precomputed too: the timed loops do
 * nothing but the operations.
 */
import { seededRandom } from '../../src/stress/random.js';
import { zipfStream } from './zipf.js';

export const MIXES = [
  { name: 'read-only', readPercent: 100 },
  { name: '90/10', readPercent: 90 },
  { name: '75/25', readPercent: 75 },
  { name: 'write-only', readPercent: 0 },
] as const;

export type MixName = (typeof MIXES)[number]['name'];

/** Keys in the universe (all present: the cache is prefilled), and the stream's length (a power of two). */
export const UNIVERSE = 10_000;
export const STREAM = 1 << 16;
export const MASK = STREAM - 1;

export const keyOf = (id: number): string => `key:${id}`;
export const valueOf = (id: number): string => `value:${id}`;

/** Thread `thread`'s stream of key ids and its write flags (1 = set, 0 = get). */
export function workload(readPercent: number, thread: number): { ids: Int32Array; writes: Uint8Array } {
  const ids = zipfStream(UNIVERSE, 0.99, STREAM, 101 + thread);
  const random = seededRandom(202 + thread);
  const writes = Uint8Array.from({ length: STREAM }, () => (random() * 100 >= readPercent ? 1 : 0));
  return { ids, writes };
}
