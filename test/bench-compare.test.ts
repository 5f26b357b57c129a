/** sabre bench --compare: the regression table against an earlier summary. */
import { describe, expect, it } from 'vitest';
import { REGRESSION_THRESHOLD, compareSummaries, compareTable, type BenchSummary } from '../bench/support/summary.js';

const row = (name: string, medianNs: number) => ({ name, medianNs, opsPerSec: 1e9 / medianNs, p99Ns: medianNs, rmePercent: 0, samples: 1 });
const summary = (rows: ReturnType<typeof row>[]): BenchSummary => ({
  tool: 'sabre bench',
  quick: false,
  machine: {},
  suites: { cache: { title: 'cache', machine: {}, rows, goals: [], notes: [] } },
});

describe('comparing two bench runs', () => {
  it('pairs rows by suite and name, and flags only what is more than the threshold slower', () => {
    const before = summary([row('get', 100), row('set', 100), row('gone', 5)]);
    const now = summary([row('get', 100 * (1 + REGRESSION_THRESHOLD) + 1), row('set', 80), row('new', 7)]);
    const rows = compareSummaries(before, now);
    expect(rows.map((r) => [r.name, r.regression])).toEqual([
      ['get', true],
      ['set', false],
    ]);
    const table = compareTable(rows);
    expect(table).toMatch(/\| cache \| get \| 100\.0 ns \| 111\.0 ns \| \+11\.0 % \| \*\*slower\*\* \|/);
    expect(table).toMatch(/\| cache \| set \| .* \| -20\.0 % \| faster \|/);
    expect(table).toMatch(/1 of 2 rows more than 10 % slower/);
  });

  it('says so when nothing can be compared', () => {
    expect(compareTable(compareSummaries(summary([row('a', 1)]), summary([row('b', 1)])))).toMatch(/No row/);
  });
});
