import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { openTraceText, replayReader, type ReplayResult } from '../src/index.js';
import { CHECK_ALL, TRACES, cli, isRecorded, tempDir } from './helpers.js';

const PAGE = 8192;
const SMALL = ['time,op,id,pages,bytes', '0,alloc,a,10,', '100,alloc,b,20,', '200,free,a,,', '300,scavenge,,,', '400,alloc,c,5,', '1000,gc,,,81920'].join('\n');

async function run(text: string, options = {}): Promise<ReplayResult> {
  return replayReader(await openTraceText(text, 'small.csv'), { backend: 'list', ...options });
}

describe('replay engine figures, worked out by hand on span-list', () => {
  let r: ReplayResult;
  beforeAll(async () => {
    r = await run(SMALL);
  });

  test('counts and peaks', () => {
    expect(r.outcome).toBe('ok');
    expect([r.summary.ops, r.summary.allocs, r.summary.frees, r.summary.scavenges, r.summary.gcs]).toEqual([6, 3, 1, 1, 1]);
    expect(r.summary.peakInUseBytes).toBe(30 * PAGE);
    expect(r.summary.finalInUseBytes).toBe(25 * PAGE);
    expect(r.summary.peakHeapBytes).toBe(1 << 20);
    expect(r.summary.peakRssBytes).toBe(30 * PAGE);
    expect(r.summary.finalRssBytes).toBe(25 * PAGE);
    expect(r.summary.lastGcLiveBytes).toBe(81920);
  });

  test('time-weighted mean RSS: 10,30,30,20,25 pages held for 100,100,100,100,600 ns', () => {
    expect(r.summary.meanRssBytes).toBe(24 * PAGE);
  });

  test('release everything, then a re-fault of the reused pages', () => {
    // The scavenge row releases both free spans: the 98-page tail and the 10 freed pages.
    expect(r.summary.releasedBytes).toBe(108 * PAGE);
    expect(r.summary.madviseCalls).toBe(2);
    // c reuses 5 of the released pages: 10 physical pages fault in again.
    expect(r.summary.scavengedBytesReused).toBe(5 * PAGE);
    expect(r.summary.refaults).toBe(10);
    expect(r.summary.pageFaults).toBe(20 + 40 + 10);
  });

  test('fragmentation at the most in-use moment of the peak heap', () => {
    expect(r.fragmentation.freeBytesAtPeak).toBe(98 * PAGE);
    expect(r.fragmentation.largestFreeRunBytesAtPeak).toBe(98 * PAGE);
    expect(r.fragmentation.externalAtPeak).toBe(0);
    expect(r.fragmentation.heapOverhead).toBeCloseTo((128 - 30) / 30, 10);
    expect(r.fragmentation.rssOverhead).toBe(0);
  });

  test('latency: counts, work and a modelled cost that includes the faults', () => {
    expect(r.latency.alloc.count).toBe(3);
    expect(r.latency.free.count).toBe(1);
    expect(r.latency.scavenge.count).toBe(1);
    expect(r.latency.alloc.maxWork).toBeGreaterThan(0);
    expect(r.latency.scavenge.modelMeanNs).toBeGreaterThan(2 * 1500);
    expect(r.latency.alloc.modelMaxNs).toBeGreaterThan(40 * 500);
  });

  test('external fragmentation: 1 - largest free run / free', async () => {
    // a leaves a 10-page hole below b; c goes to the tail. Most in-use moment: after c.
    const h = await run(['time,op,id,pages', '0,alloc,a,10', '1,alloc,b,1', '2,free,a,', '3,alloc,c,20'].join('\n'));
    expect(h.fragmentation.inUseBytesAtPeak).toBe(21 * PAGE);
    expect(h.fragmentation.freeBytesAtPeak).toBe(107 * PAGE);
    expect(h.fragmentation.freeRunsAtPeak).toBe(2);
    expect(h.fragmentation.largestFreeRunBytesAtPeak).toBe(97 * PAGE);
    expect(h.fragmentation.externalAtPeak).toBeCloseTo(1 - 97 / 107, 12);
  });

  test('--madvise free: the released pages stay in RSS; reusing them is no fault', async () => {
    const f = await run(SMALL, { madvise: 'free' });
    expect(f.options.madvise).toBe('free');
    expect(f.summary.releasedBytes).toBe(108 * PAGE); // the runtime released as much
    expect(f.summary.finalRssBytes).toBe(30 * PAGE); // a's 10 pages never left
    expect(f.summary.lazyFreeBytes).toBe(5 * PAGE); // c took back 5 of them
    expect(f.summary.finalRssExcludingLazyBytes).toBe(25 * PAGE);
    expect(f.summary.refaults).toBe(0);
    expect(f.summary.pageFaults).toBe(20 + 40);
  });

  test('policy none ignores the scavenge rows', async () => {
    const n = await run(SMALL, { policy: 'none' });
    expect(n.summary.releasedBytes).toBe(0);
    expect(n.summary.madviseCalls).toBe(0);
    expect(n.summary.finalRssBytes).toBe(30 * PAGE);
  });

  test('ulimit -v: a heap that cannot grow is a reported out-of-memory at that event', async () => {
    const o = await run(SMALL, { ulimitVBytes: 512 * 1024 });
    expect(o.outcome).toBe('oom');
    expect(o.oom).toMatchObject({ seq: 1, line: 2, op: 'alloc' });
    // The event that ran out of memory is not applied: ops counts the events that were (as allocs + frees + ... do).
    expect(o.summary.ops).toBe(0);
  });
});

describe('replay CLI', () => {
  test('an out-of-memory exits 1 and still prints the tables', () => {
    const r = cli(['replay', '-', '--backend', 'list', '--ulimit-v', '512KiB'], SMALL);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('Summary');
    expect(r.stdout).toContain('simulated out of memory at event 1 (line 2, alloc');
  });

  test('--emit writes one CSV row per op and one per policy release', () => {
    const dir = tempDir('heapsim-');
    const file = join(dir, 'ops.csv');
    const r = cli(['replay', '-', '--backend', 'list', '--emit', file], SMALL);
    expect(r.status).toBe(0);
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    expect(lines[0]).toBe('seq,time,op,id,pages,addr,scavPages,releasedBytes,work,ns,trigger,modelNs');
    expect(lines.length).toBe(1 + 5 + 1); // gc rows are not ops on the heap
    expect(lines[1]).toMatch(/^1,0,alloc,a,10,0xc000000000,0,0,\d+,\d+,,\d+$/);
    // FreeOSMemory's release, inside the scavenge row: a's 10 pages and the 1 MiB growth's free rest.
    expect(lines[4]).toMatch(/^4,300,release,,,0xc000000000,,884736,,,explicit,\d+$/);
    expect(lines[5]).toMatch(/^4,300,scavenge,,,,0,884736,\d+,\d+,,\d+$/);
    expect(lines[6]).toMatch(/^5,400,alloc,c,5,0xc000000000,5,0,\d+,\d+,,\d+$/);
  });

  test('--timeline writes memory against trace time', () => {
    const dir = tempDir('heapsim-');
    const file = join(dir, 'tl.csv');
    expect(cli(['replay', '-', '--backend', 'list', '--timeline', file], SMALL).status).toBe(0);
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    expect(lines[0]).toBe(
      'timeNs,inUseBytes,heapBytes,rssBytes,maxRssBytesSincePrev,runtimeReleasedBytes,vsizeBytes,limitBytes,' +
        'releasedTraceBytes,releasedExplicitBytes,releasedPeriodicBytes,releasedBackgroundBytes,releasedGrowthBytes,releasedReuseBytes,releasedLimitBytes',
    );
    // Events at 0, 100, ..., 1000 ns are all within the first 1 ms stride: one row.
    expect(lines.slice(1)).toEqual([`0,${10 * PAGE},${1 << 20},${10 * PAGE},${10 * PAGE},0,${1 << 20},,0,0,0,0,0,0,0`]);
  });

  test('--reserve: up front fails at start under ulimit -v 16GiB; pretend and arenas run', () => {
    const upfront = cli(['replay', '-', '--backend', 'list', '--reserve', 'upfront', '--ulimit-v', '16GiB', '--json'], SMALL);
    expect(upfront.status).toBe(1);
    const u = JSON.parse(upfront.stdout);
    expect(u.oom).toMatchObject({ seq: 0, op: 'start' });
    expect(u.summary.ops).toBe(0);
    const text = cli(['replay', '-', '--backend', 'list', '--reserve', 'upfront', '--ulimit-v', '16GiB'], SMALL);
    expect(text.stdout).toContain('simulated out of memory at start (--reserve upfront)');
    for (const mode of ['pretend', 'arenas']) {
      const r = cli(['replay', '-', '--backend', 'list', '--reserve', mode, '--ulimit-v', '16GiB', '--json'], SMALL);
      expect([mode, r.status]).toEqual([mode, 0]);
      const j = JSON.parse(r.stdout);
      // pretend maps the 1 MiB it grew by; arenas reserves a whole 64 MiB arena first.
      expect([mode, j.summary.peakVsizeBytes]).toEqual([mode, mode === 'pretend' ? 1 << 20 : 64 << 20]);
      expect(j.options.reserve).toBe(mode);
    }
    // Without a limit, up front costs 512 GiB + 32 GiB + 512 MiB of address space and no RSS.
    const big = JSON.parse(cli(['replay', '-', '--backend', 'list', '--reserve', 'upfront', '--json'], SMALL).stdout);
    expect(big.summary.peakVsizeBytes).toBe(512 * 2 ** 30 + 32 * 2 ** 30 + 512 * 2 ** 20);
    expect(big.summary.peakRssBytes).toBe(30 * PAGE);
    // A backend of another era refuses a strategy it never used.
    expect(cli(['replay', '-', '--backend', 'bitmap', '--reserve', 'upfront'], SMALL).status).toBe(2);
  });

  test('bad flags exit 2 without a stack', () => {
    for (const args of [['replay', '-', '--backend', 'nope'], ['replay', '-', '--phys-page', '5000'], ['replay', '-', '--ulimit-v', 'lots'], ['frobnicate']]) {
      const r = cli(args, SMALL);
      expect(r.status).toBe(2);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
  });

  test('--help shows examples', () => {
    const r = cli(['replay', '--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('Examples:');
  });

  // The JSON's shape is one code path; a recorded plain trace, a recorded gzip one and a
  // generated one (addrMatch null) cover its branches. test/check.test.ts replays every
  // bundled trace through the CLI on every backend; HEAPSIM_CHECK_ALL=1 runs this on all.
  const SUBSET = /^(go1-Gob\.csv|compile-go-types\.csv\.gz|gen-steady\.csv\.gz)$/;
  const traceFiles = readdirSync(TRACES)
    .filter((f) => /\.csv(\.gz)?$/.test(f) && (CHECK_ALL || SUBSET.test(f)))
    .map((f) => join(TRACES, f));
  const traceSet = CHECK_ALL ? 'every bundled trace' : 'subset: a recorded, a gzip and a generated trace; HEAPSIM_CHECK_ALL=1 runs every bundled trace';
  test.each(traceFiles)(`replays %s with exit 0 and the documented JSON keys [${traceSet}]`, (file) => {
    const r = cli(['replay', file, '--json', '--backend', 'list']);
    expect(r.status).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(Object.keys(j)).toEqual(expect.arrayContaining(['backend', 'policy', 'summary', 'fragmentation', 'latency']));
    for (const k of [
      'ops',
      'allocs',
      'frees',
      'scavenges',
      'gcs',
      'peakInUseBytes',
      'peakHeapBytes',
      'peakRssBytes',
      'finalRssBytes',
      'meanRssBytes',
      'peakVsizeBytes',
      'releasedBytes',
      'madviseCalls',
      'pageFaults',
    ]) {
      expect(typeof j.summary[k]).toBe('number');
    }
    for (const k of ['externalAtPeak', 'heapOverhead', 'rssOverhead', 'largestFreeRunBytesAtPeak']) expect(typeof j.fragmentation[k]).toBe('number');
    for (const op of ['alloc', 'free', 'scavenge']) {
      for (const k of ['count', 'p50Ns', 'p90Ns', 'p99Ns', 'maxNs', 'meanWork', 'p99Work', 'maxWork']) expect(typeof j.latency[op][k]).toBe('number');
    }
    expect(j.summary.allocs).toBeGreaterThan(1000);
    expect(j.summary.peakRssBytes).toBeGreaterThanOrEqual(j.summary.finalInUseBytes);
    if (isRecorded(file)) expect(j.summary.addrMatch).toBeGreaterThanOrEqual(0);
    else expect(j.summary.addrMatch).toBeNull();
  });
});

describe('--thp through the engine', () => {
  // One 4 MiB span: two whole huge pages when 2 MiB-aligned.
  const TEXT = ['time,op,id,pages,bytes', '0,alloc,a,512,', '10,free,a,,', '20,scavenge,,,', '30,alloc,b,512,'].join('\n');
  const go = async (backend: string, thp: 'never' | 'madvise' | 'always') =>
    replayReader(await openTraceText(TEXT, 'thp.csv'), { backend, thp, timing: false });

  test('madvise: Go 1.19 (bitmap) marks used spans MADV_HUGEPAGE, so they fault in 2 MiB at a time', async () => {
    const r = await go('bitmap', 'madvise');
    expect(r.summary.hugePageFaults).toBeGreaterThanOrEqual(2);
    // The span-era backend makes no MADV_HUGEPAGE calls: small pages only.
    const list = await go('list', 'madvise');
    expect(list.summary.hugePageFaults).toBe(0);
    expect(list.summary.pageFaults).toBe(2 * 1024);
  });

  test('always: every backend gets huge pages; faults drop 512-fold and cost more each', async () => {
    const never = await go('list', 'never');
    const always = await go('list', 'always');
    expect(always.summary.hugePageFaults).toBe(4);
    expect(always.summary.pageFaults).toBe(4);
    expect(never.summary.pageFaults).toBe(2048);
    expect(always.latency.alloc.modelMaxNs).toBeLessThan(never.latency.alloc.modelMaxNs);
  });

  test('--thp with 64 KiB pages is a usage error', async () => {
    await expect(replayReader(await openTraceText(TEXT, 'thp.csv'), { thp: 'always', physPageBytes: 65536 })).rejects.toThrow(/4 KiB pages/);
  });
});
