// The gap meter and the report's data: on the recorded bundled traces (every bundled trace
// under HEAPSIM_CHECK_ALL=1, `npm run test:exhaustive`) and every backend the breakdown of
// RSS near its peak, and every snapshot the report draws over time, add up to RSS exactly;
// the heap map and the series are bounded; the HTML is offline. Generated traces are
// still drawn with options below (gen-fragmenter) and for page caches (gen-multi-p).

import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { backends, buildReport, GAP_PARTS, gapSum, loadTrace, renderHtml, reportReplay, type GapBreakdown, type LoadedTrace } from '../src/index.js';
import { PageTracker } from '../src/metrics/gap.js';
import { SimOS } from '../src/os/sim-os.js';
import { CHECK_ALL, TRACES, cli, isRecorded, tempDir } from './helpers.js';

const bundled = readdirSync(TRACES).filter((f) => /\.csv(\.gz)?$/.test(f) && (CHECK_ALL || isRecorded(f)));
const traceSet = CHECK_ALL ? 'every bundled trace' : 'subset: the recorded traces; HEAPSIM_CHECK_ALL=1 runs every bundled trace';

function expectExact(g: GapBreakdown): void {
  expect(gapSum(g)).toBe(g.rssBytes);
  for (const p of GAP_PARTS) expect(g[p.key]).toBeGreaterThanOrEqual(0);
}

describe.each(bundled)(`%s [${traceSet}]`, (file) => {
  // Parsed once for all backends: a replay reads a loaded trace and never changes it.
  let loaded: Promise<LoadedTrace> | undefined;
  test.each(backends().map((b) => b.name))('%s: the parts of RSS add up to RSS, near the peak and over time', async (backend) => {
    const trace = await (loaded ??= loadTrace(join(TRACES, file)));
    let run;
    try {
      run = reportReplay(trace, { backend, policy: 'go1.19' }, backend);
    } catch (err) {
      // A backend that cannot model the trace (bitmap with another page size) says so.
      expect((err as Error).name).toBe('HeapConfigError');
      return;
    }
    const peak = run.result.gap.atPeak;
    expect(peak).not.toBeNull();
    if (peak === null) return;
    expectExact(peak);
    expect(peak.rssBytes).toBeLessThanOrEqual(run.result.summary.peakRssBytes);
    expect(peak.rssBytes * (1 + 1 / 64)).toBeGreaterThanOrEqual(run.result.summary.peakRssBytes);
    expect(peak.inUseBytes).toBeGreaterThan(0);
    expect(run.series.gap.length).toBeGreaterThan(10);
    expect(run.series.gap.length).toBeLessThanOrEqual(150);
    for (const g of run.series.gap) expectExact(g);
    expect(run.series.memory.timeNs.length).toBeLessThanOrEqual(2000);
    expect(run.series.heapMap.rows).toBeLessThanOrEqual(400);
  });
});

describe('the gap causes', () => {
  const pb = 8192;
  const heap = { forEachCachedPage: undefined } as unknown as Parameters<PageTracker['breakdown']>[1];

  test('free pages between live spans are free by hole size; MADV_FREE pages are lazy; memory outside the heap is metadata', () => {
    const os = new SimOS({ madvise: 'free' });
    const base = 0xc000000000;
    os.map(base, 64 << 20);
    os.map(0x7f0000000000 - (1 << 20), 1 << 20);
    os.touch(0x7f0000000000 - 8192, 8192);
    const t = new PageTracker(pb);
    os.touch(base, 40 * pb);
    t.alloc(base, 10 * pb);
    t.alloc(base + 10 * pb, 2 * pb);
    t.alloc(base + 12 * pb, 28 * pb);
    t.free(base + 10 * pb, 2 * pb); // a 16 KiB hole between live spans
    t.free(base + 12 * pb, 28 * pb); // the top: an open hole
    os.release(base + 30 * pb, 10 * pb); // lazily freed
    const g = t.breakdown(os, heap, 0);
    expect(g).toMatchObject({ inUseBytes: 10 * pb, freeSmallBytes: 0, freeLargeBytes: 20 * pb, lazyFreeBytes: 10 * pb, metadataBytes: 8192 });
    expectExact(g);
  });

  test('a huge page fault keeps never-used free pages resident; 64 KiB physical pages round', () => {
    const os = new SimOS({ thp: 'always' });
    const base = 0xc000000000;
    os.map(base, 64 << 20);
    const t = new PageTracker(pb);
    os.touch(base, pb);
    t.alloc(base, 1);
    const g = t.breakdown(os, heap, 0);
    expect(g).toMatchObject({ inUseBytes: pb, hugePageBytes: (2 << 20) - pb });
    expectExact(g);

    const big = new SimOS({ physPageBytes: 65536 });
    big.map(base, 64 << 20);
    const u = new PageTracker(pb);
    big.touch(base, pb);
    u.alloc(base, 1);
    const r = u.breakdown(big, heap, 0);
    expect(r).toMatchObject({ inUseBytes: pb, physRoundingBytes: 65536 - pb });
    expectExact(r);
  });

  test('pages a P caches are counted as page caches (bitmap)', async () => {
    const trace = await loadTrace(join(TRACES, 'gen-multi-p.csv.gz'));
    const run = reportReplay(trace, { backend: 'bitmap', policy: 'go1.19' }, 'bitmap');
    expect(run.series.gap.some((g) => g.pageCacheBytes > 0)).toBe(true);
  });
});

/** gen-fragmenter, parsed once for every option and backend below. */
let fragmenter: Promise<LoadedTrace> | undefined;

describe.each([
  ['THP always', { thp: 'always' as const }],
  ['MADV_FREE under go1.13', { madvise: 'free' as const, policy: 'go1.13' }],
  ['64 KiB physical pages', { physPageBytes: 65536 }],
])('%s', (_name, options) => {
  test.each(['list', 'treap-aoff', 'bitmap'])('%s: the parts add up to RSS, and the option shows in its part', async (backend) => {
    const trace = await (fragmenter ??= loadTrace(join(TRACES, 'gen-fragmenter.csv.gz')));
    const run = reportReplay(trace, { policy: 'go1.19', ...options, backend }, backend);
    for (const g of [run.result.gap.atPeak as GapBreakdown, ...run.series.gap]) expectExact(g);
    const total = (key: 'hugePageBytes' | 'lazyFreeBytes' | 'physRoundingBytes') => run.series.gap.reduce((n, g) => n + g[key], 0);
    if ('thp' in options) expect(total('hugePageBytes')).toBeGreaterThan(0);
    if ('madvise' in options) expect(total('lazyFreeBytes')).toBeGreaterThan(0);
    if ('physPageBytes' in options) expect(total('physRoundingBytes')).toBeGreaterThan(0);
  });
});

describe('page sizes', () => {
  test.each([4096, 65536, 16777216])('page_size=%d: the parts add up to RSS, and the heap map has rows', async (pageBytes) => {
    const rows = ['# heapsim-trace v1', `# page_size=${pageBytes}`, 'time,op,id,pages,bytes,p,addr,huge'];
    for (let i = 0; i < 40; i++) rows.push(`${i * 1000},alloc,a${i},${1 + (i % 3)},,,,`);
    for (let i = 0; i < 40; i += 2) rows.push(`${40000 + i * 1000},free,a${i},${1 + (i % 3)},,,,`);
    const dir = tempDir('heapsim-pages-');
    writeFileSync(join(dir, 't.csv'), rows.join('\n') + '\n');
    const run = reportReplay(await loadTrace(join(dir, 't.csv')), { backend: 'list', policy: 'none' }, 'list');
    for (const g of [run.result.gap.atPeak as GapBreakdown, ...run.series.gap]) expectExact(g);
    expect(run.result.gap.atPeak?.inUseBytes).toBeGreaterThan(0);
    expect(run.series.heapMap.rows).toBeGreaterThan(0);
  });
});

describe('the HTML', () => {
  test('inlines uPlot and its data, and refers to nothing outside the file', async () => {
    const html = renderHtml(await buildReport([join(TRACES, 'go1-Gob.csv')], { backends: ['list', 'bitmap'] }));
    expect(html).toContain('uPlot');
    expect(html).not.toMatch(/<(script|link|img)[^>]+(src|href)=/i);
    expect(html).not.toMatch(/@import|url\(\s*['"]?https?:/i);
    expect(html).toContain('id="heapsim-data"');
  });

  test('replay --html and compare --html write the report beside their tables', () => {
    const dir = tempDir('heapsim-html-');
    const r = cli(['replay', join(TRACES, 'go1-Gob.csv'), '--html', join(dir, 'r.html')]);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('peak RSS');
    expect(r.stderr).toMatch(/wrote .*r\.html/);
    expect(readFileSync(join(dir, 'r.html'), 'utf8')).toContain('id="memory-0-0"');
    const c = cli(['compare', join(TRACES, 'go1-Gob.csv'), '--policies', 'none,go1.19', '--html', join(dir, 'c.html')]);
    expect(c.status).toBe(0);
    expect(readFileSync(join(dir, 'c.html'), 'utf8')).toContain('id="memory-0-1"');
    // The report is an output like any other: it never replaces an input.
    const bad = cli(['replay', join(TRACES, 'go1-Gob.csv'), '--html', join(TRACES, 'go1-Gob.csv')]);
    expect(bad.status).toBe(2);
  });

  test('replay --json carries the breakdown; report refuses traces and sweep results together', () => {
    const r = cli(['replay', join(TRACES, 'go1-Gob.csv'), '--json']);
    expect(r.status).toBe(0);
    const g = JSON.parse(r.stdout).gap.atPeak as GapBreakdown;
    expect(gapSum(g)).toBe(g.rssBytes);
    const s = cli(['report', 'results.jsonl', join(TRACES, 'go1-Gob.csv'), '-o', '/tmp/heapsim-never.html']);
    expect(s.status).toBe(2);
    expect(s.stderr).toMatch(/give traces or sweep results \(\.jsonl\), not both/);
  });
});

describe('PageBits', () => {
  test('set, clear, count and search across words and blocks, against a plain array', async () => {
    const { PageBits } = await import('../src/metrics/page-bits.js');
    const { rng } = await import('./helpers.js');
    const ppb = 256;
    const bits = new PageBits(ppb);
    const plain = new Uint8Array(4 * ppb);
    const next = rng(7);
    for (let i = 0; i < 600; i++) {
      const from = Math.floor(next() * plain.length);
      // One range in five long enough to cover whole blocks (shared full bitmaps, copied on change).
      const to = Math.min(plain.length, from + 1 + Math.floor(next() * (next() < 0.2 ? 700 : 90)));
      const on = next() < 0.6;
      bits.setRange(from, to, on);
      plain.fill(on ? 1 : 0, from, to);
      const a = Math.floor(next() * plain.length);
      const b = a + Math.floor(next() * (plain.length - a));
      expect(bits.count(a, b)).toBe(plain.subarray(a, b).reduce((n, v) => n + v, 0));
      const bit = next() < 0.5;
      let want = a;
      while (want < b && plain[want] === (bit ? 1 : 0)) want++;
      expect(bits.nextChange(a, bit, b)).toBe(want);
      let prev = b - 1;
      while (prev >= a && plain[prev] === 0) prev--;
      expect(bits.prevSet(b, a)).toBe(prev);
    }
  });
});
