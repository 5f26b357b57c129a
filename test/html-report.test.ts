/**
 * The HTML report opened in a real headless Chromium (Debian's chromium, driven by
 * playwright-core): it must render every chart without a console error and without the network.
 * Skipped where no Chromium is installed, unless SABRE_REQUIRE_CHROMIUM=1 (CI installs it and sets it).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { describe, expect, it } from 'vitest';

const CHROMIUM = process.env.SABRE_CHROMIUM ?? '/usr/bin/chromium';
const required = process.env.SABRE_REQUIRE_CHROMIUM === '1';
const available = existsSync(CHROMIUM);
if (required && !available) throw new Error(`SABRE_REQUIRE_CHROMIUM=1 but there is no Chromium at ${CHROMIUM}`);

describe.skipIf(!available)('the HTML report in headless Chromium', () => {
  it('renders its table and every chart offline, with no console error', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sabre-html-'));
    const file = join(dir, 'report.html');
    const bin = fileURLToPath(new URL('../dist/src/cli/main.js', import.meta.url));
    // E measures latencies, so its sections carry both kinds of chart; K has outcomes only.
    const run = spawnSync(process.execPath, [bin, 'stress', 'E', 'K', '--quick', '--seed', '3', '--html', file], { encoding: 'utf8' });
    expect(run.status).toBe(0);
    const html = readFileSync(file, 'utf8');
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+href=/); // self-contained: nothing to fetch

    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    try {
      const page = await browser.newPage();
      const problems: string[] = [];
      page.on('console', (message) => {
        if (message.type() === 'error' || message.type() === 'warning') problems.push(`${message.type()}: ${message.text()}`);
      });
      page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
      const requests: string[] = [];
      page.on('request', (request) => {
        if (!request.url().startsWith('file:')) requests.push(request.url());
      });
      await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
      expect(await page.locator('table tbody tr').count()).toBe(4);
      // Every canvas was drawn by Chart.js (it registers each chart it renders).
      const charts = (await page.evaluate(`(() => {
        const canvases = [...document.querySelectorAll('canvas')];
        return { canvases: canvases.length, drawn: canvases.filter((c) => Chart.getChart(c) !== undefined && c.width > 0).length };
      })()`)) as { canvases: number; drawn: number };
      expect(charts.canvases).toBe(6); // 4 outcome histograms + 2 latency charts (E's variants)
      expect(charts.drawn).toBe(charts.canvases);
      expect(problems).toEqual([]);
      expect(requests).toEqual([]);
    } finally {
      await browser.close();
    }
  });
});
