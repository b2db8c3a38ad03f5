// rssMatch and the touch model on hand-made traces: every expectation below is computed
// by hand from the bitmap backend's placement (first fit from 0xc000000000, no P column so
// no page caches), 8 KiB runtime pages and 4 KiB physical pages.

import { openTraceText, replayReader, SimOS } from '../src/index.js';
import { hostThpMode } from '../src/record/record.js';
import { relativeError } from '../src/metrics/rss-meter.js';
import { TouchModel } from '../src/os/touch.js';
import type { TouchMode } from '../src/options.js';

const PAGE = 8192;
const ARENA = 0xc000000000;
const ARENA_BYTES = 64 << 20;

/** Replays hand-made rows; under needzero the program is taken to write none of a fresh span unless told. */
async function replay(rows: string[], touch: TouchMode, header = 'time,op,id,pages,bytes', writtenPercent = 0) {
  const text = ['# page_size=8192', header, ...rows].join('\n') + '\n';
  return replayReader(await openTraceText(text, 'rss.csv'), {
    backend: 'bitmap',
    timing: false,
    touch,
    writtenPercent: touch === 'needzero' ? writtenPercent : undefined,
  });
}

// a: 4 pages (a small span) at the arena base; b: 100 pages fresh from the OS; b freed
// and its pages handed out again as c (reused memory: needzero).
const TRACE = ['1,alloc,a,4,', '2,rss,,,32768', '3,alloc,b,100,', '4,rss,,,32768', '5,free,b,100,', '6,alloc,c,100,', `7,rss,,,${104 * PAGE}`];

describe('rssMatch', () => {
  test('is null, and its figures hidden, without rss rows', async () => {
    const r = await replay(['1,alloc,a,4,', '2,free,a,4,'], 'all');
    expect(r.summary.rssMatch).toBeNull();
  });

  test('touch all: the fresh 100-page span counts at once, 25 times the recorded 32 KiB', async () => {
    const r = await replay(TRACE, 'all');
    const m = r.summary.rssMatch;
    expect(m).not.toBeNull();
    expect(m?.rows).toBe(3);
    // Row 2: (851968 - 32768) / 32768 = 25; rows 1 and 3 match exactly.
    expect(m?.maxError).toBe(25);
    expect(m?.meanError).toBeCloseTo(25 / 3, 12);
    expect(m?.worst).toEqual({ time: 4, line: 6, recordedBytes: 32768, simulatedBytes: 104 * PAGE });
    expect(m?.curve).toEqual([
      [2, 32768, 32768],
      [4, 32768, 104 * PAGE],
      [7, 104 * PAGE, 104 * PAGE],
    ]);
  });

  test('touch needzero, nothing written: fresh spans stay out of RSS until their reuse is zeroed', async () => {
    // a and b are fresh and unwritten; c takes b's pages again, below the zeroed base: cleared whole.
    const rows = ['1,alloc,a,4,', '2,rss,,,0', '3,alloc,b,100,', '4,rss,,,0', '5,free,b,100,', '6,alloc,c,100,', `7,rss,,,${100 * PAGE}`];
    const r = await replay(rows, 'needzero');
    const m = r.summary.rssMatch;
    expect(m?.curve).toEqual([
      [2, 0, 0],
      [4, 0, 0],
      [7, 100 * PAGE, 100 * PAGE],
    ]);
    expect(m?.meanError).toBe(0);
    expect(m?.maxError).toBe(0);
    expect(m?.worst).toEqual({ time: 2, line: 4, recordedBytes: 0, simulatedBytes: 0 });
    expect(r.options.touch).toBe('needzero');
  });

  test('heap RSS leaves out allocator metadata, which the process RSS counts', async () => {
    const r = await replay(['1,alloc,a,4,', '2,rss,,,32768'], 'all');
    expect(r.summary.rssMatch?.worst.simulatedBytes).toBe(32768);
    // The summaries, scavenge index and chunk bitmaps the bitmap backend wrote at growth.
    expect(r.summary.finalRssBytes).toBeGreaterThan(32768);
  });

  test('the huge column: its peak is kept, null when no row had one', async () => {
    const header = 'time,op,id,pages,bytes,huge';
    const r = await replay(['1,alloc,a,4,,', '2,rss,,,32768,0', '3,rss,,,32768,2097152', '4,rss,,,32768,'], 'all', header);
    expect(r.summary.rssMatch?.peakRecordedHugeBytes).toBe(2097152);
    const none = await replay(['1,alloc,a,4,', '2,rss,,,32768'], 'all');
    expect(none.summary.rssMatch?.peakRecordedHugeBytes).toBeNull();
  });

  test('relative error: against the recorded value; a recorded 0 is matched only by 0', () => {
    expect(relativeError(110, 100)).toBeCloseTo(0.1, 12);
    expect(relativeError(90, 100)).toBeCloseTo(0.1, 12);
    expect(relativeError(0, 0)).toBe(0);
    expect(relativeError(4096, 0)).toBe(1);
  });
});

describe('touch model', () => {
  const mapped = () => {
    const os = new SimOS();
    os.map(ARENA, 2 * ARENA_BYTES);
    return os;
  };

  test('all: every page of every span is written at allocation', () => {
    const os = mapped();
    const t = new TouchModel(os, 'all', PAGE);
    t.allocated(ARENA, 1000);
    expect(os.rssBytes).toBe(1000 * PAGE);
  });

  test('needzero, nothing written: spans fresh from the OS stay out of RSS, small or large (the runtime does not clear them)', () => {
    const os = mapped();
    const t = new TouchModel(os, 'needzero', PAGE, 0);
    t.allocated(ARENA, 1);
    t.allocated(ARENA + PAGE, 10);
    t.allocated(ARENA + 11 * PAGE, 11);
    expect(os.rssBytes).toBe(0);
  });

  test('needzero: a large span reaching below the zeroed base is written whole', () => {
    const os = mapped();
    const t = new TouchModel(os, 'needzero', PAGE, 0);
    t.allocated(ARENA, 100);
    expect(os.rssBytes).toBe(0);
    // Overlaps the first span's last page: the runtime clears all 100 pages.
    t.allocated(ARENA + 99 * PAGE, 100);
    expect(os.rssBytes).toBe(100 * PAGE);
    expect(os.residentBytesIn(ARENA, 99 * PAGE)).toBe(0);
  });

  test('needzero: the zeroed base is per 64 MiB arena, and a span crossing arenas raises both', () => {
    const t = new TouchModel(mapped(), 'needzero', PAGE, 0);
    expect(t.needsZero(ARENA + ARENA_BYTES - PAGE, 2 * PAGE)).toBe(false);
    // The second arena's base was raised by one page: its first page is reused, its second fresh.
    expect(t.needsZero(ARENA + ARENA_BYTES, PAGE)).toBe(true);
    expect(t.needsZero(ARENA + ARENA_BYTES + PAGE, PAGE)).toBe(false);
    // Below the first arena's high-water mark, though never handed out: Go zeroes it too.
    expect(t.needsZero(ARENA, PAGE)).toBe(true);
  });

  test('needzero under THP always: a write into an empty huge page faults all 2 MiB', () => {
    const os = new SimOS({ thp: 'always' });
    os.map(ARENA, ARENA_BYTES);
    const t = new TouchModel(os, 'needzero', PAGE, 50);
    // Half of a one-page span: ceil(0.5) = 1 page written, in an empty huge page.
    t.allocated(ARENA, 1);
    expect(os.rssBytes).toBe(2 << 20);
    expect(os.hugeFaults).toBe(1);
    // Half of a fresh 4 MiB span at a huge-page boundary: its first 2 MiB, one huge page; the rest unwritten.
    t.allocated(ARENA + (4 << 20), 512);
    expect(os.rssBytes).toBe(4 << 20);
    expect(os.hugeFaults).toBe(2);
    expect(os.residentBytesIn(ARENA + (6 << 20), 2 << 20)).toBe(0);
  });

  test('needzero with a written share: a fresh span is written from its start, rounded up to a heap page', () => {
    const os = mapped();
    const t = new TouchModel(os, 'needzero', PAGE, 25);
    t.allocated(ARENA, 101);
    // ceil(101 * 25 / 100) = 26 pages, from the span's base.
    expect(os.rssBytes).toBe(26 * PAGE);
    expect(os.residentBytesIn(ARENA, 26 * PAGE)).toBe(26 * PAGE);
    // Its reuse is zeroed by the runtime: written whole, whatever the share.
    t.allocated(ARENA + 100 * PAGE, 100);
    expect(os.rssBytes).toBe(26 * PAGE + 100 * PAGE);
  });

  test('needzero at 100% and all write every span whole: resident is the union of the spans, counted by hand', () => {
    // Pages [0, 3), [3, 203), [1000, 1011), [100, 150): their union is [0, 203) and [1000, 1011).
    const spans: [number, number][] = [
      [0, 3],
      [3, 200],
      [1000, 11],
      [100, 50],
    ];
    for (const make of [(os: SimOS) => new TouchModel(os, 'all', PAGE), (os: SimOS) => new TouchModel(os, 'needzero', PAGE)]) {
      const os = mapped();
      const t = make(os);
      for (const [at, npages] of spans) t.allocated(ARENA + at * PAGE, npages);
      expect(os.rssBytes).toBe((203 + 11) * PAGE);
    }
    expect(new TouchModel(mapped(), 'needzero', PAGE).writtenPercent).toBe(100);
  });

  test('needzero just below 100%: a fresh span loses its tail, rounded up to a heap page; a reused one does not', () => {
    const os = mapped();
    const t = new TouchModel(os, 'needzero', PAGE, 99);
    t.allocated(ARENA, 100);
    expect(os.rssBytes).toBe(99 * PAGE);
    // ceil(10 * 0.99) = 10: a small span is written whole at any share above 90%.
    t.allocated(ARENA + 100 * PAGE, 10);
    expect(os.rssBytes).toBe((99 + 10) * PAGE);
    // Below the arena's zeroed base: cleared whole by the runtime.
    t.allocated(ARENA + 50 * PAGE, 50);
    expect(os.residentBytesIn(ARENA, 100 * PAGE)).toBe(100 * PAGE);
  });
});

describe('the THP mode of a recording', () => {
  const files = (enabled: string | null, status: string | null) => (path: string) => {
    const text = path.endsWith('/enabled') ? enabled : status;
    if (text === null) throw new Error(`ENOENT: ${path}`);
    return text;
  };

  test("heapsim record writes the system's mode, or never when the process has THP disabled", () => {
    expect(hostThpMode(files('always [madvise] never\n', 'Name:\tnode\nTHP_enabled:\t1\n'))).toBe('madvise');
    expect(hostThpMode(files('[always] madvise never\n', 'THP_enabled:\t1\n'))).toBe('always');
    expect(hostThpMode(files('always [madvise] never\n', 'Name:\tpython3\nTHP_enabled:\t0\nThreads:\t1\n'))).toBe('never');
    expect(hostThpMode(files('always [madvise] never\n', null))).toBe('madvise');
    expect(hostThpMode(files(null, 'THP_enabled:\t1\n'))).toBeNull();
  });

  test("a replay takes the trace's thp unless told otherwise", async () => {
    const text = '# page_size=8192\n# thp=always\ntime,op,id,pages,bytes\n1,alloc,a,1,\n2,rss,,,8192\n';
    expect((await replayReader(await openTraceText(text), { timing: false })).options.thp).toBe('always');
    expect((await replayReader(await openTraceText(text), { timing: false, thp: 'never' })).options.thp).toBe('never');
    expect((await replayReader(await openTraceText(text.replace('# thp=always\n', '')), { timing: false })).options.thp).toBe('never');
  });
});
