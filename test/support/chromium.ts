/**
 * Opens a local HTML file in Debian's headless Chromium (driven by playwright-core) and reports
 * what a reader would notice: console errors and warnings, page errors, network requests, and
 * how many canvases Chart.js drew.
 */
import { existsSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.SABRE_CHROMIUM ?? '/usr/bin/chromium';
export const chromiumAvailable = existsSync(CHROMIUM);
if (process.env.SABRE_REQUIRE_CHROMIUM === '1' && !chromiumAvailable) throw new Error(`SABRE_REQUIRE_CHROMIUM=1 but there is no Chromium at ${CHROMIUM}`);

export interface PageCheck {
  readonly problems: string[];
  readonly requests: string[];
  readonly canvases: number;
  readonly drawn: number;
  readonly tableRows: number;
}

export async function openInChromium(file: string): Promise<PageCheck> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
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
    // Chart.js registers every chart it renders: a canvas it knows, with a size, was drawn.
    const charts = (await page.evaluate(`(() => {
      const canvases = [...document.querySelectorAll('canvas')];
      return { canvases: canvases.length, drawn: canvases.filter((c) => Chart.getChart(c) !== undefined && c.width > 0).length };
    })()`)) as { canvases: number; drawn: number };
    const tableRows = await page.locator('table tbody tr').count();
    return { problems, requests, ...charts, tableRows };
  } finally {
    await browser.close();
  }
}
