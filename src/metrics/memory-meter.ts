// The memory meter: the heap, RSS and VSIZE over the run — peaks, finals, and RSS
// weighted by trace time — plus what the runtime believes it retains.
//
// Invariants:
// - Peaks are taken after every event (a release only lowers RSS, so none is missed
//   between events).
// - Mean RSS is the time-weighted mean: each stretch of trace time counts with the RSS
//   in force during it, including the drops a background scavenger makes between
//   events (release() updates the RSS in force). A trace that lasts no time at all
//   falls back to the plain mean over events.
// - A program that could not start (out of memory at start) gets a stand-in heap on a
//   stand-in OS: its metadata and mappedReady describe that stand-in, so they are null.

import { figure, type EventRecord, type Figure, type Meter, type ReplayState } from './meter.js';
import type { ReplayResult } from '../replay/result.js';

const lazyShown = (r: ReplayResult) => r.options.madvise === 'free';
const metadataShown = (r: ReplayResult) => (r.summary.metadataReservedBytes ?? 0) > 0;

export const MEMORY_FIGURES: readonly Figure[] = [
  figure('Summary', 'summary.peakHeapBytes', 'peak heap', 'bytes', 'lower', (r) => r.summary.peakHeapBytes),
  figure('Summary', 'summary.finalHeapBytes', 'final heap', 'bytes', 'lower', (r) => r.summary.finalHeapBytes, { hidden: true }),
  figure('Summary', 'summary.peakRssBytes', 'peak RSS', 'bytes', 'lower', (r) => r.summary.peakRssBytes),
  figure('Summary', 'summary.meanRssBytes', 'mean RSS (time-weighted)', 'bytes', 'lower', (r) => r.summary.meanRssBytes),
  figure('Summary', 'summary.finalRssBytes', 'final RSS', 'bytes', 'lower', (r) => r.summary.finalRssBytes),
  figure(
    'Summary',
    'summary.finalRssExcludingLazyBytes',
    'final RSS without lazily freed pages (MADV_FREE)',
    'bytes',
    'lower',
    (r) => r.summary.finalRssExcludingLazyBytes,
    { shown: lazyShown },
  ),
  figure(
    'Summary',
    'summary.peakRssExcludingLazyBytes',
    'peak RSS without lazily freed pages (MADV_FREE)',
    'bytes',
    'lower',
    (r) => r.summary.peakRssExcludingLazyBytes,
    { shown: lazyShown },
  ),
  figure('Summary', 'summary.lazyFreeBytes', 'lazily freed at end (MADV_FREE)', 'bytes', null, (r) => r.summary.lazyFreeBytes, { hidden: true }),
  figure('Summary', 'summary.runtimeRetainedBytes', 'final retained, runtime view (heap - released)', 'bytes', 'lower', (r) => r.summary.runtimeRetainedBytes),
  figure('Summary', 'summary.mappedReadyBytes', 'mapped and ready at end (Go 1.19 mappedReady)', 'bytes', 'lower', (r) => r.summary.mappedReadyBytes, {
    hidden: true,
  }),
  figure('Summary', 'summary.peakVsizeBytes', 'peak VSIZE', 'bytes', 'lower', (r) => r.summary.peakVsizeBytes),
  figure('Summary', 'summary.finalVsizeBytes', 'final VSIZE', 'bytes', 'lower', (r) => r.summary.finalVsizeBytes, { hidden: true }),
  figure('Summary', 'summary.committedBytes', 'committed at end', 'bytes', 'lower', (r) => r.summary.committedBytes, { hidden: true }),
  figure('Summary', 'summary.metadataReservedBytes', 'allocator metadata reserved', 'bytes', 'lower', (r) => r.summary.metadataReservedBytes, {
    shown: metadataShown,
  }),
  figure('Summary', 'summary.metadataCommittedBytes', 'allocator metadata committed', 'bytes', 'lower', (r) => r.summary.metadataCommittedBytes, {
    shown: metadataShown,
  }),
];

/** Go 1.19's mappedReady: the retained heap plus the allocator metadata Go counts as Ready. */
export function mappedReadyBytes(state: ReplayState): number {
  const h = state.heap;
  return (h.heapPages - h.releasedPages) * state.pageBytes + (h.metadataReadyBytes ?? 0);
}

export class MemoryMeter implements Meter {
  private peakHeapPages = 0;
  private peakRssBytes = 0;
  private peakRssNoLazyBytes = 0;
  private peakVsizeBytes: number;
  private lastRssBytes = 0;
  private lastTime = NaN;
  private firstTime = NaN;
  /** Integral of RSS over trace time (byte-ns). */
  private rssArea = 0;
  private rssSamples = 0;
  private rssSampleSum = 0;

  constructor(private readonly state: ReplayState) {
    // Address space reserved before the first event (an upfront reservation) counts.
    this.peakVsizeBytes = state.os.vsizeBytes;
  }

  advance(time: number): void {
    if (Number.isNaN(this.lastTime)) {
      this.firstTime = this.lastTime = time;
      return;
    }
    const dt = time - this.lastTime;
    if (dt <= 0) return;
    this.rssArea += this.lastRssBytes * dt;
    this.lastTime = time;
  }

  event(_e: EventRecord): void {
    const os = this.state.os;
    const rss = os.rssBytes;
    this.lastRssBytes = rss;
    this.rssSamples++;
    this.rssSampleSum += rss;
    if (rss > this.peakRssBytes) this.peakRssBytes = rss;
    const noLazy = rss - os.lazyFreeBytes;
    if (noLazy > this.peakRssNoLazyBytes) this.peakRssNoLazyBytes = noLazy;
    if (os.vsizeBytes > this.peakVsizeBytes) this.peakVsizeBytes = os.vsizeBytes;
    const heapPages = this.state.heap.heapPages;
    if (heapPages > this.peakHeapPages) this.peakHeapPages = heapPages;
  }

  release(): void {
    this.lastRssBytes = this.state.os.rssBytes;
  }

  contribute(r: ReplayResult): void {
    const s = r.summary;
    const { os, heap, pageBytes: pb } = this.state;
    const duration = Number.isNaN(this.firstTime) ? 0 : this.lastTime - this.firstTime;
    const mean = duration > 0 ? this.rssArea / duration : this.rssSamples > 0 ? this.rssSampleSum / this.rssSamples : 0;
    s.peakHeapBytes = this.peakHeapPages * pb;
    s.finalHeapBytes = heap.heapPages * pb;
    s.peakRssBytes = this.peakRssBytes;
    s.finalRssBytes = os.rssBytes;
    s.lazyFreeBytes = os.lazyFreeBytes;
    s.peakRssExcludingLazyBytes = this.peakRssNoLazyBytes;
    s.finalRssExcludingLazyBytes = os.rssBytes - os.lazyFreeBytes;
    s.meanRssBytes = Math.round(mean);
    s.peakVsizeBytes = this.peakVsizeBytes;
    s.finalVsizeBytes = os.vsizeBytes;
    s.committedBytes = os.committedBytes;
    const standIn = r.oom !== null && r.oom.seq === 0;
    s.metadataReservedBytes = standIn ? null : (heap.metadataReservedBytes ?? 0);
    s.metadataCommittedBytes = standIn ? null : (heap.metadataCommittedBytes ?? 0);
    s.runtimeRetainedBytes = (heap.heapPages - heap.releasedPages) * pb;
    s.mappedReadyBytes = standIn ? null : mappedReadyBytes(this.state);
  }
}
