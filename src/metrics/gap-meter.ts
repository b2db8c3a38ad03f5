// The gap meter: RSS broken into its causes (gap.ts) at the run's RSS peak, so a reader
// sees why RSS is above the live heap: free pages not yet released (by hole size), page
// caches, physical-page rounding, huge pages kept whole, lazily freed pages, metadata.
//
// When the snapshot is taken: a breakdown walks every resident run, too dear for every
// new RSS high (RSS rises with nearly every allocation while a heap grows). It is taken
// after an event that lifts RSS more than 1/64 above the last snapshot's, and at the end
// when RSS then stands at its peak, so it describes a moment whose RSS is within 1/64
// (1.6%) of the peak — the peak itself whenever RSS ends there or climbed there in one
// step. Its parts add up to its own rssBytes exactly; the snapshots cost O(log(peak RSS))
// walks.

import { OP_ALLOC, OP_FREE } from '../trace/events.js';
import { figure, type EventRecord, type Figure, type Meter, type ReplayState } from './meter.js';
import { GAP_PARTS, PageTracker, type GapBreakdown } from './gap.js';
import type { ReplayResult } from '../replay/result.js';

/** Snapshot again once RSS exceeds the last snapshot's by this share. */
const RESNAP_SHARE = 1 / 64;

const shown = (r: ReplayResult) => r.gap.atPeak !== null;

export const GAP_FIGURES: readonly Figure[] = [
  figure('Fragmentation', 'gap.atPeak.rssBytes', 'RSS explained (at its peak, within 1.6%)', 'bytes', null, (r) => r.gap.atPeak?.rssBytes ?? null, {
    shown,
    hidden: true,
  }),
  ...GAP_PARTS.map((p) =>
    figure('Fragmentation', `gap.atPeak.${p.key}`, `RSS at peak: ${p.label}`, 'bytes', null, (r) => r.gap.atPeak?.[p.key] ?? null, {
      shown: (r) => (r.gap.atPeak?.[p.key] ?? 0) > 0,
    }),
  ),
];

export class GapMeter implements Meter {
  private readonly tracker: PageTracker;
  private snap: GapBreakdown | null = null;
  private peakRssBytes = 0;
  private lastTime = 0;

  constructor(private readonly state: ReplayState) {
    this.tracker = new PageTracker(state.pageBytes);
  }

  event(e: EventRecord): void {
    if (e.op === OP_ALLOC) this.tracker.alloc(e.addr, e.pages);
    else if (e.op === OP_FREE) this.tracker.free(e.addr, e.pages);
    this.lastTime = e.time;
    const rss = this.state.os.rssBytes;
    if (rss <= this.peakRssBytes) return;
    this.peakRssBytes = rss;
    if (this.snap === null || rss > this.snap.rssBytes * (1 + RESNAP_SHARE)) this.take();
  }

  private take(): void {
    this.snap = this.tracker.breakdown(this.state.os, this.state.heap, this.lastTime);
  }

  contribute(r: ReplayResult): void {
    if (this.peakRssBytes > 0 && this.state.os.rssBytes === this.peakRssBytes && this.snap?.rssBytes !== this.peakRssBytes) this.take();
    r.gap = { atPeak: this.snap };
  }
}
