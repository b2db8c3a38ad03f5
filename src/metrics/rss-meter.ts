// The RSS meter: the simulated heap's residency against the recorded one. A trace made
// by `heapsim record` carries `rss` rows: at the end of each GC cycle, after scavenger
// release batches and at exit, the bytes of the recorded program's heap arenas the kernel
// had resident (mincore), and its huge-page bytes (`huge`, AnonHugePages). At each such
// row this meter reads the simulated heap's resident bytes and compares.
//
// Invariants:
// - The simulated heap is the address range the backend's spans have covered: from the
//   lowest span base to the highest span end seen so far. Every heap page the program
//   writes lies in it, and allocator metadata (mapped elsewhere, by mmap(NULL) or below
//   the arena) does not: the figure is heap residency, as the recorder's mincore over the
//   heap arenas is, not the process's RSS.
// - Relative error of a row: |simulated - recorded| / recorded; a row that recorded 0
//   bytes has error 0 when the simulation has 0 too and 1 otherwise. The mean is over
//   rows (each measurement counts once, however long it stood), the worst row is the
//   first with the largest error.
// - rssMatch is null when the trace has no rss row; its figures are then not shown.
// - Per rss row: one count over the residency runs of the heap range (no allocation
//   besides the sample kept for the curves, three doubles per row).

import { OP_ALLOC, OP_RSS } from '../trace/events.js';
import { figure, type EventRecord, type Figure, type Meter, type ReplayState } from './meter.js';
import type { ReplayResult } from '../replay/result.js';

const shown = (r: ReplayResult) => r.summary.rssMatch !== null;

export const RSS_FIGURES: readonly Figure[] = [
  figure(
    'Summary',
    'summary.rssMatch.meanError',
    'heap RSS error vs recorded (mean over rss rows)',
    'ratio',
    'lower',
    (r) => r.summary.rssMatch?.meanError ?? null,
    {
      shown,
    },
  ),
  figure('Summary', 'summary.rssMatch.maxError', 'heap RSS error vs recorded (worst row)', 'ratio', 'lower', (r) => r.summary.rssMatch?.maxError ?? null, {
    shown,
  }),
  figure(
    'Summary',
    'summary.rssMatch.worst.recordedBytes',
    'worst row: recorded heap RSS',
    'bytes',
    null,
    (r) => r.summary.rssMatch?.worst.recordedBytes ?? null,
    {
      shown,
    },
  ),
  figure(
    'Summary',
    'summary.rssMatch.worst.simulatedBytes',
    'worst row: simulated heap RSS',
    'bytes',
    null,
    (r) => r.summary.rssMatch?.worst.simulatedBytes ?? null,
    { shown },
  ),
  figure('Summary', 'summary.rssMatch.worst.time', 'worst row: trace time', 'ns', null, (r) => r.summary.rssMatch?.worst.time ?? null, { shown }),
  figure(
    'Summary',
    'summary.rssMatch.writtenShare',
    'touch model: share of each fresh span written',
    'ratio',
    null,
    (r) => r.summary.rssMatch?.writtenShare ?? null,
    { shown },
  ),
  figure('Summary', 'options.touchFit.rows', 'rss rows that chose the share (errors in-sample)', 'count', null, (r) => r.options.touchFit?.rows ?? null, {
    shown: (r) => r.summary.rssMatch?.inSample === true,
  }),
  figure('Summary', 'summary.rssMatch.rows', 'rss rows compared', 'count', null, (r) => r.summary.rssMatch?.rows ?? null, { role: 'identity', hidden: true }),
  figure(
    'Summary',
    'summary.rssMatch.peakRecordedHugeBytes',
    'recorded huge-page bytes (peak of the huge column)',
    'bytes',
    null,
    (r) => r.summary.rssMatch?.peakRecordedHugeBytes ?? null,
    {
      role: 'identity',
      shown: (r) => (r.summary.rssMatch?.peakRecordedHugeBytes ?? null) !== null,
    },
  ),
];

/** Relative error of a simulated value against a recorded one (see the header). */
export function relativeError(simulatedBytes: number, recordedBytes: number): number {
  if (recordedBytes === 0) return simulatedBytes === 0 ? 0 : 1;
  return Math.abs(simulatedBytes - recordedBytes) / recordedBytes;
}

export class RssMeter implements Meter {
  private heapLow = Infinity;
  private heapHigh = -Infinity;
  private rows = 0;
  private errorSum = 0;
  private maxError = -1;
  private worst = { time: 0, line: 0, recordedBytes: 0, simulatedBytes: 0 };
  private peakHuge = -1;
  /** time, recorded, simulated per row, flattened. */
  private samples: number[] = [];

  constructor(private readonly state: ReplayState) {}

  event(e: EventRecord): void {
    if (e.op === OP_ALLOC) {
      if (e.addr < this.heapLow) this.heapLow = e.addr;
      const end = e.addr + e.pages * this.state.pageBytes;
      if (end > this.heapHigh) this.heapHigh = end;
    } else if (e.op === OP_RSS) this.compare(e);
  }

  /** The simulated heap's resident bytes now. */
  heapRssBytes(): number {
    return this.heapHigh > this.heapLow ? this.state.os.residentBytesIn(this.heapLow, this.heapHigh - this.heapLow) : 0;
  }

  private compare(e: EventRecord): void {
    const simulated = this.heapRssBytes();
    const recorded = e.bytes;
    const err = relativeError(simulated, recorded);
    this.rows++;
    this.errorSum += err;
    if (err > this.maxError) {
      this.maxError = err;
      const w = this.worst;
      w.time = e.time;
      w.line = e.line;
      w.recordedBytes = recorded;
      w.simulatedBytes = simulated;
    }
    if (e.huge > this.peakHuge) this.peakHuge = e.huge;
    this.samples.push(e.time, recorded, simulated);
  }

  contribute(r: ReplayResult): void {
    if (this.rows === 0) {
      r.summary.rssMatch = null;
      return;
    }
    const s = this.samples;
    const curve: [number, number, number][] = [];
    for (let i = 0; i < s.length; i += 3) curve.push([s[i], s[i + 1], s[i + 2]]);
    r.summary.rssMatch = {
      rows: this.rows,
      meanError: this.errorSum / this.rows,
      maxError: this.maxError,
      worst: { ...this.worst },
      peakRecordedHugeBytes: this.peakHuge >= 0 ? this.peakHuge : null,
      curve,
      writtenShare: this.state.touchAssumption.writtenShare,
      inSample: this.state.touchAssumption.fitted,
    };
  }
}
