// Figures that must not mislead: the formatting rule, bounded shares, fragmentation on a
// near-full heap, OOM reporting, compare's reference column and wall-clock columns, and the
// generated workloads' time axis.

import { Writable } from 'node:stream';
import { formatBytes, formatChange, formatNs, formatRatio } from '../src/report/format.js';
import { oomMessage, renderCompare, renderReplay } from '../src/report/tables.js';
import { compareLoaded, eraBackend, loadTrace, planComparison, replayFile } from '../src/replay/replay.js';
import { generate } from '../src/gen/generate.js';
import { findWorkload } from '../src/gen/workloads.js';
import { FIGURES } from '../src/metrics/index.js';
import { join } from 'node:path';
import { TRACES } from './helpers.js';

describe('one formatting rule', () => {
  test('bytes: three significant digits, the number below 1000 of its unit', () => {
    expect(formatBytes(1023 * 2 ** 20)).toBe('0.999 GiB');
    expect(formatBytes(1.51 * 2 ** 30)).toBe('1.51 GiB');
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(0)).toBe('0 B');
  });
  test('large changes are ratios, small ones never round to zero', () => {
    expect(formatChange(100, 45550, 'other')).toBe('×456');
    expect(formatChange(100, 100.001, 'other')).toBe('+0.00100%');
    expect(formatChange(100, 99.9, 'other')).toBe('-0.100%');
    expect(formatChange(100, 100, 'other')).toBe('=');
    expect(formatChange(0.5, 0.50001, 'ratio')).toBe('+0.00100pp');
    expect(formatChange(0.5, 0.4999, 'ratio')).toBe('-0.0100pp');
    expect(formatChange(100, 10, 'other')).toBe('×0.100');
  });
  test('shares and times keep three significant digits', () => {
    expect(formatRatio(0.4873)).toBe('48.7%');
    expect(formatRatio(0.0000123)).toBe('0.00123%');
    expect(formatNs(999_999)).toBe('1.00 ms');
  });
});

describe('generated workloads have a realistic time axis', () => {
  test.each(['steady', 'multi-p', 'gc-batch', 'fragmenter', 'large-heap'])('%s: trace time follows the allocation rate', async (name) => {
    let text = '';
    const out = new Writable({
      write(chunk, _enc, done) {
        text += String(chunk);
        done();
      },
    });
    await generate(name, { seed: 1, events: 5000 }, out);
    const rows = text.split('\n').filter((l) => /^\d/.test(l));
    let bytes = 0;
    for (const row of rows) {
      const [, op, , pages] = row.split(',');
      if (op === 'alloc') bytes += Number(pages) * 8192;
    }
    const seconds = Number(rows[rows.length - 1].split(',')[0]) / 1e9;
    const rate = bytes / seconds;
    // The jitter averages to 1; free rows add a little time: the rate is within 25%.
    expect(rate / findWorkload(name).allocBytesPerSec).toBeGreaterThan(0.75);
    expect(rate / findWorkload(name).allocBytesPerSec).toBeLessThan(1.25);
    expect(seconds).toBeGreaterThan(0.5);
  });
});

describe('shares cannot exceed their meaning', () => {
  test('release CPU share of one CPU stays at most 1 on every bundled generated trace', async () => {
    for (const f of ['gen-steady.csv.gz', 'gen-multi-p.csv.gz']) {
      const r = await replayFile(join(TRACES, f), { policy: 'go1.19', timing: false });
      expect(r.summary.releaseCpuShare === null || r.summary.releaseCpuShare <= 1).toBe(true);
      expect(r.summary.traceDurationNs).toBeGreaterThan(1e9);
    }
  });
});

describe('fragmentation', () => {
  test('a near-full heap does not look fragmented', async () => {
    const r = await replayFile(join(TRACES, 'go1-Gob.csv'), { timing: false });
    const f = r.fragmentation;
    expect(f.scatteredFreeShareAtPeak).not.toBeNull();
    const free = f.freeBytesAtPeak as number;
    const largest = f.largestFreeRunBytesAtPeak as number;
    expect(f.scatteredFreeShareAtPeak).toBeCloseTo((free - largest) / r.summary.peakHeapBytes, 12);
    expect(f.scatteredFreeShareAtPeak as number).toBeLessThanOrEqual(free / r.summary.peakHeapBytes);
  });
  test('the old measure is hidden; the new ones are in the tables', () => {
    const keys = FIGURES.filter((x) => x.section === 'Fragmentation' && !x.hidden).map((x) => x.key);
    expect(keys).toContain('fragmentation.scatteredFreeShareAtPeak');
    expect(keys).toContain('fragmentation.heapOverInUseAtPeak');
    expect(keys).not.toContain('fragmentation.externalAtPeak');
  });
});

describe('out of memory', () => {
  test('the reason comes first, in binary units; undefined figures stay undefined', async () => {
    const r = await replayFile(join(TRACES, 'go1-Gob.csv'), { timing: false, ulimitVBytes: 64 * 2 ** 20 });
    expect(r.outcome).toBe('oom');
    const msg = oomMessage(r) as string;
    expect(msg).toMatch(/64\.0 MiB/);
    expect(msg).not.toMatch(/\d{5,} bytes/);
    const text = renderReplay(r, { color: false });
    expect(text.startsWith(msg)).toBe(true);
    expect(text).toMatch(/Summary \(stopped at start: out of memory\)/);
    expect(r.fragmentation.externalAtPeak).toBeNull();
    // The heap of a program that could not start is a stand-in: no metadata beside a small VSIZE.
    expect(r.summary.metadataReservedBytes).toBeNull();
    expect(text).not.toContain('allocator metadata reserved');
    expect(r.fragmentation.freeBytesAtPeak).toBeNull();
    expect(JSON.parse(JSON.stringify(r)).fragmentation.scatteredFreeShareAtPeak).toBeNull();
    expect(text).toMatch(/–: not defined for this run/);
  });
  test('a run that did not stop has no message', async () => {
    const r = await replayFile(join(TRACES, 'go1-Gob.csv'), { timing: false });
    expect(oomMessage(r)).toBeNull();
  });
});

describe('compare', () => {
  test("the reference is the trace's own era", () => {
    expect(eraBackend('go1.19.8')).toBe('bitmap');
    expect(eraBackend('go1.12.17')).toBe('treap-go1.12');
    expect(eraBackend('go1.8')).toBe('span-list');
    expect(eraBackend(null)).toBeNull();
    const plan = planComparison({ goVersion: 'go1.19.8' });
    expect(plan.runs[0].backend).toBe('bitmap');
    expect(plan.reference).toMatch(/bitmap \(the trace's era, go1\.19\.8\)/);
    expect(planComparison({}).runs[0].backend).toBe('span-list');
    expect(planComparison({ backends: ['treap', 'bitmap'], goVersion: 'go1.19.8' }).runs[0].backend).toBe('treap');
  });
  test('wall-clock figures are left out unless asked for, and never coloured', async () => {
    const trace = await loadTrace(join(TRACES, 'go1-Gob.csv'));
    const results = compareLoaded(trace, ['bitmap', 'treap']);
    const wallLabels = FIGURES.filter((f) => f.role === 'wall' && !f.hidden).map((f) => f.label);
    expect(wallLabels.length).toBeGreaterThan(0);
    const plain = renderCompare(results, { color: false, reference: "bitmap (the trace's era, go1.19.8)" });
    for (const l of wallLabels) expect(plain).not.toContain(l);
    expect(plain).toMatch(/reference bitmap \(the trace's era/);
    const coloured = renderCompare(results, { color: true, wallClock: true });
    const wallLines = coloured.split('\n').filter((x) => wallLabels.some((l) => x.includes(l)));
    expect(wallLines.length).toBeGreaterThan(0);
    for (const line of wallLines) {
      const ESC = String.fromCharCode(27);
      expect(line.includes(`${ESC}[31m`) || line.includes(`${ESC}[32m`)).toBe(false);
    }
  });
});
