// The OS model against real residency. test/fixtures/recorded/ holds traces recorded by
// `heapsim record` from its Go 1.19.8 test programs (its README says how): each carries
// `rss` rows, the heap arenas' resident bytes as mincore reported them, recorded once with
// the machine's THP mode (`madvise`) and once with THP disabled for the process
// (prctl PR_SET_THP_DISABLE). Replayed on the bitmap backend with the trace's own
// scavenge rows and the THP mode of the recording, the simulated heap RSS is compared at
// each row (rssMatch). docs/os-model.md reports the figures.
//
// The goal of issue 18, a mean error of at most 5% per fixture, is met by spike,
// fragmenter and freeos under the default touch model (needzero, the program writing all
// of each span it allocates), and by `fit` there too; it is NOT met by partial,
// whose program writes a quarter or a half of its fresh 16 MiB buffers and nothing of
// one: no model of a trace's spans can know which, or when. `fit` recovers the share
// written overall (31% against the program's 40 of 128 MiB), yet the rows taken before
// and while a buffer is written stay far off. Its tests say so explicitly, and show that
// the OS layer itself is right once the program's writes are supplied.

import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { openTrace, replayReader } from '../src/index.js';
import { DEFAULTS, type ThpMode, type TouchMode } from '../src/options.js';
import type { EventRecord, Meter, ReplayState } from '../src/metrics/meter.js';
import type { RssMatch } from '../src/replay/result.js';
import { OP_ALLOC } from '../src/trace/events.js';
import { FIXTURES } from './helpers.js';

const DIR = join(FIXTURES, 'recorded');
const MIB = 1 << 20;

/** Each recording: `PROGRAM-thp-madvise.csv.gz` (the machine's THP) or `PROGRAM-thp-off.csv.gz`. */
const RECORDINGS = readdirSync(DIR)
  .filter((f) => f.endsWith('.csv.gz'))
  .sort()
  .map((file): { file: string; program: string; thp: ThpMode } => {
    const m = /^(\w+)-thp-(madvise|off)\.csv\.gz$/.exec(file);
    if (m === null) throw new Error(`${file}: not named PROGRAM-thp-(madvise|off).csv.gz`);
    return { file, program: m[1], thp: m[2] === 'off' ? 'never' : 'madvise' };
  });

/** The old `needzero` reading: the program writes nothing of a fresh span. */
const NOTHING = 0;

async function replayed(file: string, touch: TouchMode, thp: ThpMode, meters: ((s: ReplayState) => Meter)[] = [], writtenPercent?: number) {
  const reader = await openTrace(join(DIR, file));
  // The recording says the THP mode its name says (heapsim record's # thp=).
  expect(reader.meta.thp).toBe(file.includes('-thp-off') ? 'never' : 'madvise');
  const r = await replayReader(reader, { backend: 'bitmap', timing: false, touch, thp, meters, writtenPercent });
  expect(r.summary.addrMatch).toBe(1);
  if (r.summary.rssMatch === null) throw new Error(`${file} has no rss rows`);
  return { r, m: r.summary.rssMatch };
}

async function rssMatch(file: string, touch: TouchMode, thp: ThpMode, meters: ((s: ReplayState) => Meter)[] = [], writtenPercent?: number): Promise<RssMatch> {
  return (await replayed(file, touch, thp, meters, writtenPercent)).m;
}

test('both THP settings of every program are here', () => {
  expect(RECORDINGS.map((r) => `${r.program} ${r.thp}`)).toEqual(['fragmenter', 'freeos', 'partial', 'spike'].flatMap((p) => [`${p} madvise`, `${p} never`]));
});

describe.each(RECORDINGS.filter((r) => r.program !== 'partial'))('$file (a program that writes its buffers)', ({ file, thp }) => {
  test(`the default touch model (${DEFAULTS.touch}, ${DEFAULTS.writtenPercent}% written) is within 5% of the recorded heap residency on average, and closer than writing nothing`, async () => {
    const def = await rssMatch(file, DEFAULTS.touch, thp);
    expect(def.rows).toBeGreaterThan(0);
    expect(def.meanError).toBeLessThanOrEqual(0.05);
    const nothing = await rssMatch(file, 'needzero', thp, [], NOTHING);
    expect(nothing.meanError).toBeGreaterThan(def.meanError);
    // The old model makes resident what needzero at 100% does.
    expect((await rssMatch(file, 'all', thp)).curve).toEqual(def.curve);
  });

  test('fit: the rss rows choose a share near 100%, within 5% on average', async () => {
    const { r, m } = await replayed(file, 'fit', thp);
    expect(r.options.touchFit?.writtenPercent).toBeGreaterThanOrEqual(95);
    expect(r.options.touchFit?.rows).toBe(m.rows);
    expect(m.meanError).toBeLessThanOrEqual(0.05);
  });
});

/**
 * What testdata/partial/main.go writes: eight 16 MiB buffers, each written from its
 * start, before the next is allocated — a quarter of buffers 0, 2, 4, 6, half of 1, 3, 5,
 * nothing of 7 — and every other span whole (the runtime's and the program's small
 * objects).
 */
class PartialProgramWrites implements Meter {
  private buffers = 0;
  private previous = -1;
  /** When the last buffer was allocated: every row after it sees the program's writes done. */
  lastBufferTime = -1;
  constructor(private readonly state: ReplayState) {}

  event(e: EventRecord): void {
    if (e.op !== OP_ALLOC) return;
    if (e.pages !== 2048) {
      this.state.os.touch(e.addr, e.pages * this.state.pageBytes);
      return;
    }
    if (this.previous >= 0) this.state.os.touch(this.previous, (this.buffers - 1) % 2 === 1 ? 8 * MIB : 4 * MIB);
    this.previous = e.addr;
    this.lastBufferTime = e.time;
    this.buffers++;
  }

  contribute(): void {}
}

describe.each(RECORDINGS.filter((r) => r.program === 'partial'))('$file (a program that writes part of its buffers)', ({ file, thp }) => {
  test('goal not met: no touch model is within 5% on average (the trace cannot say what was written, or when)', async () => {
    // all: every buffer counted whole, 128 MiB against 40-48 MiB; nothing written: none counted.
    expect((await rssMatch(file, 'all', thp)).meanError).toBeGreaterThan(1);
    expect((await rssMatch(file, 'needzero', thp, [], NOTHING)).meanError).toBeGreaterThan(0.5);
    // fit finds the share the program wrote overall, 40 of 128 MiB (31.25%)...
    const { r, m } = await replayed(file, 'fit', thp);
    expect(r.options.touchFit?.writtenPercent).toBeGreaterThanOrEqual(29);
    expect(r.options.touchFit?.writtenPercent).toBeLessThanOrEqual(34);
    // ...but the first row is taken on heap growth, inside the allocation of the first
    // buffer, before the program has written any of it: 228 KiB resident against the
    // share's 5 MiB and more.
    expect(m.worst.time).toBe(m.curve[0][0]);
    expect(m.meanError).toBeGreaterThan(0.05);
  });

  test('given the program writes, the OS layer matches the settled rows within 1%, and only under the recording THP mode', async () => {
    const other: ThpMode = thp === 'never' ? 'madvise' : 'never';
    let program: PartialProgramWrites | undefined;
    const writes = [(s: ReplayState) => (program = new PartialProgramWrites(s))];
    // The rows after the last buffer's allocation: the program has written all it will.
    const settled = (m: RssMatch) => m.curve.filter(([time]) => time > (program?.lastBufferTime ?? Infinity));
    const { r, m } = await replayed(file, 'needzero', thp, writes, NOTHING);
    expect(settled(m).length).toBeGreaterThanOrEqual(3);
    for (const [, recorded, simulated] of settled(m)) expect(Math.abs(simulated - recorded) / recorded).toBeLessThan(0.01);
    // The huge pages faulted are the recorded AnonHugePages: 20 x 2 MiB with THP, none without.
    expect(r.summary.hugePageFaults * 2 * MIB).toBe(m.peakRecordedHugeBytes);
    expect(r.summary.hugePageFaults).toBe(thp === 'never' ? 0 : 20);
    // With THP, Go's MADV_HUGEPAGE on the fresh spans (sysUsed: grown memory counts as
    // scavenged) makes each written 2 MiB range resident whole: some 8 MiB more.
    for (const [, recorded, simulated] of settled(await rssMatch(file, 'needzero', other, writes, NOTHING))) {
      expect(Math.abs(simulated - recorded) / recorded).toBeGreaterThan(0.1);
    }
  });
});
