// The fragmentation meter: how the heap's free space was shaped when the heap was at its
// largest, and how far the heap and RSS overshot the live data.
//
// The snapshot is taken at the most-in-use moment while the heap is at its peak size. It
// is lazy: a rise in in-use only marks it pending, and it is computed just before in-use
// falls (the next free) or at the end, so the backend's freeStats() runs once per local
// maximum rather than once per allocation. Growth makes any pending snapshot of the
// smaller heap obsolete.
//
// Measures (docs/metrics.md; Johnstone & Wilson, "The Memory Fragmentation Problem:
// Solved?", ISMM 1998, are the field's reference):
// - heapOverhead: their measure 3, peak heap over peak in-use (at different moments);
// - heapOverInUseAtPeak: their measure 4, heap over in-use at the moment the heap peaked;
// - scatteredFreeShareAtPeak: free pages outside the largest free run, as a share of the
//   heap: the memory a large allocation could not use. A near-full heap scores near 0
//   however its few free pages lie.
// - externalAtPeak (1 - largest free run / free) is kept for its old meaning but hidden:
//   on a near-full heap it is large for a few KiB of free space.
// Every at-peak figure is null when the heap never grew (nothing to measure).
import { OP_FREE } from '../trace/events.js';
import { figure, type EventRecord, type Figure, type Meter, type ReplayState } from './meter.js';
import type { ReplayResult } from '../replay/result.js';

export const FRAGMENTATION_FIGURES: readonly Figure[] = [
  figure(
    'Fragmentation',
    'fragmentation.externalAtPeak',
    'free space not in the largest run, share of free',
    'ratio',
    'lower',
    (r) => r.fragmentation.externalAtPeak,
    {
      hidden: true,
    },
  ),
  figure(
    'Fragmentation',
    'fragmentation.scatteredFreeShareAtPeak',
    'free outside the largest free run, share of heap at peak',
    'ratio',
    'lower',
    (r) => r.fragmentation.scatteredFreeShareAtPeak,
  ),
  figure(
    'Fragmentation',
    'fragmentation.heapOverInUseAtPeak',
    'heap / in-use - 1 when the heap peaked',
    'ratio',
    'lower',
    (r) => r.fragmentation.heapOverInUseAtPeak,
  ),
  figure('Fragmentation', 'fragmentation.heapOverhead', 'heap overhead (peak heap / peak in-use - 1)', 'ratio', 'lower', (r) => r.fragmentation.heapOverhead),
  figure('Fragmentation', 'fragmentation.rssOverhead', 'RSS overhead (peak RSS / peak in-use - 1)', 'ratio', 'lower', (r) => r.fragmentation.rssOverhead),
  figure(
    'Fragmentation',
    'fragmentation.largestFreeRunBytesAtPeak',
    'largest free run at peak heap',
    'bytes',
    // More free heap at the peak is not better by itself: externalAtPeak judges the shape.
    null,
    (r) => r.fragmentation.largestFreeRunBytesAtPeak,
  ),
  figure('Fragmentation', 'fragmentation.freeBytesAtPeak', 'free at peak heap', 'bytes', null, (r) => r.fragmentation.freeBytesAtPeak),
  figure('Fragmentation', 'fragmentation.freeRunsAtPeak', 'free runs at peak heap', 'count', 'lower', (r) => r.fragmentation.freeRunsAtPeak),
  figure('Fragmentation', 'fragmentation.inUseBytesAtPeak', 'in-use at peak heap', 'bytes', null, (r) => r.fragmentation.inUseBytesAtPeak, { hidden: true }),
];

export class FragmentationMeter implements Meter {
  private peakHeapPages = 0;
  private pending = false;
  private freePages = 0;
  private freeRuns = 0;
  private largestFreeRunPages = 0;
  /** In-use pages when the snapshot was taken; -1 once growth made it obsolete. */
  private inUsePages = 0;

  constructor(private readonly state: ReplayState) {}

  before(e: EventRecord): void {
    if (e.op === OP_FREE && this.pending) this.snapshot();
  }

  event(_e: EventRecord): void {
    const heapPages = this.state.heap.heapPages;
    if (heapPages > this.peakHeapPages) {
      this.peakHeapPages = heapPages;
      this.inUsePages = -1;
      this.pending = true;
    } else if (heapPages === this.peakHeapPages && this.state.inUsePages > this.inUsePages) {
      this.pending = true;
    }
  }

  private snapshot(): void {
    const fs = this.state.heap.freeStats();
    this.freePages = fs.freePages;
    this.freeRuns = fs.freeRuns;
    this.largestFreeRunPages = fs.largestFreeRunPages;
    this.inUsePages = this.state.inUsePages;
    this.pending = false;
  }

  /** Reads the peaks the trace and memory meters wrote before it. */
  contribute(r: ReplayResult): void {
    if (this.pending) this.snapshot();
    const pb = this.state.pageBytes;
    const { peakInUseBytes, peakHeapBytes, peakRssBytes } = r.summary;
    const ratio = (num: number, den: number): number | null => (den > 0 ? num / den : null);
    const grew = this.peakHeapPages > 0;
    const atPeak = (v: number): number | null => (grew ? v : null);
    const scattered = this.freePages - this.largestFreeRunPages;
    r.fragmentation = {
      externalAtPeak: ratio(scattered, this.freePages),
      scatteredFreeShareAtPeak: ratio(scattered, this.peakHeapPages),
      heapOverInUseAtPeak: grew ? ratio(this.peakHeapPages - this.inUsePages, this.inUsePages) : null,
      heapOverhead: ratio(peakHeapBytes - peakInUseBytes, peakInUseBytes),
      rssOverhead: ratio(peakRssBytes - peakInUseBytes, peakInUseBytes),
      largestFreeRunBytesAtPeak: atPeak(this.largestFreeRunPages * pb),
      freeBytesAtPeak: atPeak(this.freePages * pb),
      freeRunsAtPeak: atPeak(this.freeRuns),
      inUseBytesAtPeak: atPeak(this.inUsePages * pb),
    };
  }
}
