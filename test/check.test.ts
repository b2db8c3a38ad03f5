// heapsim gen and heapsim check: generated workloads are valid and reproducible; the
// regression gate passes on the committed baseline, fails (exit 1, with the table) on a
// deliberately worse one, and refuses (exit 2) a baseline for other traces.

import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { WORKLOADS, backends, compareLoaded, generate, loadTrace, type BaselineFile } from '../src/index.js';
import { TRACES, cli } from './helpers.js';

async function genText(workload: string, seed: number, events?: number, durationNs?: number): Promise<string> {
  const chunks: string[] = [];
  const sink = new (await import('node:stream')).Writable({
    write(chunk, _enc, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  await generate(workload, { seed, events, durationNs }, sink);
  return chunks.join('');
}

describe('heapsim gen', () => {
  test.each(WORKLOADS.map((w) => w.name))('%s: a valid trace that replays on every backend', async (name) => {
    const text = await genText(name, 1, 6000);
    const trace = await loadTrace('-', { stdin: Readable.from([text]) });
    expect(trace.stats.events).toBe(6000);
    const results = compareLoaded(
      trace,
      backends().map((b) => b.name),
      { timing: false },
    );
    for (const r of results) {
      expect(r.outcome).toBe('ok');
      expect(r.summary.ops).toBe(6000);
    }
    expect(trace.meta.metadata.source).toBe(`heapsim gen ${name} --seed 1`);
  });

  test('the same seed gives the same bytes; another seed does not', async () => {
    const a = await genText('fragmenter', 7, 20000);
    const b = await genText('fragmenter', 7, 20000);
    const c = await genText('fragmenter', 8, 20000);
    expect(a).toBe(b);
    expect(a).not.toBe(c);
    const cliA = cli(['gen', 'multi-p', '--events', '3000', '--seed', '4']);
    const cliB = cli(['gen', 'multi-p', '--events', '3000', '--seed', '4']);
    expect(cliA.status).toBe(0);
    expect(cliA.stdout).toBe(cliB.stdout);
  });

  test('--duration stops at that trace time', async () => {
    const text = await genText('spike', 1, undefined, 300e9);
    const times = text
      .split('\n')
      .filter((l) => /^\d/.test(l))
      .map((l) => Number(l.split(',')[0]));
    expect(times[times.length - 1]).toBeLessThanOrEqual(300e9);
    expect(times[times.length - 1]).toBeGreaterThan(290e9);
  });

  test('spike: the live heap jumps several-fold more often than every 5 minutes', async () => {
    const text = await genText('spike', 1, undefined, 600e9);
    const gcs = text
      .split('\n')
      .filter((l) => l.includes(',gc,'))
      .map((l) => Number(l.split(',')[4]));
    expect(Math.max(...gcs)).toBeGreaterThan(4 * Math.min(...gcs.filter((x) => x > 0)));
    const trace = await loadTrace('-', { stdin: Readable.from([text]) });
    const [r] = compareLoaded(trace, ['bitmap'], { timing: false });
    expect(r.summary.peakInUseBytes).toBeGreaterThan(500 * 2 ** 20);
  });

  test('bad workload or flags exit 2', () => {
    expect(cli(['gen', 'nope', '--events', '10']).status).toBe(2);
    expect(cli(['gen', 'steady']).status).toBe(2);
    expect(cli(['gen', 'steady', '--duration', 'soon']).status).toBe(2);
  });
});

describe('heapsim check', () => {
  const traces = readdirSync(TRACES)
    .filter((f) => /\.csv(\.gz)?$/.test(f))
    .map((f) => join(TRACES, f));
  const baselinePath = join(TRACES, 'baseline.json');

  test('every bundled trace on every backend matches the committed baseline (exit 0)', () => {
    const r = cli(['check', ...traces, '--baseline', baselinePath]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('no regressions');
    expect(r.status).toBe(0);
  });

  test('a deliberately better baseline makes the run a regression: exit 1 and the table', () => {
    const base = JSON.parse(readFileSync(baselinePath, 'utf8')) as BaselineFile;
    const e = base.entries.find((x) => x.trace === 'go1-Revcomp.csv' && x.backend === 'bitmap')!;
    e.metrics['summary.peakRssBytes'] = Math.round(e.metrics['summary.peakRssBytes'] * 0.9);
    e.metrics['latency.alloc.p99Work'] = e.metrics['latency.alloc.p99Work'] / 2;
    const dir = mkdtempSync(join(tmpdir(), 'heapsim-check-'));
    const worse = join(dir, 'baseline.json');
    writeFileSync(worse, JSON.stringify(base));
    const r = cli(['check', join(TRACES, 'go1-Revcomp.csv'), '--baseline', worse, '--backends', 'bitmap']);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('2 regressions');
    expect(r.stdout).toMatch(/go1-Revcomp\.csv.*bitmap.*summary\.peakRssBytes/);
    expect(r.stdout).toMatch(/latency\.alloc\.p99Work.*\+100\.00%/);
    // Within a tolerance the same run passes.
    const ok = cli(['check', join(TRACES, 'go1-Revcomp.csv'), '--baseline', worse, '--backends', 'bitmap', '--tolerance', 'peakRssBytes=12%,p99Work=100%']);
    expect(ok.status).toBe(0);
    // Machines get JSON.
    const j = cli(['check', join(TRACES, 'go1-Revcomp.csv'), '--baseline', worse, '--backends', 'bitmap', '--json']);
    expect(j.status).toBe(1);
    expect(
      JSON.parse(j.stdout)
        .regressions.map((x: { metric: string }) => x.metric)
        .sort(),
    ).toEqual(['latency.alloc.p99Work', 'summary.peakRssBytes']);
  });

  test('a baseline made from another trace, or none, is bad input: exit 2', () => {
    const base = JSON.parse(readFileSync(baselinePath, 'utf8')) as BaselineFile;
    const e = base.entries.find((x) => x.trace === 'go1-Gob.csv' && x.backend === 'bitmap')!;
    e.metrics['summary.allocs'] += 1;
    const dir = mkdtempSync(join(tmpdir(), 'heapsim-check-'));
    const other = join(dir, 'baseline.json');
    writeFileSync(other, JSON.stringify(base));
    const r = cli(['check', join(TRACES, 'go1-Gob.csv'), '--baseline', other, '--backends', 'bitmap']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('made from another trace');
    expect(cli(['check', join(TRACES, 'go1-Gob.csv'), '--baseline', join(dir, 'missing.json')]).status).toBe(2);
    writeFileSync(join(dir, 'bad.json'), '{');
    expect(cli(['check', join(TRACES, 'go1-Gob.csv'), '--baseline', join(dir, 'bad.json')]).status).toBe(2);
  });

  test('--update-baseline writes a baseline the next run passes', () => {
    const dir = mkdtempSync(join(tmpdir(), 'heapsim-check-'));
    const file = join(dir, 'b.json');
    expect(cli(['check', join(TRACES, 'go1-Gob.csv'), '--baseline', file, '--update-baseline', '--backends', 'list,bitmap']).status).toBe(0);
    const written = JSON.parse(readFileSync(file, 'utf8')) as BaselineFile;
    expect(written.entries.map((e) => e.backend)).toEqual(['span-list', 'bitmap']);
    expect(Object.keys(written.entries[0].metrics).some((k) => /p99Ns/.test(k))).toBe(false);
    expect(cli(['check', join(TRACES, 'go1-Gob.csv'), '--baseline', file, '--backends', 'list,bitmap']).status).toBe(0);
  });
});
