// The HTML report in a real browser: `heapsim report` on the spike trace under three
// policies, opened in headless Chromium (Debian's chromium, driven by playwright-core)
// with the network cut off. Fails on any console error, page error or request for
// anything outside the file; checks that every chart drew (a canvas with coloured
// pixels or an SVG with bars, the series count it declares, its legend) and saves a
// screenshot (HEAPSIM_SCREENSHOT=docs/report.png writes the README's).
//
// Without /usr/bin/chromium (or HEAPSIM_CHROMIUM) the test is skipped, saying why,
// except under HEAPSIM_REQUIRE_BROWSER=1 (CI), where a missing browser fails.

import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { ROOT, cli, tempDir } from './helpers.js';

const CHROMIUM = process.env.HEAPSIM_CHROMIUM ?? '/usr/bin/chromium';
const available = existsSync(CHROMIUM);
const mustRun = process.env.HEAPSIM_REQUIRE_BROWSER === '1';

if (!available && mustRun) {
  test('chromium is installed', () => {
    throw new Error(`${CHROMIUM} not found: CI must install Debian's chromium (apt-get install chromium)`);
  });
}
const skipReason = `${CHROMIUM} is not installed; apt-get install chromium`;
if (!available) console.warn(`report-browser: skipped: ${skipReason}`);
const maybe = available ? describe : describe.skip;

/** What one chart element showed, measured in the page. */
interface Drawn {
  kind: string;
  series: number;
  colouredPixels: number;
  bars: number;
  legendEntries: number;
}

maybe(`the HTML report in headless Chromium${available ? '' : ` (skipped: ${skipReason})`}`, () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  });
  afterAll(async () => {
    await browser.close();
  });

  /** Opens a report offline and waits for it to draw; every console error, page error or request is a problem. */
  async function openReport(file: string) {
    const page = await browser.newPage({ viewport: { width: 1300, height: 2300 } });
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()}`));
    // Offline: anything but the file itself is refused (and reported).
    await page.route('**/*', async (route) => {
      const url = route.request().url();
      if (url.startsWith('file://')) return route.continue();
      problems.push(`request outside the file: ${url}`);
      return route.abort();
    });
    const t0 = performance.now();
    await page.goto(`file://${file}`);
    await page.waitForFunction(() => document.body.dataset.drawn === 'true', null, { timeout: 30000 });
    const openMs = performance.now() - t0;
    console.log(`report-browser: ${(statSync(file).size / 1024).toFixed(0)} KiB, opened and drawn in ${openMs.toFixed(0)} ms`);
    return { page, problems, openMs };
  }

  test('spike-gogc100-768 under none, go1.13, go1.19: every chart drew, offline, no error', async () => {
    const dir = tempDir('heapsim-report-');
    const file = join(dir, 'r.html');
    // A path relative to the checkout, as a user would type it: the report shows it.
    const made = cli(['report', 'traces/spike-gogc100-768.csv.gz', '--policies', 'none,go1.13,go1.19', '-o', file]);
    expect(made.stderr).toMatch(/wrote .*r\.html/);
    expect(made.status).toBe(0);
    expect(statSync(file).size).toBeLessThan(4 << 20);
    const { page, problems, openMs } = await openReport(file);

    const drawn = await page.evaluate(measureCharts);
    expect(problems).toEqual([]);
    const count = (kind: string) => drawn.filter((d) => d.kind === kind).length;
    expect({
      rss: count('rss'),
      memory: count('memory'),
      gap: count('gap'),
      heapmap: count('heapmap'),
      releases: count('releases'),
      bars: count('gap-bars'),
    }).toEqual({
      rss: 1,
      memory: 3,
      gap: 3,
      heapmap: 3,
      releases: 3,
      bars: 1,
    });
    expect(count('latency')).toBeGreaterThanOrEqual(4);
    for (const d of drawn) {
      const what = `${d.kind} chart`;
      expect([what, d.colouredPixels + d.bars > 50]).toEqual([what, true]);
      expect([what, d.legendEntries]).toEqual([what, d.series]);
    }
    const series = (kind: string) => drawn.filter((d) => d.kind === kind).map((d) => d.series);
    expect(series('rss')).toEqual([3]);
    expect(series('memory')).toEqual([5, 5, 5]);
    expect(series('gap-bars')).toEqual([3]);
    // none releases nothing (its chart says so); go1.13 and go1.19 release.
    expect(series('releases')[0]).toBe(1);
    expect(
      series('releases')
        .slice(1)
        .every((n) => n >= 2),
    ).toBe(true);
    expect(openMs).toBeLessThan(10000);

    const shot = process.env.HEAPSIM_SCREENSHOT ?? join(dir, 'report.png');
    await page.screenshot({ path: shot.startsWith('/') ? shot : join(ROOT, shot), clip: { x: 0, y: 0, width: 1300, height: 2300 } });
    await page.close();
  });

  test('a recording with rss rows: the recorded and simulated heap RSS are drawn, with the error table', async () => {
    const dir = tempDir('heapsim-report-');
    const file = join(dir, 'r.html');
    const made = cli(['report', join(ROOT, 'test/fixtures/recorded/spike-thp-madvise.csv.gz'), '--thp', 'madvise', '--policies', 'trace,go1.19', '-o', file]);
    expect(made.status).toBe(0);
    const { page, problems } = await openReport(file);
    const drawn = await page.evaluate(measureCharts);
    expect(problems).toEqual([]);
    const match = drawn.filter((d) => d.kind === 'rss-match');
    // One chart: the recorded curve and one simulated curve per run.
    expect(match.map((d) => d.series)).toEqual([3]);
    expect(match[0].colouredPixels).toBeGreaterThan(50);
    expect(match[0].legendEntries).toBe(3);
    const table = await page.locator('table.rssmatch-table').innerText();
    expect(table).toMatch(/mean error/);
    expect(table.split('\n').filter((l) => /^(trace|go1\.19)\b/.test(l))).toHaveLength(2);
    await page.close();
  });
});

/** Runs in the page: what each [data-chart] element drew. */
function measureCharts(): Drawn[] {
  const coloured = (canvas: HTMLCanvasElement): number => {
    const ctx = canvas.getContext('2d');
    if (ctx === null || canvas.width === 0 || canvas.height === 0) return 0;
    const px = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
    let n = 0;
    for (let i = 0; i < px.length; i += 4) {
      if (px[i + 3] > 0 && Math.max(px[i], px[i + 1], px[i + 2]) - Math.min(px[i], px[i + 1], px[i + 2]) > 40) n++;
    }
    return n;
  };
  return [...document.querySelectorAll<HTMLElement>('[data-chart]')].map((el) => {
    const kind = el.dataset.chart ?? '';
    const canvases = [...el.querySelectorAll('canvas')];
    // uPlot lists the x series first in its legend; the heap map and the bars have a legend of their own.
    const uplotLegend = el.querySelectorAll('.u-legend .u-series').length;
    const ownLegend = el.querySelectorAll('.legend span').length;
    return {
      kind,
      series: Number(el.dataset.series),
      colouredPixels: canvases.reduce((n, c) => n + coloured(c), 0),
      bars: [...el.querySelectorAll('svg rect')].filter((r) => Number(r.getAttribute('width')) > 0).length * 100,
      legendEntries: uplotLegend > 0 ? uplotLegend - 1 : kind === 'gap-bars' ? Number(el.dataset.series) : ownLegend,
    };
  });
}
