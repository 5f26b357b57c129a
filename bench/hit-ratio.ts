/**
 * Hit ratios against lru-cache (exact LRU), capacity 1,000 of 100,000 keys, set on miss:
 * on a scrambled Zipf(0.99) stream, and on a scan-heavy one (the same Zipf stream with a
 * one-pass scan of 5,000 cold keys after every 10,000 requests, as a batch job would do).
 * Writes bench/results/hit-ratio.*.
 */
import { hitRatio } from './support/hit-ratio.js';
import { type Goal, ratioGoal, writeReport, resultsDir } from './support/report.js';
import { quick } from './support/suite.js';
import { zipfStream } from './support/zipf.js';

const UNIVERSE = 100_000;
const CAPACITY = 1_000;
const LENGTH = quick ? 100_000 : 1_000_000;

function scanHeavy(zipf: Int32Array): Int32Array {
  const out: number[] = [];
  let scan = 0;
  zipf.forEach((id, i) => {
    out.push(id);
    if (i % 10_000 === 9_999) for (let k = 0; k < 5_000; k++) out.push(UNIVERSE + (scan++ % 1_000_000)); // keys never seen again
  });
  return Int32Array.from(out);
}

const zipf = zipfStream(UNIVERSE, 0.99, LENGTH, 7);
const scans = scanHeavy(zipf);
const ratios = {
  zipf: { sieve: hitRatio(zipf, CAPACITY, 'sieve'), clock: hitRatio(zipf, CAPACITY, 'lru'), lruCache: hitRatio(zipf, CAPACITY, 'lru-cache') },
  scan: { sieve: hitRatio(scans, CAPACITY, 'sieve'), clock: hitRatio(scans, CAPACITY, 'lru'), lruCache: hitRatio(scans, CAPACITY, 'lru-cache') },
};
const goals: Goal[] = [
  ratioGoal('SIEVE hit ratio vs LRU on Zipf(0.99)', ratios.zipf.sieve / ratios.zipf.lruCache, 1),
  ratioGoal('SIEVE hit ratio vs LRU on the scan-heavy stream', ratios.scan.sieve / ratios.scan.lruCache, 1),
];
const pct = (r: number): string => `${(r * 100).toFixed(2)} %`;
const section = [
  '## Hit ratios',
  '',
  '| policy | Zipf(0.99) | scan-heavy |',
  '|---|---:|---:|',
  `| sabre SIEVE (default) | ${pct(ratios.zipf.sieve)} | ${pct(ratios.scan.sieve)} |`,
  `| sabre CLOCK (\`policy: 'lru'\`) | ${pct(ratios.zipf.clock)} | ${pct(ratios.scan.clock)} |`,
  `| lru-cache (exact LRU) | ${pct(ratios.zipf.lruCache)} | ${pct(ratios.scan.lruCache)} |`,
  '',
];
const notes = [
  `${UNIVERSE.toLocaleString('en')} keys, ${LENGTH.toLocaleString('en')} Zipf requests (the scan-heavy stream adds ${(scans.length - LENGTH).toLocaleString('en')} scan requests), capacity ${CAPACITY.toLocaleString('en')}, set on miss.`,
  quick ? 'QUICK RUN.' : 'Full run.',
];
console.log(writeReport(resultsDir(), quick ? 'hit-ratio-quick' : 'hit-ratio', 'sabre hit ratios', [], goals, notes, section, { hitRatios: ratios }));
