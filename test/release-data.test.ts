// Releases as data: the release-curve figures (when memory went back), the timeline's
// cumulative released bytes per trigger, and --emit's release rows.

import { Timeline, openTraceText, replayReader, type EmitSink, type Trigger } from '../src/index.js';

const KIB = 1024;
/** a (1 MiB) freed; the trace's runtime then released 512 KiB twice. */
const ROWS = [
  'time,op,id,pages,bytes',
  '0,alloc,a,128,',
  '0,alloc,keep,1,',
  '100,free,a,,',
  `1000,scavenge,,,${512 * KIB}`,
  `2000,scavenge,,,${512 * KIB}`,
  '3000,alloc,b,1,',
];

async function run(policy: string, options: Record<string, unknown> = {}) {
  return replayReader(await openTraceText(ROWS.join('\n'), 'curve.csv'), { backend: 'span-list', policy, timing: false, ...options });
}

describe('releaseCurve', () => {
  test('policy trace on span-list: whole spans, so ahead of the rows it follows', async () => {
    const r = await run('trace');
    // Asked for 512 KiB, span-list releases whole spans: a (1 MiB) at 1000, then the
    // second growth's free 127 pages at 2000.
    expect(r.summary.releases.trace.bytes).toBe(1024 * KIB + 127 * 8 * KIB);
    expect(r.summary.releaseCurve).toEqual({
      t50Ns: 1000,
      t90Ns: 2000,
      traceT50Ns: 1000,
      traceT90Ns: 2000,
      maxGapBytes: 1024 * KIB + 127 * 8 * KIB - 1024 * KIB,
      maxGapShare: (127 * 8 * KIB + 1024 * KIB - 1024 * KIB) / (1024 * KIB + 127 * 8 * KIB),
    });
  });

  test('policy none: no curve of its own, the whole trace curve is the gap', async () => {
    const r = await run('none');
    expect(r.summary.releaseCurve).toEqual({ t50Ns: null, t90Ns: null, traceT50Ns: 1000, traceT90Ns: 2000, maxGapBytes: 1024 * KIB, maxGapShare: 1 });
  });

  test('a trace without scavenge rows has no gap figures', async () => {
    const rows = ['time,op,id,pages,bytes', '0,alloc,a,128,', '0,alloc,keep,1,', '100,free,a,,', '5000,scavenge,,,'];
    const r = await replayReader(await openTraceText(rows.join('\n'), 'freeos.csv'), { backend: 'span-list', policy: 'go1.12', timing: false });
    expect(r.summary.releaseCurve.t50Ns).toBe(5000);
    expect(r.summary.releaseCurve.maxGapBytes).toBeNull();
    expect(r.summary.releaseCurve.maxGapShare).toBeNull();
  });
});

describe('--timeline and --emit carry the releases', () => {
  test('the timeline has cumulative released bytes per trigger', async () => {
    // The timeline keeps a row per 1 ms of trace time: the same rows, in ms.
    const inMs = ROWS.map((row, i) => (i === 0 ? row : row.replace(/^\d+/, (t) => String(Number(t) * 1e6))));
    const timeline = new Timeline();
    await replayReader(await openTraceText(inMs.join('\n'), 'curve-ms.csv'), { backend: 'span-list', policy: 'trace', timing: false, timeline });
    const lines = timeline.toCsv().trim().split('\n');
    const header = lines[0].split(',');
    const last = lines[lines.length - 1].split(',');
    expect(Number(last[header.indexOf('releasedTraceBytes')])).toBe(1024 * KIB + 127 * 8 * KIB);
    expect(Number(last[header.indexOf('releasedExplicitBytes')])).toBe(0);
  });

  test('emit gets one row per release: time, trigger, lowest address, bytes, modelled cost', async () => {
    const releases: [number, number, Trigger, number, number, number][] = [];
    const sink: EmitSink = { row: () => undefined, release: (...a) => releases.push(a) };
    await run('trace', { emit: sink });
    expect(releases.map(([seq, time, trigger, addr, bytes]) => [seq, time, trigger, addr, bytes])).toEqual([
      [4, 1000, 'trace', 0xc000000000, 1024 * KIB],
      [5, 2000, 'trace', 0xc000000000 + 129 * 8 * KIB, 127 * 8 * KIB],
    ]);
    expect(releases.every(([, , , , , ns]) => ns > 0)).toBe(true);
  });
});
