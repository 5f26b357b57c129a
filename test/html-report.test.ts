/**
 * The HTML reports (sabre stress and sabre bench) opened in a real headless Chromium: each must
 * render its tables and every chart offline, with no console error. Skipped where no Chromium is
 * installed, unless SABRE_REQUIRE_CHROMIUM=1 (CI installs Debian's chromium and sets it).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { chromiumAvailable, openInChromium } from './support/chromium.js';

const compiled = (path: string): Promise<unknown> => import(new URL(path, import.meta.url).href);

describe.skipIf(!chromiumAvailable)('the HTML reports in headless Chromium', () => {
  it('sabre stress --html renders its table and every chart offline, with no console error', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sabre-html-'));
    const file = join(dir, 'report.html');
    const bin = fileURLToPath(new URL('../dist/src/cli/main.js', import.meta.url));
    // E measures latencies, so its sections carry both kinds of chart; K has outcomes only.
    const run = spawnSync(process.execPath, [bin, 'stress', 'E', 'K', '--quick', '--seed', '3', '--html', file], { encoding: 'utf8' });
    expect(run.status).toBe(0);
    expect(readFileSync(file, 'utf8')).not.toMatch(/<script[^>]+src=|<link[^>]+href=/); // self-contained
    const page = await openInChromium(file);
    expect(page.tableRows).toBe(4);
    expect(page.canvases).toBe(6); // 4 outcome histograms + 2 latency charts (E's variants)
    expect(page.drawn).toBe(page.canvases);
    expect(page.problems).toEqual([]);
    expect(page.requests).toEqual([]);
  });

  it('the sabre bench report renders its goals and every chart offline, with no console error', async () => {
    const { benchHtml } = (await compiled('../dist/bench/support/html.js')) as typeof import('../bench/support/html.js');
    const machine = { cpu: 'test', cores: 2, memoryGiB: 1, node: process.version, platform: 'test', date: 'now' };
    const goal = (description: string, measured: number, atLeast: number) => ({ description, measured, atLeast, met: measured >= atLeast });
    const suite = (extra: Record<string, unknown>, goals = [goal('a goal that holds', 2, 1), goal('a goal that does not', 0.5, 1)]) => ({
      title: 't',
      machine,
      rows: [],
      goals,
      notes: [],
      ...extra,
    });
    const series = ['sabre', 'lru-cache, one thread'].flatMap((competitor) =>
      ['read-only', '90/10'].flatMap((mix) => [1, 2].map((threads) => ({ competitor, mix, threads, opsPerSec: 1e6 * threads }))),
    );
    const html = benchHtml({
      tool: 'sabre bench',
      quick: true,
      machine,
      suites: {
        workloads: suite({ series }),
        bursts: suite({
          latency: [
            { name: 'steady', p50: 1000, p99: 5000, p999: 9000 },
            { name: 'burst', p50: 2000, p99: 8000, p999: 20000 },
          ],
        }),
        'hit-ratio': suite({ hitRatios: { zipf: { sieve: 0.58, clock: 0.5, lruCache: 0.49 }, scan: { sieve: 0.37, clock: 0.32, lruCache: 0.31 } } }),
      },
    });
    const file = join(mkdtempSync(join(tmpdir(), 'sabre-bench-html-')), 'report.html');
    writeFileSync(file, html);
    const page = await openInChromium(file);
    expect(page.tableRows).toBe(6); // two goals per suite, met and not met
    expect(page.canvases).toBe(4); // throughput for each of 2 mixes, burst latency, hit ratios
    expect(page.drawn).toBe(page.canvases);
    expect(page.problems).toEqual([]);
    expect(page.requests).toEqual([]);
  });
});
