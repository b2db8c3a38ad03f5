// touch `fit`: the written share of fresh spans chosen by a trace's rss rows
// (src/replay/touch-fit.ts). The truth is made known by writing the rss rows from a replay
// at a chosen share: the fit must find that share, at zero error.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import {
  compareFile,
  compareLoaded,
  fitTouch,
  loadReader,
  openTraceText,
  OptionError,
  Replayer,
  replayLoaded,
  replayReader,
  type LoadedTrace,
} from '../src/index.js';
import type { ThpMode } from '../src/options.js';
import { FIXTURES } from './helpers.js';

const PARTIAL = join(FIXTURES, 'recorded', 'partial-thp-off.csv.gz');

/** The partial recording's text with its rss rows' bytes replaced, in order, by `bytes`. */
function withRssBytes(text: string, bytes: number[]): string {
  const lines = text.split('\n');
  const header = lines.find((l) => l !== '' && !l.startsWith('#'))!.split(',');
  const op = header.indexOf('op');
  const col = header.indexOf('bytes');
  let next = 0;
  return lines
    .map((l) => {
      const cells = l.split(',');
      if (cells[op] !== 'rss') return l;
      cells[col] = String(bytes[next++]);
      return cells.join(',');
    })
    .join('\n');
}

async function load(text: string): Promise<LoadedTrace> {
  return loadReader(await openTraceText(text, 'partial.csv'));
}

/** The simulated heap residency at each rss row, at a share. */
function residency(trace: LoadedTrace, writtenPercent: number, thp: ThpMode): number[] {
  const r = replayLoaded(trace, { backend: 'bitmap', policy: 'trace', touch: 'needzero', writtenPercent, thp, timing: false });
  return r.summary.rssMatch!.curve.map(([, , simulated]) => simulated);
}

const recorded = gunzipSync(readFileSync(PARTIAL)).toString('utf8');

describe('fitTouch', () => {
  test.each([0, 17, 40, 100])('rss rows written by a replay at %i%% are fitted back to that share, at zero error', async (pct) => {
    const truth = residency(await load(recorded), pct, 'never');
    const trace = await load(withRssBytes(recorded, truth));
    const fit = fitTouch(trace, { thp: 'never' });
    expect(fit.writtenPercent).toBe(pct);
    expect(fit.meanAbsErrorBytes).toBe(0);
    expect(fit.rows).toBe(truth.length);
    expect(fit.fittedOn).toMatchObject({ backend: 'bitmap', policy: 'trace', thp: 'never' });
  });

  test('under THP a share within the truth 2 MiB plateau is as good: the fit still reaches zero error', async () => {
    const truth = residency(await load(recorded), 63, 'madvise');
    const fit = fitTouch(await load(withRssBytes(recorded, truth)), { thp: 'madvise' });
    expect(fit.meanAbsErrorBytes).toBe(0);
    expect(Math.abs(fit.writtenPercent - 63)).toBeLessThanOrEqual(7);
  });

  test("fits under the trace's own THP mode unless told another", async () => {
    const madvise = await load(gunzipSync(readFileSync(join(FIXTURES, 'recorded', 'partial-thp-madvise.csv.gz'))).toString('utf8'));
    expect(madvise.meta.thp).toBe('madvise');
    expect(fitTouch(madvise).fittedOn.thp).toBe('madvise');
    expect(fitTouch(madvise).writtenPercent).toBe(31);
    expect(fitTouch(madvise, { thp: 'never' }).fittedOn.thp).toBe('never');
  });

  test('is computed once per loaded trace and OS setting', async () => {
    const trace = await load(recorded);
    const a = fitTouch(trace, { thp: 'never' });
    expect(fitTouch(trace, { thp: 'never' })).toBe(a);
    expect(fitTouch(trace, { thp: 'madvise' })).not.toBe(a);
  });

  test('a trace without rss rows cannot be fitted: an OptionError naming touch', async () => {
    const trace = await load('time,op,id,pages\n1,alloc,a,100\n');
    expect(() => fitTouch(trace)).toThrow(OptionError);
    expect(() => fitTouch(trace)).toThrow(/touch fit needs rss rows/);
  });
});

describe('replays under touch fit', () => {
  test('a streamed replay loads the trace, fits it and reports the share and the rows it came from', async () => {
    const r = await replayReader(await openTraceText(recorded, 'partial.csv'), { touch: 'fit', thp: 'never', timing: false });
    expect(r.options.touch).toBe('fit');
    expect(r.options.touchFit?.rows).toBe(r.summary.rssMatch?.rows);
    expect(r.options.writtenPercent).toBe(r.options.touchFit?.writtenPercent);
    expect(r.summary.rssMatch?.inSample).toBe(true);
    expect(r.summary.rssMatch?.writtenShare).toBe((r.options.touchFit?.writtenPercent ?? NaN) / 100);
  });

  test('without fit the rows did not choose the share: rssMatch says so, and which share it rests on', async () => {
    const r = await replayReader(await openTraceText(recorded, 'partial.csv'), { touch: 'needzero', writtenPercent: 25, timing: false });
    expect(r.summary.rssMatch?.inSample).toBe(false);
    expect(r.summary.rssMatch?.writtenShare).toBe(0.25);
    const all = await replayReader(await openTraceText(recorded, 'partial.csv'), { touch: 'all', timing: false });
    expect(all.summary.rssMatch?.writtenShare).toBe(1);
    expect(all.options.writtenPercent).toBeNull();
  });

  test('what-if runs of a comparison share the recorded run fit', async () => {
    const trace = await load(recorded);
    const [bitmap, treap] = compareLoaded(trace, ['bitmap', 'treap-aoff'], { touch: 'fit', thp: 'never', timing: false });
    expect(bitmap.options.touchFit).toEqual(treap.options.touchFit);
    expect(treap.options.touchFit?.fittedOn.backend).toBe('bitmap');
  });

  test('a Replayer given touch fit without a fit refuses to guess', async () => {
    const trace = await load(recorded);
    expect(() => new Replayer(trace.meta, { touch: 'fit' })).toThrow(/fitted before the run/);
  });

  test('a fit handed to a run that does not fit is neither used nor reported', async () => {
    const trace = await load(recorded);
    const fit = fitTouch(trace, { thp: 'never' });
    const r = replayLoaded(trace, { touch: 'needzero', touchFit: fit, timing: false });
    expect(r.options.touchFit).toBeNull();
    expect(r.options.writtenPercent).toBe(100);
    expect(r.summary.rssMatch?.inSample).toBe(false);
  });

  test('compare through the worker pool fits once, in the caller, and every run uses that fit', async () => {
    const outputs = await compareFile(
      PARTIAL,
      ['bitmap', 'treap-aoff'].map((backend) => ({ backend, policy: 'trace' })),
      { touch: 'fit', thp: 'never', timing: false, workers: 2 },
    );
    const fits = outputs.map((o) => o.result.options.touchFit);
    expect(fits[0]?.writtenPercent).toBe(31);
    expect(fits[1]).toEqual(fits[0]);
    expect(fits[0]?.fittedOn).toEqual({ backend: 'bitmap', policy: 'trace', thp: 'never', madvise: 'dontneed', physPageBytes: 4096 });
  });

  test('the written share belongs to needzero: given with all or fit it is an error, not silently dropped', async () => {
    const trace = await load(recorded);
    for (const touch of ['all', 'fit'] as const) {
      expect(() => replayLoaded(trace, { touch, writtenPercent: 30 })).toThrow(OptionError);
      expect(() => replayLoaded(trace, { touch, writtenPercent: 30 })).toThrow(/applies to touch needzero only/);
    }
    expect(() => replayLoaded(trace, { writtenPercent: 101 })).toThrow(/from 0 to 100/);
  });
});
