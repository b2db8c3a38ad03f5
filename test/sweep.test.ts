// heapsim sweep and merge: the grid checked against the options table, the run order and
// keys, shards that partition the runs, 3 shards merged equal to one process, resume
// after an interruption (a cut-short last line), refusals (other sweep, other version,
// a file that is not results), invalid corners of a cross product, and compare on the
// worker pool giving what the in-process compare gives.

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  compareFile,
  compareLoaded,
  expandTraces,
  loadTrace,
  parseGrid,
  planSweep,
  parseShard,
  shardRuns,
  sweepTraces,
  UsageError,
  type SweepLine,
} from '../src/index.js';
import { cli, TRACES, tempDir } from './helpers.js';

const GO1 = ['go1-Gob.csv', 'go1-Revcomp.csv', 'go1-Template.csv'].map((f) => join(TRACES, f));
const GRID = { versions: ['go1.13', 'go1.19'], params: { physPageBytes: [4096, 65536], gogc: [100, 'off'] } };

function tmp(): string {
  return tempDir('heapsim-sweep-');
}

function gridFile(dir: string, grid: unknown = GRID): string {
  const path = join(dir, 'grid.json');
  writeFileSync(path, JSON.stringify(grid));
  return path;
}

const sweep = (grid: string, out: string, ...extra: string[]) => cli(['sweep', '--traces', join(TRACES, 'go1-*.csv'), '--grid', grid, '-o', out, ...extra]);

describe('grid', () => {
  test('versions are the backend and policy each release shipped; params are checked by their option', () => {
    const g = parseGrid(GRID, 'g.json');
    expect(g.configs).toEqual([
      { backend: 'treap-aoff', policy: 'go1.13', version: 'go1.13' },
      { backend: 'bitmap', policy: 'go1.19', version: 'go1.19' },
    ]);
    // Keys sorted; the int option's word ("off") becomes its value.
    expect(g.params).toEqual([
      ['gogc', [100, -1]],
      ['physPageBytes', [4096, 65536]],
    ]);
    expect(parseGrid({ backends: ['list', 'bitmap'], policies: ['none', 'go1.19'] }, 'g').configs.map((c) => c.version)).toEqual([null, null, null, 'go1.19']);
  });

  test('a trace given twice, spelled two ways, is one trace', () => {
    const gob = join(TRACES, 'go1-Gob.csv');
    // Template strings, not join(): join would normalise the spellings itself.
    expect(expandTraces([gob, `${TRACES}/./go1-Gob.csv`, `${TRACES}/../traces/go1-Gob.csv`])).toEqual([gob]);
  });

  test('refuses what is not a run option or not a value the option takes', () => {
    expect(() => parseGrid({ params: { gogcc: [1] } }, 'g.json')).toThrow(/g.json: params.gogcc is not a run option \(run options: .*physPageBytes/);
    expect(() => parseGrid({ params: { physPageBytes: [8192] } }, 'g')).toThrow(/params.physPageBytes\[0\]: takes 4096, 16384, 65536, got 8192/);
    expect(() => parseGrid({ params: { thp: ['sometimes'] } }, 'g')).toThrow(/takes never, madvise, always/);
    expect(() => parseGrid({ params: { gogc: [1.5] } }, 'g')).toThrow(/takes an integer >= 0 or "off"/);
    expect(() => parseGrid({ params: { gogc: [100, 100] } }, 'g')).toThrow(/lists a value twice/);
    expect(() => parseGrid({ versions: ['go1.7'] }, 'g')).toThrow(UsageError);
    // Go 1.14-1.18 ran the bitmap under scavengers no policy models; later releases are not modelled at all.
    for (const v of ['go1.14', 'go1.16', 'go1.18', 'go1.20', 'go1.99'])
      expect(() => parseGrid({ versions: [v] }, 'g')).toThrow(
        new RegExp(`"${v}" is not a Go release heapsim models \\(releases: go1.8-go1.11, under go1.11's policy, and go1.12, go1.13, go1.19`),
      );
    expect(parseGrid({ versions: ['go1.8', 'go1.12'] }, 'g').configs).toEqual([
      { backend: 'span-list', policy: 'go1.11', version: 'go1.8' },
      { backend: 'treap-go1.12', policy: 'go1.12', version: 'go1.12' },
    ]);
    expect(() => parseGrid({ version: ['go1.19'] }, 'g')).toThrow(/unknown key "version"/);
  });

  test('releases one model covers are one setting with one label, however the grid names them', () => {
    // Go 1.9, 1.10 and 1.11 ran the treap under go1.11's rules: one run per trace, labelled as the range.
    const treap = { backend: 'treap', policy: 'go1.11', version: 'go1.9-go1.11' };
    expect(parseGrid({ versions: ['go1.10', 'go1.9'] }, 'g').configs).toEqual([treap]);
    expect(parseGrid({ backends: ['treap'], policies: ['go1.11'] }, 'g').configs).toEqual([treap]);
    expect(parseGrid({ versions: ['go1.9'], backends: ['treap'], policies: ['go1.11'] }, 'g').configs).toEqual([treap]);
  });

  test('runs: traces x configs x params in one order, keys by what a run is, shards partition them', () => {
    const plan = planSweep(sweepTraces(GO1), parseGrid(GRID, 'g'));
    expect(plan.runs).toHaveLength(3 * 2 * 4);
    expect(plan.runs.map((r) => r.index)).toEqual(plan.runs.map((_r, i) => i));
    expect(new Set(plan.runs.map((r) => r.key)).size).toBe(plan.runs.length);
    // A run's key does not depend on the rest of the grid.
    const small = planSweep(sweepTraces([GO1[1]]), parseGrid({ versions: ['go1.19'], params: { gogc: [-1], physPageBytes: [65536] } }, 'g'));
    expect(plan.runs.find((r) => r.key === small.runs[0].key)).toMatchObject({
      trace: { name: 'go1-Revcomp.csv' },
      params: { gogc: -1, physPageBytes: 65536 },
    });
    expect(small.id).not.toBe(plan.id);
    const shards = [0, 1, 2].map((i) => shardRuns(plan.runs, { index: i, count: 3 }).map((r) => r.index));
    expect(shards.flat().sort((a, b) => a - b)).toEqual(plan.runs.map((r) => r.index));
    expect(shards.map((s) => s.length)).toEqual([8, 8, 8]);
  });

  test('--shard i/n, or --shards n with JOB_COMPLETION_INDEX', () => {
    expect(parseShard('2/3', undefined)).toEqual({ index: 2, count: 3 });
    expect(parseShard(undefined, 4, { JOB_COMPLETION_INDEX: '3' })).toEqual({ index: 3, count: 4 });
    expect(() => parseShard('3/3', undefined)).toThrow(/0 <= i < n/);
    expect(() => parseShard(undefined, 3, {})).toThrow(/JOB_COMPLETION_INDEX, which is not set/);
    expect(parseShard(undefined, undefined)).toBeNull();
  });
});

describe('sweep on the CLI', () => {
  test("defaults: a run at its backend's own reservation mode is at the defaults, another is not", () => {
    const dir = tmp();
    const grid = gridFile(dir, { versions: ['go1.8', 'go1.19'], params: { reserve: ['arenas', 'pretend'] } });
    const r = cli(['sweep', '--traces', join(TRACES, 'go1-Gob.csv'), '--grid', grid]);
    expect(r.status).toBe(0);
    const lines = r.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as SweepLine);
    const at = (backend: string, reserve: string) => lines.find((l) => l.backend === backend && l.params.reserve === reserve);
    // span-list's first mode is pretend; bitmap models only arenas (pretend is an invalid run).
    expect([at('span-list', 'pretend')?.defaults, at('span-list', 'arenas')?.defaults, at('bitmap', 'arenas')?.defaults]).toEqual([true, false, true]);
  });

  test('merge -o does not drop runs of an existing results file unless --force', () => {
    const dir = tmp();
    const grid = gridFile(dir);
    const [a, b] = [join(dir, 'a.jsonl'), join(dir, 'b.jsonl')];
    expect(sweep(grid, a, '--shard', '0/2').status).toBe(0);
    expect(sweep(grid, b, '--shard', '1/2').status).toBe(0);
    const before = readFileSync(b, 'utf8');
    const r = cli(['merge', a, '-o', b]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/b.jsonl: it holds \d+ runs the merged files do not/);
    expect(readFileSync(b, 'utf8')).toBe(before);
    expect(cli(['merge', a, '-o', b, '--force']).status).toBe(0);
  });

  test('report on sweep results takes no run flags: the runs are made', () => {
    const dir = tmp();
    const out = join(dir, 'r.jsonl');
    expect(sweep(gridFile(dir), out).status).toBe(0);
    const r = cli(['report', out, '--policies', 'none', '--thp', 'always', '-o', join(dir, 's.html')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--thp, --policies do not apply to sweep results/);
  });

  test('3 shards merged equal the single-process run', () => {
    const dir = tmp();
    const grid = gridFile(dir);
    const single = sweep(grid, join(dir, 'all.jsonl'), '--workers', '2');
    expect(single).toMatchObject({ status: 0, stdout: '' });
    expect(single.stderr).toMatch(/24 runs of 24: 0 already in the results, 24 run on 2 workers/);
    for (const i of [0, 1, 2]) expect(sweep(grid, join(dir, `shard-${i}.jsonl`), '--shard', `${i}/3`, '--workers', '1').status).toBe(0);
    const merged = cli(['merge', ...[0, 1, 2].map((i) => join(dir, `shard-${i}.jsonl`)), '-o', join(dir, 'merged.jsonl')]);
    expect(merged).toMatchObject({ status: 0, stderr: expect.stringMatching(/merged 24 of 24 runs of sweep [0-9a-f]{16} from 3 files/) as unknown });
    const lines = (f: string) => readFileSync(join(dir, f), 'utf8').split('\n').filter(Boolean);
    // Same runs, same bytes; the merge is in sweep order.
    expect(lines('merged.jsonl')).toEqual([...lines('all.jsonl')].sort((a, b) => JSON.parse(a).index - JSON.parse(b).index));
    const first = JSON.parse(lines('merged.jsonl')[0]);
    expect(first).toMatchObject({
      schema: 'heapsim.sweep-run/1',
      index: 0,
      runs: 24,
      trace: 'go1-Gob.csv',
      backend: 'treap-aoff',
      policy: 'go1.13',
      outcome: 'ok',
    });
    expect(first.figures['summary.meanRssBytes']).toBeGreaterThan(0);
    expect(Object.keys(first.figures).some((k) => k.startsWith('wall') || k.includes('p99Ns'))).toBe(false);
    // gogc=100 is go1-Gob's own, 4096 the default page: go1.13's default settings.
    expect(
      lines('merged.jsonl')
        .map((l) => JSON.parse(l) as SweepLine)
        .filter((l) => l.defaults && l.trace === 'go1-Gob.csv')
        .map((l) => l.version),
    ).toEqual(['go1.13', 'go1.19']);
  });

  test('resumes: runs in the results are skipped, a cut-short last line is run again', () => {
    const dir = tmp();
    const grid = gridFile(dir);
    const out = join(dir, 'r.jsonl');
    expect(sweep(grid, out).status).toBe(0);
    const full = readFileSync(out, 'utf8');
    const cut = full.indexOf('\n', full.indexOf('\n') + 1) + 1 + 40; // two whole lines and 40 bytes of the third
    writeFileSync(out, full.slice(0, cut));
    const again = sweep(grid, out);
    expect(again.status).toBe(0);
    expect(again.stderr).toMatch(/dropped its cut-short last line/);
    expect(again.stderr).toMatch(/2 already in the results, 22 run/);
    const sorted = (t: string) => t.split('\n').filter(Boolean).sort();
    expect(sorted(readFileSync(out, 'utf8'))).toEqual(sorted(full));
    expect(sweep(grid, out).stderr).toMatch(/24 already in the results, 0 run/);
  });

  test('refuses results of another sweep, another version, or a file that is not results', () => {
    const dir = tmp();
    const out = join(dir, 'r.jsonl');
    expect(sweep(gridFile(dir), out).status).toBe(0);
    const other = gridFile(dir, { versions: ['go1.19'] });
    const r = sweep(other, out);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^heapsim: .*r.jsonl holds runs of sweep [0-9a-f]+, this sweep is of sweep [0-9a-f]+: the grids or the trace files differ/);
    const older = join(dir, 'older.jsonl');
    const text = readFileSync(out, 'utf8');
    writeFileSync(older, text.replace(/"heapsim":"[^"]*"/g, '"heapsim":"0.0.1"'));
    expect(cli(['merge', out, older])).toMatchObject({
      status: 2,
      stderr: expect.stringMatching(/written by heapsim 0.0.1, .* refusing to mix them/) as unknown,
    });
    const notes = join(dir, 'notes.jsonl');
    writeFileSync(notes, 'my notes\n');
    expect(sweep(other, notes)).toMatchObject({ status: 2, stderr: expect.stringMatching(/notes.jsonl:1: not a heapsim sweep result/) as unknown });
    expect(readFileSync(notes, 'utf8')).toBe('my notes\n');
    expect(cli(['report', out, join(TRACES, 'go1-Gob.csv'), '-o', join(dir, 'never.html')])).toMatchObject({
      status: 2,
      stderr: expect.stringMatching(/give traces or sweep results \(\.jsonl\), not both/) as unknown,
    });
    const html = join(dir, 'sweep.html');
    expect(cli(['report', out, '-o', html])).toMatchObject({ status: 0 });
    expect(readFileSync(html, 'utf8')).toMatch(/<svg/);
  });

  test('a corner of the cross product the options cannot describe is an invalid run, not a failed sweep', () => {
    const dir = tmp();
    const grid = gridFile(dir, { versions: ['go1.19'], params: { thp: ['never', 'always'], physPageBytes: [4096, 65536] } });
    const r = cli(['sweep', '--traces', GO1[0], '--grid', grid]);
    expect(r.status).toBe(0);
    const lines = r.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as SweepLine);
    expect(lines.map((l) => l.outcome).sort()).toEqual(['invalid', 'ok', 'ok', 'ok']);
    expect(lines.find((l) => l.outcome === 'invalid')).toMatchObject({
      params: { thp: 'always', physPageBytes: 65536 },
      error: expect.stringMatching(/4 KiB pages only/) as unknown,
    });
    expect(r.stderr).toMatch(/1 invalid/);
  });
});

describe('compare on the worker pool', () => {
  test("a worker's errors reach the user as in process: an option names its flag, a bad row its place; exit 2", () => {
    expect(cli(['compare', GO1[0], '--thp', 'always', '--phys-page', '65536'])).toMatchObject({
      status: 2,
      stderr: expect.stringMatching(/^heapsim: --thp: transparent huge pages \(always\) are modelled .* only; the physical page size is 65536\n$/) as unknown,
    });
    const dir = tmp();
    const bad = join(dir, 'bad.csv');
    writeFileSync(bad, '# heapsim-trace v1\ntime,op,id,pages\n0,alloc,1,1\n5,free,2,1\n');
    const message = `heapsim: ${bad}:4:3: free of id "2" that is not live\n`;
    expect(cli(['compare', bad, '--backends', 'bitmap,list'])).toMatchObject({ status: 2, stderr: message });
    expect(cli(['sweep', '--traces', bad, '--grid', gridFile(dir), '-o', join(dir, 'r.jsonl')])).toMatchObject({ status: 2, stderr: message });
  });

  test('gives the in-process comparison, placementMatch included', async () => {
    const runs = [
      { backend: 'bitmap', policy: 'go1.19' },
      { backend: 'treap-aoff', policy: 'go1.13' },
    ];
    const pooled = await compareFile(GO1[1], runs, { timing: false, workers: 2 });
    const inProcess = compareLoaded(await loadTrace(GO1[1]), runs, { timing: false });
    const strip = (r: { wall?: unknown }) => ({ ...r, wall: undefined });
    expect(pooled.map((o) => strip(o.result))).toEqual(inProcess.map(strip));
    expect(pooled[1].result.placementMatch).toBeLessThan(1);
  });
});
