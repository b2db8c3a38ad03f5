// The one result type that `replay`, `compare` and the library API share
// (docs/metrics.md defines every figure). Sizes are bytes, times nanoseconds.

import type { TouchFit } from './touch-fit.js';
import type { GapBreakdown } from '../metrics/gap.js';

export interface LatencyStats {
  count: number;
  /** Wall time around the backend call, measured in this process. */
  p50Ns: number;
  p90Ns: number;
  p99Ns: number;
  maxNs: number;
  meanNs: number;
  /** Work units (nodes or words visited): deterministic. */
  meanWork: number;
  p99Work: number;
  maxWork: number;
  /** Modelled latency: work plus syscalls plus page faults (src/metrics/cost-model.ts). */
  modelMeanNs: number;
  modelP99Ns: number;
  modelMaxNs: number;
}

/** The simulated heap's residency against the recorded one (src/metrics/rss-meter.ts). */
export interface RssMatch {
  /** rss rows compared. */
  rows: number;
  /** Relative error |simulated - recorded| / recorded, mean over rows and worst row. */
  meanError: number;
  maxError: number;
  /** The first row with the largest error. */
  worst: { time: number; line: number; recordedBytes: number; simulatedBytes: number };
  /** The largest `huge` cell of the rows (AnonHugePages), null when none had one. */
  peakRecordedHugeBytes: number | null;
  /** Every row: [trace time, recorded bytes, simulated bytes], for charts. */
  curve: [number, number, number][];
  /** The touch model's share of each fresh span written (1 under `all`): the assumption the simulated bytes rest on. */
  writtenShare: number;
  /** Whether these rows chose that share (touch `fit`): the errors are then in-sample. */
  inSample: boolean;
}

export interface ReplayResult {
  schema: 'heapsim.result/1';
  trace: {
    file: string;
    metadata: Record<string, string>;
    pageBytes: number;
    events: number;
    rows: number;
    skipped: number;
    skippedByKind: Record<string, number>;
  };
  backend: string;
  goVersion: string;
  policy: string;
  options: {
    reserve: 'upfront' | 'pretend' | 'arenas';
    madvise: 'dontneed' | 'free';
    physPageBytes: number;
    ulimitVBytes: number | null;
    seed: number;
    timing: boolean;
    thp: 'never' | 'madvise' | 'always';
    touch: 'all' | 'needzero' | 'fit';
    /** The share of a fresh span the program is taken to write (null under `all`). */
    writtenPercent: number | null;
    /** Under touch `fit`: the share the trace's rss rows chose, and how (in-sample). */
    touchFit: TouchFit | null;
    gogc: number;
    gomaxprocs: number;
    memoryLimitBytes: number | null;
    retainExtraPercent: number;
    scavengerCpuPercent: number;
  };
  outcome: 'ok' | 'oom';
  oom: { seq: number; time: number; line: number; op: string; message: string } | null;
  summary: {
    ops: number;
    allocs: number;
    frees: number;
    scavenges: number;
    gcs: number;
    limits: number;
    traceDurationNs: number;
    peakInUseBytes: number;
    finalInUseBytes: number;
    peakHeapBytes: number;
    finalHeapBytes: number;
    peakRssBytes: number;
    finalRssBytes: number;
    /** Resident pages released with MADV_FREE and not reclaimed (0 with MADV_DONTNEED). */
    lazyFreeBytes: number;
    /** RSS as it would be once the kernel reclaimed the lazily freed pages. */
    peakRssExcludingLazyBytes: number;
    finalRssExcludingLazyBytes: number;
    meanRssBytes: number;
    peakVsizeBytes: number;
    finalVsizeBytes: number;
    committedBytes: number;
    /** The allocator's own metadata (bitmaps, summaries, index), when the backend models it. */
    /** Null when the program could not start (its heap is a stand-in). */
    metadataReservedBytes: number | null;
    metadataCommittedBytes: number | null;
    releasedBytes: number;
    runtimeReleasedBytes: number;
    /** What the runtime believes it retains: heap minus released (its heapRetained). */
    runtimeRetainedBytes: number;
    osReleasedBytes: number;
    scavengedBytesReused: number;
    mmapCalls: number;
    madviseCalls: number;
    munmapCalls: number;
    pageFaults: number;
    /** Of pageFaults, those that mapped a whole 2 MiB transparent huge page. */
    hugePageFaults: number;
    refaults: number;
    /** Allocations that had to grow the heap first (the slow path). */
    growthAllocs: number;
    lastGcLiveBytes: number | null;
    limitBytes: number | null;
    /** Go 1.19's mappedReady at the end: retained heap + metadata Go counts as Ready. */
    mappedReadyBytes: number | null;
    /** Trace time during which RSS was above the memory limit in force. */
    timeAboveLimitNs: number;
    /** Modelled CPU time of every release (all triggers), and its share of one CPU over trace time + that CPU time (at most 1). */
    scavengerCpuNs: number;
    releaseCpuShare: number | null;
    /** Per trigger (trace, explicit, periodic, background, growth, reuse, limit). */
    releases: Record<string, { bytes: number; calls: number; modelNs: number }>;
    /**
     * When memory went back (release-curve-meter.ts): trace time until 50% / 90% of the
     * released bytes were released, the same for the trace's own scavenge rows, and the
     * largest gap between the two cumulative curves (bytes, and share of the larger total).
     */
    releaseCurve: {
      t50Ns: number | null;
      t90Ns: number | null;
      traceT50Ns: number | null;
      traceT90Ns: number | null;
      maxGapBytes: number | null;
      maxGapShare: number | null;
    };
    addrMatch: number | null;
    addrChecked: number;
    firstAddrMiss: { seq: number; line: number; want: number; got: number } | null;
    /** Simulated heap RSS against the trace's rss rows (null without rss rows). */
    rssMatch: RssMatch | null;
    /** Under policy trace: share of scavenge rows with an addr that released exactly that range (null otherwise). */
    releaseMatch: number | null;
    releaseChecked: number;
    /** The first that did not: the recorded range, and what the backend released (got -1: not one range). */
    firstReleaseMiss: { seq: number; line: number; want: number; wantBytes: number; got: number; gotBytes: number } | null;
  };
  fragmentation: {
    /** 1 - largest free run / free, at peak heap; null with no free page. */
    externalAtPeak: number | null;
    /** Free pages outside the largest free run, as a share of the heap, at peak heap. */
    scatteredFreeShareAtPeak: number | null;
    /** Johnstone & Wilson's measure 4: heap / in-use - 1 at the moment the heap peaked. */
    heapOverInUseAtPeak: number | null;
    heapOverhead: number | null;
    rssOverhead: number | null;
    largestFreeRunBytesAtPeak: number | null;
    freeBytesAtPeak: number | null;
    freeRunsAtPeak: number | null;
    inUseBytesAtPeak: number | null;
  };
  /** RSS broken into its causes near its peak (src/metrics/gap.ts); null when RSS never rose. */
  gap: { atPeak: GapBreakdown | null };
  latency: { alloc: LatencyStats; free: LatencyStats; scavenge: LatencyStats };
  shape: Record<string, number>;
  /**
   * Wall-clock time of this run. replayNs: in the event loop alone. elapsedNs: from the
   * first batch asked for to the last one replayed, so for a streamed trace (`replay`)
   * reading and parsing too; for a trace loaded before (`compare`, `check`) the loop's
   * time again. eventsPerSecond is events / elapsedNs (end to end when streamed),
   * replayEventsPerSecond events / replayNs.
   */
  wall: { replayNs: number; elapsedNs: number; eventsPerSecond: number | null; replayEventsPerSecond: number | null };
  /** Set by `compare`: share of allocations at the same address as the first backend. */
  placementMatch?: number;
}
