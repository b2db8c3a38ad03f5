// The sweep report: the Pareto front on a hand-checked set (and against the definition on
// random sets), the overall sums, the Go releases' defaults marked, and HTML that renders
// on its own (inline SVG, no external request).

import { paretoFront, renderSweepReport, SWEEP_RUN_SCHEMA, type SweepLine } from '../src/index.js';
import { overallPoints, ticks } from '../src/sweep/report.js';
import { rng } from './helpers.js';

type P = { name: string; x: number; y: number };
const px = (p: P) => p.x;
const py = (p: P) => p.y;

describe('paretoFront', () => {
  test('a hand-checked set', () => {
    // c is beaten by b (lower on both); e by d (same x, higher y); f by b; a, b, d, g trade off; h equals g.
    const pts: P[] = [
      { name: 'a', x: 0, y: 10 },
      { name: 'b', x: 2, y: 6 },
      { name: 'c', x: 3, y: 7 },
      { name: 'd', x: 5, y: 3 },
      { name: 'e', x: 5, y: 4 },
      { name: 'f', x: 6, y: 6 },
      { name: 'g', x: 9, y: 1 },
      { name: 'h', x: 9, y: 1 },
      { name: 'i', x: 10, y: 1 },
    ];
    expect(paretoFront(pts, px, py).map((p) => p.name)).toEqual(['a', 'b', 'd', 'g', 'h']);
  });

  test('is exactly the points no other point dominates', () => {
    const next = rng(7);
    for (let round = 0; round < 50; round++) {
      const pts: P[] = Array.from({ length: 30 }, (_v, i) => ({ name: String(i), x: Math.floor(next() * 8), y: Math.floor(next() * 8) }));
      const dominated = (p: P) => pts.some((q) => q.x <= p.x && q.y <= p.y && (q.x < p.x || q.y < p.y));
      const expected = pts.filter((p) => !dominated(p)).map((p) => p.name);
      expect(
        paretoFront(pts, px, py)
          .map((p) => p.name)
          .sort(),
      ).toEqual(expected.sort());
    }
  });

  test('ticks cover the range with round steps', () => {
    expect(ticks(1.42, 2.18)).toEqual([1.4, 1.6, 1.8, 2, 2.2]);
    expect(ticks(0, 0)).toEqual([0, 0.2]);
  });
});

function line(trace: string, version: string | null, gogc: number, cpuNs: number, meanRss: number, peakRss: number, defaults = false): SweepLine {
  return {
    schema: SWEEP_RUN_SCHEMA,
    sweep: 'abc',
    heapsim: '0.1.0',
    index: 0,
    runs: 0,
    key: `${trace}-${version}-${gogc}`,
    trace,
    backend: version === 'go1.13' ? 'treap-aoff' : 'bitmap',
    policy: version ?? 'none',
    version,
    params: { gogc },
    defaults,
    outcome: 'ok',
    figures: { 'summary.scavengerCpuNs': cpuNs, 'summary.meanRssBytes': meanRss, 'summary.peakRssBytes': peakRss },
  };
}

const MiB = 1 << 20;
const LINES: SweepLine[] = [
  line('a.csv', 'go1.13', 100, 2e6, 100 * MiB, 200 * MiB, true),
  line('a.csv', 'go1.19', 100, 1e6, 110 * MiB, 190 * MiB, true),
  line('a.csv', 'go1.19', 50, 3e6, 120 * MiB, 210 * MiB),
  line('b.csv', 'go1.13', 100, 1e6, 50 * MiB, 60 * MiB, true),
  line('b.csv', 'go1.19', 100, 1e6, 40 * MiB, 70 * MiB, true),
  { ...line('b.csv', 'go1.19', 50, 0, 0, 0), outcome: 'oom' },
];

describe('the report', () => {
  test('overall: per setting, summed over traces; settings that failed somewhere are left out', () => {
    const { points, leftOut } = overallPoints(LINES);
    expect(points.map((p) => [p.label, p.cpuNs, p.meanRssBytes / MiB, p.mark])).toEqual([
      ['go1.13 gogc=100', 3e6, 150, 'go1.13 defaults'],
      ['go1.19 gogc=100', 2e6, 150, 'go1.19 defaults'],
    ]);
    expect(leftOut).toEqual(['go1.19 gogc=50']);
  });

  test('renders self-contained HTML: a chart pair and front tables per trace and overall, defaults marked', () => {
    const html = renderSweepReport(LINES, { title: 'test sweep', missing: 2 });
    expect(html).toMatch(/^<!DOCTYPE html>/);
    expect(html.match(/<svg /g)).toHaveLength(6); // overall, a.csv, b.csv: mean and peak each
    expect(html).not.toMatch(/(src|href)=/);
    expect(html.match(/https?:\/\/[^"]*/g)?.every((u) => u === 'http://www.w3.org/2000/svg')).toBe(true);
    expect(html).toContain('2 runs of the sweep are missing');
    expect(html).toContain('go1.19 gogc=50');
    // Overall, mean RSS: both settings sum to 150 MiB and go1.19 spends less CPU: go1.13 is dominated.
    const overall = html.slice(html.indexOf('<h2>Overall'), html.indexOf('<h2>a.csv'));
    expect(overall).toContain('Pareto front: RSS, time-weighted mean against release CPU (1 of 2 settings)');
    // On a.csv, mean RSS: go1.19 defaults (1 ms, 110 MiB) and go1.13 defaults (2 ms, 100 MiB) trade off; gogc=50 is dominated.
    const a = html.slice(html.indexOf('<h2>a.csv'), html.indexOf('<h2>b.csv'));
    expect(a).toContain('(2 of 3 settings)');
    expect(a).toContain('<b>(go1.13 defaults)</b>');
    expect(a.match(/class="default"/g)?.length).toBe(4);
  });
});
